package io.micropod.micrometer;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.search.Search;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micropod.ExecProcess;
import io.micropod.ExecSpec;
import io.micropod.ImageException;
import io.micropod.MicroPod;
import io.micropod.event.Phase;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The binder fed by a real pod: the SDK's own events and stats, not a replay of them. */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class MicroPodMetricsIT {
  private static final String IMAGE = "oci:" + Path.of(System.getProperty("micropod.home",
      System.getProperty("user.home") + "/.cache/micropod")).resolve("oci").resolve("busybox");

  @Test
  void aRealPodsStartExecsStatsAndCloseReachTheRegistry() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (MicroPodMetrics metrics = new MicroPodMetrics()) {
      metrics.bindTo(registry);
      String id;
      try (MicroPod pod = metrics.start(MicroPod.builder().image(IMAGE).command("sleep", "3600").build())) {
        id = pod.id();
        for (Phase p : new Phase[] {Phase.IMAGE_PULL, Phase.ROOTFS_PREPARE, Phase.VM_BOOT, Phase.AGENT_CONNECT,
            Phase.CONTAINER_START}) {
          assertThat(registry.get(MicroPodMetrics.POD_START).tag("phase", p.name().toLowerCase()).timer().count())
              .as("%s", p).isEqualTo(1);
        }
        assertThat(registry.get(MicroPodMetrics.PODS_RUNNING).gauge().value()).isEqualTo(1);

        pod.exec("true");
        pod.exec(ExecSpec.builder("sh", "-c", "exit 4").build());
        ExecProcess cat = pod.execStreaming(ExecSpec.builder("cat").build());
        cat.stdin().write("x".getBytes(UTF_8));
        cat.stdin().close();
        assertThat(cat.await().exitCode()).isZero();
        assertThatThrownBy(() -> pod.exec(ExecSpec.builder("true").user("nosuchuser").build()))
            .isInstanceOf(ImageException.class);

        // execStreaming's end is reported from the call's own thread: poll for it
        awaitTrue(() -> count(registry, "success") == 2, "the streaming exec counted");
        assertThat(count(registry, "nonzero_exit")).isEqualTo(1);
        assertThat(count(registry, "failed")).isEqualTo(1);

        assertThat(registry.get(MicroPodMetrics.POD_MEMORY).tag("pod", id).gauge().value()).isPositive();
        assertThat(registry.get(MicroPodMetrics.POD_VM_MEMORY_TOTAL).tag("pod", id).gauge().value())
            .isGreaterThan(100e6);
        assertThat(registry.get(MicroPodMetrics.POD_CPU).tag("pod", id).functionCounter().count())
            .isGreaterThanOrEqualTo(0);
      }
      assertThat(registry.get(MicroPodMetrics.PODS_RUNNING).gauge().value()).isZero();
      assertThat(registry.get(MicroPodMetrics.POD_STOP).timer().count()).isEqualTo(1);
      assertThat(registry.getMeters()).noneMatch(m -> id.equals(m.getId().getTag("pod")));
      assertThat(registry.find(MicroPodMetrics.PHASE_FAILURES).counters()).isEmpty();
    }
    assertThat(registry.getMeters()).isEmpty();
  }

  private static long count(SimpleMeterRegistry registry, String outcome) {
    return Search.in(registry).name(MicroPodMetrics.EXEC).tag("outcome", outcome).timers().stream()
        .mapToLong(t -> t.count()).sum();
  }

  private static void awaitTrue(Supplier<Boolean> condition, String what) {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!condition.get()) {
      assertThat(System.nanoTime()).as("%s within 30 s", what).isLessThan(deadline);
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
    }
  }
}
