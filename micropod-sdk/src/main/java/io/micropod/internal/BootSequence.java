package io.micropod.internal;

import io.micropod.MicroPodException;
import io.micropod.event.MicroPodListener;
import io.micropod.event.Phase;
import java.lang.reflect.InvocationTargetException;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs boot steps in order, reporting phases to the listener (consecutive steps of one phase
 * form one phase event). When a step fails, every clean-up registered so far runs in reverse
 * order, the listener hears {@code phaseFailed}, and the failure is thrown as a
 * {@link MicroPodException}: domain exceptions as they are, {@code ExecutionException}s
 * unwrapped, interrupts with the thread's interrupt flag set again, anything else wrapped.
 */
public final class BootSequence<C> {
  private static final Logger log = LoggerFactory.getLogger(BootSequence.class);

  private final String podId;
  private final MicroPodListener listener;
  private final List<BootStep<C>> steps;

  public BootSequence(String podId, MicroPodListener listener, List<BootStep<C>> steps) {
    this.podId = podId;
    this.listener = listener;
    this.steps = List.copyOf(steps);
  }

  public List<BootStep<C>> steps() {
    return steps;
  }

  /**
   * Runs the steps.
   *
   * @return how long each step took, by step id, in order
   * @throws MicroPodException when a step failed, after everything was undone
   */
  public Map<String, Duration> run(C context, CleanupStack cleanup) {
    Map<String, Duration> took = new LinkedHashMap<>();
    Phase phase = null;
    long phaseStarted = 0;
    for (BootStep<C> step : steps) {
      if (step.phase() != phase) {
        if (phase != null) {
          Listeners.phaseEnd(listener, podId, phase, Duration.ofNanos(System.nanoTime() - phaseStarted));
        }
        phase = step.phase();
        phaseStarted = System.nanoTime();
        Listeners.phaseStart(listener, podId, phase);
      }
      log.debug("pod {}: step {} starting", podId, step.id());
      long started = System.nanoTime();
      try {
        step.run(context, cleanup);
      } catch (Error e) {
        unwind(cleanup, e);
        Listeners.phaseFailed(listener, podId, phase, e);
        throw e;
      } catch (Throwable t) {
        MicroPodException e = translate(t, step);
        log.debug("pod {}: step {} failed after {} ms: {}", podId, step.id(),
            (System.nanoTime() - started) / 1_000_000, e.toString());
        unwind(cleanup, e);
        Listeners.phaseFailed(listener, podId, phase, e);
        throw e;
      }
      Duration d = Duration.ofNanos(System.nanoTime() - started);
      took.put(step.id(), d);
      log.debug("pod {}: step {} done in {} ms", podId, step.id(), d.toMillis());
    }
    if (phase != null) {
      Listeners.phaseEnd(listener, podId, phase, Duration.ofNanos(System.nanoTime() - phaseStarted));
    }
    return Collections.unmodifiableMap(took);
  }

  /**
   * Runs the clean-ups with the interrupt flag cleared, so that their bounded waits (VMM exit,
   * channel termination) work, and sets it again afterwards if it was set.
   */
  private static void unwind(CleanupStack cleanup, Throwable primary) {
    boolean interrupted = Thread.interrupted();
    try {
      cleanup.runAll(primary);
    } finally {
      if (interrupted || Thread.interrupted()) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private MicroPodException translate(Throwable t, BootStep<C> step) {
    Throwable cause = unwrap(t);
    if (cause instanceof MicroPodException) {
      return (MicroPodException) cause;
    }
    if (cause instanceof InterruptedException
        || cause instanceof java.nio.channels.ClosedByInterruptException) {
      Thread.currentThread().interrupt();
      return new MicroPodException(
          "interrupted during step " + step.id() + " of pod " + podId + "; the pod was cleaned up",
          cause, podId, step.phase());
    }
    return new MicroPodException(
        "step " + step.id() + " of pod " + podId + " failed: " + cause, cause, podId, step.phase());
  }

  /** Unwraps the wrappers of asynchronous and reflective calls. */
  public static Throwable unwrap(Throwable t) {
    Throwable c = t;
    while ((c instanceof ExecutionException || c instanceof CompletionException
            || c instanceof InvocationTargetException)
        && c.getCause() != null) {
      c = c.getCause();
    }
    return c;
  }
}
