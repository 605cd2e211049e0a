package io.micropod;

import java.util.Objects;

/**
 * One line of the container's main process output, without its line terminator, decoded as
 * UTF-8. A last line without a terminator is delivered when the process exits.
 *
 * @param stream where it was written
 * @param text the line
 */
public record LogLine(Stream stream, String text) {
  /** The output stream a line came from. */
  public enum Stream {
    /** Written by the process to its standard output. */
    STDOUT,
    /** Written by the process to its standard error. */
    STDERR
  }

  /**
   * A line.
   *
   * @param stream where it was written
   * @param text the line, without its terminator
   * @throws NullPointerException when {@code stream} or {@code text} is null
   */
  public LogLine {
    Objects.requireNonNull(stream, "stream");
    Objects.requireNonNull(text, "text");
  }
}
