package io.micropod.internal.transport;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * STAND-IN for the host side of a real Firecracker's hybrid vsock ({@code uds_path}) with a
 * guest behind it (no KVM here). Implements the documented handshake: reads one
 * {@code CONNECT <port>\n} line; when something "listens" on that guest port, answers
 * {@code OK <host_port>\n} and then relays to the guest-side service (an echo, or a Unix socket
 * such as a gRPC server); else closes the connection, as Firecracker does. Knobs for the cases
 * the connector must survive: the first N connects refused (guest still booting), a slow ack,
 * guest bytes in the same write as the {@code OK} line, a reply that is not {@code OK}.
 */
public final class HybridVsockPeer implements AutoCloseable {
  private final Path socket;
  private final ServerSocketChannel server;
  private final int listeningPort;
  private final Path target;
  private final Path nameConnections;
  private final Set<SocketChannel> open = ConcurrentHashMap.newKeySet();
  /** The CONNECT lines received, in order. */
  public final List<String> connectLines = new CopyOnWriteArrayList<>();
  public final AtomicInteger connections = new AtomicInteger();
  public volatile int refuseFirst;
  public volatile Duration ackDelay = Duration.ZERO;
  public volatile byte[] extraWithOk = new byte[0];
  public volatile String replyInstead;
  /** With a target: wait this long for the service's first bytes and send them with the OK line. */
  public volatile Duration collectGuestBytes = Duration.ZERO;
  /** Bumped by {@link #resetSilently()}: connections of an earlier generation are dead. */
  private final AtomicInteger generation = new AtomicInteger();

  private HybridVsockPeer(Path socket, ServerSocketChannel server, int listeningPort, Path target,
      Path nameConnections) {
    this.socket = socket;
    this.server = server;
    this.listeningPort = listeningPort;
    this.target = target;
    this.nameConnections = nameConnections;
  }

  /**
   * Listens on {@code socket}; guest port {@code listeningPort} is served by the Unix socket
   * {@code target}, or echoes when {@code target} is null.
   */
  public static HybridVsockPeer start(Path socket, int listeningPort, Path target) throws IOException {
    return start(socket, listeningPort, target, null);
  }

  /**
   * {@link #start(Path, int, Path)}, each connection to {@code target} bound first to the name
   * {@code <nameConnections>-<n>} (its file removed once connected): the service behind
   * {@code target} tells by a call's peer address which peer it came through.
   */
  public static HybridVsockPeer start(Path socket, int listeningPort, Path target, Path nameConnections)
      throws IOException {
    ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    s.bind(UnixDomainSocketAddress.of(socket));
    HybridVsockPeer peer = new HybridVsockPeer(socket, s, listeningPort, target, nameConnections);
    Thread t = new Thread(peer::acceptLoop, "hybrid-vsock-peer");
    t.setDaemon(true);
    t.start();
    return peer;
  }

  private void acceptLoop() {
    while (server.isOpen()) {
      try {
        SocketChannel c = server.accept();
        open.add(c);
        Thread t = new Thread(() -> serve(c), "hybrid-vsock-peer-conn");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(SocketChannel c) {
    int n = connections.incrementAndGet();
    try {
      String line = readLine(c);
      if (line == null) {
        c.close();
        return;
      }
      connectLines.add(line);
      if (!ackDelay.isZero()) {
        Thread.sleep(ackDelay.toMillis()); // the stand-in guest is slow; the test itself never sleeps
      }
      if (replyInstead != null) {
        c.write(ByteBuffer.wrap(replyInstead.getBytes(StandardCharsets.US_ASCII)));
        c.close();
        return;
      }
      if (!line.equals("CONNECT " + listeningPort) || n <= refuseFirst) {
        c.close(); // nothing listens on that guest port (yet): Firecracker closes the connection
        return;
      }
      SocketChannel guest = null;
      ByteArrayOutputStream first = new ByteArrayOutputStream();
      first.write(("OK " + (1073741824 + n) + "\n").getBytes(StandardCharsets.US_ASCII));
      first.write(extraWithOk);
      if (target != null) {
        guest = SocketChannel.open(StandardProtocolFamily.UNIX);
        open.add(guest);
        if (nameConnections != null) {
          // the kernel keeps the bound name as the peer address after the file is gone
          Path name = nameConnections.resolveSibling(nameConnections.getFileName() + "-" + n);
          guest.bind(UnixDomainSocketAddress.of(name));
          guest.connect(UnixDomainSocketAddress.of(target));
          Files.deleteIfExists(name);
        } else {
          guest.connect(UnixDomainSocketAddress.of(target));
        }
        if (!collectGuestBytes.isZero()) {
          guest.configureBlocking(false);
          ByteBuffer b = ByteBuffer.allocate(4096);
          long until = System.nanoTime() + collectGuestBytes.toNanos();
          while (b.position() == 0 && System.nanoTime() < until) {
            guest.read(b);
            Thread.onSpinWait();
          }
          guest.configureBlocking(true);
          first.write(b.array(), 0, b.position());
        }
      }
      c.write(ByteBuffer.wrap(first.toByteArray())); // OK line and guest bytes in one write
      if (guest == null) {
        echo(c, generation.get());
      } else {
        SocketChannel g = guest;
        Thread up = new Thread(() -> pump(c, g), "hybrid-vsock-peer-up");
        up.setDaemon(true);
        up.start();
        pump(g, c);
      }
    } catch (IOException | InterruptedException e) {
      close(c);
    }
  }

  private static String readLine(SocketChannel c) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    ByteBuffer one = ByteBuffer.allocate(1);
    while (true) {
      one.clear();
      if (c.read(one) < 0) {
        return null;
      }
      if (one.get(0) == '\n') {
        return b.toString(StandardCharsets.US_ASCII);
      }
      b.write(one.get(0));
    }
  }

  /**
   * A vsock device reset as the host end may see it: every open connection stays open but is dead
   * (what is written to it goes nowhere, nothing comes back); new connections work.
   */
  public void resetSilently() {
    generation.incrementAndGet();
  }

  private void echo(SocketChannel c, int born) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(8192);
    while (c.read(buf) >= 0) {
      buf.flip();
      while (buf.hasRemaining() && born == generation.get()) {
        c.write(buf);
      }
      buf.clear();
    }
    close(c);
  }

  private void pump(SocketChannel from, SocketChannel to) {
    ByteBuffer buf = ByteBuffer.allocate(65536);
    try {
      while (from.read(buf) >= 0) {
        buf.flip();
        while (buf.hasRemaining()) {
          to.write(buf);
        }
        buf.clear();
      }
    } catch (IOException e) {
      // closed
    } finally {
      close(from);
      close(to);
    }
  }

  private void close(SocketChannel c) {
    open.remove(c);
    try {
      c.close();
    } catch (IOException e) {
      // closing
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    for (SocketChannel c : open) {
      close(c);
    }
    Files.deleteIfExists(socket);
  }
}
