package io.micropod.agent.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs short helper commands ({@code mount}, {@code runc kill}, ...) to completion: stdin is
 * /dev/null, stdout and stderr are merged and kept (first 64 KiB), and a command still running
 * at its timeout is killed. Blocks the calling thread (never a Netty event loop).
 */
public final class Commands {
  private static final int MAX_OUTPUT_BYTES = 64 * 1024;

  /** How a command ended: its exit status and its (merged, trimmed) output. */
  public record Result(int exitCode, String output) {
    public boolean ok() {
      return exitCode == 0;
    }
  }

  private final ScheduledExecutorService timer;

  public Commands(ScheduledExecutorService timer) {
    this.timer = timer;
  }

  /**
   * Runs {@code argv} and waits for it, at most {@code timeout}.
   *
   * @throws IOException when the command cannot be started (e.g. the binary does not exist)
   */
  public Result run(List<String> argv, Duration timeout) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(argv);
    pb.redirectInput(ProcessBuilder.Redirect.from(Paths.DEV_NULL));
    pb.redirectErrorStream(true);
    Process p = pb.start();
    ScheduledFuture<?> killer =
        timer.schedule(p::destroyForcibly, timeout.toMillis(), TimeUnit.MILLISECONDS);
    try {
      byte[] output = readBounded(p.getInputStream());
      int status = p.waitFor();
      return new Result(status, new String(output, StandardCharsets.UTF_8).trim());
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while running " + argv.get(0), e);
    } finally {
      killer.cancel(false);
    }
  }

  private static byte[] readBounded(InputStream in) throws IOException {
    try (InputStream input = in) {
      byte[] kept = input.readNBytes(MAX_OUTPUT_BYTES);
      input.transferTo(java.io.OutputStream.nullOutputStream());
      return kept;
    }
  }
}
