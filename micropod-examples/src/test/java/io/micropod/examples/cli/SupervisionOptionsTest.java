package io.micropod.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.HealthCheck;
import io.micropod.MicroPodSpec;
import io.micropod.RestartPolicy;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

/** {@code micropod run}'s --restart, --health-*, --max-lifetime and --idle-timeout; no VM. */
class SupervisionOptionsTest {
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private MicroPodSpec spec(String... args) {
    CommandLine cl = Main.commandLine(new Main(Map.of()), new PrintWriter(out), new PrintWriter(err));
    return ((RunCommand) cl.parseArgs(args).subcommand().commandSpec().userObject()).spec();
  }

  @Test
  void restartHealthAndLifetimeFlagsReachTheSpec() {
    MicroPodSpec spec = spec("run", "--restart", "on-failure:2", "--health-cmd", "wget -q http://127.0.0.1/",
        "--health-interval", "1m30s", "--health-timeout", "500ms", "--health-retries", "5",
        "--health-start-period", "2s", "--max-lifetime", "30s", "--idle-timeout", "1h", "oci:/i", "sleep", "9");
    assertThat(spec.restart()).isEqualTo(RestartPolicy.onFailure(2));
    HealthCheck h = spec.healthcheck().orElseThrow();
    assertThat(h.command()).containsExactly("/bin/sh", "-c", "wget -q http://127.0.0.1/");
    assertThat(h.interval()).isEqualTo(Duration.ofSeconds(90));
    assertThat(h.timeout()).isEqualTo(Duration.ofMillis(500));
    assertThat(h.retries()).isEqualTo(5);
    assertThat(h.startPeriod()).isEqualTo(Duration.ofSeconds(2));
    assertThat(spec.maxLifetime()).contains(Duration.ofSeconds(30));
    assertThat(spec.idleTimeout()).contains(Duration.ofHours(1));
    assertThat(spec.command()).containsExactly("sleep", "9");
  }

  @Test
  void defaultsAreNoRestartTheImagesHealthCheckAndNoDeadlines() {
    MicroPodSpec spec = spec("run", "oci:/i");
    assertThat(spec.restart()).isEqualTo(RestartPolicy.no());
    assertThat(spec.healthcheck()).isEmpty();
    assertThat(spec.maxLifetime()).isEmpty();
    assertThat(spec.idleTimeout()).isEmpty();
    assertThat(spec("run", "--no-healthcheck", "oci:/i").healthcheck()).contains(HealthCheck.none());
    assertThat(spec("run", "--restart", "unless-stopped", "oci:/i").restart()).isEqualTo(RestartPolicy.unlessStopped());
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "run --restart sometimes oci:/i        | micropod: unknown restart policy 'sometimes': use no, on-failure[:N], always or unless-stopped",
      "run --restart on-failure:-1 oci:/i    | micropod: restart count < 0: -1",
      "run --restart on-failure:x oci:/i     | micropod: restart count is not a number: on-failure:x",
      "run --max-lifetime -5s oci:/i         | micropod: --max-lifetime must not be negative: -5s",
      "run --idle-timeout soon oci:/i        | micropod: --idle-timeout is not a duration such as 30s, 5m or 1h30m: soon",
      "run --max-lifetime 500ms oci:/i       | micropod: maxLifetime < 1 s: PT0.5S",
      "run --health-retries 0 --health-cmd true oci:/i | micropod: healthcheck retries < 1: 0",
      "run --health-interval 5s oci:/i       | micropod: --health-interval, --health-timeout, --health-retries and --health-start-period need --health-cmd",
      "run --no-healthcheck --health-cmd true oci:/i | micropod: --no-healthcheck conflicts with --health-* options",
  })
  void badValuesGiveOneLineAndStatus2(String args, String message) {
    int code = Main.execute(args.trim().split(" +"), Map.of(), new PrintWriter(out, true), new PrintWriter(err, true));
    assertThat(code).isEqualTo(2);
    assertThat(err.toString()).startsWith(message).endsWith("\n");
    assertThat(err.toString().lines()).hasSize(1);
  }

  @Test
  void listShowsHealthRestartsAndEndReasonAsDockerDoes() {
    java.time.Instant now = java.time.Instant.parse("2026-12-06T12:00:00Z");
    io.micropod.PodInfo healthy = new io.micropod.PodInfo("0123456789ab", null, "oci:/i", "qemu",
        io.micropod.PodInfo.Status.RUNNING, true, 1, 2, Map.of(), now.minusSeconds(120), now.minusSeconds(110),
        new io.micropod.HealthState(io.micropod.HealthState.Status.HEALTHY, 0, ""), 2, 1, null);
    io.micropod.PodInfo ended = new io.micropod.PodInfo("ba9876543210", null, "oci:/i", "qemu",
        io.micropod.PodInfo.Status.RUNNING, false, 1, 2, Map.of(), now.minusSeconds(5), now.minusSeconds(4),
        new io.micropod.HealthState(io.micropod.HealthState.Status.STARTING, 0, ""), 0, null, "idle-timeout");
    assertThat(ListCommand.status(healthy, now)).isEqualTo("running (healthy) (restarted 2x, last exit 1)");
    assertThat(ListCommand.status(ended, now)).isEqualTo("running (health: starting) (ended: idle-timeout)");
    assertThat(ListCommand.table(List.of(healthy), now)).contains("running (healthy) (restarted 2x, last exit 1)");
    assertThat(InspectCommand.json(healthy)).contains("\"RestartCount\": 2", "\"ExitCode\": 1",
        "\"Health\": {\n        \"Status\": \"healthy\",\n        \"FailingStreak\": 0\n      }", "\"EndReason\": null");
  }
}
