package io.micropod;

import java.io.OutputStream;
import java.time.Duration;
import java.util.Optional;

/**
 * A process started with {@link MicroPod#execStreaming(ExecSpec)}: write its stdin as you go, then
 * wait for its result. Close {@link #stdin()} to send EOF. Thread-safe; one writer at a time on
 * {@code stdin()}.
 */
public interface ExecProcess {
  /**
   * The process's stdin. Writes block while the agent channel is not ready (flow control), so a
   * slow process slows the writer instead of filling memory. {@code close()} sends EOF.
   */
  OutputStream stdin();

  /**
   * Waits for the exit; stdout and stderr are what the process wrote, decoded as UTF-8.
   *
   * @throws AgentException when the agent could not run it
   */
  ExecResult await();

  /** Like {@link #await()}, or empty when {@code timeout} passes first (the process keeps running). */
  Optional<ExecResult> await(Duration timeout);
}
