package io.micropod.internal.vm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A host process a pod owns (QEMU, virtiofsd): stdout and stderr appended to a log file, stdin
 * from /dev/null, stopped with SIGTERM then SIGKILL.
 */
public final class ManagedProcess {
  private static final Logger log = LoggerFactory.getLogger(ManagedProcess.class);
  private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

  private final String podId;
  private final String role;
  private final Process process;
  private final Path logFile;

  private ManagedProcess(String podId, String role, Process process, Path logFile) {
    this.podId = podId;
    this.role = role;
    this.process = process;
    this.logFile = logFile;
  }

  /** Starts {@code command} so that it dies with this JVM; see {@link #start(String, String, List, Path, boolean)}. */
  public static ManagedProcess start(String podId, String role, List<String> command, Path logFile)
      throws IOException {
    return start(podId, role, command, logFile, false);
  }

  /**
   * Starts {@code command}.
   *
   * <p>Unless {@code detached}, the process dies with this JVM, SIGKILL included: it runs under
   * {@code setpriv --pdeathsig SIGKILL} (util-linux; it sets {@code PR_SET_PDEATHSIG} and execs,
   * so the pid is the command's). The kernel sends that signal when the <em>thread</em> that
   * forked the child ends, not only the process, so every such process is forked from one
   * JVM-wide daemon thread that lives as long as the JVM ({@code micropod-spawner}). Without
   * setpriv on the host the process outlives a killed JVM until the next runtime's sweep.
   *
   * <p>A {@code detached} process runs under {@code setsid} instead: its own session, so neither
   * the JVM's exit nor a terminal's Ctrl-C reaches it. It runs only once its pod recorded it
   * ({@link #recordSpawns}): until then it waits behind a gate that a dead JVM never opens.
   */
  public static ManagedProcess start(String podId, String role, List<String> command, Path logFile,
      boolean detached) throws IOException {
    return start(podId, role, command, logFile, detached, java.util.Map.of());
  }

  /** As {@link #start(String, String, List, Path, boolean)}, with {@code env} added to the environment. */
  public static ManagedProcess start(String podId, String role, List<String> command, Path logFile,
      boolean detached, java.util.Map<String, String> env) throws IOException {
    Files.createDirectories(logFile.getParent());
    List<String> full = new java.util.ArrayList<>();
    if (detached) {
      if (SETSID != null) {
        full.add(SETSID);
      }
      full.addAll(List.of("/bin/sh", "-c", GATE, "micropod-gate"));
    } else if (SETPRIV != null) {
      full.addAll(List.of(SETPRIV, "--pdeathsig", "SIGKILL"));
    }
    full.addAll(command);
    ProcessBuilder pb = new ProcessBuilder(full)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
        .redirectErrorStream(true);
    if (!detached) {
      pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    }
    pb.environment().putAll(env);
    Process p = Spawner.start(pb);
    if (detached) {
      release(podId, role, p);
    }
    log.debug("pod {}: started {} (pid {}): {}", podId, role, p.pid(), full);
    return new ManagedProcess(podId, role, p, logFile);
  }

  /**
   * What a detached process runs first: it waits for "go" on its stdin (a pipe from this JVM),
   * then execs the command (same pid, same start time). When the JVM dies before it said go, the
   * pipe closes and nothing runs.
   */
  private static final String GATE = "IFS= read -r go && [ \"$go\" = go ] && exec \"$@\"";

  /** Records a detached pod's processes; see {@link #recordSpawns}. */
  @FunctionalInterface
  public interface SpawnRecorder {
    /** Writes {@code pid} (about to run as {@code role}) where a sweep finds it; throws when it cannot. */
    void spawned(String role, long pid);
  }

  private static final java.util.Map<String, SpawnRecorder> RECORDERS = new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * From now on each detached process of {@code podId} is given to {@code recorder} before it
   * runs: a detached process outlives the JVM on purpose, so a SIGKILL of the JVM between its
   * spawn and its record would leave it running where no sweep finds it. Behind the gate
   * ({@link #GATE}) it cannot run unrecorded.
   */
  public static void recordSpawns(String podId, SpawnRecorder recorder) {
    RECORDERS.put(podId, recorder);
  }

  /** Ends {@link #recordSpawns} for {@code podId}. */
  public static void forgetSpawns(String podId) {
    RECORDERS.remove(podId);
  }

  /** Records {@code p} (when its pod records spawns), then lets it run; kills it when it cannot be recorded. */
  private static void release(String podId, String role, Process p) throws IOException {
    SpawnRecorder recorder = RECORDERS.get(podId);
    try {
      if (recorder != null) {
        recorder.spawned(role, p.pid());
      }
    } catch (RuntimeException e) {
      p.destroyForcibly(); // it never ran: nothing else to undo
      throw new IOException("cannot record " + role + " (pid " + p.pid() + ") of pod " + podId
          + " before letting it run: " + e.getMessage(), e);
    }
    try (java.io.OutputStream gate = p.getOutputStream()) {
      gate.write("go\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    } catch (IOException e) {
      // the gate already exited (no /bin/sh?): the caller sees the process dead and says so
      log.debug("pod {}: {} (pid {}) exited before it was released: {}", podId, role, p.pid(), e.toString());
    }
  }

  /** {@code setpriv} on PATH (null if absent): its {@code --pdeathsig} ties children to the JVM. */
  static final String SETPRIV = onPath("setpriv");
  /** {@code setsid} on PATH (null if absent), for detached pods. */
  static final String SETSID = onPath("setsid");

  private static String onPath(String name) {
    String path = System.getenv("PATH");
    for (String d : (path == null ? "/usr/bin:/bin" : path).split(":")) {
      if (!d.isEmpty() && Files.isExecutable(Path.of(d, name))) {
        return Path.of(d, name).toString();
      }
    }
    log.warn("{} is not on PATH: VMs will not die with a killed JVM until the next sweep "
        + "(install util-linux)", name);
    return null;
  }

  /** The one thread that forks every pod process (see {@link #start(String, String, List, Path, boolean)}). */
  private static final class Spawner {
    private static final java.util.concurrent.ExecutorService THREAD =
        java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
          Thread t = new Thread(r, "micropod-spawner");
          t.setDaemon(true);
          return t;
        });

    static Process start(ProcessBuilder pb) throws IOException {
      java.util.concurrent.Future<Process> f = THREAD.submit(pb::start);
      boolean interrupted = false;
      try {
        while (true) {
          try {
            return f.get();
          } catch (InterruptedException e) {
            interrupted = true; // the fork is quick: finish it, so the caller can stop the process
          } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
              throw io;
            }
            throw new IOException(e.getCause());
          }
        }
      } finally {
        if (interrupted) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }

  public long pid() {
    return process.pid();
  }

  public String role() {
    return role;
  }

  public Path logFile() {
    return logFile;
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** Completes with the exit code when the process exits. */
  public CompletableFuture<Integer> onExit() {
    return process.onExit().thenApply(Process::exitValue);
  }

  public OptionalInt exitCode() {
    return process.isAlive() ? OptionalInt.empty() : OptionalInt.of(process.exitValue());
  }

  /** Waits for the process to exit; true when it did. */
  public boolean awaitExit(Duration timeout) throws InterruptedException {
    return process.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  /** What {@link #awaitFile} saw. */
  public enum Await { APPEARED, DIED, TIMED_OUT }

  /**
   * Waits until {@code file} exists, the process dies, or the deadline passes, whichever comes
   * first.
   */
  public Await awaitFile(Path file, Instant deadline) throws InterruptedException {
    while (true) {
      if (Files.exists(file)) {
        return Await.APPEARED;
      }
      if (!process.isAlive()) {
        return Files.exists(file) ? Await.APPEARED : Await.DIED;
      }
      if (Instant.now().isAfter(deadline)) {
        return Await.TIMED_OUT;
      }
      LockSupport.parkNanos(POLL_NANOS);
      if (Thread.interrupted()) {
        throw new InterruptedException("interrupted while waiting for " + file);
      }
    }
  }

  /**
   * Stops the process: waits {@code grace} for it to exit by itself, then sends SIGTERM and waits
   * up to 2 s, then SIGKILL and waits up to 2 s. Keeps the interrupt flag and still kills when
   * interrupted.
   */
  public void stop(Duration grace) {
    boolean interrupted = false;
    try {
      if (!grace.isZero() && process.isAlive()) {
        try {
          if (process.waitFor(grace.toNanos(), TimeUnit.NANOSECONDS)) {
            log.debug("pod {}: {} exited by itself (code {})", podId, role, process.exitValue());
            return;
          }
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      if (!process.isAlive()) {
        return;
      }
      process.destroy();
      try {
        if (!interrupted && process.waitFor(2, TimeUnit.SECONDS)) {
          log.debug("pod {}: {} terminated (SIGTERM)", podId, role);
          return;
        }
      } catch (InterruptedException e) {
        interrupted = true;
      }
      process.destroyForcibly();
      try {
        if (!process.waitFor(2, TimeUnit.SECONDS)) {
          log.warn("pod {}: {} (pid {}) did not die after SIGKILL", podId, role, process.pid());
        } else {
          log.debug("pod {}: {} killed (SIGKILL)", podId, role);
        }
      } catch (InterruptedException e) {
        interrupted = true;
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** SIGKILL now, without waiting (JVM shutdown). */
  public void kill() {
    process.destroyForcibly();
  }
}
