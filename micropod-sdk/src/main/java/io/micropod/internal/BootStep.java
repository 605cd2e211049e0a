package io.micropod.internal;

import io.micropod.event.Phase;

/**
 * One named step of starting a pod. {@link #run} does the work and registers, on the given
 * stack, how to undo it; it throws a {@code MicroPodException} subtype (or anything, which the
 * sequence wraps) when it fails.
 *
 * @param <C> the state the steps share
 */
public interface BootStep<C> {
  /** A stable dotted id, e.g. {@code vmm.spawn}; appears in logs and exceptions, never in API. */
  String id();

  /** The public phase this step belongs to. */
  Phase phase();

  void run(C context, CleanupStack cleanup) throws Exception;

  /** A step from a lambda. */
  static <C> BootStep<C> of(String id, Phase phase, Action<C> action) {
    return new BootStep<>() {
      @Override
      public String id() {
        return id;
      }

      @Override
      public Phase phase() {
        return phase;
      }

      @Override
      public void run(C context, CleanupStack cleanup) throws Exception {
        action.run(context, cleanup);
      }

      @Override
      public String toString() {
        return id;
      }
    };
  }

  @FunctionalInterface
  interface Action<C> {
    void run(C context, CleanupStack cleanup) throws Exception;
  }
}
