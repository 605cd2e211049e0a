package io.micropod.internal.agent;

import io.micropod.HealthCheck;
import io.micropod.HealthState;
import io.micropod.MicroPodSpec;
import io.micropod.RestartPolicy;
import io.micropod.agent.v1.ContainerState;
import io.micropod.agent.v1.CreateContainerRequest;
import java.time.Duration;
import java.util.OptionalInt;

/**
 * What the guest agent does on its own for a pod (issue 15): the container's health check (the
 * spec's, else the image's), its restart policy and the pod's deadlines, as fields 160-163 of
 * {@code CreateContainerRequest}.
 *
 * @param health the effective health check, or null for none
 * @param restart the restart policy
 * @param maxLifetime the maximum lifetime, or null
 * @param idleTimeout the idle timeout, or null
 */
public record Supervising(HealthCheck health, RestartPolicy restart, Duration maxLifetime,
    Duration idleTimeout) {

  /** Nothing supervised. */
  public static final Supervising NONE = new Supervising(null, RestartPolicy.no(), null, null);

  /** The spec's supervision; {@code imageHealth} (null: none) applies when the spec has no check. */
  public static Supervising of(MicroPodSpec spec, HealthCheck imageHealth) {
    HealthCheck h = spec.healthcheck().orElse(imageHealth);
    return new Supervising(h == null || h.isNone() ? null : h, spec.restart(),
        spec.maxLifetime().orElse(null), spec.idleTimeout().orElse(null));
  }

  CreateContainerRequest apply(CreateContainerRequest request) {
    CreateContainerRequest.Builder b = request.toBuilder();
    if (health != null) {
      b.setHealthcheck(io.micropod.agent.v1.HealthCheck.newBuilder()
          .addAllArgs(health.command())
          .setIntervalMs(health.interval().toMillis())
          .setTimeoutMs(health.timeout().toMillis())
          .setRetries(health.retries())
          .setStartPeriodMs(health.startPeriod().toMillis()));
    }
    if (restart.mode() != RestartPolicy.Mode.NO) {
      io.micropod.agent.v1.RestartPolicy.Mode mode;
      switch (restart.mode()) {
        case ON_FAILURE: mode = io.micropod.agent.v1.RestartPolicy.Mode.RESTART_ON_FAILURE; break;
        case ALWAYS: mode = io.micropod.agent.v1.RestartPolicy.Mode.RESTART_ALWAYS; break;
        default: mode = io.micropod.agent.v1.RestartPolicy.Mode.RESTART_UNLESS_STOPPED;
      }
      b.setRestart(io.micropod.agent.v1.RestartPolicy.newBuilder().setMode(mode)
          .setMaxRetries(restart.maxRetries()));
    }
    if (maxLifetime != null) {
      b.setMaxLifetimeMs(maxLifetime.toMillis());
    }
    if (idleTimeout != null) {
      b.setIdleTimeoutMs(idleTimeout.toMillis());
    }
    return b.build();
  }

  /**
   * What {@code GetContainerState} answered.
   *
   * @param state the agent's word: created, starting, running, restarting, stopped, removing
   * @param restartCount restarts so far
   * @param lastExitCode the last exit of the main process, if it exited
   * @param health the health, or null when the container has no health check
   */
  public record State(String state, int restartCount, OptionalInt lastExitCode, HealthState health) {
    static State of(ContainerState s) {
      HealthState h = null;
      switch (s.getHealth()) {
        case HEALTH_STARTING:
          h = new HealthState(HealthState.Status.STARTING, s.getFailingStreak(), s.getLastHealthOutput());
          break;
        case HEALTH_HEALTHY:
          h = new HealthState(HealthState.Status.HEALTHY, s.getFailingStreak(), s.getLastHealthOutput());
          break;
        case HEALTH_UNHEALTHY:
          h = new HealthState(HealthState.Status.UNHEALTHY, s.getFailingStreak(), s.getLastHealthOutput());
          break;
        default:
          break;
      }
      return new State(s.getState(), s.getRestartCount(),
          s.getExited() ? OptionalInt.of(s.getLastExitCode()) : OptionalInt.empty(), h);
    }
  }
}
