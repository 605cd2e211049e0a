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
 * connection, and goes back to polling: the next host starts a fresh HTTP/2 connection.
 *
 * <p>The guest does not always see that EOF: virtio-serial reports a host's disconnect as a flag
 * at read time, so when one host leaves and the next connects while the guest is paused (a
 * {@code pause} from one process, {@code resume} from another), or right after a snapshot is
 * restored (the guest resumes inside the snapshot host's session), the new host's bytes arrive
 * in the old session. So the relay also follows the host's HTTP/2 frames ({@link ClientFrames}):
 * a client preface at a frame boundary is a new host, and begins a new session exactly as an EOF
 * would have. Frames, not a control message from the host, because the host cannot know what
 * the guest saw, and a preface is what every new HTTP/2 client sends first. If the agent closes
 * a session's connection first (it rejected bytes whose frames the relay could not follow, e.g.
 * after a host was killed in the middle of a frame), the relay looks for a preface in the host
 * bytes just sent and in what follows, and starts a new session there; other bytes are discarded
 * until the host goes away.
 *
 * <p>A session's server output never reaches a later host: the session's pump stops writing to
 * the port when the session ends, and the next session's pump starts writing only after it
 * ended. (Bytes a pump handed to the port before the switch cannot be taken back: a write that
 * blocked while no host was connected completes when the next one connects.)
 *
 * <p>Threads: {@code micropod-agent-relay} (port to socket) and, during a session,
 * {@code micropod-agent-relay-out} (socket to port); both are daemons. {@link #close()} stops
 * the relay and closes the port.
 */
public final class ChannelRelay implements Closeable {
  public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofMillis(10);
  private static final int BUFFER_BYTES = 64 * 1024;
  private static final long JOIN_MILLIS = 2000;
  /** Host bytes kept per session to find a new host's preface after the agent closed first. */
  private static final int RECENT_BYTES = 4096;

  private final InputStream portIn;
  private final OutputStream portOut;
  private final Closeable port;
  private final Path agentSocket;
  private final long pollMillis;
  private final AtomicInteger sessions = new AtomicInteger();
  private volatile boolean closed;
  /** Guards {@link #current}: which session the host's bytes go to, and the switches. */
  private final Object lock = new Object();
  private Session current;
  private Session last;
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
          hostConnected(buffer, n);
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

  /** One host connection as the port reports it: from its first bytes to EOF on the port. */
  private void hostConnected(byte[] buffer, int first) throws IOException {
    synchronized (lock) {
      deliver(newSession(last), buffer, 0, first);
    }
    try {
      int n;
      while (!closed && (n = portIn.read(buffer)) >= 0) {
        if (n > 0) {
          synchronized (lock) {
            deliver(current, buffer, 0, n);
          }
        }
      }
    } finally {
      Session s;
      synchronized (lock) {
        s = current;
        current = null;
        if (s != null) {
          s.end();
        }
      }
      if (s != null) {
        join(s.out);
        Log.debug("agent channel: host session " + s.number + " ended");
      }
    }
  }

  /**
   * Hands host bytes to {@code s}; when they hold a new host's preface, ends {@code s} and goes on
   * with a new session that begins with it (as many times as the bytes say). Holds {@link #lock}.
   */
  private void deliver(Session s, byte[] data, int offset, int length) {
    int at = s.accept(data, offset, length);
    while (at >= 0) {
      Log.debug("agent channel: a new host's HTTP/2 preface in host session " + s.number
          + " (its disconnect was not seen): session " + (sessions.get() + 1) + " takes over");
      s.end();
      s = newSession(s);
      int rest = offset + length - at;
      s.accept(ClientFrames.PREFACE, 0, ClientFrames.PREFACE.length);
      offset = at;
      length = rest;
      at = s.accept(data, offset, length);
    }
  }

  /** Connects a new session to the agent socket and makes it current. Holds {@link #lock}. */
  private Session newSession(Session previous) {
    Session s = new Session(sessions.incrementAndGet(), previous);
    current = s;
    last = s;
    return s;
  }

  /**
   * The agent closed the Unix connection of {@code s} first (it rejected what it read, or it shuts
   * down): the frame tracking may have been lost (a host killed in the middle of a frame, then a
   * new host whose disconnect the guest did not see), so the new host's preface is looked for in
   * what was just sent, and then in what follows, instead of discarding until EOF.
   */
  private void serverClosed(Session s) {
    synchronized (lock) {
      if (current != s || s.ended) {
        return;
      }
      s.dead = true;
      byte[] recent = s.recent();
      int at = ClientFrames.findPreface(recent, 0, recent.length);
      if (at < 0) {
        Log.debug("agent channel: the agent closed host session " + s.number
            + "; looking for a new host's preface in what the host sends");
        return;
      }
      Log.debug("agent channel: the agent closed host session " + s.number
          + " and a new host's preface was just sent: a new session takes over");
      s.end();
      Session next = newSession(s);
      next.accept(ClientFrames.PREFACE, 0, ClientFrames.PREFACE.length);
      deliver(next, recent, at, recent.length - at);
    }
  }

  /**
   * One HTTP/2 connection of one host: a Unix connection to the agent, the tracker of the host's
   * frames, and the pump of the server's bytes to the port. A session that ended never writes to
   * the port again, and the next session's pump writes only after this one's pump ended, so that
   * a host never reads a byte of another host's connection after its own began.
   */
  private final class Session {
    final int number;
    final SocketChannel socket;
    final Thread out;
    final ClientFrames frames = new ClientFrames();
    private final byte[] recent = new byte[RECENT_BYTES];
    private int recentLength;
    private final java.util.ArrayList<ByteBuffer> pending = new java.util.ArrayList<>();
    private byte[] scanning;
    /** Set by {@link #end}: nothing more goes to the port from this session. */
    volatile boolean ended;
    /** The agent's side is closed: host bytes are searched for a new host's preface. */
    volatile boolean dead;

    Session(int number, Session previous) {
      this.number = number;
      Log.debug("agent channel: host session " + number + " started");
      SocketChannel s = null;
      try {
        s = SocketChannel.open(UnixDomainSocketAddress.of(agentSocket));
      } catch (IOException e) {
        Log.warn("agent channel: cannot connect to " + agentSocket + ", discarding host data", e);
        dead = true;
      }
      socket = s;
      if (s == null) {
        out = null;
        return;
      }
      Thread before = previous == null ? null : previous.out;
      out = new Thread(() -> socketToPort(before), "micropod-agent-relay-out");
      out.setDaemon(true);
      outPump = out;
      out.start();
    }

    /**
     * Host bytes: returns the offset past a new host's preface, or -1 (see ClientFrames#scan).
     * What precedes a new preface is not sent at all (its host is gone): the old server must not
     * answer it (a GOAWAY to the old host's GOAWAY) while the new host may already read the port.
     */
    int accept(byte[] data, int offset, int length) {
      if (dead) {
        return ClientFrames.findPreface(data, offset, length);
      }
      scanning = data;
      int at = frames.scan(data, offset, length, this::defer);
      scanning = null;
      if (at >= 0) {
        pending.clear();
      } else {
        flush();
      }
      return at;
    }

    private void defer(byte[] data, int offset, int length) {
      // the chunk being scanned stays put until flush(); the tracker's own record does not
      pending.add(data == scanning || data == ClientFrames.PREFACE
          ? ByteBuffer.wrap(data, offset, length)
          : ByteBuffer.wrap(java.util.Arrays.copyOfRange(data, offset, offset + length)));
    }

    private void flush() {
      if (dead || pending.isEmpty()) {
        pending.clear();
        return;
      }
      ByteBuffer[] buffers = pending.toArray(new ByteBuffer[0]);
      pending.clear();
      for (ByteBuffer b : buffers) {
        if (b.array() != ClientFrames.PREFACE) {
          remember(b.array(), b.position(), b.remaining());
        }
      }
      try {
        long left = 0;
        for (ByteBuffer b : buffers) {
          left += b.remaining();
        }
        while (left > 0) {
          left -= socket.write(buffers);
        }
      } catch (IOException e) {
        Log.debug("agent channel: agent socket closed, discarding host data until a new host"
            + " begins or this one goes away");
        dead = true;
      }
    }

    /** Keeps the last {@link #RECENT_BYTES} host bytes sent after the session's own preface. */
    private void remember(byte[] data, int offset, int length) {
      if (length >= recent.length) {
        System.arraycopy(data, offset + length - recent.length, recent, 0, recent.length);
        recentLength = recent.length;
        return;
      }
      int keep = Math.min(recentLength, recent.length - length);
      System.arraycopy(recent, recentLength - keep, recent, 0, keep);
      System.arraycopy(data, offset, recent, keep, length);
      recentLength = keep + length;
    }

    byte[] recent() {
      return java.util.Arrays.copyOf(recent, recentLength);
    }

    /** Ends the session without waiting: the agent drops the HTTP/2 connection. */
    void end() {
      ended = true;
      if (socket != null) {
        try {
          socket.close();
        } catch (IOException e) {
          Log.debug("agent channel: closing session " + number + ": " + e.getMessage());
        }
      }
    }

    private void socketToPort(Thread before) {
      if (before != null) {
        join(before); // the previous session's last write to the port ends before our first
      }
      ByteBuffer b = ByteBuffer.allocate(BUFFER_BYTES);
      try {
        while (socket.read(b) >= 0) {
          if (ended) {
            return; // the session ended while we read: do not write stale bytes to the port
          }
          portOut.write(b.array(), 0, b.position());
          portOut.flush();
          b.clear();
        }
        serverClosed(this);
      } catch (IOException e) {
        if (!ended) {
          Log.debug("agent channel: socket to port pump ended: " + e.getMessage());
          serverClosed(this);
        }
      }
    }
  }

  private static void join(Thread t) {
    if (t == null || t == Thread.currentThread()) {
      return;
    }
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
    synchronized (lock) {
      if (current != null) {
        current.end();
      }
    }
    if (port != null) {
      port.close();
    }
  }
}
