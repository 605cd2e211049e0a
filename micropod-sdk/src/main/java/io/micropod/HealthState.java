package io.micropod;

import java.util.Objects;

/**
 * The health of a pod's container as its {@link HealthCheck} last found it. An immutable
 * snapshot.
 */
public final class HealthState {
  /** Docker's health states. */
  public enum Status {
    /** No probe has passed yet (and not enough have failed). */
    STARTING,
    /** The last probe passed. */
    HEALTHY,
    /** {@link HealthCheck#retries()} probes in a row failed. */
    UNHEALTHY;

    /** {@return the lower-case name Docker prints, e.g. {@code healthy}} */
    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  private final Status status;
  private final int failingStreak;
  private final String lastOutput;

  /**
   * For the SDK; not meant to be called by applications.
   *
   * @param status the health
   * @param failingStreak consecutive failed probes
   * @param lastOutput the last probe's output (its tail), or "" when unknown
   */
  public HealthState(Status status, int failingStreak, String lastOutput) {
    this.status = Objects.requireNonNull(status, "status");
    this.failingStreak = failingStreak;
    this.lastOutput = Objects.requireNonNull(lastOutput, "lastOutput");
  }

  /** {@return the health} */
  public Status status() {
    return status;
  }

  /** {@return consecutive failed probes; 0 after a pass} */
  public int failingStreak() {
    return failingStreak;
  }

  /** {@return the last probe's output (at most its last 4 KiB); empty when not known} */
  public String lastOutput() {
    return lastOutput;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof HealthState h && status == h.status && failingStreak == h.failingStreak
        && lastOutput.equals(h.lastOutput);
  }

  @Override
  public int hashCode() {
    return Objects.hash(status, failingStreak, lastOutput);
  }

  @Override
  public String toString() {
    return "HealthState{" + status.label() + ", failingStreak=" + failingStreak + "}";
  }
}
