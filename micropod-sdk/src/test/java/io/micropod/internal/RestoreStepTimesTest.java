package io.micropod.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class RestoreStepTimesTest {

  @Test
  void aRestoresLogLineListsTheStepsThatTookAMillisecondOrMoreInOrder() {
    Map<String, Duration> took = new LinkedHashMap<>();
    took.put("image.resolve", Duration.ofNanos(300_000));
    took.put("snapshot.copy", Duration.ofMillis(476));
    took.put("vmm.spawn", Duration.ofMillis(75));
    took.put("agent.connect", Duration.ofMillis(1270));

    assertThat(PodStarter.stepTimes(took))
        .isEqualTo("snapshot.copy 476 ms, vmm.spawn 75 ms, agent.connect 1270 ms");
  }
}
