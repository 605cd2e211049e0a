package io.micropod.agent.runtime;

import io.micropod.agent.base.Log;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.CompletableFuture;

/**
 * One daemon thread that reads a process's stdout or stderr until EOF and hands every read to an
 * {@link OutputSink}. It starts reading at once, so no early output waits in the pipe.
 */
final class StreamPump implements Runnable {
  /**
   * Bytes one read takes at most: a whole pipe's worth (Linux's default pipe size), so that a
   * process writing fast costs one read and one message per 64 KiB; every message costs the
   * interpreted agent (TCG) about the same, whatever its size.
   */
  static final int BUFFER_BYTES = 64 * 1024;

  private final InputStream in;
  private final OutputLog.Stream stream;
  private final OutputSink sink;
  private final String name;
  private final int bufferBytes;
  private final CompletableFuture<Void> done = new CompletableFuture<>();

  private StreamPump(InputStream in, OutputLog.Stream stream, OutputSink sink, String name, int bufferBytes) {
    this.in = in;
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
    StreamPump pump = new StreamPump(in, stream, sink, name, bufferBytes);
    Thread t = new Thread(pump, name);
    t.setDaemon(true);
    t.start();
    return pump.done;
  }

  @Override
  public void run() {
    byte[] buffer = new byte[bufferBytes];
    try (InputStream input = in) {
      int n;
      while ((n = input.read(buffer)) >= 0) {
        if (n > 0) {
          sink.write(stream, buffer, 0, n);
        }
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
}
