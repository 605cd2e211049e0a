package io.micropod.agent.channel;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A Unix socket server standing in for the agent's gRPC server: records or echoes bytes. */
final class UdsServer implements AutoCloseable {
  private final ServerSocketChannel server;
  private final boolean echo;
  private final List<SocketChannel> connections = new ArrayList<>();
  private final StringBuilder received = new StringBuilder();
  private int closed;

  UdsServer(Path socket, boolean echo) throws IOException {
    this.echo = echo;
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket));
    Thread t = new Thread(this::acceptLoop, "test-uds-accept");
    t.setDaemon(true);
    t.start();
  }

  private void acceptLoop() {
    try {
      while (true) {
        SocketChannel c = server.accept();
        synchronized (this) {
          connections.add(c);
        }
        Thread t = new Thread(() -> serve(c), "test-uds-conn");
        t.setDaemon(true);
        t.start();
      }
    } catch (IOException e) {
      // closed
    }
  }

  private void serve(SocketChannel c) {
    ByteBuffer b = ByteBuffer.allocate(4096);
    try (c) {
      while (c.read(b) >= 0) {
        b.flip();
        synchronized (this) {
          received.append(StandardCharsets.UTF_8.decode(b.duplicate()));
        }
        if (echo) {
          while (b.hasRemaining()) {
            c.write(b);
          }
        }
        b.clear();
      }
    } catch (IOException e) {
      // the relay closed the connection
    }
    synchronized (this) {
      closed++;
    }
  }

  synchronized int accepted() {
    return connections.size();
  }

  synchronized int closed() {
    return closed;
  }

  synchronized String received() {
    return received.toString();
  }

  @Override
  public void close() throws IOException {
    server.close();
    synchronized (this) {
      for (SocketChannel c : connections) {
        c.close();
      }
    }
  }
}
