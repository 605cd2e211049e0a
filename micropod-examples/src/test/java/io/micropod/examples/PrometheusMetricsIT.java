package io.micropod.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.MicroPod;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The Prometheus example end to end: a real pod started through the binder, its endpoint scraped
 * over loopback like Prometheus does, and the text format parsed.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class PrometheusMetricsIT {
  private static final String IMAGE = "oci:" + Hello.Samples.busyboxLayout();
  private static final List<String> START_PHASES =
      List.of("image_pull", "rootfs_prepare", "vm_boot", "agent_connect", "container_start");

  @Test
  void theScrapeShowsThePodsStartHistogramPerPhaseItsStatsAndTheRunningGauge() throws Exception {
    try (PrometheusMetrics.Endpoint endpoint = PrometheusMetrics.Endpoint.start(0)) {
      String podId;
      PrometheusText during;
      try (MicroPod pod = endpoint.startPod(IMAGE)) {
        podId = pod.id();
        assertThat(pod.exec("true").exitCode()).isZero();
        assertThat(pod.exec("sh", "-c", "exit 3").exitCode()).isEqualTo(3);
        during = scrape(endpoint.uri());
      }
      PrometheusText after = scrape(endpoint.uri());

      assertThat(during.types).containsEntry("micropod_pod_start_seconds", "histogram");
      for (String phase : START_PHASES) {
        double count = during.value("micropod_pod_start_seconds_count", Map.of("phase", phase));
        List<PrometheusText.Sample> buckets = during.find("micropod_pod_start_seconds_bucket", Map.of("phase", phase));
        assertThat(count).as("starts timed in %s", phase).isGreaterThanOrEqualTo(1);
        assertThat(buckets).as("buckets of %s", phase).hasSizeGreaterThan(2)
            .allSatisfy(b -> assertThat(b.labels()).containsKey("le"));
        assertThat(buckets).extracting(PrometheusText.Sample::value).as("cumulative buckets of %s", phase)
            .isSorted();
        assertThat(during.value("micropod_pod_start_seconds_bucket", Map.of("phase", phase, "le", "+Inf")))
            .as("+Inf bucket of %s", phase).isEqualTo(count);
        assertThat(during.value("micropod_pod_start_seconds_sum", Map.of("phase", phase))).isPositive();
      }
      assertThat(during.value("micropod_pods_running", Map.of())).isEqualTo(1);
      assertThat(during.value("micropod_exec_seconds_count", Map.of("outcome", "success"))).isEqualTo(1);
      assertThat(during.value("micropod_exec_seconds_count", Map.of("outcome", "nonzero_exit"))).isEqualTo(1);
      Map<String, String> pod = Map.of("pod", podId, "pod_name", "metrics-demo");
      assertThat(during.value("micropod_pod_memory_usage_bytes", pod)).isPositive();
      assertThat(during.value("micropod_pod_vm_memory_total_bytes", pod)).isGreaterThan(100e6);
      assertThat(during.value("micropod_pod_cpu_usage_seconds_total", pod)).isGreaterThanOrEqualTo(0);

      assertThat(after.value("micropod_pods_running", Map.of())).isZero();
      assertThat(after.value("micropod_pod_stop_seconds_count", Map.of())).isEqualTo(1);
      assertThat(after.samples).as("samples of the closed pod").noneMatch(s -> podId.equals(s.labels().get("pod")));
    }
  }

  private static PrometheusText scrape(URI uri) throws Exception {
    HttpResponse<String> r = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build().send(
        HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type")).hasValue("text/plain; version=0.0.4; charset=utf-8");
    return PrometheusText.parse(r.body());
  }
}
