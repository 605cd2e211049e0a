package io.micropod.agent.runtime;

import io.micropod.agent.base.Log;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The execs of one container as one user without an OCI runtime start per exec: a {@code
 * micropod-exec} broker (the agent's child) and the helper it started inside the container with
 * one {@code runc exec} (rootfs-builder/guest/micropod-exec.c has the protocol and the security
 * argument). An exec costs a fork in the container instead of a runtime start.
 *
 * <p>The helper is untrusted (the container may kill, stop or replace it): the agent takes
 * nothing from it but "exec n started" and "exec n ended with status s", waits for each at most
 * {@link #REPLY_TIMEOUT}, and when the helper is gone or does not answer, kills it and says so
 * ({@link Unavailable}) before the exec was started, so that the caller can run it with the OCI
 * runtime instead, never twice. An exec that was started and then lost its helper ends with 126
 * and a message on stderr (its process was killed with the helper: parent-death signal).
 *
 * <p>Thread-safe.
 */
final class ExecHelper implements AutoCloseable {
  /** How long the broker may take to get the helper running (one runtime exec under TCG). */
  static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
  /** How long the broker and the helper may take to answer one request. */
  static final Duration REPLY_TIMEOUT = Duration.ofSeconds(10);
  /** The largest request (argv and env) micropod-exec takes; larger ones go to the runtime. */
  static final int MAX_PAYLOAD = 64 * 1024;
  /** How long {@link #close()} waits for the broker to exit (it kills the helper first). */
  private static final long EXIT_WAIT_MILLIS = 5000;

  /** The helper cannot run this exec; nothing was started. Run it with the OCI runtime. */
  static final class Unavailable extends Exception {
    private static final long serialVersionUID = 1L;

    Unavailable(String message) {
      super(message);
    }
  }

  private final Process broker;
  private final String what;
  private final DataOutputStream out;
  private final ConcurrentHashMap<Integer, Call> calls = new ConcurrentHashMap<>();
  private final AtomicInteger seq = new AtomicInteger();
  private final CompletableFuture<Integer> ready = new CompletableFuture<>();
  /** Why the helper is gone; null while it runs. */
  private volatile String gone;

  private final Duration replyTimeout;

  private ExecHelper(Process broker, String what, Duration replyTimeout) {
    this.broker = broker;
    this.what = what;
    this.replyTimeout = replyTimeout;
    this.out = new DataOutputStream(new BufferedOutputStream(broker.getOutputStream(), 8192));
  }

  /**
   * Starts {@code argv} (the broker: {@code micropod-exec broker PID_FILE -- RUNTIME exec ...})
   * and waits until its helper runs.
   *
   * @param errorLog where the broker's and the runtime's stderr go (diagnostics)
   * @param what for messages: "container c1's exec helper (uid 0)"
   * @throws Unavailable when it cannot be started or does not get ready in time (the runtime's
   *     own error, if any, is in its log)
   */
  static ExecHelper start(List<String> argv, Path errorLog, String what, Duration readyTimeout)
      throws Unavailable {
    return start(argv, errorLog, what, readyTimeout, REPLY_TIMEOUT);
  }

  /** Like {@link #start(List, Path, String, Duration)}, waiting {@code replyTimeout} per reply. */
  static ExecHelper start(List<String> argv, Path errorLog, String what, Duration readyTimeout,
      Duration replyTimeout) throws Unavailable {
    Process p;
    try {
      p = new ProcessBuilder(argv)
          .redirectError(ProcessBuilder.Redirect.appendTo(errorLog.toFile()))
          .start();
    } catch (IOException e) {
      throw new Unavailable("cannot run " + argv.get(0) + ": " + e.getMessage());
    }
    ExecHelper h = new ExecHelper(p, what, replyTimeout);
    Thread reader = new Thread(h::readReplies, "micropod-agent-exec-helper-" + p.pid());
    reader.setDaemon(true);
    reader.start();
    try {
      h.ready.get(readyTimeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException e) {
      h.close();
      throw new Unavailable(what + " did not start: "
          + (e instanceof TimeoutException ? "no answer in " + readyTimeout.toSeconds() + " s"
              : e.getCause().getMessage()));
    } catch (InterruptedException e) {
      h.close();
      Thread.currentThread().interrupt();
      throw new Unavailable("interrupted while " + what + " started");
    }
    return h;
  }

  /** Whether the helper still runs (as far as the agent knows). */
  boolean alive() {
    return gone == null;
  }

  /**
   * Runs {@code process} through the helper. Its stdin is a pipe when {@code attachStdin},
   * else /dev/null; stdout and stderr are pipes.
   *
   * @throws Unavailable when nothing was started: the caller runs it with the OCI runtime
   */
  Process exec(ProcessConfig process, boolean attachStdin) throws Unavailable {
    byte[] payload = payload(process, attachStdin);
    if (payload.length > MAX_PAYLOAD) {
      throw new Unavailable("the exec's argv and env (" + payload.length + " bytes) exceed "
          + MAX_PAYLOAD + " bytes");
    }
    if (gone != null) {
      throw new Unavailable(what + " is gone: " + gone);
    }
    long t0 = System.nanoTime();
    int n = seq.incrementAndGet();
    Call call = new Call(n);
    calls.put(n, call);
    if (gone != null) { // it went while we registered: died() may not have seen this call
      calls.remove(n);
      throw new Unavailable(what + " is gone: " + gone);
    }
    FileInputStream stdout = null;
    InputStream stderr = null;
    OutputStream stdin = null;
    try {
      synchronized (out) {
        out.writeByte('E');
        out.writeInt(n);
        out.writeInt(payload.length);
        out.write(payload);
        out.flush();
      }
      int[] fds = await(call.pipes, "pipes");
      // The broker is our own child: its descriptors are the exec's pipes, nothing else.
      String dir = "/proc/" + broker.pid() + "/fd/";
      try {
        stdout = new FileInputStream(dir + fds[1]); // HelperProcess buffers it, or pumps its channel
        // buffered as a Process's own streams are (FileInputStream.readAllBytes would seek)
        stderr = new BufferedInputStream(new FileInputStream(dir + fds[2]), 8192);
        stdin = attachStdin
            ? new BufferedOutputStream(new FileOutputStream(dir + fds[0]), 8192)
            : OutputStream.nullOutputStream();
      } finally {
        synchronized (out) {
          out.writeByte('C');
          out.writeInt(n);
          out.flush();
        }
      }
      await(call.started, "start");
      call.forkedNanos = System.nanoTime();
      if (Log.isDebug()) {
        Log.debug(what + ": exec " + n + " forked " + (call.forkedNanos - t0) / 1000 + " us after the request");
      }
      return new HelperProcess(this, call, stdin, stdout, stderr);
    } catch (IOException | Unavailable e) {
      calls.remove(n);
      closeQuietly(stdin);
      closeQuietly(stdout);
      closeQuietly(stderr);
      if (!call.refused) {
        // the broker or the helper did not answer as it should: stop it (and with it anything
        // the request may still start) before the caller runs the exec some other way
        close();
      }
      throw e instanceof Unavailable u ? u : new Unavailable(what + ": " + e.getMessage());
    }
  }

  private <T> T await(CompletableFuture<T> reply, String name) throws Unavailable {
    try {
      return reply.get(replyTimeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new Unavailable(what + " sent no " + name + " reply in "
          + replyTimeout.toMillis() + " ms (stopped or frozen?)");
    } catch (ExecutionException e) {
      throw new Unavailable(e.getCause().getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Unavailable("interrupted while waiting for " + what);
    }
  }

  /**
   * Sends {@code signal} to exec {@code n}'s process, or, when negative, {@code -signal} to its
   * process group (nothing once the helper is gone).
   */
  void signal(int n, int signal) {
    if (gone != null) {
      return;
    }
    try {
      synchronized (out) {
        out.writeByte('K');
        out.writeInt(n);
        out.writeInt(signal);
        out.flush();
      }
    } catch (IOException e) {
      Log.debug(what + ": cannot signal exec " + n + ": " + e.getMessage());
    }
  }

  /**
   * Stops the helper: the broker kills it (and with it the processes it started) and exits;
   * waits for that a bounded time. Idempotent.
   */
  @Override
  public void close() {
    try {
      synchronized (out) {
        out.close();
      }
    } catch (IOException e) {
      // the broker is gone already
    }
    try {
      if (!broker.waitFor(EXIT_WAIT_MILLIS, TimeUnit.MILLISECONDS)) {
        broker.destroyForcibly();
      }
    } catch (InterruptedException e) {
      broker.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    died("closed by the agent");
  }

  /** The reader thread: the broker's records until its stdout ends. */
  private void readReplies() {
    try (DataInputStream in = new DataInputStream(broker.getInputStream())) {
      while (true) {
        int kind = in.readUnsignedByte();
        int n = in.readInt();
        int value = in.readInt();
        Call call = calls.get(n);
        switch (kind) {
          case 'R' -> ready.complete(value);
          case 'P' -> {
            int out1 = in.readInt();
            int err = in.readInt();
            if (call != null) {
              call.pipes.complete(new int[] {value, out1, err});
            }
          }
          case 'S' -> {
            if (call != null) {
              call.started.complete(value);
            }
          }
          case 'F' -> {
            if (call != null) {
              call.refused = true;
              String why = "the exec was refused (errno " + value + ")";
              call.pipes.completeExceptionally(new Unavailable(why));
              call.started.completeExceptionally(new Unavailable(why));
            }
          }
          case 'X' -> {
            if (call != null && call.started.isDone()) {
              calls.remove(n);
              if (Log.isDebug()) {
                Log.debug(what + ": exec " + n + " exited " + (System.nanoTime() - call.forkedNanos) / 1000
                    + " us after its fork");
              }
              call.exit.complete(exitValue(value));
            }
          }
          case 'D' -> {
            died(value >= 0 ? "the OCI runtime exited with " + value
                : "the helper exited (killed from inside the container?)");
            return;
          }
          default -> {
            died("the broker sent an unknown record " + kind);
            return;
          }
        }
      }
    } catch (EOFException e) {
      died("the broker exited");
    } catch (IOException e) {
      died("cannot read the broker: " + e.getMessage());
    }
  }

  private void died(String why) {
    if (gone == null) {
      gone = why;
      Log.debug(what + ": gone: " + why);
    }
    ready.completeExceptionally(new Unavailable(what + " is gone: " + why));
    for (Call call : calls.values()) {
      Unavailable u = new Unavailable(what + " is gone: " + why);
      call.pipes.completeExceptionally(u);
      call.started.completeExceptionally(u);
      call.failure = what + " went away while the exec ran: " + why;
      call.exit.complete(126);
    }
    calls.clear();
  }

  /** A wait status as Java reports a process's exit: the code, or 128 + signal. */
  static int exitValue(int status) {
    int signal = status & 0x7f;
    if (signal == 0) {
      return (status >> 8) & 0xff;
    }
    return signal == 0x7f ? 126 : 128 + signal;
  }

  /** stdin ("i"/"-"), cwd, argc, argv, env: NUL-terminated fields. */
  static byte[] payload(ProcessConfig process, boolean attachStdin) {
    ByteArrayOutputStream b = new ByteArrayOutputStream(256);
    field(b, attachStdin ? "i" : "-");
    field(b, process.cwd());
    field(b, Integer.toString(process.args().size()));
    for (String a : process.args()) {
      field(b, a);
    }
    for (String e : process.env()) {
      field(b, e);
    }
    return b.toByteArray();
  }

  private static void field(ByteArrayOutputStream b, String s) {
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    for (byte x : bytes) {
      if (x == 0) {
        throw ContainerException.invalid("argv and env must not contain NUL characters");
      }
    }
    b.writeBytes(bytes);
    b.write(0);
  }

  private static void closeQuietly(AutoCloseable c) {
    if (c != null) {
      try {
        c.close();
      } catch (Exception e) {
        // nothing more to do
      }
    }
  }

  /** One exec through the helper. */
  static final class Call {
    final int n;
    final CompletableFuture<int[]> pipes = new CompletableFuture<>();
    final CompletableFuture<Integer> started = new CompletableFuture<>();
    /** Java's exit value (code, or 128 + signal). */
    final CompletableFuture<Integer> exit = new CompletableFuture<>();
    volatile boolean refused;
    /** When the fork was confirmed (System.nanoTime), for debug timings. */
    volatile long forkedNanos;
    /** Set when the exec lost its helper: the runtime-error text for {@link ExecSession}. */
    volatile String failure;

    Call(int n) {
      this.n = n;
    }
  }

  /** An exec through the helper, as a {@link Process}, so that {@link ExecSession} runs it. */
  static final class HelperProcess extends Process {
    private final ExecHelper helper;
    private final Call call;
    private final OutputStream stdin;
    private final FileInputStream stdoutFile;
    private final InputStream stdout;
    private final InputStream stderr;

    HelperProcess(ExecHelper helper, Call call, OutputStream stdin, FileInputStream stdout,
        InputStream stderr) {
      this.helper = helper;
      this.call = call;
      this.stdin = stdin;
      this.stdoutFile = stdout;
      // buffered as a Process's own streams are (FileInputStream.readAllBytes would seek)
      this.stdout = new BufferedInputStream(stdout, 8192);
      this.stderr = stderr;
    }

    /**
     * Stdout's pipe as a channel, for a direct pump ({@link StreamPump#startDirect}); read it or
     * {@link #getInputStream()}, not both. Closing it closes the pipe.
     */
    FileChannel stdoutChannel() {
      return stdoutFile.getChannel();
    }

    /** Why the exec failed (its helper went away), or null. */
    String failure() {
      return call.failure;
    }

    @Override
    public OutputStream getOutputStream() {
      return stdin;
    }

    @Override
    public InputStream getInputStream() {
      return stdout;
    }

    @Override
    public InputStream getErrorStream() {
      return stderr;
    }

    @Override
    public int waitFor() throws InterruptedException {
      try {
        return call.exit.get();
      } catch (ExecutionException e) {
        return 126;
      }
    }

    @Override
    public int exitValue() {
      Integer v = call.exit.getNow(null);
      if (v == null) {
        throw new IllegalThreadStateException("the exec has not exited");
      }
      return v;
    }

    /** SIGTERM to the process, as {@code runc exec} forwards a SIGTERM it gets. */
    @Override
    public void destroy() {
      helper.signal(call.n, 15);
    }

    /**
     * SIGKILL to the process's whole process group: the helper's child leads its own session
     * and group (micropod-exec.c), so this reaches what it started that did not leave it.
     */
    void destroyGroup() {
      helper.signal(call.n, -9);
    }

    @Override
    public Process destroyForcibly() {
      helper.signal(call.n, 9);
      return this;
    }

    @Override
    public boolean isAlive() {
      return !call.exit.isDone();
    }

    @Override
    public CompletableFuture<Process> onExit() {
      return call.exit.thenApply(v -> this);
    }
  }

  /** The helper binary's default place in the guest image. */
  static final String DEFAULT_BINARY = "/usr/bin/micropod-exec";

  /**
   * The helper binary: the system property {@code micropod.execHelper}, else {@code
   * MICROPOD_EXEC_HELPER}, else {@link #DEFAULT_BINARY}; {@code none} turns the helper off
   * (every exec starts the OCI runtime). Null when off or missing.
   */
  static Path binary() {
    String value = System.getProperty("micropod.execHelper",
        System.getenv().getOrDefault("MICROPOD_EXEC_HELPER", DEFAULT_BINARY));
    if (value.isEmpty() || value.equals("none")) {
      return null;
    }
    Path p = Path.of(value);
    return java.nio.file.Files.isExecutable(p) ? p : null;
  }
}
