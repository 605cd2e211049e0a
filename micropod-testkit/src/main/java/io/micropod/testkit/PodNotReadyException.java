package io.micropod.testkit;

import io.micropod.MicroPodException;
import java.time.Duration;
import java.util.OptionalInt;

/**
 * A {@link WaitStrategy} gave up: its timeout passed, or the container's main process exited,
 * before the pod was ready. The message names the pod, what was awaited and what was last seen,
 * followed by the last lines of the container log ({@link #logTail()}).
 */
public final class PodNotReadyException extends MicroPodException {
  private static final long serialVersionUID = 1L;

  private final Duration timeout;
  private final String logTail;
  private final Integer exitCode;

  /**
   * @param exitCode the container's exit status when it exited while waiting, else null
   */
  public PodNotReadyException(String message, String podId, Duration timeout, String logTail,
      Integer exitCode, Throwable cause) {
    super(message + "\n--- last lines of the container log of pod " + podId + " ---\n"
        + (logTail.isEmpty() ? "(empty)\n" : logTail), cause, podId, null);
    this.timeout = timeout;
    this.logTail = logTail;
    this.exitCode = exitCode;
  }

  /** The strategy's timeout. */
  public Duration timeout() {
    return timeout;
  }

  /** The last lines of the container log when the strategy gave up (may be empty). */
  public String logTail() {
    return logTail;
  }

  /** The container's exit status, when its main process exited while waiting. */
  public OptionalInt exitCode() {
    return exitCode == null ? OptionalInt.empty() : OptionalInt.of(exitCode);
  }
}
