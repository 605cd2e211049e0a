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
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A learning Ethernet switch in user space: the L2 segment of one MicroPod {@code Network}.
 * Each VM's NIC is a QEMU {@code -netdev stream} connected to this switch's Unix socket; every
 * frame on such a connection is a 4-byte big-endian length followed by the Ethernet frame (the
 * framing of QEMU's {@code stream} and {@code socket} netdevs). Frames go to the port that the
 * destination MAC was last seen on; broadcast, multicast and unknown destinations are flooded to
 * every other port. Nothing needs privileges: a Unix socket in a 0700 directory.
 *
 * <p>One selector thread ({@code micropod-net-<name>-switch}, daemon) does all I/O. A port whose
 * VM does not read fast enough gets at most {@link #MAX_QUEUED_BYTES} queued; frames beyond are
 * dropped, as a real switch does (TCP recovers). Thread-safe: only {@link #close()} and the
 * counters are called from other threads.
 */
public final class EthernetSwitch implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EthernetSwitch.class);

  /** Largest frame accepted (QEMU's NET_BUFSIZE is 4096 + 65536); larger: the port is dropped. */
  static final int MAX_FRAME = 4096 + 65536;
  /** Output queued for one port before frames to it are dropped, bytes. */
  static final int MAX_QUEUED_BYTES = 4 << 20;

  private final String name;
  private final Path socket;
  private final ServerSocketChannel server;
  private final Selector selector;
  private final Thread thread;
  private final Map<Long, Port> macTable = new HashMap<>();
  private final List<Port> ports = new ArrayList<>();
  private final AtomicLong forwarded = new AtomicLong();
  private final AtomicLong dropped = new AtomicLong();
  private volatile boolean closed;
  private volatile int portCount;

  private EthernetSwitch(String name, Path socket, ServerSocketChannel server, Selector selector) {
    this.name = name;
    this.socket = socket;
    this.server = server;
    this.selector = selector;
    this.thread = new Thread(this::loop, "micropod-net-" + name + "-switch");
    this.thread.setDaemon(true);
  }

  /**
   * Binds {@code socket} (which must not exist; its directory must) and starts the switch.
   *
   * @throws IOException when the socket cannot be bound
   */
  public static EthernetSwitch start(String name, Path socket) throws IOException {
    ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    Selector selector = null;
    try {
      server.bind(UnixDomainSocketAddress.of(socket));
      server.configureBlocking(false);
      selector = Selector.open();
      server.register(selector, SelectionKey.OP_ACCEPT);
    } catch (IOException | RuntimeException e) {
      server.close();
      if (selector != null) {
        selector.close();
      }
      Files.deleteIfExists(socket);
      throw e;
    }
    EthernetSwitch s = new EthernetSwitch(name, socket, server, selector);
    s.thread.start();
    return s;
  }

  /** The Unix socket the VMs' netdevs connect to. */
  public Path socket() {
    return socket;
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

  /** Stops the switch, disconnects every port and deletes the socket. Idempotent. */
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
    try {
      Files.deleteIfExists(socket);
    } catch (IOException e) {
      log.debug("network {}: cannot delete {}: {}", name, socket, e.toString());
    }
  }

  private void loop() {
    try {
      while (!closed) {
        selector.select();
        for (SelectionKey key : selector.selectedKeys()) {
          if (!key.isValid()) {
            continue;
          }
          if (key.isAcceptable()) {
            accept();
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
      for (Port p : new ArrayList<>(ports)) {
        drop(p, "switch closed");
      }
      try {
        server.close();
        selector.close();
      } catch (IOException e) {
        log.debug("network {}: closing the switch: {}", name, e.toString());
      }
    }
  }

  private void accept() throws IOException {
    SocketChannel ch = server.accept();
    if (ch == null) {
      return;
    }
    ch.configureBlocking(false);
    Port port = new Port(ch);
    port.key = ch.register(selector, SelectionKey.OP_READ, port);
    ports.add(port);
    portCount = ports.size();
    log.debug("network {}: port connected ({} ports)", name, ports.size());
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
      if (len >= 14) {
        forward(frame, port);
      }
    }
    in.compact();
  }

  private void forward(byte[] frame, Port from) {
    long dst = mac(frame, 0);
    long src = mac(frame, 6);
    if ((frame[6] & 1) == 0) {
      macTable.put(src, from);
    }
    if ((frame[0] & 1) == 0) {
      Port to = macTable.get(dst);
      if (to != null) {
        if (to != from && to.key.isValid()) {
          send(to, frame);
        }
        return;
      }
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
    macTable.values().removeIf(p -> p == port);
    try {
      port.channel.close();
    } catch (IOException e) {
      // closing anyway
    }
    log.debug("network {}: port dropped ({}), {} left", name, why, ports.size());
  }

  private static long mac(byte[] frame, int offset) {
    long m = 0;
    for (int i = 0; i < 6; i++) {
      m = (m << 8) | (frame[offset + i] & 0xff);
    }
    return m;
  }

  private static final class Port {
    final SocketChannel channel;
    final ByteBuffer in = ByteBuffer.allocate(2 * (MAX_FRAME + 4));
    final ArrayDeque<ByteBuffer> out = new ArrayDeque<>();
    long queued;
    SelectionKey key;

    Port(SocketChannel channel) {
      this.channel = channel;
    }
  }

  @Override
  public String toString() {
    return "EthernetSwitch{" + name + ", " + socket + (closed ? ", closed" : "") + "}";
  }

}
