package io.micropod.internal.state;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Decides which pod records are orphans, and hands each to the undo the orchestration layer gives
 * ({@code PodStates.reap}, which runs the same {@code PodResources} undo as {@code close()}): a
 * record whose owner JVM (pid + start time) is gone is an orphan, unless the pod is detached, its
 * start completed ({@code RUNNING}, or {@code PAUSED} since) and its VMM still runs: a detached pod whose owner died during
 * {@code start()} or while stopping it is an orphan too (its processes were recorded before they
 * ran). The undo is handed in rather than written here because this package may not import the
 * orchestration package (no package cycle). Runs under the state lock; safe to run from several
 * processes at once.
 */
public final class OrphanReaper {
  private OrphanReaper() {}

  /** Whether the pod of {@code r} is still someone's: a live owner, or detached, started and running. */
  public static boolean isLive(PodRecord r) {
    if (r.owner() != null && r.owner().isAlive()) {
      return true;
    }
    boolean started = PodRecord.RUNNING.equals(r.status()) || PodRecord.PAUSED.equals(r.status());
    return r.detached() && started && r.vmm() != null && r.vmm().isAlive();
  }

  /**
   * Under the state lock, removes stray temp files and runs {@code undo} on every orphan's record;
   * {@code undo} must not take the state lock (it is held) and removes the record itself.
   *
   * @return the ids of the orphans undone
   */
  public static List<String> sweep(StateDirectory state, Consumer<PodRecord> undo) {
    return state.locked(() -> {
      state.removeStrayTemps();
      List<String> removed = new ArrayList<>();
      for (PodRecord r : state.all()) {
        if (!isLive(r)) {
          undo.accept(r);
          removed.add(r.id());
        }
      }
      return removed;
    });
  }
}
