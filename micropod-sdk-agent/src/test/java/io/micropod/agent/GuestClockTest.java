package io.micropod.agent;

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

  @Test
  void configComesFromTheContractsEnvironment() {
    AgentConfig c = AgentConfig.fromEnv(java.util.Map.of(
        "MICROPOD_AGENT_CHANNEL", "/dev/vport1p1",
        "MICROPOD_AGENT_SOCKET", "/tmp/a.sock",
        "MICROPOD_RUNTIME", "/sbin/runc"));
    assertThat(c.channel()).isEqualTo(Path.of("/dev/vport1p1"));
    assertThat(c.socket()).isEqualTo(Path.of("/tmp/a.sock"));
    assertThat(c.runtime()).isEqualTo(Path.of("/sbin/runc"));
    AgentConfig defaults = AgentConfig.fromEnv(java.util.Map.of("MICROPOD_AGENT_CHANNEL", ""));
    assertThat(defaults.channel()).isNull();
    assertThat(defaults.socket()).isEqualTo(Path.of("/run/micropod/agent.sock"));
    assertThat(defaults.runtime()).isEqualTo(Path.of("/usr/bin/runc"));
  }
}
