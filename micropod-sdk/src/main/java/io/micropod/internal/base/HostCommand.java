package io.micropod.internal.base;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A host tool run to its end with a bound ({@code mkfs.ext4}, {@code cp}, {@code stat}): stdin
 * closed, stdout and stderr merged and read while it runs (a full pipe cannot stall it).
 */
public final class HostCommand {
  private HostCommand() {}

  /**
   * Runs {@code cmd} and returns what it printed.
   *
   * @throws IOException when it cannot start, exits non-zero (the message has its output, so
   *     that e.g. "No space left on device" reaches the caller), or runs past {@code timeout}
   *     (then it is killed)
   * @throws InterruptedIOException when interrupted (it is killed)
   */
  public static String run(List<String> cmd, Duration timeout) throws IOException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    p.getOutputStream().close();
    // A thread of its own, not the common pool: a pool whose threads are all blocked (by another
    // long host command, or by the application) would leave this read queued while the command,
    // done, waits for nobody, and the read's grace period below would fail a command that worked.
    CompletableFuture<String> output = new CompletableFuture<>();
    Thread reader = new Thread(() -> {
      try {
        output.complete(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
      } catch (IOException | RuntimeException e) {
        output.completeExceptionally(e);
      }
    }, "micropod-host-command-output");
    reader.setDaemon(true);
    reader.start();
    try {
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new IOException(cmd.get(0) + " did not finish within " + Durations.human(timeout) + ": " + cmd);
      }
      String out = output.get(5, TimeUnit.SECONDS);
      if (p.exitValue() != 0) {
        throw new IOException(cmd.get(0) + " failed with exit code " + p.exitValue() + ": " + out.strip()
            + " (command: " + cmd + ")");
      }
      return out;
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while running " + cmd.get(0));
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new IOException("cannot read the output of " + cmd, e);
    }
  }
}
