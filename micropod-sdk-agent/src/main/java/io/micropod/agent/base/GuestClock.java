package io.micropod.agent.base;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Guest uptime in milliseconds, from {@code /proc/uptime}: the clock of the boot timings. */
public final class GuestClock {
  static final Path PROC_UPTIME = Path.of("/proc/uptime");

  private GuestClock() {}

  /** Milliseconds since the guest kernel booted; 0 when {@code /proc/uptime} is unreadable. */
  public static long uptimeMillis() {
    return uptimeMillis(PROC_UPTIME);
  }

  static long uptimeMillis(Path uptimeFile) {
    try {
      String text = new String(Files.readAllBytes(uptimeFile), StandardCharsets.US_ASCII);
      return parseUptimeMillis(text);
    } catch (IOException | RuntimeException e) {
      return 0;
    }
  }

  /** Parses the first field of {@code /proc/uptime} ("12345.67 54321.00") into milliseconds. */
  static long parseUptimeMillis(String text) {
    String first = text.trim().split("\\s+", 2)[0];
    int dot = first.indexOf('.');
    if (dot < 0) {
      return Long.parseLong(first) * 1000;
    }
    long seconds = Long.parseLong(first.substring(0, dot));
    String fraction = (first.substring(dot + 1) + "000").substring(0, 3);
    return seconds * 1000 + Long.parseLong(fraction);
  }
}
