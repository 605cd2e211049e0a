package io.micropod.internal.net;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An Ethernet switch in user space: the L2 segment of one MicroPod {@code Network}. Each member
 * VM's NIC is a QEMU {@code -netdev stream} connected to <b>its own port socket</b>
 * ({@link #portSocket}, one per member, opened by {@link #openPort}); every frame on such a
 * connection is a 4-byte big-endian length followed by the Ethernet frame (the framing of QEMU's
 * {@code stream} and {@code socket} netdevs). Nothing needs privileges: Unix sockets in a 0700
 * directory.
 *
 * <p><b>Each port is bound to the MAC and IPv4 address the SDK assigned its pod</b> (the guest
 * is untrusted: its root can change both). A frame from a port is forwarded only when its source
 * MAC is the port's and it is ARP whose sender is the port's MAC and address (or 0.0.0.0, a
 * probe) or IPv4 from the port's address; everything else (another source MAC or address, IPv6,
 * VLAN tags, other EtherTypes) is dropped and counted in {@link #refusedFrames()}. So a pod can
 * neither take over another member's MAC or address (and with it its alias) nor flood the MAC
 * table: the table is static, one entry per open port, never learned. Unicast goes to the port
 * bound to the destination MAC (unknown destinations are dropped, not flooded); broadcast and
 * multicast go to every other port.
 *
 * <p>One selector thread ({@code micropod-net-<name>-switch}, daemon) does all I/O. A port whose
 * VM does not read fast enough gets at most {@link #MAX_QUEUED_BYTES} queued; frames beyond are
 * dropped, as a real switch does (TCP recovers). Thread-safe: {@link #openPort},
 * {@link #closePort}, {@link #close()} and the counters may be called from any thread.
 */
public final class EthernetSwitch implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EthernetSwitch.class);

  /** Largest frame accepted (QEMU's NET_BUFSIZE is 4096 + 65536); larger: the port is dropped. */
  static final int MAX_FRAME = 4096 + 65536;
  /** Output queued for one port before frames to it are dropped, bytes. */
  static final int MAX_QUEUED_BYTES = 4 << 20;

  private static final int ETH_HEADER = 14;
  private static final int TYPE_IPV4 = 0x0800;
  private static final int TYPE_ARP = 0x0806;
  /** The refusal of IPv6, VLAN-tagged and other frames: not forwarded, but no sign of spoofing. */
  static final String OTHER_TYPE = "an EtherType other than IPv4 and ARP";

  private final String name;
  private final Path directory;
  private final Selector selector;
  private final Thread thread;
  /** Open ports by host number; the selector thread registers and closes them (see {@link #tasks}). */
  private final Map<Integer, Binding> bindings = new ConcurrentHashMap<>();
  /** The group of port sockets, or null: only this process's user may connect. */
  private volatile Integer portGid;
  private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();
  /** MAC to connected port: static, one entry per connected bound port (never learned). */
  private final Map<Long, Port> macTable = new HashMap<>();
  private final List<Port> ports = new ArrayList<>();
  private final AtomicLong forwarded = new AtomicLong();
  private final AtomicLong dropped = new AtomicLong();
  private final AtomicLong refused = new AtomicLong();
  private volatile boolean closed;
  private volatile int portCount;

  private EthernetSwitch(String name, Path directory, Selector selector) {
    this.name = name;
    this.directory = directory;
    this.selector = selector;
    this.thread = new Thread(this::loop, "micropod-net-" + name + "-switch");
    this.thread.setDaemon(true);
  }

  /**
   * Starts the switch of network {@code name}; its port sockets live in {@code directory}
   * (which must exist, and should be private to this user).
   *
   * @throws IOException when the selector cannot be opened
   */
  public static EthernetSwitch start(String name, Path directory) throws IOException {
    EthernetSwitch s = new EthernetSwitch(name, directory, Selector.open());
    s.thread.start();
    return s;
  }

  /** The socket of the port for host number {@code host} in a switch's {@code directory}. */
  public static Path portSocket(Path directory, int host) {
    return directory.resolve("port-" + host + ".sock");
  }

  /** The directory of the port sockets. */
  public Path directory() {
    return directory;
  }

  /**
   * Port sockets opened from now on belong to group {@code gid}, mode 0660: as root, members'
   * QEMUs run as unprivileged users of that group ({@code VmmUser}).
   */
  public void sharePortsWithGroup(int gid) {
    portGid = gid;
  }

  /**
   * Opens the port of member {@code host}, bound to {@code mac} ({@code 02:6d:...}) and IPv4
   * {@code address}: its socket ({@link #portSocket}) is bound when this returns, so the VM
   * may connect at once. A port of that host still open is closed first.
   *
   * @throws IOException when the socket cannot be bound
   */
  public Path openPort(int host, String mac, String address) throws IOException {
    if (closed) {
      throw new IOException("the switch of network " + name + " is closed");
    }
    closePort(host);
    Path path = portSocket(directory, host);
    ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    try {
      server.bind(UnixDomainSocketAddress.of(path));
      Integer gid = portGid;
      if (gid != null) {
        java.nio.file.Files.setAttribute(path, "unix:gid", gid, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        java.nio.file.Files.setPosixFilePermissions(path,
            java.nio.file.attribute.PosixFilePermissions.fromString("rw-rw----"));
      }
      server.configureBlocking(false);
    } catch (IOException | RuntimeException e) {
      server.close();
      throw e;
    }
    Binding b = new Binding(host, parseMac(mac), parseIpv4(address), server, path);
    bindings.put(host, b);
    run(() -> {
      try {
        b.key = server.register(selector, SelectionKey.OP_ACCEPT, b);
      } catch (IOException e) {
        log.warn("network {}: cannot open the port of {}: {}", name, address, e.toString());
      }
    });
    return path;
  }

  /** Closes the port of member {@code host} (its VM is disconnected) and deletes its socket. Idempotent. */
  public void closePort(int host) {
    Binding b = bindings.remove(host);
    if (b == null) {
      return;
    }
    try {
      Files.deleteIfExists(b.path); // now: a new member may take the host number at once
    } catch (IOException e) {
      log.debug("network {}: cannot delete {}: {}", name, b.path, e.toString());
    }
    run(() -> unbind(b, "port closed"));
  }

  /** Ports (VM connections) now. */
  public int ports() {
    return portCount;
  }

  /** Frames delivered to a port so far. */
  public long forwardedFrames() {
    return forwarded.get();
  }

  /** Frames dropped so far (a port's queue was full). */
  public long droppedFrames() {
    return dropped.get();
  }

  /** Frames refused so far: not from the port's own MAC and address, or of a kind not forwarded. */
  public long refusedFrames() {
    return refused.get();
  }

  /** Stops the switch, disconnects every port and deletes the port sockets. Idempotent. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    selector.wakeup();
    try {
      thread.join(2000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (Binding b : bindings.values()) {
      try {
        Files.deleteIfExists(b.path);
      } catch (IOException e) {
        log.debug("network {}: cannot delete {}: {}", name, b.path, e.toString());
      }
    }
  }

  /** Runs {@code task} on the selector thread. */
  private void run(Runnable task) {
    tasks.add(task);
    selector.wakeup();
  }

  private void loop() {
    try {
      while (!closed) {
        selector.select();
        for (Runnable t; (t = tasks.poll()) != null; ) {
          t.run();
        }
        for (SelectionKey key : selector.selectedKeys()) {
          if (!key.isValid()) {
            continue;
          }
          if (key.isAcceptable()) {
            accept((Binding) key.attachment());
            continue;
          }
          Port port = (Port) key.attachment();
          try {
            if (key.isReadable()) {
              read(port);
            }
            if (key.isValid() && key.isWritable()) {
              flush(port);
            }
          } catch (IOException e) {
            drop(port, e.toString());
          }
        }
        selector.selectedKeys().clear();
      }
    } catch (IOException | RuntimeException e) {
      if (!closed) {
        log.warn("network {}: switch stopped: {}", name, e.toString(), e);
      }
    } finally {
      closed = true;
      for (Runnable t; (t = tasks.poll()) != null; ) {
        try {
          t.run(); // a closePort's unbind still closes its socket
        } catch (RuntimeException e) {
          log.debug("network {}: while closing: {}", name, e.toString());
        }
      }
      for (Port p : new ArrayList<>(ports)) {
        drop(p, "switch closed");
      }
      for (Binding b : bindings.values()) {
        closeQuietly(b.server);
      }
      try {
        selector.close();
      } catch (IOException e) {
        log.debug("network {}: closing the switch: {}", name, e.toString());
      }
    }
  }

  private void unbind(Binding b, String why) {
    closeQuietly(b.server);
    for (Port p : new ArrayList<>(ports)) {
      if (p.binding == b) {
        drop(p, why);
      }
    }
  }

  private void accept(Binding binding) throws IOException {
    SocketChannel ch = binding.server.accept();
    if (ch == null) {
      return;
    }
    ch.configureBlocking(false);
    Port port = new Port(ch, binding);
    port.key = ch.register(selector, SelectionKey.OP_READ, port);
    ports.add(port);
    macTable.put(binding.mac, port); // a reconnect of the same VM replaces its older connection
    portCount = ports.size();
    log.debug("network {}: port of host {} connected ({} ports)", name, binding.host, ports.size());
  }

  private void read(Port port) throws IOException {
    int n = port.channel.read(port.in);
    if (n < 0) {
      drop(port, "disconnected");
      return;
    }
    ByteBuffer in = port.in;
    in.flip();
    while (in.remaining() >= 4) {
      int len = in.getInt(in.position());
      if (len < 0 || len > MAX_FRAME) {
        drop(port, "bad frame length " + len);
        return;
      }
      if (in.remaining() < 4 + len) {
        break;
      }
      byte[] frame = new byte[len];
      in.position(in.position() + 4);
      in.get(frame);
      String refusal = refusal(frame, port.binding);
      if (refusal == null) {
        forward(frame, port);
      } else {
        refused.incrementAndGet();
        // every guest kernel sends IPv6 (link-local, MLD): dropped quietly; spoofing is worth a WARN
        if (!port.warned && !OTHER_TYPE.equals(refusal)) {
          port.warned = true; // once per connection: a hostile guest must not flood the log
          log.warn("network {}: dropped a frame from the pod at {}: {} (further ones are dropped silently)",
              name, ipv4(port.binding.address), refusal);
        }
      }
    }
    in.compact();
  }

  /**
   * Why {@code frame} from a port bound to {@code b} is not forwarded, or null when it may be:
   * its source MAC must be the port's, and it must be ARP whose sender is the port's MAC and
   * address (0.0.0.0 in a probe), or IPv4 from the port's address.
   */
  static String refusal(byte[] frame, Binding b) {
    if (frame.length < ETH_HEADER) {
      return "a runt frame";
    }
    if (mac(frame, 6) != b.mac) {
      return "source MAC " + macString(mac(frame, 6)) + " is not the pod's " + macString(b.mac);
    }
    int type = u16(frame, 12);
    if (type == TYPE_ARP) {
      // Ethernet/IPv4 ARP: htype 1, ptype 0x0800, hlen 6, plen 4, op, sha, spa, tha, tpa
      if (frame.length < ETH_HEADER + 28 || u16(frame, 14) != 1 || u16(frame, 16) != TYPE_IPV4
          || frame[18] != 6 || frame[19] != 4) {
        return "a malformed ARP packet";
      }
      if (mac(frame, 22) != b.mac) {
        return "ARP sender MAC " + macString(mac(frame, 22)) + " is not the pod's";
      }
      int spa = i32(frame, 28);
      if (spa != b.address && !(spa == 0 && u16(frame, 20) == 1)) {
        return "ARP claims address " + ipv4(spa) + ", the pod's is " + ipv4(b.address);
      }
      return null;
    }
    if (type == TYPE_IPV4) {
      if (frame.length < ETH_HEADER + 20 || (frame[14] & 0xf0) != 0x40) {
        return "a malformed IPv4 packet";
      }
      int src = i32(frame, 26);
      if (src != b.address) {
        return "IPv4 source " + ipv4(src) + " is not the pod's " + ipv4(b.address);
      }
      return null;
    }
    return OTHER_TYPE;
  }

  private void forward(byte[] frame, Port from) {
    if ((frame[0] & 1) == 0) {
      Port to = macTable.get(mac(frame, 0));
      if (to != null && to != from && to.key.isValid()) {
        send(to, frame);
      }
      return; // unknown unicast: no member has that MAC, nobody else may see it
    }
    for (Port p : ports.toArray(new Port[0])) {
      if (p != from && p.key.isValid()) {
        send(p, frame);
      }
    }
  }

  private void send(Port to, byte[] frame) {
    if (to.queued + frame.length > MAX_QUEUED_BYTES) {
      dropped.incrementAndGet();
      return;
    }
    ByteBuffer b = ByteBuffer.allocate(4 + frame.length);
    b.putInt(frame.length).put(frame).flip();
    to.out.add(b);
    to.queued += b.remaining();
    try {
      flush(to);
      forwarded.incrementAndGet();
    } catch (IOException e) {
      drop(to, e.toString());
    }
  }

  private void flush(Port port) throws IOException {
    if (!port.key.isValid()) {
      return;
    }
    while (!port.out.isEmpty()) {
      ByteBuffer b = port.out.peek();
      int before = b.remaining();
      port.channel.write(b);
      port.queued -= before - b.remaining();
      if (b.hasRemaining()) {
        port.key.interestOps(SelectionKey.OP_READ | SelectionKey.OP_WRITE);
        return;
      }
      port.out.poll();
    }
    if (port.key.isValid()) {
      port.key.interestOps(SelectionKey.OP_READ);
    }
  }

  private void drop(Port port, String why) {
    if (!ports.remove(port)) {
      return;
    }
    portCount = ports.size();
    macTable.remove(port.binding.mac, port);
    closeQuietly(port.channel);
    log.debug("network {}: port of host {} dropped ({}), {} left", name, port.binding.host, why, ports.size());
  }

  private static void closeQuietly(java.io.Closeable c) {
    try {
      c.close();
    } catch (IOException e) {
      // closing anyway
    }
  }

  private static long mac(byte[] frame, int offset) {
    long m = 0;
    for (int i = 0; i < 6; i++) {
      m = (m << 8) | (frame[offset + i] & 0xff);
    }
    return m;
  }

  private static int u16(byte[] b, int offset) {
    return ((b[offset] & 0xff) << 8) | (b[offset + 1] & 0xff);
  }

  private static int i32(byte[] b, int offset) {
    return (u16(b, offset) << 16) | u16(b, offset + 2);
  }

  static long parseMac(String mac) {
    String[] p = mac.split(":");
    if (p.length != 6) {
      throw new IllegalArgumentException("not a MAC address: " + mac);
    }
    long m = 0;
    for (String x : p) {
      m = (m << 8) | Integer.parseInt(x, 16);
    }
    return m;
  }

  static int parseIpv4(String address) {
    String[] p = address.split("\\.");
    if (p.length != 4) {
      throw new IllegalArgumentException("not an IPv4 address: " + address);
    }
    int a = 0;
    for (String x : p) {
      int v = Integer.parseInt(x);
      if (v < 0 || v > 255) {
        throw new IllegalArgumentException("not an IPv4 address: " + address);
      }
      a = (a << 8) | v;
    }
    return a;
  }

  private static String macString(long m) {
    return String.format(Locale.ROOT, "%02x:%02x:%02x:%02x:%02x:%02x", (m >> 40) & 0xff, (m >> 32) & 0xff,
        (m >> 24) & 0xff, (m >> 16) & 0xff, (m >> 8) & 0xff, m & 0xff);
  }

  private static String ipv4(int a) {
    return ((a >>> 24) & 0xff) + "." + ((a >>> 16) & 0xff) + "." + ((a >>> 8) & 0xff) + "." + (a & 0xff);
  }

  /** What one member's port is bound to. */
  static final class Binding {
    final int host;
    final long mac;
    final int address;
    final ServerSocketChannel server;
    final Path path;
    SelectionKey key;

    Binding(int host, long mac, int address, ServerSocketChannel server, Path path) {
      this.host = host;
      this.mac = mac;
      this.address = address;
      this.server = server;
      this.path = path;
    }
  }

  private static final class Port {
    final SocketChannel channel;
    final Binding binding;
    final ByteBuffer in = ByteBuffer.allocate(2 * (MAX_FRAME + 4));
    final ArrayDeque<ByteBuffer> out = new ArrayDeque<>();
    long queued;
    boolean warned;
    SelectionKey key;

    Port(SocketChannel channel, Binding binding) {
      this.channel = channel;
      this.binding = binding;
    }
  }

  @Override
  public String toString() {
    return "EthernetSwitch{" + name + ", " + directory + (closed ? ", closed" : "") + "}";
  }

}
