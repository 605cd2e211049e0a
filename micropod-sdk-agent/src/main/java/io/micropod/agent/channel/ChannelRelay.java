package io.micropod.agent.channel;

import io.micropod.agent.base.Log;
import java.io.Closeable;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Relays the host's byte stream on the agent channel (a virtio-serial port, {@code /dev/vportNpM})
 * to the agent's own gRPC Unix socket, one session per host connection.
 *
 * <p>The port is opened once, read-write. While no host is connected its reads return EOF: the
 * relay polls every {@code pollInterval} (10 ms by default). On the first bytes of a host it
 * connects to the agent socket and pumps both ways, one thread per direction. On EOF from the
 * port (the host went away) it closes that Unix connection, so the server drops the HTTP/2
 * connection, joins the other pump and goes back to polling: the next host starts a fresh
 * HTTP/2 connection. If the server closes its side first, what the host still sends is
 * discarded until the host goes away.
 *
 * <p>Threads: {@code micropod-agent-relay} (port to socket) and, during a session,
 * {@code micropod-agent-relay-out} (socket to port); both are daemons. {@link #close()} stops
 * the relay and closes the port.
 */
public final class ChannelRelay implements Closeable {
  public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofMillis(10);
  private static final int BUFFER_BYTES = 64 * 1024;
  private static final long JOIN_MILLIS = 2000;

  private final InputStream portIn;
  private final OutputStream portOut;
  private final Closeable port;
  private final Path agentSocket;
  private final long pollMillis;
  private final AtomicInteger sessions = new AtomicInteger();
  private volatile boolean closed;
  private volatile SocketChannel current;
  private volatile Thread outPump;
  private Thread thread;

  /**
   * A relay over streams: {@code portIn} must return EOF (-1) while no host is connected and
   * block while a connected host sends nothing, as a virtio-serial port does.
   *
   * @param port closed by {@link #close()}, may be null
   */
  public ChannelRelay(
      InputStream portIn,
      OutputStream portOut,
      Closeable port,
      Path agentSocket,
      Duration pollInterval) {
    this.portIn = portIn;
    this.portOut = portOut;
    this.port = port;
    this.agentSocket = agentSocket;
    this.pollMillis = Math.max(1, pollInterval.toMillis());
  }

  /**
   * Opens {@code portPath} (a character device or any file-like channel) once, read-write.
   *
   * @throws NoSuchFileException when it does not exist (mode "rw" would create a plain file)
   */
  public static ChannelRelay open(Path portPath, Path agentSocket) throws IOException {
    if (!Files.exists(portPath)) {
      throw new NoSuchFileException(portPath.toString(), null, "no such agent channel");
    }
    RandomAccessFile file = new RandomAccessFile(portPath.toFile(), "rw");
    try {
      return new ChannelRelay(
          new FileInputStream(file.getFD()),
          new FileOutputStream(file.getFD()),
          file,
          agentSocket,
          DEFAULT_POLL_INTERVAL);
    } catch (IOException | RuntimeException e) {
      file.close();
      throw e;
    }
  }

  /** Starts the relay thread. */
  public synchronized ChannelRelay start() {
    if (thread != null) {
      throw new IllegalStateException("already started");
    }
    thread = new Thread(this::loop, "micropod-agent-relay");
    thread.setDaemon(true);
    thread.start();
    return this;
  }

  /** How many host sessions began so far. */
  public int sessions() {
    return sessions.get();
  }

  private void loop() {
    byte[] buffer = new byte[BUFFER_BYTES];
    boolean warned = false;
    while (!closed) {
      try {
        int n = portIn.read(buffer);
        if (closed) {
          break;
        }
        if (n < 0) {
          TimeUnit.MILLISECONDS.sleep(pollMillis);
        } else if (n > 0) {
          session(buffer, n);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (IOException e) {
        if (closed) {
          return;
        }
        // Treated like EOF: the session (if any) is over; keep polling so a host can come back.
        if (!warned) {
          Log.warn("agent channel: read failed, polling on", e);
          warned = true;
        }
        try {
          TimeUnit.MILLISECONDS.sleep(pollMillis);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  /** One host connection: from its first bytes to EOF on the port. */
  private void session(byte[] buffer, int first) throws IOException {
    int number = sessions.incrementAndGet();
    Log.debug("agent channel: host session " + number + " started");
    SocketChannel socket = null;
    try {
      socket = SocketChannel.open(UnixDomainSocketAddress.of(agentSocket));
    } catch (IOException e) {
      Log.warn("agent channel: cannot connect to " + agentSocket + ", discarding host data", e);
    }
    current = socket;
    Thread out = null;
    if (socket != null) {
      SocketChannel s = socket;
      out = new Thread(() -> socketToPort(s), "micropod-agent-relay-out");
      out.setDaemon(true);
      outPump = out;
      out.start();
    }
    boolean socketOpen = socket != null && writeFully(socket, buffer, first);
    try {
      int n;
      while (!closed && (n = portIn.read(buffer)) >= 0) {
        if (n > 0 && socketOpen) {
          socketOpen = writeFully(socket, buffer, n);
        }
      }
    } finally {
      current = null;
      if (socket != null) {
        socket.close();
      }
      if (out != null) {
        join(out);
      }
      Log.debug("agent channel: host session " + number + " ended");
    }
  }

  private static boolean writeFully(SocketChannel socket, byte[] data, int length) {
    ByteBuffer b = ByteBuffer.wrap(data, 0, length);
    try {
      while (b.hasRemaining()) {
        socket.write(b);
      }
      return true;
    } catch (IOException e) {
      Log.debug("agent channel: agent socket closed, discarding host data until it goes away");
      return false;
    }
  }

  private void socketToPort(SocketChannel socket) {
    ByteBuffer b = ByteBuffer.allocate(BUFFER_BYTES);
    try {
      while (socket.read(b) >= 0) {
        if (socket != current) {
          return; // the session ended while we read: do not write stale bytes to the port
        }
        portOut.write(b.array(), 0, b.position());
        portOut.flush();
        b.clear();
      }
    } catch (IOException e) {
      if (socket.isOpen()) {
        Log.debug("agent channel: socket to port pump ended: " + e.getMessage());
      }
    }
  }

  private static void join(Thread t) {
    try {
      t.join(JOIN_MILLIS);
      if (t.isAlive()) {
        Log.warn("agent channel: a write to the port is still blocked after the host left");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Waits up to {@code millis} for the socket-to-port pump of the current session to end, i.e.
   * for everything the server wrote before it closed the connection to reach the port.
   *
   * @return true when no pump runs any more
   */
  public boolean awaitOutputDrained(long millis) {
    Thread t = outPump;
    if (t == null) {
      return true;
    }
    try {
      t.join(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return !t.isAlive();
  }

  /** Stops relaying and closes the port and the current agent connection. */
  @Override
  public void close() throws IOException {
    closed = true;
    SocketChannel s = current;
    if (s != null) {
      s.close();
    }
    if (port != null) {
      port.close();
    }
  }
}
