package io.micropod.internal.state;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * A process's identity on Linux: its pid plus its start time ({@code /proc/<pid>/stat} field 22,
 * clock ticks since boot). A pid alone can be recycled; the pair cannot, so MicroPod only ever
 * signals a recorded process after checking both.
 */
public final class ProcStat {
  private ProcStat() {}

  /** The start time of {@code pid}, or empty when no such process exists (or it is a zombie). */
  public static OptionalLong startTime(long pid) {
    if (pid <= 0) {
      return OptionalLong.empty();
    }
    String stat;
    try {
      stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.UTF_8);
    } catch (IOException | RuntimeException e) {
      return OptionalLong.empty();
    }
    return parseStartTime(stat);
  }

  /**
   * Field 22 of a {@code /proc/<pid>/stat} line; empty for a zombie (state Z or X: it is dead,
   * only not yet reaped) or a line it cannot parse. The command (field 2) may hold spaces and
   * parentheses, so fields are counted after its last ')'.
   */
  static OptionalLong parseStartTime(String stat) {
    int close = stat.lastIndexOf(')');
    if (close < 0) {
      return OptionalLong.empty();
    }
    String[] rest = stat.substring(close + 1).trim().split("\\s+");
    // rest[0] is field 3 (state); field 22 is rest[19]
    if (rest.length < 20) {
      return OptionalLong.empty();
    }
    if (rest[0].equals("Z") || rest[0].equals("X")) {
      return OptionalLong.empty();
    }
    try {
      return OptionalLong.of(Long.parseLong(rest[19]));
    } catch (NumberFormatException e) {
      return OptionalLong.empty();
    }
  }

  /** Whether the process {@code pid} that started at {@code startTime} still runs. */
  public static boolean isAlive(long pid, long startTime) {
    OptionalLong now = startTime(pid);
    return now.isPresent() && now.getAsLong() == startTime;
  }

  /** This JVM's start time. */
  public static long self() {
    return startTime(ProcessHandle.current().pid()).orElseThrow(
        () -> new IllegalStateException("cannot read /proc/self/stat: MicroPod needs Linux's /proc"));
  }

  /**
   * Sends SIGKILL to {@code pid} only if it is still the process that started at
   * {@code startTime}; true when a signal was sent. (The check and the kill are two steps: a pid
   * is recycled only after the old process was reaped by its parent, and the ones MicroPod kills
   * are already orphans or children of a dead JVM, reaped by init; the window is microseconds
   * against pid wrap-around.)
   */
  public static boolean killIfSame(long pid, long startTime) {
    if (!isAlive(pid, startTime)) {
      return false;
    }
    return ProcessHandle.of(pid).map(ProcessHandle::destroyForcibly).orElse(false);
  }

  /** SIGTERM to {@code pid} if it is still the process that started at {@code startTime}. */
  public static boolean terminateIfSame(long pid, long startTime) {
    if (!isAlive(pid, startTime)) {
      return false;
    }
    return ProcessHandle.of(pid).map(ProcessHandle::destroy).orElse(false);
  }
}
