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

  /** The strategy's timeout. */
  private final Duration timeout;
  /** The last lines of the container log; may be empty. */
  private final String logTail;
  /** The container's exit status when it exited while waiting, else null. */
  private final Integer exitCode;

  /**
   * An exception whose message is {@code message} followed by {@code logTail}.
   *
   * @param message what was awaited and what was last seen
   * @param podId the pod's id
   * @param timeout the strategy's timeout
   * @param logTail the last lines of the container log; may be empty
   * @param exitCode the container's exit status when it exited while waiting, else null
   * @param cause the failure that ended the wait, or null
   */
  public PodNotReadyException(String message, String podId, Duration timeout, String logTail,
      Integer exitCode, Throwable cause) {
    super(message + "\n--- last lines of the container log of pod " + podId + " ---\n"
        + (logTail.isEmpty() ? "(empty)\n" : logTail), cause, podId, null);
    this.timeout = timeout;
    this.logTail = logTail;
    this.exitCode = exitCode;
  }

  /** {@return the strategy's timeout} */
  public Duration timeout() {
    return timeout;
  }

  /** {@return the last lines of the container log when the strategy gave up (may be empty)} */
  public String logTail() {
    return logTail;
  }

  /** {@return the container's exit status, when its main process exited while waiting} */
  public OptionalInt exitCode() {
    return exitCode == null ? OptionalInt.empty() : OptionalInt.of(exitCode);
  }
}
