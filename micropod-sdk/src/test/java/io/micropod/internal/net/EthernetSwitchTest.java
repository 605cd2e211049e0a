package io.micropod.internal.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The switch with plain Unix sockets standing in for QEMU's stream netdevs (same framing). */
class EthernetSwitchTest {
  @TempDir Path dir;
  private EthernetSwitch sw;

  @BeforeEach
  void start() throws IOException {
    sw = EthernetSwitch.start("test", dir.resolve("switch.sock"));
  }

  @AfterEach
  void stop() {
    sw.close();
  }

  /** A connected port, once the switch has accepted it. */
  private SocketChannel port() throws IOException {
    int before = sw.ports();
    SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
    ch.connect(UnixDomainSocketAddress.of(sw.socket()));
    Instant deadline = Instant.now().plusSeconds(5);
    while (sw.ports() <= before && Instant.now().isBefore(deadline)) {
      Thread.onSpinWait();
    }
    assertThat(sw.ports()).isGreaterThan(before);
    return ch;
  }

  private static byte[] frame(int dst, int src, String payload) {
    byte[] p = payload.getBytes();
    ByteBuffer b = ByteBuffer.allocate(14 + p.length);
    b.put(mac(dst)).put(mac(src)).putShort((short) 0x0800).put(p);
    return b.array();
  }

  private static byte[] mac(int n) {
    if (n < 0) {
      return new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff};
    }
    return new byte[] {2, 0x6d, 0x70, 0, 0, (byte) n};
  }

  private static void send(SocketChannel ch, byte[] frame) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(4 + frame.length);
    b.putInt(frame.length).put(frame).flip();
    while (b.hasRemaining()) {
      ch.write(b);
    }
  }

  /** The payload of the next frame on {@code ch}, or null when none comes within 300 ms. */
  private static String receive(SocketChannel ch, Duration wait) throws IOException {
    ch.configureBlocking(false);
    ByteBuffer head = ByteBuffer.allocate(4);
    Instant deadline = Instant.now().plus(wait);
    while (head.hasRemaining()) {
      if (ch.read(head) < 0) {
        return null;
      }
      if (head.position() == 0 && Instant.now().isAfter(deadline)) {
        return null;
      }
      Thread.onSpinWait();
    }
    ch.configureBlocking(true);
    ByteBuffer body = ByteBuffer.allocate(head.flip().getInt());
    while (body.hasRemaining()) {
      ch.read(body);
    }
    return new String(body.array(), 14, body.capacity() - 14);
  }

  @Test
  void floodsBroadcastsThenForwardsUnicastOnlyToTheLearnedPort() throws IOException {
    try (SocketChannel a = port(); SocketChannel b = port(); SocketChannel c = port()) {
      send(a, frame(-1, 1, "who-has"));
      assertThat(receive(b, Duration.ofSeconds(5))).isEqualTo("who-has");
      assertThat(receive(c, Duration.ofSeconds(5))).isEqualTo("who-has");

      send(b, frame(1, 2, "reply-to-a"));
      assertThat(receive(a, Duration.ofSeconds(5))).isEqualTo("reply-to-a");
      assertThat(receive(c, Duration.ofMillis(300))).isNull();

      send(a, frame(2, 1, "to-b"));
      assertThat(receive(b, Duration.ofSeconds(5))).isEqualTo("to-b");
      assertThat(receive(c, Duration.ofMillis(300))).isNull();
      assertThat(receive(a, Duration.ofMillis(300))).isNull();
    }
  }

  @Test
  void aPortThatSendsAnOversizedLengthIsDisconnectedAndOthersKeepWorking() throws IOException {
    try (SocketChannel bad = port(); SocketChannel a = port(); SocketChannel b = port()) {
      ByteBuffer junk = ByteBuffer.allocate(4).putInt(EthernetSwitch.MAX_FRAME + 1).flip();
      bad.write(junk);
      assertThat(receive(bad, Duration.ofSeconds(5))).isNull();

      send(a, frame(-1, 1, "still-up"));
      assertThat(receive(b, Duration.ofSeconds(5))).isEqualTo("still-up");
    }
  }

  @Test
  void closeDeletesTheSocketAndDisconnectsPorts() throws IOException {
    try (SocketChannel a = port()) {
      sw.close();

      assertThat(Files.exists(sw.socket())).isFalse();
      ByteBuffer b = ByteBuffer.allocate(1);
      a.configureBlocking(true);
      assertThat(a.read(b)).isEqualTo(-1);
    }
  }
}
