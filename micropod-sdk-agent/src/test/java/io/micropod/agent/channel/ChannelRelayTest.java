package io.micropod.agent.channel;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.agent.Poll;
import java.io.FileOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChannelRelayTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  @TempDir Path dir;

  private ChannelRelay relayOver(FakePort port, Path socket) {
    return new ChannelRelay(port.in, port.out, null, socket, Duration.ofMillis(1)).start();
  }

  @Test
  void pollsWithoutConnectingWhileNoHostIsConnected() throws Exception {
    Path socket = dir.resolve("agent.sock");
    FakePort port = new FakePort();
    try (UdsServer server = new UdsServer(socket, true);
        ChannelRelay relay = relayOver(port, socket)) {
      Poll.until("several EOF polls", TIMEOUT, () -> port.eofReads() >= 5);
      assertThat(server.accepted()).isZero();
      assertThat(relay.sessions()).isZero();
    }
  }

  @Test
  void eachHostSessionGetsAFreshConnectionThatEndsWhenTheHostLeaves() throws Exception {
    Path socket = dir.resolve("agent.sock");
    FakePort port = new FakePort();
    try (UdsServer server = new UdsServer(socket, true);
        ChannelRelay relay = relayOver(port, socket)) {
      port.connect();
      port.send("ping-1");
      Poll.until("echo of ping-1", TIMEOUT, () -> port.received().equals("ping-1"));
      port.send("more");
      Poll.until("echo of more", TIMEOUT, () -> port.received().equals("ping-1more"));
      assertThat(server.accepted()).isEqualTo(1);

      port.disconnect();
      Poll.until("the relay to close the first connection", TIMEOUT, () -> server.closed() == 1);
      int polls = port.eofReads();
      Poll.until("polling again", TIMEOUT, () -> port.eofReads() > polls + 2);

      port.connect();
      port.send("ping-2");
      Poll.until("echo of ping-2", TIMEOUT, () -> port.received().equals("ping-2"));
      assertThat(server.accepted()).isEqualTo(2);
      assertThat(relay.sessions()).isEqualTo(2);
      assertThat(server.received()).isEqualTo("ping-1moreping-2");
    }
  }

  @Test
  void aNewHostsPrefaceWithoutAnEofBetweenEndsTheOldConnectionAndStartsAFreshOne()
      throws Exception {
    Path socket = dir.resolve("agent.sock");
    FakePort port = new FakePort();
    byte[] settings = {0, 0, 0, 4, 0, 0, 0, 0, 0};
    try (UdsServer server = new UdsServer(socket, false);
        ChannelRelay relay = relayOver(port, socket)) {
      port.connect();
      port.send(ClientFrames.PREFACE);
      port.send(settings);
      Poll.until("the first host's bytes", TIMEOUT, () -> server.received().length() == 33);
      // the host changes while the guest is paused: no EOF, the next host's preface arrives
      port.send(concat(settings, ClientFrames.PREFACE, settings));
      Poll.until("the old connection closed", TIMEOUT, () -> server.closed() == 1);
      Poll.until("the new host's bytes", TIMEOUT, () -> server.received().length() == 33 + 33);
      assertThat(server.accepted()).isEqualTo(2);
      assertThat(relay.sessions()).isEqualTo(2);
      String preface = new String(ClientFrames.PREFACE, StandardCharsets.ISO_8859_1);
      // what the old host sent just before the new preface went nowhere: its host is gone
      assertThat(server.received()).isEqualTo(preface + "\0\0\0\4\0\0\0\0\0"
          + preface + "\0\0\0\4\0\0\0\0\0");
    }
  }

  private static byte[] concat(byte[]... parts) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  @Test
  void aReadErrorEndsTheSessionButNotTheRelay() throws Exception {
    Path socket = dir.resolve("agent.sock");
    FakePort port = new FakePort();
    try (UdsServer server = new UdsServer(socket, true);
        ChannelRelay relay = relayOver(port, socket)) {
      port.connect();
      port.send("one");
      Poll.until("echo of one", TIMEOUT, () -> port.received().equals("one"));
      port.failNextRead();
      Poll.until("the session to be closed", TIMEOUT, () -> server.closed() == 1);
      port.send("two");
      Poll.until("echo of two", TIMEOUT, () -> port.received().equals("onetwo"));
      assertThat(relay.sessions()).isEqualTo(2);
    }
  }

  @Test
  void hostBytesAreDiscardedWhenTheAgentSocketIsGone() throws Exception {
    Path socket = dir.resolve("absent.sock");
    FakePort port = new FakePort();
    try (ChannelRelay relay = relayOver(port, socket)) {
      port.connect();
      port.send("nobody listens");
      Poll.until("the session to start", TIMEOUT, () -> relay.sessions() == 1);
      port.disconnect();
      int polls = port.eofReads();
      Poll.until("polling again", TIMEOUT, () -> port.eofReads() > polls + 2);
      assertThat(port.received()).isEmpty();
    }
  }

  @Test
  void opensAFileLikeChannelByPathOnceReadWrite() throws Exception {
    Path socket = dir.resolve("agent.sock");
    Path fifo = dir.resolve("port");
    Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start();
    assertThat(mkfifo.waitFor()).isZero();
    try (UdsServer server = new UdsServer(socket, false)) {
      ChannelRelay relay = ChannelRelay.open(fifo, socket).start();
      // Opening a FIFO for writing blocks until it has a reader: the relay's rw open is one.
      FileOutputStream host = new FileOutputStream(fifo.toFile());
      try {
        host.write("hello from the host".getBytes(StandardCharsets.UTF_8));
        host.flush();
        Poll.until("bytes at the agent socket", TIMEOUT,
            () -> server.received().equals("hello from the host"));
      } finally {
        relay.close();
        try {
          host.write('!'); // wakes the relay's blocked read so that its thread ends
        } catch (java.io.IOException brokenPipe) {
          // the relay's end is closed already: nothing left to wake (failed once so under load)
        }
        host.close();
      }
    }
  }
}
