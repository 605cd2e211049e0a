package io.micropod.internal;

import io.micropod.HealthState;
import io.micropod.event.MicroPodListener;
import io.micropod.internal.state.ConsoleStates;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Turns what the guest agent writes on a pod's console about its container (health, restarts,
 * a deadline that ended the pod: {@link ConsoleStates}) into the listener's typed events, in the
 * JVM that started the pod. One daemon thread per pod, {@code micropod-<id>-supervision}, reading
 * the console log's tail every {@link #POLL_MILLIS}; only for pods whose spec has a listener and
 * something supervised. Stopped by {@link #close()}.
 */
final class SupervisionWatch implements AutoCloseable {
  static final long POLL_MILLIS = 500;

  private final String podId;
  private final Path consoleLog;
  private final MicroPodListener listener;
  private final Thread thread;
  private volatile boolean closed;
  private HealthState.Status health;
  private int restarts;

  private SupervisionWatch(String podId, Path consoleLog, MicroPodListener listener) {
    this.podId = podId;
    this.consoleLog = consoleLog;
    this.listener = listener;
    this.thread = new Thread(this::run, "micropod-" + podId + "-supervision");
    thread.setDaemon(true);
  }

  /** Starts watching {@code b}'s pod when there is something to report; pushes its stop on {@code cleanup}. */
  static void start(Boot b, CleanupStack cleanup) {
    io.micropod.internal.agent.Supervising s = b.supervising();
    boolean supervised = s.restart().mode() != io.micropod.RestartPolicy.Mode.NO
        || s.maxLifetime() != null || s.idleTimeout() != null || s.health() != null;
    if (!supervised || b.spec.listener() == MicroPodListener.NONE || b.paths.consoleLog() == null) {
      return;
    }
    SupervisionWatch w = new SupervisionWatch(b.id, b.paths.consoleLog(), b.spec.listener());
    cleanup.push("supervision.watch", w);
    w.thread.start();
  }

  private void run() {
    while (!closed) {
      ConsoleStates.Observed seen = ConsoleStates.read(consoleLog);
      if (seen.restartCount() > restarts) {
        restarts = seen.restartCount();
        int count = restarts;
        int exit = seen.lastExitCode().orElse(-1);
        Listeners.notify(listener, podId, "containerRestarted",
            l -> l.containerRestarted(podId, count, exit));
      }
      if (seen.health() != null && seen.health().status() != health) {
        health = seen.health().status();
        HealthState h = seen.health();
        Listeners.notify(listener, podId, "healthChanged", l -> l.healthChanged(podId, h));
      }
      if (seen.endReason() != null) {
        String reason = seen.endReason();
        Listeners.notify(listener, podId, "podEnded", l -> l.podEnded(podId, reason));
        return;
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(POLL_MILLIS));
    }
  }

  @Override
  public void close() {
    closed = true;
    thread.interrupt();
  }
}
