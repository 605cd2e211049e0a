package io.micropod.agent.runtime;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A container's output, in memory: chunks of stdout and stderr in the order they were read, each
 * with a sequence number. Bounded: once more than {@code maxBytes} are held the oldest chunks
 * are dropped (and counted), so a long-running chatty container keeps only its latest output.
 * The default bound is {@value #DEFAULT_MAX_BYTES} bytes (16 MiB).
 *
 * <p>Readers keep a cursor (the next sequence number they want) and call {@link #read}; a
 * follower {@link #subscribe subscribes} to be told when there is more. Thread-safe; listeners
 * run on the appending thread, outside the lock, and must not block.
 */
public final class OutputLog {
  public static final int DEFAULT_MAX_BYTES = 16 * 1024 * 1024;

  /** Which stream a chunk came from. */
  public enum Stream {
    STDOUT,
    STDERR
  }

  /** One read's worth of output. {@code data} is never modified; do not modify it either. */
  public record Chunk(long seq, Stream stream, byte[] data) {}

  /**
   * The answer to {@link #read}.
   *
   * @param chunks the chunks from the cursor on (possibly empty)
   * @param next the cursor for the next read
   * @param finished true when the log is closed and nothing follows {@code next}
   */
  public record Batch(List<Chunk> chunks, long next, boolean finished) {}

  private final int maxBytes;
  private final ArrayDeque<Chunk> chunks = new ArrayDeque<>();
  private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
  private long nextSeq;
  private long heldBytes;
  private long droppedBytes;
  private boolean closed;

  public OutputLog() {
    this(DEFAULT_MAX_BYTES);
  }

  public OutputLog(int maxBytes) {
    if (maxBytes < 1) {
      throw new IllegalArgumentException("maxBytes < 1: " + maxBytes);
    }
    this.maxBytes = maxBytes;
  }

  /** Appends a copy of {@code data[offset, offset+length)}; ignored once closed or when empty. */
  public void append(Stream stream, byte[] data, int offset, int length) {
    if (length <= 0) {
      return;
    }
    int keep = Math.min(length, maxBytes);
    byte[] copy = Arrays.copyOfRange(data, offset + length - keep, offset + length);
    synchronized (this) {
      if (closed) {
        return;
      }
      droppedBytes += length - keep;
      chunks.addLast(new Chunk(nextSeq++, stream, copy));
      heldBytes += keep;
      while (heldBytes > maxBytes) {
        Chunk dropped = chunks.removeFirst();
        heldBytes -= dropped.data().length;
        droppedBytes += dropped.data().length;
      }
    }
    fire();
  }

  /** Marks the end of output (both streams reached EOF); later appends are ignored. */
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    fire();
  }

  public synchronized boolean isClosed() {
    return closed;
  }

  /** The sequence number the next appended chunk will get: a cursor at "everything so far". */
  public synchronized long nextSeq() {
    return nextSeq;
  }

  /** Bytes dropped so far to stay within the bound. */
  public synchronized long droppedBytes() {
    return droppedBytes;
  }

  /**
   * Chunks from {@code cursor} on (from the oldest held chunk if those were dropped), at most
   * about {@code maxBatchBytes} (always at least one chunk when there is one), and before
   * {@code endSeq}.
   */
  public synchronized Batch read(long cursor, int maxBatchBytes, long endSeq) {
    List<Chunk> out = new ArrayList<>();
    long next = cursor;
    int bytes = 0;
    for (Chunk c : chunks) {
      if (c.seq() < cursor) {
        continue;
      }
      if (c.seq() >= endSeq || (!out.isEmpty() && bytes + c.data().length > maxBatchBytes)) {
        break;
      }
      out.add(c);
      bytes += c.data().length;
      next = c.seq() + 1;
    }
    if (out.isEmpty() && next < nextSeq && !chunks.isEmpty() && chunks.peekFirst().seq() > next) {
      next = Math.min(chunks.peekFirst().seq(), endSeq);
    }
    boolean finished = closed && next >= nextSeq;
    return new Batch(out, next, finished);
  }

  /** All chunks held now. */
  public Batch readAll() {
    return read(0, Integer.MAX_VALUE, Long.MAX_VALUE);
  }

  /**
   * Calls {@code listener} after every append and at close, until the returned handle is closed.
   */
  public AutoCloseable subscribe(Runnable listener) {
    listeners.add(listener);
    return () -> listeners.remove(listener);
  }

  /** How many followers are subscribed now (diagnostics, tests). */
  public int subscribers() {
    return listeners.size();
  }

  private void fire() {
    for (Runnable l : listeners) {
      l.run();
    }
  }
}
