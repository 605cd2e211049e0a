package io.micropod.examples.cli;

import io.micropod.HealthCheck;
import io.micropod.MicroPodSpec;
import io.micropod.RestartPolicy;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Option;

/**
 * {@code micropod run}'s options for what the guest agent does on its own (issue 15): Docker's
 * {@code --restart} and {@code --health-*} flags, and the pod's deadlines.
 */
final class SupervisionOptions {
  private static final Pattern DURATION = Pattern.compile("(\\d{1,9})(ms|s|m|h)");

  @Option(names = "--restart", paramLabel = "POLICY",
      description = "Restart the container's main process when it exits: no (default), on-failure[:N], always, unless-stopped.")
  String restart;

  @Option(names = "--health-cmd", paramLabel = "CMD",
      description = "A shell command run in the container to check its health (exit 0: healthy); replaces the image's HEALTHCHECK.")
  String healthCmd;

  @Option(names = "--health-interval", paramLabel = "DURATION", description = "Time between health checks (e.g. 30s, the default).")
  String healthInterval;

  @Option(names = "--health-timeout", paramLabel = "DURATION", description = "How long one health check may run (default 30s).")
  String healthTimeout;

  @Option(names = "--health-retries", paramLabel = "N", description = "Consecutive failures that make the container unhealthy (default 3).")
  Integer healthRetries;

  @Option(names = "--health-start-period", paramLabel = "DURATION", description = "Failures this soon after a start do not count (default 0s).")
  String healthStartPeriod;

  @Option(names = "--no-healthcheck", description = "Disable the image's HEALTHCHECK.")
  boolean noHealthcheck;

  @Option(names = "--max-lifetime", paramLabel = "DURATION",
      description = "Stop and remove the pod this long after it started (e.g. 30s, 10m, 2h), detached pods included.")
  String maxLifetime;

  @Option(names = "--idle-timeout", paramLabel = "DURATION",
      description = "Stop and remove the pod after this long without an exec, a log reader or a connection.")
  String idleTimeout;

  /** Sets what the options say on {@code b}; IAE naming a bad value. */
  void apply(MicroPodSpec.Builder b) {
    if (restart != null) {
      b.restart(RestartPolicy.parse(restart));
    }
    boolean tuned = healthInterval != null || healthTimeout != null || healthRetries != null
        || healthStartPeriod != null;
    if (noHealthcheck && (healthCmd != null || tuned)) {
      throw new IllegalArgumentException("--no-healthcheck conflicts with --health-* options");
    }
    if (noHealthcheck) {
      b.healthcheck(HealthCheck.none());
    } else if (healthCmd != null) {
      HealthCheck.Builder h = HealthCheck.builder().shell(healthCmd);
      if (healthInterval != null) {
        h.interval(duration("--health-interval", healthInterval));
      }
      if (healthTimeout != null) {
        h.timeout(duration("--health-timeout", healthTimeout));
      }
      if (healthRetries != null) {
        h.retries(healthRetries);
      }
      if (healthStartPeriod != null) {
        h.startPeriod(duration("--health-start-period", healthStartPeriod));
      }
      b.healthcheck(h.build());
    } else if (tuned) {
      throw new IllegalArgumentException("--health-interval, --health-timeout, --health-retries and"
          + " --health-start-period need --health-cmd");
    }
    if (maxLifetime != null) {
      b.maxLifetime(duration("--max-lifetime", maxLifetime));
    }
    if (idleTimeout != null) {
      b.idleTimeout(duration("--idle-timeout", idleTimeout));
    }
  }

  /** Go's duration syntax as Docker takes it, in whole units: {@code 90s}, {@code 1m30s}, {@code 500ms}, {@code 2h}. */
  static Duration duration(String option, String text) {
    if (text.startsWith("-")) {
      throw new IllegalArgumentException(option + " must not be negative: " + text);
    }
    Matcher m = DURATION.matcher(text);
    Duration d = Duration.ZERO;
    int end = 0;
    while (m.find() && m.start() == end) {
      long n = Long.parseLong(m.group(1));
      switch (m.group(2)) {
        case "ms": d = d.plusMillis(n); break;
        case "s": d = d.plusSeconds(n); break;
        case "m": d = d.plusMinutes(n); break;
        default: d = d.plusHours(n);
      }
      end = m.end();
    }
    if (end == 0 || end != text.length()) {
      throw new IllegalArgumentException(option + " is not a duration such as 30s, 5m or 1h30m: " + text);
    }
    return d;
  }
}
