package io.micropod.internal.state;

import io.micropod.HealthState;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the guest agent said about its container's supervision on the pod's console (its lines
 * {@code micropod-agent INFO state ...} and {@code micropod-agent INFO pod ending: ...}, see the
 * agent's {@code ContainerManager.reportState} and {@code Lifetime}). The console log is a host
 * file, so this works without a connection to the agent: for a detached pod whose JVM is gone,
 * and for a pod whose VM has powered off. The guest is untrusted: only the last
 * {@link #TAIL_BYTES} are read and only lines of the exact format count; the result is shown,
 * never acted on.
 */
public final class ConsoleStates {
  static final int TAIL_BYTES = 64 * 1024;
  private static final Pattern STATE = Pattern.compile(
      "micropod-agent INFO state [A-Za-z0-9_.-]{1,64} state=([a-z]{1,16}) health=(none|starting|healthy|unhealthy)"
          + " streak=(\\d{1,9}) restarts=(\\d{1,9}) exit=(-|\\d{1,3})(?: at=(\\d{1,15}))?");
  private static final Pattern ENDING =
      Pattern.compile("micropod-agent INFO pod ending: (max-lifetime|idle-timeout) \\(\\d{1,18} ms\\)");

  /**
   * The console's last word on the container.
   *
   * @param state the agent's word (running, restarting, stopped, ...), or null when it said none
   * @param health the health, or null when the container has no health check (or none was said)
   * @param restartCount restarts so far
   * @param lastExitCode the main process's last exit, when it exited
   * @param endReason {@code max-lifetime} or {@code idle-timeout} when a deadline ended the pod
   * @param at when the agent said its last state (the guest's clock), or null when it did not say
   */
  public record Observed(String state, HealthState health, int restartCount, OptionalInt lastExitCode,
      String endReason, Instant at) {
    public static final Observed NOTHING = new Observed(null, null, 0, OptionalInt.empty(), null, null);

    /**
     * Whether the main process exited and stays so (the agent's {@code stopped} with an exit code):
     * a detached pod's VM keeps running until {@code rm}, and {@code list} shows it as exited.
     */
    public boolean exited() {
      return "stopped".equals(state) && lastExitCode.isPresent();
    }
  }

  private ConsoleStates() {}

  /** Reads the tail of {@code consoleLog}; {@link Observed#NOTHING} when it is missing or says nothing. */
  public static Observed read(Path consoleLog) {
    if (consoleLog == null) {
      return Observed.NOTHING;
    }
    String text;
    try (RandomAccessFile f = new RandomAccessFile(consoleLog.toFile(), "r")) {
      long start = Math.max(0, f.length() - TAIL_BYTES);
      byte[] buf = new byte[(int) (f.length() - start)];
      f.seek(start);
      f.readFully(buf);
      text = new String(buf, StandardCharsets.UTF_8);
    } catch (IOException | RuntimeException e) {
      return Observed.NOTHING;
    }
    return parse(text);
  }

  static Observed parse(String text) {
    Matcher last = null;
    String ending = null;
    for (String raw : text.split("\n")) {
      String line = raw.strip();
      Matcher m = STATE.matcher(line);
      if (m.matches()) {
        last = m;
        continue;
      }
      Matcher e = ENDING.matcher(line);
      if (e.matches()) {
        ending = e.group(1);
      }
    }
    if (last == null) {
      return ending == null ? Observed.NOTHING
          : new Observed(null, null, 0, OptionalInt.empty(), ending, null);
    }
    HealthState health = null;
    int streak = Integer.parseInt(last.group(3));
    switch (last.group(2)) {
      case "starting": health = new HealthState(HealthState.Status.STARTING, streak, ""); break;
      case "healthy": health = new HealthState(HealthState.Status.HEALTHY, streak, ""); break;
      case "unhealthy": health = new HealthState(HealthState.Status.UNHEALTHY, streak, ""); break;
      default: break;
    }
    return new Observed(last.group(1), health, Integer.parseInt(last.group(4)),
        last.group(5).equals("-") ? OptionalInt.empty() : OptionalInt.of(Integer.parseInt(last.group(5))),
        ending, last.group(6) == null ? null : Instant.ofEpochMilli(Long.parseLong(last.group(6))));
  }
}
