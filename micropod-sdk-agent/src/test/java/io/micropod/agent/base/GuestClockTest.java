package io.micropod.agent.base;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class GuestClockTest {
  @Test
  void uptimeIsParsedToMilliseconds() {
    assertThat(GuestClock.parseUptimeMillis("12345.67 54321.00\n")).isEqualTo(12345670);
    assertThat(GuestClock.parseUptimeMillis("0.05 0.01")).isEqualTo(50);
    assertThat(GuestClock.parseUptimeMillis("7 1")).isEqualTo(7000);
  }

  @Test
  void missingUptimeFileReadsAsZero() {
    assertThat(GuestClock.uptimeMillis(Path.of("/nonexistent/uptime"))).isZero();
  }
}
