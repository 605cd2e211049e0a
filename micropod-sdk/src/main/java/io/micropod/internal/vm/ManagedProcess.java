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

  public static ManagedProcess start(String podId, String role, List<String> command, Path logFile)
      throws IOException {
    Files.createDirectories(logFile.getParent());
    ProcessBuilder pb = new ProcessBuilder(command)
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
        .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
        .redirectErrorStream(true);
    Process p = pb.start();
    log.debug("pod {}: started {} (pid {}): {}", podId, role, p.pid(), command);
    return new ManagedProcess(podId, role, p, logFile);
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
