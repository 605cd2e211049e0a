package io.micropod.internal.base;

import java.time.Duration;
import java.util.Locale;

/** Durations for messages: {@code 300 ms}, {@code 2.5 s}, {@code 120 s}. */
public final class Durations {
  private Durations() {}

  public static String human(Duration d) {
    if (d == null) {
      return "no deadline";
    }
    long ms = d.toMillis();
    if (ms < 1000) {
      return ms + " ms";
    }
    if (ms % 1000 == 0) {
      return (ms / 1000) + " s";
    }
    return String.format(Locale.ROOT, "%.1f s", ms / 1000.0);
  }
}
