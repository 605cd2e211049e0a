package io.micropod.agent;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * The guest side of a virtio-serial port whose host side is a Unix socket server, like QEMU's
 * {@code -chardev socket,server=on}: one host at a time connects to {@code socket}; reads return
 * EOF while none is connected and when it goes away.
 */
final class SocketPort implements AutoCloseable {
  private final ServerSocketChannel server;
  private final LinkedBlockingQueue<SocketChannel> waiting = new LinkedBlockingQueue<>();
  private volatile SocketChannel host;
  private final boolean hideDisconnects;

  SocketPort(Path socket) throws IOException {
    this(socket, false);
  }

  /**
   * @param hideDisconnects when a host goes away, reads do not return EOF but block for the next
   *     host and go on with its bytes: what the guest sees when the host changes while it is
   *     paused, or when it resumes from a snapshot
   */
  SocketPort(Path socket, boolean hideDisconnects) throws IOException {
    this.hideDisconnects = hideDisconnects;
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket));
    Thread t = new Thread(() -> {
      try {
        while (true) {
          waiting.add(server.accept());
        }
      } catch (IOException e) {
        // closed
      }
    }, "test-port-accept");
    t.setDaemon(true);
    t.start();
  }

  final InputStream in = new InputStream() {
    @Override
    public int read() {
      throw new UnsupportedOperationException();
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      SocketChannel h = host;
      if (h == null) {
        h = waiting.poll();
        if (h == null) {
          return -1;
        }
        host = h;
      }
      int n;
      try {
        n = h.read(ByteBuffer.wrap(b, off, len));
      } catch (IOException e) {
        n = -1; // reset by the host: gone, as QEMU reports it to the guest
      }
      if (n < 0) {
        host = null;
        h.close();
        if (hideDisconnects) {
          try {
            while (host == null) {
              if (!server.isOpen()) {
                return -1;
              }
              host = waiting.poll(20, java.util.concurrent.TimeUnit.MILLISECONDS);
            }
          } catch (InterruptedException e) {
            throw new java.io.InterruptedIOException();
          }
          return read(b, off, len);
        }
      }
      return n;
    }
  };

  final OutputStream out = new OutputStream() {
    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      SocketChannel h = host;
      if (h == null) {
        return; // no host: a real port would block; the bytes have nowhere to go
      }
      ByteBuffer buf = ByteBuffer.wrap(b, off, len);
      while (buf.hasRemaining()) {
        h.write(buf);
      }
    }
  };

  @Override
  public void close() throws IOException {
    server.close();
    SocketChannel h = host;
    if (h != null) {
      h.close();
    }
  }
}
