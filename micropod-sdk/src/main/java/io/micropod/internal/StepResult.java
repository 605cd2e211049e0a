package io.micropod.internal;

import java.util.concurrent.atomic.AtomicReference;

/**
 * What one boot step produced, handed to the steps after it: set once, by the step named here,
 * then read. Reading it before that step ran is a bug in the step list, so {@link #get} says which
 * step should have run; the undo and kill paths, which also run after a start failed half way,
 * use {@link #orNull}. Thread-safe.
 *
 * @param <T> the step's typed, immutable result
 */
final class StepResult<T> {
  private final String stepId;
  private final AtomicReference<T> value = new AtomicReference<>();

  StepResult(String stepId) {
    this.stepId = stepId;
  }

  /** The id of the step that sets it (the record of an attached pod sets it too). */
  String stepId() {
    return stepId;
  }

  /**
   * Sets the result.
   *
   * @throws IllegalStateException when it was set already (two steps claim one result)
   */
  void set(T result) {
    if (result == null) {
      throw new IllegalArgumentException("the result of step " + stepId + " is null");
    }
    if (!value.compareAndSet(null, result)) {
      throw new IllegalStateException("the result of step " + stepId + " was set twice");
    }
  }

  /**
   * The result.
   *
   * @throws IllegalStateException when step {@link #stepId} has not run: the step list is wrong
   */
  T get() {
    T v = value.get();
    if (v == null) {
      throw new IllegalStateException("step " + stepId + " has not run: a step before it needs its result");
    }
    return v;
  }

  /** The result, or null while its step has not run (undo and kill paths). */
  T orNull() {
    return value.get();
  }

  @Override
  public String toString() {
    return stepId + "=" + value.get();
  }
}
