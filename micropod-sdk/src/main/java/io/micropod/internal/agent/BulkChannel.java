package io.micropod.internal.agent;

import com.google.protobuf.UnsafeByteOperations;
import java.io.Closeable;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host end of a QEMU pod's bulk port: exec output as frames past gRPC
 * (docs/internals/bulk-channel.md). One daemon thread reads the port's socket all the time and
 * appends each frame's bytes to its stream's {@link OutputBuffer}s, so that no exec's output
 * waits behind another's and the guest's writes never block for long.
 *
 * <p>Frame: {@code u32 stream, u8 kind (1 stdout, 2 stderr, 3 end), u32 length, bytes},
 * big-endian. The guest is not trusted: a frame of an unknown kind, for a stream the host did
 * not open, longer than {@link #MAX_PAYLOAD}, or an end with bytes breaks the channel for the
 * rest of the pod's life: the socket is closed, every open stream fails with the reason, and
 * later execs use gRPC ({@link #open} returns null). Host memory stays bounded: one frame buffer
 * of {@link #MAX_PAYLOAD} bytes, and each stream's buffers keep at most their limit.
 */
public final class BulkChannel implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(BulkChannel.class);

  static final int STDOUT = 1;
  static final int STDERR = 2;
  static final int END = 3;
  static final int HEADER_BYTES = 9;
  /** Bytes one frame may carry: the agent's frames carry at most one read of a 1 MiB pipe. */
  static final int MAX_PAYLOAD = 1024 * 1024;

  private final String podId;
  private final ReadableByteChannel in;
  private final Closeable closer;
  private final Map<Integer, Stream> streams = new ConcurrentHashMap<>();
  /**
   * Stream ids are random, not counted: a process that reaches this pod's agent through the
   * owner's relay can put any id in its own exec request, and a counted id would be easy to guess,
   * letting its exec's output be read into the owner's exec.
   */
  private static final java.security.SecureRandom IDS = new java.security.SecureRandom();
  private volatile String broken;
  private volatile boolean closedByGuest;

  BulkChannel(String podId, ReadableByteChannel in, Closeable closer) {
    this.podId = podId;
    this.in = in;
    this.closer = closer;
  }

  /**
   * Connects to the bulk port's socket (QEMU listens on it from its start) and starts reading.
   *
   * @throws IOException when the socket cannot be connected (no bulk port: use gRPC)
   */
  public static BulkChannel connect(String podId, Path socket) throws IOException {
    SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket));
    BulkChannel c = new BulkChannel(podId, ch, ch);
    c.start("micropod-" + podId + "-bulk");
    return c;
  }

  void start(String threadName) {
    Thread t = new Thread(this::readLoop, threadName);
    t.setDaemon(true);
    t.start();
  }

  /**
   * Opens a stream whose stdout and stderr frames go to these buffers; null when the channel is
   * broken or closed (use gRPC).
   */
  Stream open(OutputBuffer stdout, OutputBuffer stderr) {
    if (broken != null) {
      return null;
    }
    int id;
    do {
      id = IDS.nextInt(Integer.MAX_VALUE - 1) + 1;
    } while (streams.containsKey(id));
    Stream s = new Stream(id, stdout, stderr);
    streams.put(id, s);
    if (broken != null) { // broke meanwhile: fail(..) may have missed it
      streams.remove(id);
      return null;
    }
    return s;
  }

  /** Why the channel no longer carries output, or null while it does. */
  String broken() {
    return broken;
  }

  private void readLoop() {
    ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES);
    byte[] payload = new byte[MAX_PAYLOAD];
    try {
      while (true) {
        header.clear();
        if (!readFully(header)) {
          fail("the guest closed the bulk port", true);
          return;
        }
        header.flip();
        int id = header.getInt();
        int kind = header.get() & 0xff;
        long length = Integer.toUnsignedLong(header.getInt());
        if (kind < STDOUT || kind > END) {
          fail("a frame of unknown kind " + kind + " (stream " + Integer.toUnsignedString(id) + ")");
          return;
        }
        if (length > MAX_PAYLOAD || (kind == END && length != 0)) {
          fail("a frame of " + length + " bytes (kind " + kind + ", stream " + Integer.toUnsignedString(id)
              + "; at most " + (kind == END ? 0 : MAX_PAYLOAD) + ")");
          return;
        }
        Stream s = streams.get(id);
        if (s == null) {
          fail("a frame for stream " + Integer.toUnsignedString(id) + ", which the host did not open");
          return;
        }
        ByteBuffer body = ByteBuffer.wrap(payload, 0, (int) length);
        if (!readFully(body)) {
          fail("the guest closed the bulk port within a frame");
          return;
        }
        if (kind == END) {
          streams.remove(id);
          s.ended.complete(null);
        } else {
          s.append(kind, payload, (int) length);
        }
      }
    } catch (IOException e) {
      fail(broken != null ? broken : "reading the bulk port failed: " + e);
    } catch (RuntimeException e) {
      fail("reading the bulk port failed: " + e);
      throw e;
    }
  }

  private boolean readFully(ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      if (in.read(b) < 0) {
        return false;
      }
    }
    return true;
  }

  /** Breaks the channel for good: closes it and fails every open stream with {@code why}. */
  private void fail(String why) {
    fail(why, false);
  }

  /** {@link #fail(String)}; {@code byGuest}: the guest closed the port (its VM or agent went away). */
  private void fail(String why, boolean byGuest) {
    boolean first;
    synchronized (this) {
      first = broken == null;
      if (first) {
        broken = why;
        closedByGuest = byGuest;
      }
    }
    if (first && !"closed".equals(why)) {
      log.warn("pod {}: bulk channel ended: {}; exec output uses the agent's gRPC channel from now on",
          podId, why);
    }
    try {
      closer.close();
    } catch (IOException e) {
      log.debug("pod {}: closing the bulk channel: {}", podId, e.toString());
    }
    for (Stream s : streams.values()) {
      streams.remove(s.id);
      s.ended.completeExceptionally(new EndedException(broken, closedByGuest));
    }
  }

  /** Closes the channel; open streams fail. Idempotent. */
  @Override
  public void close() {
    fail("closed");
  }

  /** One exec's output on the channel. */
  final class Stream {
    private final int id;
    private volatile OutputBuffer stdout;
    private volatile OutputBuffer stderr;
    private final CompletableFuture<Void> ended = new CompletableFuture<>();

    Stream(int id, OutputBuffer stdout, OutputBuffer stderr) {
      this.id = id;
      this.stdout = stdout;
      this.stderr = stderr;
    }

    int id() {
      return id;
    }

    /** Completes when the agent wrote the stream's end frame; fails when the channel broke. */
    CompletableFuture<Void> ended() {
      return ended;
    }

    private void append(int kind, byte[] data, int length) {
      OutputBuffer to = kind == STDOUT ? stdout : stderr;
      if (to != null) { // null: abandoned, the rest is dropped until the end frame
        to.append(UnsafeByteOperations.unsafeWrap(data, 0, length)); // append copies
      }
    }

    /**
     * The agent did not use the channel for it (an exit without {@code bulk_ended}): forget it,
     * so that a frame for it breaks the channel.
     */
    void unused() {
      streams.remove(id);
      ended.complete(null);
    }

    /**
     * The exec failed or was cancelled: drop what still arrives, but keep the stream open until
     * the agent's end frame (the agent ends every stream it started).
     */
    void abandon() {
      stdout = null;
      stderr = null;
    }
  }

  /**
   * Why a stream's output was lost: {@link #closedByGuest()} when the guest closed the port (its VM
   * or agent went away: the agent channel is gone too), else the guest broke the frame rules.
   */
  static final class EndedException extends IOException {
    private static final long serialVersionUID = 1L;
    private final boolean closedByGuest;

    EndedException(String why, boolean closedByGuest) {
      super("the pod's bulk channel ended: " + why);
      this.closedByGuest = closedByGuest;
    }

    boolean closedByGuest() {
      return closedByGuest;
    }
  }
}
