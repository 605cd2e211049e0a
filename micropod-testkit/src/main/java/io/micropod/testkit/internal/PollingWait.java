package io.micropod.testkit.internal;

import io.micropod.MicroPod;
import io.micropod.MicroPodException;
import io.micropod.testkit.PodNotReadyException;
import io.micropod.testkit.WaitStrategy;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * A {@link WaitStrategy} that runs a {@link Probe} until it says ready, the timeout passes, or the
 * container exits. Between probes it waits in {@link MicroPod#waitFor(Duration)}, so a container
 * that exits ends the wait at once. Immutable.
 */
public final class PollingWait implements WaitStrategy {
  /** The pause between probes. */
  static final Duration POLL = Duration.ofMillis(200);
  /** Lines of the container log that a failure message shows. */
  public static final int LOG_TAIL_LINES = 20;

  private final String what;
  private final Duration timeout;
  private final boolean probeAfterExit;
  private final Probe probe;

  /**
   * @param what what is awaited, for messages ("log line matching /x/")
   * @param probeAfterExit whether the probe still means something once the container exited
   *     (logs do; exec does not)
   */
  public PollingWait(String what, Duration timeout, boolean probeAfterExit, Probe probe) {
    this.what = Objects.requireNonNull(what, "what");
    this.timeout = checkTimeout(timeout);
    this.probeAfterExit = probeAfterExit;
    this.probe = Objects.requireNonNull(probe, "probe");
  }

  /** Checks a timeout: non-null and positive. */
  public static Duration checkTimeout(Duration timeout) {
    Objects.requireNonNull(timeout, "timeout");
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout <= 0: " + timeout);
    }
    return timeout;
  }

  /** One look at the pod. */
  @FunctionalInterface
  public interface Probe {
    Check check(MicroPod pod);
  }

  /** What a probe saw. */
  public static final class Check {
    private static final Check READY = new Check(true, false, "");
    final boolean ready;
    final boolean fatal;
    final String detail;

    private Check(boolean ready, boolean fatal, String detail) {
      this.ready = ready;
      this.fatal = fatal;
      this.detail = detail;
    }

    public static Check ready() {
      return READY;
    }

    /** Not ready yet; {@code detail} says what was seen. */
    public static Check notYet(String detail) {
      return new Check(false, false, detail);
    }

    /** It will never be ready: stop waiting. */
    public static Check failed(String detail) {
      return new Check(false, true, detail);
    }
  }

  @Override
  public Duration timeout() {
    return timeout;
  }

  @Override
  public WaitStrategy withTimeout(Duration timeout) {
    return new PollingWait(what, timeout, probeAfterExit, probe);
  }

  @Override
  public void waitUntilReady(MicroPod pod) {
    Objects.requireNonNull(pod, "pod");
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "not probed yet";
    MicroPodException lastError = null;
    while (true) {
      Check c;
      try {
        c = probe.check(pod);
        lastError = null;
      } catch (MicroPodException e) {
        // e.g. an exec that failed while the container comes up: not ready yet
        c = Check.notYet(e.getMessage().lines().findFirst().orElse(e.toString()));
        lastError = e;
      }
      if (c.ready) {
        return;
      }
      if (c.fatal) {
        throw notReady(pod, "pod " + pod.id() + ": gave up waiting for " + what + ": " + c.detail,
            null, lastError);
      }
      last = c.detail;
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw notReady(pod, "pod " + pod.id() + ": timed out after " + human(timeout)
            + " waiting for " + what + " (last seen: " + last + "); raise it with withTimeout(..)"
            + " if the pod is just slow", null, lastError);
      }
      OptionalInt exit = pod.waitFor(Duration.ofNanos(Math.min(left, POLL.toNanos())));
      if (exit.isPresent()) {
        if (probeAfterExit) {
          try {
            if (probe.check(pod).ready) {
              return;
            }
          } catch (MicroPodException e) {
            lastError = e;
          }
        }
        throw notReady(pod, "pod " + pod.id() + ": the container exited with code "
            + exit.getAsInt() + " while waiting for " + what + " (last seen: " + last + ")",
            exit.getAsInt(), lastError);
      }
    }
  }

  private PodNotReadyException notReady(MicroPod pod, String message, Integer exitCode,
      Throwable cause) {
    return new PodNotReadyException(message, pod.id(), timeout, logTail(pod), exitCode, cause);
  }

  /** The last {@link #LOG_TAIL_LINES} lines of the pod's log, or why they are not available. */
  public static String logTail(MicroPod pod) {
    String logs;
    try {
      logs = pod.logs();
    } catch (RuntimeException e) {
      return "(the log is not available: " + e.getMessage() + ")\n";
    }
    List<String> lines = logs.lines().collect(java.util.stream.Collectors.toList());
    StringBuilder sb = new StringBuilder();
    for (String l : lines.subList(Math.max(0, lines.size() - LOG_TAIL_LINES), lines.size())) {
      sb.append(l).append('\n');
    }
    return sb.toString();
  }

  static String human(Duration d) {
    long ms = d.toMillis();
    return ms % 1000 == 0 ? (ms / 1000) + " s" : ms + " ms";
  }

  @Override
  public String toString() {
    return "wait for " + what + " (timeout " + human(timeout) + ")";
  }
}
