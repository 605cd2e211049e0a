package io.micropod;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A command the guest agent runs in the container periodically to tell whether it is healthy, as
 * Docker's {@code HEALTHCHECK}. Exit code 0 is a pass, anything else (or running longer than
 * {@link #timeout()}) a failure; {@link #retries()} failures in a row make the container
 * unhealthy, one pass makes it healthy again. Failures within {@link #startPeriod()} of a (re)start
 * do not count, until the first pass. The probe runs inside the VM, so it keeps running for a
 * detached pod whose JVM has exited. Immutable and thread-safe.
 *
 * <pre>{@code
 * MicroPod.builder().image("oci:/images/web")
 *     .healthcheck(HealthCheck.builder().shell("wget -q -O /dev/null http://127.0.0.1:8080/")
 *         .interval(Duration.ofSeconds(5)).retries(3).build())
 * }</pre>
 *
 * <p>Without a health check on the spec, the image's own {@code HEALTHCHECK} applies;
 * {@link #none()} disables it.
 */
public final class HealthCheck {
  /** Docker's default interval: 30 s. */
  public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(30);
  /** Docker's default timeout: 30 s. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
  /** Docker's default retries: 3. */
  public static final int DEFAULT_RETRIES = 3;

  private static final HealthCheck NONE = new HealthCheck(List.of(), DEFAULT_INTERVAL,
      DEFAULT_TIMEOUT, DEFAULT_RETRIES, Duration.ZERO);

  private final List<String> command;
  private final Duration interval;
  private final Duration timeout;
  private final int retries;
  private final Duration startPeriod;

  private HealthCheck(List<String> command, Duration interval, Duration timeout, int retries,
      Duration startPeriod) {
    this.command = List.copyOf(command);
    this.interval = interval;
    this.timeout = timeout;
    this.retries = retries;
    this.startPeriod = startPeriod;
  }

  /**
   * No health check, not even the image's (Docker's {@code --no-healthcheck}).
   *
   * @return the health check that disables checking
   */
  public static HealthCheck none() {
    return NONE;
  }

  /**
   * A health check running {@code argv} with Docker's defaults.
   *
   * @param argv the program and its arguments (exec form); not empty
   * @return the health check
   */
  public static HealthCheck of(String... argv) {
    return builder().command(argv).build();
  }

  /** {@return a new builder with Docker's defaults and no command yet} */
  public static Builder builder() {
    return new Builder();
  }

  /** {@return a builder holding this health check's values} */
  public Builder newBuilder() {
    Builder b = new Builder();
    b.command = command;
    b.interval = interval;
    b.timeout = timeout;
    b.retries = retries;
    b.startPeriod = startPeriod;
    return b;
  }

  /** {@return whether this is {@link #none()}: no checking at all} */
  public boolean isNone() {
    return command.isEmpty();
  }

  /** {@return the probe's argv; empty for {@link #none()}} */
  public List<String> command() {
    return command;
  }

  /** {@return the time from the end of one probe to the next; the first runs this long after start} */
  public Duration interval() {
    return interval;
  }

  /** {@return how long a probe may run before it counts as failed} */
  public Duration timeout() {
    return timeout;
  }

  /** {@return the consecutive failures that make the container unhealthy} */
  public int retries() {
    return retries;
  }

  /** {@return how long after a (re)start failures do not count} */
  public Duration startPeriod() {
    return startPeriod;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof HealthCheck h && command.equals(h.command) && interval.equals(h.interval)
        && timeout.equals(h.timeout) && retries == h.retries && startPeriod.equals(h.startPeriod);
  }

  @Override
  public int hashCode() {
    return Objects.hash(command, interval, timeout, retries, startPeriod);
  }

  @Override
  public String toString() {
    return isNone() ? "HealthCheck{none}" : "HealthCheck{" + command + ", interval=" + interval
        + ", timeout=" + timeout + ", retries=" + retries + ", startPeriod=" + startPeriod + "}";
  }

  /** Builds a {@link HealthCheck}; not thread-safe. */
  public static final class Builder {
    private List<String> command = List.of();
    private Duration interval = DEFAULT_INTERVAL;
    private Duration timeout = DEFAULT_TIMEOUT;
    private int retries = DEFAULT_RETRIES;
    private Duration startPeriod = Duration.ZERO;

    private Builder() {}

    /**
     * The probe (exec form: no shell), run as the container's main process's user, with its
     * environment and working directory.
     *
     * @param argv the program and its arguments; not empty
     * @return this builder
     */
    public Builder command(String... argv) {
      return command(Arrays.asList(Objects.requireNonNull(argv, "healthcheck command")));
    }

    /**
     * See {@link #command(String...)}.
     *
     * @param argv the program and its arguments; not empty
     * @return this builder
     */
    public Builder command(List<String> argv) {
      this.command = List.copyOf(Validation.argv(argv, "healthcheck command", false));
      return this;
    }

    /**
     * The probe as a shell command line: {@code sh -c <commandLine>} (Docker's {@code CMD-SHELL}).
     *
     * @param commandLine the command line; not blank
     * @return this builder
     */
    public Builder shell(String commandLine) {
      Objects.requireNonNull(commandLine, "healthcheck shell command");
      if (commandLine.isBlank()) {
        throw new IllegalArgumentException("healthcheck shell command is blank");
      }
      return command("/bin/sh", "-c", commandLine);
    }

    /**
     * Time between probes; default 30 s.
     *
     * @param interval positive, at least 1 ms
     * @return this builder
     */
    public Builder interval(Duration interval) {
      this.interval = positive(interval, "healthcheck interval");
      return this;
    }

    /**
     * How long one probe may run; default 30 s.
     *
     * @param timeout positive, at least 1 ms
     * @return this builder
     */
    public Builder timeout(Duration timeout) {
      this.timeout = positive(timeout, "healthcheck timeout");
      return this;
    }

    /**
     * Consecutive failures that make the container unhealthy; default 3.
     *
     * @param retries at least 1
     * @return this builder
     */
    public Builder retries(int retries) {
      if (retries < 1) {
        throw new IllegalArgumentException("healthcheck retries < 1: " + retries);
      }
      this.retries = retries;
      return this;
    }

    /**
     * How long after a (re)start failures do not count (until the first pass); default zero.
     *
     * @param startPeriod zero or positive
     * @return this builder
     */
    public Builder startPeriod(Duration startPeriod) {
      Objects.requireNonNull(startPeriod, "healthcheck startPeriod");
      if (startPeriod.isNegative()) {
        throw new IllegalArgumentException("healthcheck startPeriod is negative: " + startPeriod);
      }
      this.startPeriod = startPeriod;
      return this;
    }

    /**
     * {@return the health check}
     *
     * @throws IllegalStateException when no command was given
     */
    public HealthCheck build() {
      if (command.isEmpty()) {
        throw new IllegalStateException("a health check needs a command: call command(..) or"
            + " shell(..), or use HealthCheck.none() to disable the image's");
      }
      return new HealthCheck(command, interval, timeout, retries, startPeriod);
    }

    private static Duration positive(Duration d, String what) {
      Objects.requireNonNull(d, what);
      if (d.toMillis() < 1) {
        throw new IllegalArgumentException(what + " must be at least 1 ms: " + d);
      }
      return d;
    }
  }
}
