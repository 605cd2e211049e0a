package io.micropod.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.agent.channel.ChannelRelay;
import io.micropod.agent.v1.GetInfoRequest;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real gRPC (HTTP/2) through the channel relay, with a Unix socket standing in for QEMU's side
 * of the virtio-serial port: a host that goes away and a new one that connects later each get
 * a working connection.
 */
class RelayReconnectTest {
  @Test
  void aHostCanGoAwayAndANewOneConnectsAfresh(@TempDir Path dir) throws Exception {
    AgentConfig config =
        AgentConfig.builder()
            .socket(dir.resolve("agent.sock"))
            .containersDir(dir.resolve("containers"))
            .runtime(dir.resolve("no-runc"))
            .build();
    Path hostSocket = dir.resolve("port.sock");
    Agent agent = Agent.start(config, 0, null, () -> {});
    try (SocketPort port = new SocketPort(hostSocket);
        ChannelRelay relay =
            new ChannelRelay(port.in, port.out, null, config.socket(), Duration.ofMillis(2))
                .start()) {
      try (TestClient first = new TestClient(hostSocket)) {
        assertThat(first.blocking().getInfo(GetInfoRequest.getDefaultInstance())
            .getAgentVersion()).isNotEmpty();
      }
      Poll.until("the first session to end", Duration.ofSeconds(10),
          () -> relay.awaitOutputDrained(10));
      try (TestClient second = new TestClient(hostSocket)) {
        for (int i = 0; i < 3; i++) {
          assertThat(second.blocking().getInfo(GetInfoRequest.getDefaultInstance())
              .getAgentVersion()).isNotEmpty();
        }
      }
      assertThat(relay.sessions()).isEqualTo(2);
    } finally {
      agent.close();
    }
  }
}
