package io.micropod.agent.runtime;

import io.micropod.agent.base.Log;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;

/**
 * One daemon thread that reads a process's stdout or stderr until EOF and hands every read to an
 * {@link OutputSink}. It starts reading at once, so no early output waits in the pipe. From a
 * channel to a {@link BufferSink} ({@link #startDirect}) it reads into one direct buffer: no
 * native-to-heap copy on the read and none heap-to-native on the sink's write.
 */
final class StreamPump implements Runnable {
  /**
   * Bytes one read takes at most: a whole pipe's worth (Linux's default pipe size), so that a
   * process writing fast costs one read and one message per 64 KiB; every message costs the
   * interpreted agent (TCG) about the same, whatever its size.
   */
  static final int BUFFER_BYTES = 64 * 1024;
  /**
   * Direct buffers of finished direct pumps, kept for the next ones (at most a few): a new one
   * costs zeroing up to a MiB, which every small exec would otherwise pay. The agent is one
   * process and this is its only such cache.
   */
  private static final BlockingQueue<ByteBuffer> SPARE_BUFFERS = new ArrayBlockingQueue<>(4);

  /** Where the pump reads: one of these two is null. */
  private final InputStream in;
  private final ReadableByteChannel channel;
  private final OutputLog.Stream stream;
  private final OutputSink sink;
  private final String name;
  private final int bufferBytes;
  private final CompletableFuture<Void> done = new CompletableFuture<>();

  private StreamPump(InputStream in, ReadableByteChannel channel, OutputLog.Stream stream,
      OutputSink sink, String name, int bufferBytes) {
    this.in = in;
    this.channel = channel;
    this.stream = stream;
    this.sink = sink;
    this.name = name;
    this.bufferBytes = bufferBytes;
  }

  /** Starts a pump thread named {@code name}; the future completes at EOF (or read error). */
  static CompletableFuture<Void> start(
      InputStream in, OutputLog.Stream stream, OutputSink sink, String name) {
    return start(in, stream, sink, name, BUFFER_BYTES);
  }

  /** Like {@link #start(InputStream, OutputLog.Stream, OutputSink, String)}, reading up to {@code bufferBytes}. */
  static CompletableFuture<Void> start(
      InputStream in, OutputLog.Stream stream, OutputSink sink, String name, int bufferBytes) {
    return start(new StreamPump(in, null, stream, sink, name, bufferBytes));
  }

  /**
   * Starts a pump thread named {@code name} that reads {@code in} into one direct buffer of
   * {@code bufferBytes} and hands it to {@code sink}; closes {@code in} at the end. The future
   * completes at EOF (or read error).
   */
  static CompletableFuture<Void> startDirect(
      ReadableByteChannel in, OutputLog.Stream stream, BufferSink sink, String name, int bufferBytes) {
    return start(new StreamPump(null, in, stream, sink, name, bufferBytes));
  }

  private static CompletableFuture<Void> start(StreamPump pump) {
    Thread t = new Thread(pump, pump.name);
    t.setDaemon(true);
    t.start();
    return pump.done;
  }

  @Override
  public void run() {
    try {
      if (channel != null) {
        pumpChannel();
      } else {
        pumpStream();
      }
    } catch (IOException e) {
      Log.debug(name + ": read ended: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      Log.warn(name + ": output sink failed", e);
    } finally {
      done.complete(null);
    }
  }

  private void pumpChannel() throws IOException, InterruptedException {
    ByteBuffer buffer = spareBuffer(bufferBytes);
    BufferSink direct = (BufferSink) sink;
    try (ReadableByteChannel input = channel) {
      while (input.read(buffer) >= 0) {
        buffer.flip();
        if (buffer.hasRemaining()) {
          direct.write(stream, buffer);
        }
        buffer.clear();
      }
    } finally {
      buffer.clear();
      SPARE_BUFFERS.offer(buffer);
    }
  }

  /** A spare direct buffer of {@code bytes}, or a new one. */
  private static ByteBuffer spareBuffer(int bytes) {
    ByteBuffer b;
    while ((b = SPARE_BUFFERS.poll()) != null) {
      if (b.capacity() == bytes) {
        return b;
      }
    }
    return ByteBuffer.allocateDirect(bytes);
  }

  private void pumpStream() throws IOException, InterruptedException {
    byte[] buffer = new byte[bufferBytes];
    try (InputStream input = in) {
      int n;
      while ((n = input.read(buffer)) >= 0) {
        if (n > 0) {
          sink.write(stream, buffer, 0, n);
        }
      }
    }
  }
}
