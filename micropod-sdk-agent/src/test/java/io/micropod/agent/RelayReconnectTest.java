package io.micropod.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.agent.channel.ChannelRelay;
import io.micropod.agent.v1.AgentServiceGrpc;
import io.micropod.agent.v1.GetInfoRequest;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real gRPC (HTTP/2) through the channel relay, with a Unix socket standing in for QEMU's side
 * of the virtio-serial port: a host that goes away and a new one that connects later each get
 * a working connection, also when the guest never saw the first one go away.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RelayReconnectTest {
  @TempDir Path dir;
  private AgentConfig config;
  private Agent agent;

  @BeforeEach
  void startAgent() throws Exception {
    config =
        AgentConfig.builder()
            .socket(dir.resolve("agent.sock"))
            .containersDir(dir.resolve("containers"))
            .runtime(dir.resolve("no-runc"))
            .build();
    agent = Agent.start(config, 0, null, () -> {});
  }

  @AfterEach
  void stopAgent() {
    agent.close();
  }

  private ChannelRelay relayOver(SocketPort port) {
    return new ChannelRelay(port.in, port.out, null, config.socket(), Duration.ofMillis(2))
        .start();
  }

  @Test
  void aHostCanGoAwayAndANewOneConnectsAfresh() throws Exception {
    Path hostSocket = dir.resolve("port.sock");
    try (SocketPort port = new SocketPort(hostSocket);
        ChannelRelay relay = relayOver(port)) {
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
    }
  }

  /**
   * A host leaves and the next one connects while the guest is paused (or it resumes from a
   * snapshot): the port never reads EOF in between. Each new host's first call must be answered
   * on its first connection: the call is fail-fast, so a connection that the old session's
   * server rejected fails it instead of waiting out gRPC's reconnect backoff.
   */
  @Test
  void aNewHostWhoseArrivalTheGuestMissedIsAnsweredOnItsFirstConnection() throws Exception {
    Path hostSocket = dir.resolve("port.sock");
    try (SocketPort port = new SocketPort(hostSocket, true);
        ChannelRelay relay = relayOver(port)) {
      for (int host = 1; host <= 4; host++) {
        try (TestClient client = new TestClient(hostSocket)) {
          AgentServiceGrpc.AgentServiceBlockingStub failFast =
              AgentServiceGrpc.newBlockingStub(client.channel())
                  .withDeadlineAfter(TestClient.DEADLINE_SECONDS, TimeUnit.SECONDS);
          assertThat(failFast.getInfo(GetInfoRequest.getDefaultInstance()).getAgentVersion())
              .as("host %d's first call", host).isNotEmpty();
          assertThat(client.blocking().getInfo(GetInfoRequest.getDefaultInstance())
              .getAgentVersion()).isNotEmpty();
        }
      }
      assertThat(relay.sessions()).isEqualTo(4);
    }
  }

  /**
   * A host killed in the middle of a frame, then a new host the guest did not see arrive: the
   * relay's frame tracking is lost (the new preface lands inside the dead host's frame), the
   * agent rejects what follows and closes; the relay then finds the new host's preface in what
   * it just sent instead of discarding until an EOF that never comes.
   */
  @Test
  void aHostKilledInTheMiddleOfAFrameIsFollowedByAWorkingOne() throws Exception {
    Path hostSocket = dir.resolve("port.sock");
    try (SocketPort port = new SocketPort(hostSocket, true);
        ChannelRelay relay = relayOver(port)) {
      try (SocketChannel killed = SocketChannel.open(StandardProtocolFamily.UNIX)) {
        killed.connect(UnixDomainSocketAddress.of(hostSocket));
        ByteBuffer hello = ByteBuffer.allocate(24 + 9);
        hello.put("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        hello.put(new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0}); // empty SETTINGS
        writeAll(killed, hello.flip());
        // the server's SETTINGS reached this host: its output is not left for the next one
        ByteBuffer settings = ByteBuffer.allocate(9);
        while (settings.hasRemaining() && killed.read(settings) >= 0) {
          // the 9-byte frame header of the server's SETTINGS
        }
        assertThat(settings.get(3)).isEqualTo((byte) 4);
        // a WINDOW_UPDATE of 4 payload bytes, cut after the first of them
        writeAll(killed, ByteBuffer.wrap(new byte[] {0, 0, 4, 8, 0, 0, 0, 0, 0, 0}));
      }
      try (TestClient next = new TestClient(hostSocket)) {
        for (int i = 0; i < 3; i++) {
          assertThat(next.blocking().getInfo(GetInfoRequest.getDefaultInstance())
              .getAgentVersion()).isNotEmpty();
        }
      }
      assertThat(relay.sessions()).isGreaterThanOrEqualTo(2);
    }
  }

  private static void writeAll(SocketChannel c, ByteBuffer b) throws java.io.IOException {
    while (b.hasRemaining()) {
      c.write(b);
    }
  }
}
