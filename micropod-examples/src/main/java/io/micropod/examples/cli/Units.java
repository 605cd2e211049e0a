package io.micropod.examples.cli;

import java.time.Duration;
import java.time.Instant;
import java.util.Locale;

/** Sizes and ages the way the Docker CLI prints them ({@code 4.26MB}, {@code 2 hours ago}). */
final class Units {
  private static final String[] SI = {"B", "kB", "MB", "GB", "TB", "PB"};

  private Units() {}

  /** Decimal (SI) units with three significant digits, as Docker's {@code HumanSize}: {@code 4.26MB}. */
  static String bytes(long bytes) {
    if (bytes < 1000) {
      return Math.max(0, bytes) + "B";
    }
    double v = bytes;
    int unit = 0;
    while (v >= 999.5 && unit < SI.length - 1) {
      v /= 1000;
      unit++;
    }
    String digits = String.format(Locale.ROOT, "%.3g", v);
    if (digits.contains(".")) {
      digits = digits.replaceAll("0+$", "").replaceAll("\\.$", "");
    }
    return digits + SI[unit];
  }

  /** How long ago {@code then} was, as Docker's {@code HumanDuration} + " ago". */
  static String ago(Instant then, Instant now) {
    Duration d = Duration.between(then, now);
    if (d.isNegative()) {
      d = Duration.ZERO;
    }
    long s = d.getSeconds();
    String text;
    if (s < 1) {
      text = "Less than a second";
    } else if (s == 1) {
      text = "1 second";
    } else if (s < 60) {
      text = s + " seconds";
    } else if (s < 120) {
      text = "About a minute";
    } else if (s < 3600) {
      text = s / 60 + " minutes";
    } else if (s < 2 * 3600) {
      text = "About an hour";
    } else if (s < 48 * 3600) {
      text = s / 3600 + " hours";
    } else if (s < 7 * 24 * 3600 * 2) {
      text = s / (24 * 3600) + " days";
    } else if (s < 30 * 24 * 3600 * 2) {
      text = s / (7 * 24 * 3600) + " weeks";
    } else if (s < 365 * 24 * 3600 * 2) {
      text = s / (30 * 24 * 3600) + " months";
    } else {
      text = s / (365 * 24 * 3600) + " years";
    }
    return text + " ago";
  }
}
