package io.micropod.internal.state;

import io.micropod.internal.files.FileTrees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Removes what pods of dead owners left: a record whose owner JVM (pid + start time) is gone is
 * an orphan, unless the pod is detached, its start completed ({@code RUNNING}) and its VMM still
 * runs: a detached pod whose owner died during {@code start()} or while stopping it is an
 * orphan too (its processes were recorded before they ran). For an orphan it kills the
 * recorded VMM and virtiofsd processes (the image tree's and the mounts'), each only if its pid
 * still belongs to the process that started at the recorded time (never by name), then deletes the
 * socket directory, the pod directory and the record; it keeps the pod's console log. Runs under the state lock; safe to run from several processes at once.
 */
public final class OrphanReaper {
  private static final Logger log = LoggerFactory.getLogger(OrphanReaper.class);

  private OrphanReaper() {}

  /** Whether the pod of {@code r} is still someone's: a live owner, or detached, started and running. */
  public static boolean isLive(PodRecord r) {
    if (r.owner() != null && r.owner().isAlive()) {
      return true;
    }
    return r.detached() && PodRecord.RUNNING.equals(r.status()) && r.vmm() != null && r.vmm().isAlive();
  }

  /** Sweeps {@code state}; returns the ids it removed. */
  public static List<String> sweep(StateDirectory state) {
    return state.locked(() -> {
      state.removeStrayTemps();
      List<String> removed = new ArrayList<>();
      for (PodRecord r : state.all()) {
        if (!isLive(r)) {
          reap(state, r);
          removed.add(r.id());
        }
      }
      return removed;
    });
  }

  /** Kills the processes of {@code r} (checked by start time) and removes its files and record. */
  public static void reap(StateDirectory state, PodRecord r) {
    List<String> killed = new ArrayList<>();
    for (PodRecord.Proc p : r.processes()) {
      if (ProcStat.killIfSame(p.pid(), p.startTime())) {
        killed.add(Long.toString(p.pid()));
      }
    }
    deleteOwnTree(r.socketDir(), "micropod-" + r.id());
    deleteOwnTree(r.podDir(), r.id());
    // the console log (<config>/logs/<id>.log) is kept: it tells why the owner's pod ended;
    // ConsoleLogs.prune caps the logs of ended pods
    state.delete(r.id());
    log.info("pod {}: removed what its dead owner (pid {}) left{}", r.id(),
        r.owner() == null ? "?" : r.owner().pid(), killed.isEmpty() ? "" : "; killed pids " + killed);
  }

  /** Deletes {@code dir} only when its name is the one MicroPod gives it (a record is data). */
  private static void deleteOwnTree(String dir, String expectedName) {
    if (dir == null) {
      return;
    }
    Path p = Path.of(dir);
    if (p.getFileName() == null || !p.getFileName().toString().equals(expectedName)) {
      log.warn("not deleting {}: not a MicroPod pod directory (expected a name of {})", p, expectedName);
      return;
    }
    try {
      FileTrees.deleteTree(p);
    } catch (IOException e) {
      log.warn("cannot delete {}: {}", p, e.toString());
    }
  }

}
