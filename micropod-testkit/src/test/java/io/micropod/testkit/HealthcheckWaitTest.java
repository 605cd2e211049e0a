package io.micropod.testkit;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micropod.HealthState;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@link Wait#forHealthcheck()} against a scripted pod (the real probe runs in SupervisionIT). */
class HealthcheckWaitTest {
  private final FakePod pod = new FakePod();

  @Test
  void readyOnceTheHealthCheckPasses() {
    pod.health = new HealthState(HealthState.Status.STARTING, 0, "");
    CompletableFuture.delayedExecutor(300, TimeUnit.MILLISECONDS)
        .execute(() -> pod.health = new HealthState(HealthState.Status.HEALTHY, 0, "ok"));
    Wait.forHealthcheck().withTimeout(Duration.ofSeconds(10)).waitUntilReady(pod);
  }

  @Test
  void anUnhealthyContainerFailsAtOnceWithTheProbesOutput() {
    pod.health = new HealthState(HealthState.Status.UNHEALTHY, 3, "connection refused\n");
    assertThatThrownBy(() -> Wait.forHealthcheck().waitUntilReady(pod))
        .isInstanceOf(PodNotReadyException.class)
        .hasMessageContaining("unhealthy after 3 failed probes: connection refused");
  }

  @Test
  void aContainerWithoutHealthCheckFailsAndSaysWhatToDo() {
    assertThatThrownBy(() -> Wait.forHealthcheck().waitUntilReady(pod))
        .isInstanceOf(PodNotReadyException.class)
        .hasMessageContaining("no health check");
  }
}
