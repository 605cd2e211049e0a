package io.micropod;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * An exec ran past its {@link ExecSpec#timeout()} and was ended by the deadline: the host asked
 * the agent to kill the process and its process group. Carries what the process wrote until
 * then. {@link #killConfirmed()} says whether the guest confirmed the kill; when it did not
 * (within {@link ExecSpec#KILL_GRACE}: a wedged, paused or hostile guest), the host cancelled
 * the call and the process may still run in the guest.
 *
 * <p>Thrown by {@link MicroPod#exec(ExecSpec)} and by {@link ExecProcess#await()} of a
 * {@link MicroPod#execStreaming(ExecSpec)}. Give the process a longer timeout, or make it end
 * sooner; a killed process's exit code is not reported (it is 137, SIGKILL, when confirmed).
 */
public final class ExecTimeoutException extends MicroPodException {
  private static final long serialVersionUID = 1L;

  /** The program and its arguments. */
  private final List<String> command;
  /** The deadline that passed. */
  private final Duration timeout;
  /** What the process wrote to stdout until the deadline, UTF-8. */
  private final String stdout;
  /** What the process wrote to stderr until the deadline, UTF-8. */
  private final String stderr;
  /** Whether the guest reported the process's end after the kill. */
  private final boolean killConfirmed;

  /**
   * An exec ended by its deadline.
   *
   * @param message what happened and what to do next
   * @param cause the underlying failure (e.g. the cancelled call when the kill was not
   *     confirmed), or null
   * @param podId the pod the exec ran in
   * @param command the program and its arguments
   * @param timeout the deadline that passed
   * @param stdout what the process wrote to stdout until then; not null
   * @param stderr what the process wrote to stderr until then; not null
   * @param killConfirmed whether the guest reported the process's end after the kill
   */
  public ExecTimeoutException(String message, Throwable cause, String podId, List<String> command,
      Duration timeout, String stdout, String stderr, boolean killConfirmed) {
    super(message, cause, podId, null);
    this.command = List.copyOf(command);
    this.timeout = Objects.requireNonNull(timeout, "timeout");
    this.stdout = Objects.requireNonNull(stdout, "stdout");
    this.stderr = Objects.requireNonNull(stderr, "stderr");
    this.killConfirmed = killConfirmed;
  }

  /** {@return the program and its arguments of the exec that timed out; unmodifiable} */
  public List<String> command() {
    return command;
  }

  /** {@return the deadline that passed, as {@link ExecSpec#timeout()} set it} */
  public Duration timeout() {
    return timeout;
  }

  /**
   * What the process wrote to stdout before it was killed, UTF-8 (bounded as {@link
   * ExecResult#stdout()}).
   *
   * @return the output read until the end; never null, may be empty
   */
  public String stdout() {
    return stdout;
  }

  /**
   * What the process wrote to stderr before it was killed, UTF-8.
   *
   * @return the output read until the end; never null, may be empty
   */
  public String stderr() {
    return stderr;
  }

  /**
   * Whether the guest confirmed the kill (the process's end arrived within {@link
   * ExecSpec#KILL_GRACE}). False: the host gave up on the agent and cancelled the call; the
   * process may still run, and the pod's agent may not answer (check it, or close the pod).
   *
   * @return true when the process is known to have ended
   */
  public boolean killConfirmed() {
    return killConfirmed;
  }
}
