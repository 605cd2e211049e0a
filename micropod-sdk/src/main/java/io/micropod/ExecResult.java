package io.micropod;

import java.util.Objects;

/**
 * The outcome of {@link MicroPod#exec(String...)}: the exit code and everything the process
 * wrote, decoded as UTF-8. A non-zero exit code is data, not an exception. Immutable.
 */
public final class ExecResult {
  private final int exitCode;
  private final String stdout;
  private final String stderr;

  private ExecResult(int exitCode, String stdout, String stderr) {
    this.exitCode = exitCode;
    this.stdout = Objects.requireNonNull(stdout, "stdout");
    this.stderr = Objects.requireNonNull(stderr, "stderr");
  }

  /**
   * A result; useful for tests and fakes.
   *
   * @param exitCode the exit status, as {@link #exitCode()} returns it
   * @param stdout what the process wrote to stdout; not null, may be empty
   * @param stderr what the process wrote to stderr; not null, may be empty
   * @return a new result with these values
   */
  public static ExecResult of(int exitCode, String stdout, String stderr) {
    return new ExecResult(exitCode, stdout, stderr);
  }

  /**
   * The process's exit status as a shell reports it: its code, or 128 + signal number.
   *
   * @return the exit status: 0..255, where 128 + n means killed by signal n
   */
  public int exitCode() {
    return exitCode;
  }

  /**
   * Everything the process wrote to stdout, UTF-8.
   *
   * @return stdout, never null; empty when the process wrote nothing there (with a TTY it holds
   *     stdout and stderr merged)
   */
  public String stdout() {
    return stdout;
  }

  /**
   * Everything the process wrote to stderr, UTF-8.
   *
   * @return stderr, never null; empty when the process wrote nothing there (with a TTY everything
   *     is in {@link #stdout()})
   */
  public String stderr() {
    return stderr;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ExecResult
        && ((ExecResult) o).exitCode == exitCode
        && ((ExecResult) o).stdout.equals(stdout)
        && ((ExecResult) o).stderr.equals(stderr);
  }

  @Override
  public int hashCode() {
    return Objects.hash(exitCode, stdout, stderr);
  }

  @Override
  public String toString() {
    return "ExecResult{exitCode=" + exitCode + ", stdout=" + abbreviate(stdout) + ", stderr="
        + abbreviate(stderr) + "}";
  }

  private static String abbreviate(String s) {
    String quoted = s.length() > 200 ? s.substring(0, 200) + "…(" + s.length() + " chars)" : s;
    return "\"" + quoted.replace("\n", "\\n") + "\"";
  }
}
