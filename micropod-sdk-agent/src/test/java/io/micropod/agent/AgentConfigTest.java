package io.micropod.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class AgentConfigTest {

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
