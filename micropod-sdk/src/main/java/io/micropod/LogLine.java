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
    STDOUT,
    STDERR
  }

  public LogLine {
    Objects.requireNonNull(stream, "stream");
    Objects.requireNonNull(text, "text");
  }
}
