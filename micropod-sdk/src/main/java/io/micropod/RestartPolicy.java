package io.micropod;

import java.util.Objects;

/**
 * When the guest agent runs the container's main process again after it exited, in the same VM
 * (Docker's {@code --restart}). Restarts wait 100 ms, doubled at each restart up to a minute, and
 * back to 100 ms after a run of 10 s or more. A stop ({@link MicroPod#stop}, or SIGTERM, SIGKILL,
 * SIGINT or SIGQUIT through {@link MicroPod#signal}) ends restarting. {@link MicroPod#waitFor()}
 * returns once the process exited for good. {@link #always()} and {@link #unlessStopped()} act the
 * same: a VM does not outlive a host restart. Immutable and thread-safe.
 */
public final class RestartPolicy {
  /** The kinds of policy. */
  public enum Mode {
    /** Never restart. */
    NO,
    /** Restart after a non-zero exit, up to a count. */
    ON_FAILURE,
    /** Restart after every exit. */
    ALWAYS,
    /** As {@link #ALWAYS}. */
    UNLESS_STOPPED
  }

  private static final RestartPolicy NO = new RestartPolicy(Mode.NO, 0);
  private static final RestartPolicy ALWAYS = new RestartPolicy(Mode.ALWAYS, 0);
  private static final RestartPolicy UNLESS_STOPPED = new RestartPolicy(Mode.UNLESS_STOPPED, 0);

  private final Mode mode;
  private final int maxRetries;

  private RestartPolicy(Mode mode, int maxRetries) {
    this.mode = mode;
    this.maxRetries = maxRetries;
  }

  /** {@return never restart; the default} */
  public static RestartPolicy no() {
    return NO;
  }

  /** {@return restart whenever the process exits, until stopped} */
  public static RestartPolicy always() {
    return ALWAYS;
  }

  /** {@return as {@link #always()}} */
  public static RestartPolicy unlessStopped() {
    return UNLESS_STOPPED;
  }

  /**
   * Restart when the process exits with a non-zero status, at most {@code maxRetries} times.
   *
   * @param maxRetries 0 for no limit, else the most restarts
   * @return the policy
   * @throws IllegalArgumentException when {@code maxRetries} is negative
   */
  public static RestartPolicy onFailure(int maxRetries) {
    if (maxRetries < 0) {
      throw new IllegalArgumentException("restart count < 0: " + maxRetries);
    }
    return new RestartPolicy(Mode.ON_FAILURE, maxRetries);
  }

  /**
   * Parses Docker's syntax: {@code no}, {@code on-failure}, {@code on-failure:N}, {@code always},
   * {@code unless-stopped}.
   *
   * @param text the policy
   * @return the policy
   * @throws IllegalArgumentException naming the text when it is none of these
   */
  public static RestartPolicy parse(String text) {
    Objects.requireNonNull(text, "restart policy");
    switch (text) {
      case "no": return NO;
      case "always": return ALWAYS;
      case "unless-stopped": return UNLESS_STOPPED;
      case "on-failure": return onFailure(0);
      default:
        if (text.startsWith("on-failure:")) {
          String n = text.substring("on-failure:".length());
          int count;
          try {
            count = Integer.parseInt(n);
          } catch (NumberFormatException e) {
            throw new IllegalArgumentException("restart count is not a number: " + text);
          }
          return onFailure(count);
        }
        throw new IllegalArgumentException("unknown restart policy '" + text
            + "': use no, on-failure[:N], always or unless-stopped");
    }
  }

  /** {@return the kind of policy} */
  public Mode mode() {
    return mode;
  }

  /** {@return for {@link Mode#ON_FAILURE}: the most restarts, 0 for no limit; else 0} */
  public int maxRetries() {
    return maxRetries;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RestartPolicy p && mode == p.mode && maxRetries == p.maxRetries;
  }

  @Override
  public int hashCode() {
    return Objects.hash(mode, maxRetries);
  }

  /** {@return Docker's syntax, e.g. {@code on-failure:2}} */
  @Override
  public String toString() {
    switch (mode) {
      case ON_FAILURE: return maxRetries == 0 ? "on-failure" : "on-failure:" + maxRetries;
      case ALWAYS: return "always";
      case UNLESS_STOPPED: return "unless-stopped";
      default: return "no";
    }
  }
}
