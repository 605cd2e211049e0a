package io.micropod.internal.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The switch with plain Unix sockets standing in for QEMU's stream netdevs (same framing). Member
 * {@code n} has MAC {@code 02:6d:70:59:01:0n} and address {@code 10.89.1.n}; the attacks are
 * frames a hostile guest's root can send (it may set any MAC and address on its NIC).
 */
class EthernetSwitchTest {
  private static final int BROADCAST = -1;

  @TempDir Path dir;
  private EthernetSwitch sw;

  @BeforeEach
  void start() throws IOException {
    sw = EthernetSwitch.start("test", dir);
  }

  @AfterEach
  void stop() {
    sw.close();
  }

  /** Opens member {@code n}'s port and connects to it, once the switch has accepted it. */
  private SocketChannel port(int n) throws IOException {
    int before = sw.ports();
    Path socket = sw.openPort(n, macString(n), "10.89.1." + n);
    SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
    ch.connect(UnixDomainSocketAddress.of(socket));
    Instant deadline = Instant.now().plusSeconds(5);
    while (sw.ports() <= before && Instant.now().isBefore(deadline)) {
      Thread.onSpinWait();
    }
    assertThat(sw.ports()).isGreaterThan(before);
    return ch;
  }

  private static String macString(int n) {
    return String.format("02:6d:70:59:01:%02x", n);
  }

  private static byte[] mac(int n) {
    if (n == BROADCAST) {
      return new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff};
    }
    return new byte[] {2, 0x6d, 0x70, 0x59, 1, (byte) n};
  }

  private static byte[] ip(int n) {
    return new byte[] {10, 89, 1, (byte) n};
  }

  /** An IPv4 frame from MAC {@code srcMac}, address {@code srcIp}, carrying {@code payload}. */
  private static byte[] ipv4(int dst, int srcMac, int srcIp, String payload) {
    byte[] p = payload.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(14 + 20 + p.length);
    b.put(mac(dst)).put(mac(srcMac)).putShort((short) 0x0800);
    b.put((byte) 0x45).put((byte) 0).putShort((short) (20 + p.length)).putInt(0).put((byte) 64).put((byte) 17)
        .putShort((short) 0).put(ip(srcIp)).put(ip(dst == BROADCAST ? 255 : dst));
    return b.put(p).array();
  }

  /** An ARP packet: Ethernet source {@code ethSrc}, sender {@code senderMac}/{@code senderIp}. */
  private static byte[] arp(int op, int dst, int ethSrc, int senderMac, byte[] senderIp, int targetIp) {
    ByteBuffer b = ByteBuffer.allocate(14 + 28 + 8);
    b.put(mac(dst)).put(mac(ethSrc)).putShort((short) 0x0806);
    b.putShort((short) 1).putShort((short) 0x0800).put((byte) 6).put((byte) 4).putShort((short) op)
        .put(mac(senderMac)).put(senderIp).put(new byte[6]).put(ip(targetIp));
    return b.put(new byte[8]).array(); // Ethernet padding
  }

  private static byte[] ofType(int srcMac, int etherType, String payload) {
    byte[] p = payload.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(14 + 40 + p.length);
    b.put(mac(BROADCAST)).put(mac(srcMac)).putShort((short) etherType).put(new byte[40]).put(p);
    return b.array();
  }

  private static void send(SocketChannel ch, byte[] frame) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(4 + frame.length);
    b.putInt(frame.length).put(frame).flip();
    while (b.hasRemaining()) {
      ch.write(b);
    }
  }

  /** The next frame on {@code ch}, or null when none comes within {@code wait}. */
  private static byte[] receiveFrame(SocketChannel ch, Duration wait) throws IOException {
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
    return body.array();
  }

  /** The payload of the next IPv4 frame on {@code ch}, or null when none comes within {@code wait}. */
  private static String receive(SocketChannel ch, Duration wait) throws IOException {
    byte[] f = receiveFrame(ch, wait);
    return f == null ? null : new String(f, 34, f.length - 34, StandardCharsets.UTF_8);
  }

  private static Duration quiet() {
    return Duration.ofMillis(300);
  }

  @Test
  void floodsBroadcastsAndForwardsUnicastOnlyToThePortBoundToTheDestinationMac() throws IOException {
    try (SocketChannel a = port(1); SocketChannel b = port(2); SocketChannel c = port(3)) {
      send(a, ipv4(BROADCAST, 1, 1, "hello-all"));
      assertThat(receive(b, Duration.ofSeconds(5))).isEqualTo("hello-all");
      assertThat(receive(c, Duration.ofSeconds(5))).isEqualTo("hello-all");

      send(b, ipv4(1, 2, 2, "reply-to-a"));
      assertThat(receive(a, Duration.ofSeconds(5))).isEqualTo("reply-to-a");
      assertThat(receive(c, quiet())).isNull();

      send(a, ipv4(2, 1, 1, "to-b"));
      assertThat(receive(b, Duration.ofSeconds(5))).isEqualTo("to-b");
      assertThat(receive(c, quiet())).isNull();
      assertThat(receive(a, quiet())).isNull();
      assertThat(sw.refusedFrames()).isZero();
    }
  }

  @Test
  void arpRequestsRepliesAndProbesOfThePortsOwnAddressPass() throws IOException {
    try (SocketChannel a = port(1); SocketChannel b = port(2)) {
      send(a, arp(1, BROADCAST, 1, 1, ip(1), 2));
      assertThat(receiveFrame(b, Duration.ofSeconds(5))).isNotNull();
      send(b, arp(2, 1, 2, 2, ip(2), 1));
      assertThat(receiveFrame(a, Duration.ofSeconds(5))).isNotNull();
      send(a, arp(1, BROADCAST, 1, 1, new byte[4], 1)); // duplicate address detection: sender 0.0.0.0
      assertThat(receiveFrame(b, Duration.ofSeconds(5))).isNotNull();
      assertThat(sw.refusedFrames()).isZero();
    }
  }

  @Test
  void aPortThatSpoofsAnotherMembersMacNeverReceivesItsTraffic() throws IOException {
    try (SocketChannel a = port(1); SocketChannel victim = port(2); SocketChannel attacker = port(3)) {
      send(attacker, ipv4(BROADCAST, 2, 3, "i-am-2"));
      send(attacker, ipv4(1, 2, 2, "i-am-2-unicast"));

      send(a, ipv4(2, 1, 1, "secret-for-2"));
      assertThat(receive(victim, Duration.ofSeconds(5))).isEqualTo("secret-for-2");
      assertThat(receive(attacker, quiet())).isNull();
      assertThat(receive(a, quiet())).as("spoofed frames reach nobody").isNull();
      assertThat(sw.refusedFrames()).isEqualTo(2);
    }
  }

  @Test
  void arpThatClaimsAnotherMembersAddressIsDropped() throws IOException {
    try (SocketChannel a = port(1); SocketChannel victim = port(2); SocketChannel attacker = port(3)) {
      send(attacker, arp(1, BROADCAST, 3, 3, ip(2), 2)); // gratuitous ARP: "10.89.1.2 is at my MAC"
      send(attacker, arp(2, 1, 3, 3, ip(2), 1)); // an answer for the victim's address
      send(attacker, arp(2, 1, 3, 2, ip(3), 1)); // ARP sender MAC is not the frame's
      send(attacker, arp(2, 1, 3, 3, new byte[4], 1)); // a reply from 0.0.0.0 (only probes may)

      assertThat(receiveFrame(a, quiet())).isNull();
      assertThat(receiveFrame(victim, quiet())).isNull();
      assertThat(sw.refusedFrames()).isEqualTo(4);
    }
  }

  @Test
  void ipv4FromAnotherAddressIsDropped() throws IOException {
    try (SocketChannel a = port(1); SocketChannel attacker = port(3)) {
      send(attacker, ipv4(1, 3, 2, "as-2"));
      send(attacker, ipv4(BROADCAST, 3, 0, "from-0.0.0.0"));
      send(attacker, ipv4(1, 3, 3, "honest"));

      assertThat(receive(a, Duration.ofSeconds(5))).isEqualTo("honest");
      assertThat(receive(a, quiet())).isNull();
      assertThat(sw.refusedFrames()).isEqualTo(2);
    }
  }

  @Test
  void ipv6VlanTaggedAndOtherEtherTypesAreNotForwarded() throws IOException {
    try (SocketChannel a = port(1); SocketChannel b = port(2)) {
      send(b, ofType(2, 0x86dd, "ipv6"));
      send(b, ofType(2, 0x8100, "vlan"));
      send(b, ofType(2, 0x88cc, "lldp"));
      send(b, new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 2, 0x6d, 0x70,
          0x59, 1, 2, 8, 6}); // ARP with no body

      assertThat(receiveFrame(a, quiet())).isNull();
      assertThat(sw.refusedFrames()).isEqualTo(4);
    }
  }

  @Test
  void floodingRandomSourceMacsNeitherLearnsNorLeaksAnything() throws IOException {
    try (SocketChannel a = port(1); SocketChannel victim = port(2); SocketChannel attacker = port(3)) {
      List<byte[]> flood = new ArrayList<>();
      for (int i = 0; i < 5000; i++) {
        byte[] f = ipv4(BROADCAST, 3, 3, "x");
        f[6] = 2;
        f[9] = (byte) (i >> 16);
        f[10] = (byte) (i >> 8);
        f[11] = (byte) i;
        flood.add(f);
      }
      for (byte[] f : flood) {
        send(attacker, f);
      }
      send(attacker, ipv4(1, 3, 3, "after-the-flood"));
      assertThat(receive(a, Duration.ofSeconds(10))).isEqualTo("after-the-flood");

      send(a, ipv4(2, 1, 1, "for-2"));
      assertThat(receive(victim, Duration.ofSeconds(5))).isEqualTo("for-2");
      assertThat(receive(attacker, quiet())).isNull();
      send(a, ipv4(0x42, 1, 1, "to-an-unknown-mac")); // unknown unicast is not flooded
      assertThat(receive(attacker, quiet())).isNull();
      assertThat(receive(victim, quiet())).isNull();
      assertThat(sw.refusedFrames()).isGreaterThanOrEqualTo(5000);
    }
  }

  @Test
  void aClosedPortDisconnectsItsVmAndDeletesItsSocket() throws IOException {
    try (SocketChannel a = port(1); SocketChannel b = port(2)) {
      Path socket = EthernetSwitch.portSocket(dir, 2);
      assertThat(socket).exists();

      sw.closePort(2);

      assertThat(socket).doesNotExist();
      b.configureBlocking(true);
      assertThat(b.read(ByteBuffer.allocate(1))).isEqualTo(-1);
      send(a, ipv4(2, 1, 1, "to-gone"));
      assertThat(receive(a, quiet())).isNull();
    }
  }

  @Test
  void aPortThatSendsAnOversizedLengthIsDisconnectedAndOthersKeepWorking() throws IOException {
    try (SocketChannel bad = port(3); SocketChannel a = port(1); SocketChannel b = port(2)) {
      ByteBuffer junk = ByteBuffer.allocate(4).putInt(EthernetSwitch.MAX_FRAME + 1).flip();
      bad.write(junk);
      assertThat(receive(bad, Duration.ofSeconds(5))).isNull();

      send(a, ipv4(BROADCAST, 1, 1, "still-up"));
      assertThat(receive(b, Duration.ofSeconds(5))).isEqualTo("still-up");
    }
  }

  @Test
  void closeDeletesThePortSocketsAndDisconnectsPorts() throws IOException {
    try (SocketChannel a = port(1)) {
      sw.close();

      assertThat(EthernetSwitch.portSocket(dir, 1)).doesNotExist();
      ByteBuffer b = ByteBuffer.allocate(1);
      a.configureBlocking(true);
      assertThat(a.read(b)).isEqualTo(-1);
    }
  }
}
