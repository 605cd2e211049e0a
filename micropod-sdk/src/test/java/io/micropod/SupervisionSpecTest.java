package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** HealthCheck, RestartPolicy and the spec's lifetimes: values, defaults, one-line errors. */
class SupervisionSpecTest {
  @Test
  void healthCheckHasDockersDefaultsAndShellFormRunsSh() {
    HealthCheck h = HealthCheck.builder().shell("test -f /ok").build();
    assertThat(h.command()).containsExactly("/bin/sh", "-c", "test -f /ok");
    assertThat(h.interval()).isEqualTo(Duration.ofSeconds(30));
    assertThat(h.timeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(h.retries()).isEqualTo(3);
    assertThat(h.startPeriod()).isZero();
    assertThat(HealthCheck.of("true").command()).containsExactly("true");
    assertThat(h.newBuilder().retries(5).build()).isNotEqualTo(h).extracting(HealthCheck::retries).isEqualTo(5);
    assertThat(HealthCheck.none().isNone()).isTrue();
  }

  @Test
  void badHealthCheckValuesFailAtTheCallSite() {
    assertThatThrownBy(() -> HealthCheck.builder().retries(0)).hasMessage("healthcheck retries < 1: 0");
    assertThatThrownBy(() -> HealthCheck.builder().interval(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("healthcheck interval");
    assertThatThrownBy(() -> HealthCheck.builder().timeout(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("healthcheck timeout");
    assertThatThrownBy(() -> HealthCheck.builder().startPeriod(Duration.ofSeconds(-2)))
        .hasMessageContaining("negative");
    assertThatThrownBy(() -> HealthCheck.builder().shell(" ")).hasMessage("healthcheck shell command is blank");
    assertThatThrownBy(() -> HealthCheck.builder().build()).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("HealthCheck.none()");
  }

  @Test
  void restartPoliciesParseDockersSyntaxAndPrintItBack() {
    assertThat(RestartPolicy.parse("no")).isEqualTo(RestartPolicy.no());
    assertThat(RestartPolicy.parse("always").mode()).isEqualTo(RestartPolicy.Mode.ALWAYS);
    assertThat(RestartPolicy.parse("unless-stopped").mode()).isEqualTo(RestartPolicy.Mode.UNLESS_STOPPED);
    assertThat(RestartPolicy.parse("on-failure")).isEqualTo(RestartPolicy.onFailure(0));
    assertThat(RestartPolicy.parse("on-failure:3").maxRetries()).isEqualTo(3);
    assertThat(RestartPolicy.onFailure(2)).hasToString("on-failure:2");
    assertThatThrownBy(() -> RestartPolicy.onFailure(-1)).hasMessage("restart count < 0: -1");
    assertThatThrownBy(() -> RestartPolicy.parse("never")).hasMessageContaining("unknown restart policy 'never'");
  }

  @Test
  void theSpecCarriesSupervisionAndRejectsLifetimesUnderASecond() {
    MicroPodSpec spec = MicroPodSpec.builder().image("oci:/i").healthcheck(HealthCheck.of("true"))
        .restart(RestartPolicy.always()).maxLifetime(Duration.ofMinutes(5)).idleTimeout(Duration.ofSeconds(30))
        .build();
    assertThat(spec.healthcheck()).contains(HealthCheck.of("true"));
    assertThat(spec.restart()).isEqualTo(RestartPolicy.always());
    assertThat(spec.maxLifetime()).contains(Duration.ofMinutes(5));
    assertThat(spec.idleTimeout()).contains(Duration.ofSeconds(30));
    assertThat(spec.newBuilder().build()).isEqualTo(spec);
    assertThat(spec.toString()).contains("restart=always", "maxLifetime=PT5M", "idleTimeout=PT30S");
    assertThat(MicroPodSpec.builder().image("oci:/i").build().restart()).isEqualTo(RestartPolicy.no());
    assertThatThrownBy(() -> MicroPodSpec.builder().maxLifetime(Duration.ofSeconds(-30)))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("maxLifetime < 1 s: PT-30S");
    assertThatThrownBy(() -> MicroPodSpec.builder().idleTimeout(Duration.ofMillis(10)))
        .hasMessage("idleTimeout < 1 s: PT0.01S");
  }
}
