package io.micropod.internal.agent;

import com.google.protobuf.ByteString;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.Objects;

/**
 * An exec's stdout: collected for the result, and readable as it grows through {@link
 * #reader} (readers share the collected bytes: no second copy is kept).
 */
final class OutputBuffer extends ByteArrayOutputStream {
  private final long limit;
  private long received;
  private boolean marked;
  private boolean ended;

  /** @param limit bytes kept at most ({@link AgentLimits#maxOutputBytes}); then the marker */
  OutputBuffer(long limit) {
    this.limit = limit;
  }

  /**
   * Keeps {@code data} while under the limit; at the limit appends the truncation marker once and
   * drops the rest, so that an endless writer in the guest cannot fill the host's heap.
   */
  synchronized void append(ByteString data) {
    long kept = received;
    received += data.size();
    if (kept < limit) {
      int n = (int) Math.min(data.size(), limit - kept);
      byte[] bytes = data.substring(0, n).toByteArray();
      super.write(bytes, 0, bytes.length);
    }
    if (received > limit && !marked) {
      marked = true;
      byte[] marker = ("\n" + AgentLimits.truncationMarker(limit) + "\n")
          .getBytes(java.nio.charset.StandardCharsets.UTF_8);
      super.write(marker, 0, marker.length);
    }
    notifyAll();
  }

  /** Whether bytes were dropped at the limit. */
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

  /** Copies bytes from {@code pos}, waiting for some; -1 once ended and all was read. */
  synchronized int read(long pos, byte[] b, int off, int len) throws InterruptedIOException {
    while (pos >= count && !ended) {
      try {
        wait();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while reading exec output");
      }
    }
    if (pos >= count) {
      return -1;
    }
    int n = (int) Math.min(len, count - pos);
    System.arraycopy(buf, (int) pos, b, off, n);
    return n;
  }

  /** A stream over this buffer from its first byte. */
  InputStream reader() {
    return new InputStream() {
      private long pos;
      private boolean closed;

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
          return (int) Math.max(0, count - pos);
        }
      }

      @Override
      public void close() {
        closed = true;
      }
    };
  }
}
