package io.micropod.agent.runtime;

/**
 * How a process ended, as a shell reports it.
 *
 * @param exitCode the exit code, or 128 + signal number when it was killed by a signal
 * @param signal the signal number when {@code exitCode} is 129..192, else 0. runc reports a
 *     signalled container as 128 + signal, so a process that itself exits with 137 reads as
 *     killed by signal 9: the two cannot be told apart from runc's status.
 */
public record ExitStatus(int exitCode, int signal) {
  private static final int MAX_SIGNAL = 64;

  /** Interprets an exit status of runc (or of any process as Java reports it). */
  public static ExitStatus fromStatus(int status) {
    int signal = status > 128 && status <= 128 + MAX_SIGNAL ? status - 128 : 0;
    return new ExitStatus(status, signal);
  }
}
