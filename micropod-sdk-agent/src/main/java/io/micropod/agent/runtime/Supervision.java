package io.micropod.agent.runtime;

import java.util.List;

/**
 * What the agent does on its own for a container: restart its main process when it exits (as
 * Docker's {@code --restart}) and probe its health (Docker's {@code HEALTHCHECK}). Both live in
 * the guest so that they keep working for a detached pod after the JVM that started it exited.
 *
 * @param restart when the main process is run again
 * @param maxRetries {@link Restart#ON_FAILURE} only: at most this many restarts; 0: no limit
 * @param health the health probe, or null for none
 */
public record Supervision(Restart restart, int maxRetries, Probe health) {
  /** No restarts, no health probe. */
  public static final Supervision NONE = new Supervision(Restart.NO, 0, null);
  /** Docker's restart back-off: 100 ms, doubled at each restart, at most a minute. */
  static final long FIRST_BACKOFF_MILLIS = 100;
  static final long MAX_BACKOFF_MILLIS = 60_000;
  /** A run this long resets the back-off (Docker's rule). */
  static final long STEADY_RUN_MILLIS = 10_000;
  /** The tail of a probe's output that is kept. */
  static final int HEALTH_OUTPUT_CHARS = 4096;

  public enum Restart { NO, ON_FAILURE, ALWAYS, UNLESS_STOPPED }

  /** Health of a container's current run; the numbers are the protocol's. */
  public enum Health { NONE, STARTING, HEALTHY, UNHEALTHY }

  /**
   * A health probe.
   *
   * @param args argv run in the container with its main process's env, cwd and user
   * @param intervalMillis between the end of one probe and the start of the next; the first runs
   *     this long after the start
   * @param timeoutMillis a probe running longer fails (and is killed)
   * @param retries consecutive failures that make the container unhealthy
   * @param startPeriodMillis failures this soon after a (re)start do not count
   */
  public record Probe(List<String> args, long intervalMillis, long timeoutMillis, int retries,
      long startPeriodMillis) {
    public Probe {
      args = List.copyOf(args);
      if (args.isEmpty()) {
        throw ContainerException.invalid("healthcheck.args must not be empty");
      }
      if (intervalMillis < 1 || timeoutMillis < 1 || retries < 1 || startPeriodMillis < 0) {
        throw ContainerException.invalid("healthcheck needs interval, timeout and retries > 0 and"
            + " start period >= 0: " + intervalMillis + " ms, " + timeoutMillis + " ms, " + retries
            + ", " + startPeriodMillis + " ms");
      }
    }
  }

  public Supervision {
    if (restart == null) {
      restart = Restart.NO;
    }
    if (maxRetries < 0) {
      throw ContainerException.invalid("restart max_retries < 0: " + maxRetries);
    }
  }

  /** Whether a main process that exited with {@code status} after {@code restarts} restarts runs again. */
  boolean restarts(int status, int restarts) {
    switch (restart) {
      case ALWAYS:
      case UNLESS_STOPPED:
        return true;
      case ON_FAILURE:
        return status != 0 && (maxRetries == 0 || restarts < maxRetries);
      default:
        return false;
    }
  }

  /** The delay before the next restart, and the one after it, given the run's length. */
  static long[] backoff(long current, long ranMillis) {
    long delay = ranMillis >= STEADY_RUN_MILLIS ? FIRST_BACKOFF_MILLIS : current;
    return new long[] {delay, Math.min(delay * 2, MAX_BACKOFF_MILLIS)};
  }
}
