package io.micropod.internal.transport;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A local Unix socket whose every connection is relayed to the guest through a
 * {@link HybridVsockConnector}: the gRPC channel (Netty epoll, {@code DomainSocketAddress})
 * connects to {@link #socket()} exactly as it does to QEMU's virtio-serial socket, and needs no
 * custom transport. The handshake runs when a connection is accepted; if it fails (the guest is
 * not listening yet and the retry budget ran out) the local connection is closed and gRPC's
 * wait-for-ready reconnects.
 *
 * <p>Threads: one accept thread, two pump threads per relayed connection (daemon, named
 * {@code micropod-<podId>-vsock-*}). {@link #close()} stops accepting, closes every relayed
 * connection and deletes the socket file; idempotent.
 */
public final class HybridVsockRelay implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(HybridVsockRelay.class);

  private final String podId;
  private final Path socket;
  private final HybridVsockConnector connector;
  private final ServerSocketChannel server;
  private final Set<SocketChannel> open = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  private HybridVsockRelay(String podId, Path socket, HybridVsockConnector connector, ServerSocketChannel server) {
    this.podId = podId;
    this.socket = socket;
    this.connector = connector;
    this.server = server;
  }

  /** Binds {@code socket} (which must not exist) and starts accepting. */
  public static HybridVsockRelay start(String podId, Path socket, HybridVsockConnector connector) throws IOException {
    ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    try {
      server.bind(UnixDomainSocketAddress.of(socket));
    } catch (IOException e) {
      server.close();
      throw new IOException("cannot listen on " + socket + ": " + e.getMessage(), e);
    }
    HybridVsockRelay relay = new HybridVsockRelay(podId, socket, connector, server);
    Thread t = new Thread(relay::acceptLoop, "micropod-" + podId + "-vsock-accept");
    t.setDaemon(true);
    t.start();
    return relay;
  }

  public Path socket() {
    return socket;
  }

  private void acceptLoop() {
    while (!closed) {
      SocketChannel local;
      try {
        local = server.accept();
      } catch (IOException e) {
        if (!closed) {
          log.warn("pod {}: vsock relay {} stopped accepting: {}", podId, socket, e.toString());
        }
        return;
      }
      open.add(local);
      Thread t = new Thread(() -> relay(local), "micropod-" + podId + "-vsock-dial");
      t.setDaemon(true);
      t.start();
    }
  }

  private void relay(SocketChannel local) {
    HybridVsockConnector.Connection guest;
    try {
      guest = connector.connect(Instant.MAX);
    } catch (IOException e) {
      log.debug("pod {}: {}", podId, e.getMessage());
      closeQuietly(local);
      return;
    } catch (InterruptedException e) {
      closeQuietly(local);
      return;
    }
    SocketChannel remote = guest.channel();
    open.add(remote);
    if (closed) {
      closeBoth(local, remote);
      return;
    }
    log.debug("pod {}: relaying {} <-> {} port {} (host port {})", podId, socket, connector.udsPath(),
        connector.port(), guest.hostPort());
    try {
      ByteBuffer left = guest.leftover();
      while (left.hasRemaining()) {
        local.write(left);
      }
    } catch (IOException e) {
      closeBoth(local, remote);
      return;
    }
    Thread up = new Thread(() -> pump(local, remote), "micropod-" + podId + "-vsock-up");
    up.setDaemon(true);
    up.start();
    pump(remote, local);
  }

  /** Copies until EOF or an error on either side, then closes both. */
  private void pump(SocketChannel from, SocketChannel to) {
    ByteBuffer buf = ByteBuffer.allocateDirect(64 * 1024);
    try {
      while (from.read(buf) >= 0) {
        buf.flip();
        while (buf.hasRemaining()) {
          to.write(buf);
        }
        buf.clear();
      }
    } catch (ClosedChannelException e) {
      // the other pump or close() closed it
    } catch (IOException e) {
      log.trace("pod {}: vsock relay pump ended: {}", podId, e.toString());
    } finally {
      closeBoth(from, to);
    }
  }

  private void closeBoth(SocketChannel a, SocketChannel b) {
    closeQuietly(a);
    closeQuietly(b);
  }

  private void closeQuietly(SocketChannel c) {
    open.remove(c);
    try {
      c.close();
    } catch (IOException e) {
      // closing
    }
  }

  /**
   * Closes every relayed connection and keeps accepting: after the guest's vsock device was reset
   * (a Firecracker snapshot), the host ends are dead; the client sees the end and reconnects.
   */
  public void closeConnections() {
    for (SocketChannel c : open) {
      closeQuietly(c);
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      server.close();
    } catch (IOException e) {
      // closing
    }
    for (SocketChannel c : open) {
      closeQuietly(c);
    }
    try {
      Files.deleteIfExists(socket);
    } catch (IOException e) {
      log.debug("pod {}: cannot delete {}: {}", podId, socket, e.toString());
    }
  }
}
