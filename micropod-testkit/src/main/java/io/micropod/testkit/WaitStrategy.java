package io.micropod.testkit;

import io.micropod.MicroPod;
import java.time.Duration;

/**
 * Decides when a started pod is ready for tests: a log line, a listening port, an HTTP status, a
 * command that succeeds. Get one from {@link Wait}; give it to {@link ManagedPod#waitingFor}, or
 * call {@link #waitUntilReady(MicroPod)} on any pod. Implementations are immutable and
 * thread-safe; {@link #withTimeout} returns a copy.
 */
public interface WaitStrategy {

  /** The default timeout of every strategy from {@link Wait}: 60 s. */
  Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

  /**
   * Blocks until the pod is ready. Polls (about every 200 ms); returns at once when it is ready.
   *
   * @param pod the started pod to watch
   * @throws PodNotReadyException when the timeout passes, or the container's main process exits,
   *     before the pod is ready; its message holds the last lines of the container log
   * @throws IllegalStateException when the pod is closed
   */
  void waitUntilReady(MicroPod pod);

  /** {@return how long {@link #waitUntilReady} waits, counted from its call} */
  Duration timeout();

  /**
   * A copy with another timeout.
   *
   * @param timeout how long {@link #waitUntilReady} waits; positive
   * @return the copy
   */
  WaitStrategy withTimeout(Duration timeout);
}
