package io.micropod.internal;

import io.micropod.event.MicroPodListener;
import io.micropod.event.Phase;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Calls a user's listener, catching and logging (WARN) whatever it throws. */
public final class Listeners {
  private static final Logger log = LoggerFactory.getLogger(Listeners.class);

  private Listeners() {}

  public static void phaseStart(MicroPodListener l, String podId, Phase phase) {
    try {
      l.phaseStart(podId, phase);
    } catch (RuntimeException | LinkageError e) {
      log.warn("pod {}: listener {} threw from phaseStart({})", podId, l, phase, e);
    }
  }

  public static void phaseEnd(MicroPodListener l, String podId, Phase phase, Duration took) {
    try {
      l.phaseEnd(podId, phase, took);
    } catch (RuntimeException | LinkageError e) {
      log.warn("pod {}: listener {} threw from phaseEnd({})", podId, l, phase, e);
    }
  }

  public static void progress(MicroPodListener l, String podId, Phase phase, long done, long total) {
    try {
      l.progress(podId, phase, done, total);
    } catch (RuntimeException | LinkageError e) {
      log.warn("pod {}: listener {} threw from progress({})", podId, l, phase, e);
    }
  }

  public static void phaseFailed(MicroPodListener l, String podId, Phase phase, Throwable cause) {
    try {
      l.phaseFailed(podId, phase, cause);
    } catch (RuntimeException | LinkageError e) {
      log.warn("pod {}: listener {} threw from phaseFailed({})", podId, l, phase, e);
    }
  }

  public static void execEnd(MicroPodListener l, String podId, int exitCode, Duration took) {
    notify(l, podId, "execEnd", x -> x.execEnd(podId, exitCode, took));
  }

  public static void execFailed(MicroPodListener l, String podId, Duration took, Throwable cause) {
    notify(l, podId, "execFailed", x -> x.execFailed(podId, took, cause));
  }

  /** Calls {@code event} on {@code l}, catching and logging (WARN) what it throws. */
  public static void notify(MicroPodListener l, String podId, String what,
      java.util.function.Consumer<MicroPodListener> event) {
    try {
      event.accept(l);
    } catch (RuntimeException | LinkageError e) {
      log.warn("pod {}: listener {} threw from {}", podId, l, what, e);
    }
  }
}
