package io.micropod.agent.channel;

import io.micropod.agent.base.Log;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code micropod-bulk} (rootfs-builder/guest/micropod-bulk.c, which has the protocol): a native
 * pump that owns the bulk port while it runs and splices execs' pipes into it as frames, so that
 * their bytes never pass through the interpreted JVM. The agent keeps control: it hands the
 * daemon an exec's pipes ({@link #take}) and reports the exit only after the daemon says the
 * stream's end frame is written.
 *
 * <p>When the daemon dies or answers wrongly it is {@link #broken()} for the pod's life: streams
 * it held fail, and later execs use gRPC (the port has one writer, and the daemon may have left
 * half a frame in it). Thread-safe.
 */
public final class BulkDaemon implements AutoCloseable {
  /** The daemon's default place in the guest image. */
  public static final String DEFAULT_BINARY = "/usr/bin/micropod-bulk";
  /** How long the daemon may take to open a pipe pair, to start, or to end a cut stream. */
  static final Duration REPLY_TIMEOUT = Duration.ofSeconds(10);

  private final Process process;
  private final OutputStream control;
  private final CompletableFuture<Void> ready = new CompletableFuture<>();
  private final ConcurrentHashMap<Long, CompletableFuture<Void>> opened = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Long, CompletableFuture<Void>> ended = new ConcurrentHashMap<>();
  private volatile String broken;

  private BulkDaemon(Process process) {
    this.process = process;
    this.control = process.getOutputStream();
  }

  /**
   * The daemon binary: the system property {@code micropod.bulkHelper}, else {@code
   * MICROPOD_BULK_HELPER}, else {@link #DEFAULT_BINARY}; {@code none} turns it off (the agent
   * writes the port itself). Null when off or missing.
   */
  public static Path binary() {
    String value = System.getProperty("micropod.bulkHelper",
        System.getenv().getOrDefault("MICROPOD_BULK_HELPER", DEFAULT_BINARY));
    if (value.isEmpty() || value.equals("none")) {
      return null;
    }
    Path p = Path.of(value);
    return Files.isExecutable(p) ? p : null;
  }

  /**
   * Starts {@code binary} on {@code port} and waits until it has the port open.
   *
   * @throws IOException when it cannot start or open the port (nothing owns the port then)
   */
  public static BulkDaemon start(Path binary, String port) throws IOException {
    return start(binary, port, BulkPort.MAX_PAYLOAD);
  }

  /** Like {@link #start(Path, String)}, with frames of at most {@code maxPayload} bytes (tests). */
  static BulkDaemon start(Path binary, String port, int maxPayload) throws IOException {
    Process p = new ProcessBuilder(List.of(binary.toString(), port, Integer.toString(maxPayload)))
        .redirectError(ProcessBuilder.Redirect.INHERIT)
        .start();
    BulkDaemon d = new BulkDaemon(p);
    Thread reader = new Thread(d::readReplies, "micropod-agent-bulk-" + p.pid());
    reader.setDaemon(true);
    reader.start();
    try {
      d.ready.get(REPLY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException e) {
      d.close();
      throw new IOException(binary + " did not start on " + port + ": "
          + (e instanceof TimeoutException ? "no answer" : e.getCause().getMessage()));
    } catch (InterruptedException e) {
      d.close();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while " + binary + " started");
    }
    return d;
  }

  /** The daemon's pid (tests). */
  long pid() {
    return process.pid();
  }

  /** Why the daemon is out of use; null while it runs. */
  public String broken() {
    return broken;
  }

  /**
   * Hands the daemon the pipes at {@code stdout} and {@code stderr} as stream {@code stream};
   * returns once it opened both.
   *
   * @return completes when both reached EOF (or were {@linkplain #cut cut}) and the stream's end
   *     frame is written; exceptionally when the daemon broke first
   * @throws IOException when the daemon did not take them (nothing of them was read)
   */
  public CompletableFuture<Void> take(int stream, String stdout, String stderr) throws IOException {
    if (stdout.contains(" ") || stdout.contains("\n") || stderr.contains(" ") || stderr.contains("\n")) {
      throw new IOException("pipe paths with spaces cannot be handed to the bulk daemon");
    }
    long id = Integer.toUnsignedLong(stream);
    CompletableFuture<Void> open = new CompletableFuture<>();
    CompletableFuture<Void> end = new CompletableFuture<>();
    if (opened.putIfAbsent(id, open) != null) {
      throw new IOException("bulk stream " + id + " is already taken");
    }
    ended.put(id, end);
    try {
      send("S " + id + " " + stdout + " " + stderr + "\n");
      await(open, "open bulk stream " + id);
      return end;
    } catch (IOException e) {
      ended.remove(id);
      throw e;
    } finally {
      opened.remove(id);
    }
  }

  /**
   * Ends stream {@code stream} now (the exec exited but something still holds its pipes open):
   * the daemon closes them and writes the end frame; waits for that a bounded time.
   */
  public void cut(int stream) throws IOException {
    long id = Integer.toUnsignedLong(stream);
    CompletableFuture<Void> end = ended.get(id);
    if (end == null) {
      return; // ended already
    }
    send("C " + id + "\n");
    await(end, "end cut bulk stream " + id);
  }

  /** Writes the end frame of {@code stream}, which was never {@linkplain #take taken}; bounded wait. */
  public void endUntaken(int stream) throws IOException {
    long id = Integer.toUnsignedLong(stream);
    CompletableFuture<Void> end = new CompletableFuture<>();
    if (ended.putIfAbsent(id, end) != null) {
      throw new IOException("bulk stream " + id + " is taken");
    }
    send("N " + id + "\n");
    await(end, "end bulk stream " + id);
  }

  private void send(String line) throws IOException {
    String why = broken;
    if (why != null) {
      throw new IOException("the bulk daemon is out of use: " + why);
    }
    try {
      synchronized (control) {
        control.write(line.getBytes(StandardCharsets.US_ASCII));
        control.flush();
      }
    } catch (IOException e) {
      died("cannot write to it: " + e.getMessage());
      throw new IOException("the bulk daemon is out of use: " + broken, e);
    }
  }

  private void await(CompletableFuture<Void> reply, String what) throws IOException {
    try {
      reply.get(REPLY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      died("no answer to " + what + " in " + REPLY_TIMEOUT.toSeconds() + " s");
      throw new IOException("the bulk daemon is out of use: " + broken);
    } catch (ExecutionException e) {
      throw new IOException(e.getCause().getMessage(), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while waiting for the bulk daemon to " + what);
    }
  }

  private void readReplies() {
    try (BufferedReader in = new BufferedReader(
        new InputStreamReader(process.getInputStream(), StandardCharsets.US_ASCII))) {
      String line;
      while ((line = in.readLine()) != null) {
        String[] f = line.split(" ");
        switch (f[0]) {
          case "R" -> ready.complete(null);
          case "O" -> complete(opened, f, null);
          case "F" -> complete(opened, f, "the bulk daemon did not open the pipes (errno " + f[f.length - 1] + ")");
          case "E" -> complete(ended, f, null);
          case "X" -> {
            died("the port failed (errno " + (f.length > 1 ? f[1] : "?") + ")");
            return;
          }
          default -> {
            died("it sent an unknown line: " + line);
            return;
          }
        }
      }
      died("it exited");
    } catch (IOException | RuntimeException e) {
      died("cannot read it: " + e);
    }
  }

  private void complete(ConcurrentHashMap<Long, CompletableFuture<Void>> pending, String[] f, String failure) {
    CompletableFuture<Void> reply = pending.remove(Long.parseLong(f[1]));
    if (reply == null) {
      return;
    }
    if (failure == null) {
      reply.complete(null);
    } else {
      reply.completeExceptionally(new IOException(failure));
    }
  }

  private void died(String why) {
    synchronized (this) {
      if (broken == null) {
        broken = why;
        Log.warn("bulk daemon out of use, later exec output goes over gRPC: " + why, null);
      }
    }
    process.destroyForcibly();
    IOException e = new IOException("the bulk daemon is out of use: " + broken);
    ready.completeExceptionally(e);
    for (CompletableFuture<Void> f : List.copyOf(opened.values())) {
      f.completeExceptionally(e);
    }
    for (CompletableFuture<Void> f : List.copyOf(ended.values())) {
      f.completeExceptionally(e);
    }
    ended.clear();
  }

  /** Stops the daemon; streams it held fail. */
  @Override
  public void close() {
    died("closed by the agent");
    try {
      process.waitFor(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return "bulk daemon " + process.pid();
  }
}
