package io.micropod.internal.agent;

import com.google.protobuf.ByteString;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.ArrayDeque;
import java.util.Objects;

/**
 * An exec's stdout: collected for the result, and readable as it grows through {@link #reader()}.
 *
 * <p>The result keeps the first {@code limit} bytes, then the truncation marker, so that an
 * endless writer in the guest cannot fill the host's heap. A reader taken before anything was
 * dropped streams <b>everything</b> (as {@code docker exec -it} does: an interactive session
 * is not cut after 16 MiB): it reads the kept bytes in place (no second copy), then what arrives
 * past the limit from a queue of at most {@link #STREAM_WINDOW} unread bytes; past that the
 * caller ({@link ExecObserver}) stops asking gRPC for messages until the reader drains it, so a
 * slow reader holds the guest's writer back, as a pipe does. A reader taken after bytes were
 * dropped reads the kept bytes and the marker.
 */
final class OutputBuffer extends ByteArrayOutputStream {
  /** Unread bytes past the limit queued for a reader before the agent is held back. */
  static final int STREAM_WINDOW = 4 << 20;

  private final long limit;
  private long received;
  private boolean marked;
  private boolean ended;
  private InputStream reader;
  /** A reader streams everything (it was taken before anything was dropped, and is open). */
  private boolean streaming;
  private final ArrayDeque<byte[]> overflow = new ArrayDeque<>();
  private long overflowBytes;
  /** Bytes of the queue's head chunk already read. */
  private int overflowRead;
  /** What resumes the call once the reader drained the queue to half the window. */
  private Runnable onDrained;
  /** How many message requests the window held back: each runs {@link #onDrained} once. */
  private int held;

  /** @param limit bytes kept at most ({@link AgentLimits#maxOutputBytes}); then the marker */
  OutputBuffer(long limit) {
    this.limit = limit;
  }

  /**
   * Keeps {@code data} while under the limit; at the limit appends the truncation marker once;
   * past it queues the rest for a streaming reader, or drops it.
   */
  synchronized void append(ByteString data) {
    long kept = received;
    received += data.size();
    int n = 0;
    if (kept < limit) {
      n = (int) Math.min(data.size(), limit - kept);
      byte[] bytes = data.substring(0, n).toByteArray();
      super.write(bytes, 0, bytes.length);
    }
    if (n < data.size() && streaming) {
      byte[] rest = data.substring(n).toByteArray();
      overflow.add(rest);
      overflowBytes += rest.length;
    }
    if (received > limit && !marked) {
      marked = true;
      byte[] marker = ("\n" + AgentLimits.truncationMarker(limit) + "\n")
          .getBytes(java.nio.charset.StandardCharsets.UTF_8);
      super.write(marker, 0, marker.length);
    }
    notifyAll();
  }

  /**
   * Whether the call may deliver another message now; when not (a streaming reader has a full
   * window unread), {@code resume} runs once for each such refusal when the reader drained half
   * of it (or closed): several messages may be in flight, and each one's request must come back.
   */
  synchronized boolean acceptsMore(Runnable resume) {
    if (overflowBytes < STREAM_WINDOW) {
      return true;
    }
    onDrained = resume;
    held++;
    return false;
  }

  /** Bytes queued for the streaming reader and not read yet. */
  synchronized long unreadOverflow() {
    return overflowBytes;
  }

  /** Whether bytes were dropped at the limit (from the result; a streaming reader got them). */
  synchronized boolean truncated() {
    return received > limit;
  }

  @Override
  public synchronized void write(byte[] b, int off, int len) {
    super.write(b, off, len);
  }

  synchronized void end() {
    ended = true;
    notifyAll();
  }

  /**
   * Copies bytes from {@code pos} of the stream, waiting for some; -1 once ended and all was read.
   * Runs {@link #onDrained} outside the lock (gRPC may deliver the next message on this thread).
   */
  int read(long pos, byte[] b, int off, int len) throws InterruptedIOException {
    Runnable resume = null;
    int times = 0;
    int n;
    synchronized (this) {
      while (!readable(pos) && !ended) {
        try {
          wait();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while reading exec output");
        }
      }
      long keptData = streaming ? Math.min(received, limit) : count;
      if (pos < keptData) {
        n = (int) Math.min(len, keptData - pos);
        System.arraycopy(buf, (int) pos, b, off, n);
      } else if (streaming && !overflow.isEmpty()) {
        n = 0;
        while (n < len && !overflow.isEmpty()) {
          byte[] head = overflow.peek();
          int from = overflowRead;
          int take = Math.min(len - n, head.length - from);
          System.arraycopy(head, from, b, off + n, take);
          n += take;
          overflowRead += take;
          if (overflowRead == head.length) {
            overflow.poll();
            overflowRead = 0;
          }
        }
        overflowBytes -= n;
        if (held > 0 && overflowBytes <= STREAM_WINDOW / 2) {
          resume = onDrained;
          times = held;
          held = 0;
        }
      } else {
        return -1;
      }
    }
    for (int i = 0; i < times; i++) {
      resume.run();
    }
    return n;
  }

  private boolean readable(long pos) {
    return pos < (streaming ? Math.min(received, limit) : count) || (streaming && !overflow.isEmpty());
  }

  /** The reader stopped: nothing more is queued for it, and a held-back call goes on. */
  private void stopStreaming() {
    Runnable resume;
    int times;
    synchronized (this) {
      streaming = false;
      overflow.clear();
      overflowBytes = 0;
      overflowRead = 0;
      resume = onDrained;
      times = held;
      held = 0;
    }
    for (int i = 0; i < times; i++) {
      resume.run();
    }
  }

  /** The stream over this buffer from its first byte; always the same instance. */
  synchronized InputStream reader() {
    if (reader == null) {
      streaming = received <= limit;
      reader = new Reader();
    }
    return reader;
  }

  private final class Reader extends InputStream {
    private long pos;
    private volatile boolean closed;

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      int n = read(one, 0, 1);
      return n < 0 ? -1 : one[0] & 0xFF;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      Objects.checkFromIndexSize(off, len, b.length);
      if (closed) {
        throw new IOException("closed");
      }
      if (len == 0) {
        return 0;
      }
      int n = OutputBuffer.this.read(pos, b, off, len);
      if (n > 0) {
        pos += n;
      }
      return n;
    }

    @Override
    public int available() {
      synchronized (OutputBuffer.this) {
        long keptData = streaming ? Math.min(received, limit) : count;
        return (int) Math.min(Integer.MAX_VALUE, Math.max(0, keptData - pos) + (pos >= keptData ? overflowBytes : 0));
      }
    }

    @Override
    public void close() {
      if (!closed) {
        closed = true;
        stopStreaming();
      }
    }
  }
}
