package io.micropod.internal;

import io.micropod.MicroPodException;
import io.micropod.internal.agent.AgentClient;
import io.micropod.internal.agent.AgentRelay;
import io.micropod.internal.files.FileTrees;
import io.micropod.internal.vm.RootfsShare;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one description of how each resource a pod holds on the host is undone. A boot step
 * registers the undo of what it just created ({@code VmSteps}, {@code MountSteps}); attaching to
 * a running pod registers them all at once ({@link #all}), in the order a start acquires them;
 * {@code close()} and a failed {@code start()} run that {@link CleanupStack}; the JVM's exit runs
 * {@link #kill} over the same resources, at once; the orphan reaper ({@code PodStates.reap}, for
 * the records {@code state.OrphanReaper} finds orphaned) registers them all from the record, as
 * attach does, and runs them. So a new resource is one method here, used by every path.
 *
 * <p>A record is data: its processes are signalled only while their pid still belongs to the
 * process that started at the recorded time ({@code PodStates.stop}), and its directories are
 * deleted only under the names MicroPod gives them ({@link #deleteOwnTree}).
 *
 * <h2>The console log</h2>
 * One rule ({@link #keepsConsoleLog}, docs/lifecycle.md): a normal close removes it; it is kept
 * when the start failed, when the VM exited by itself, when the pod's owner died (the reaper), and
 * with {@code MICROPOD_DEBUG=1}.
 */
final class PodResources {
  private static final Logger log = LoggerFactory.getLogger(PodResources.class);

  private PodResources() {}

  /** Every resource of a running pod (attach), in the order a start acquires them. */
  static void all(Boot b, CleanupStack cleanup) {
    consoleLog(b, cleanup);
    record(b, cleanup);
    podDir(b, cleanup);
    socketDir(b, cleanup);
    rootfsShare(b, cleanup);
    List<RootfsShare> mounts = mountShares(b);
    for (int i = 0; i < mounts.size(); i++) {
      mountShare(i, mounts.get(i), cleanup);
    }
    vmm(b, cleanup);
    agent(b, b.agentClientOrNull(), cleanup);
    relay(b, cleanup);
  }

  /** {@code agent.relay.stop}: other processes can no longer reach the pod through this JVM. */
  static void relay(Boot b, CleanupStack cleanup) {
    cleanup.push("agent.relay.stop", () -> {
      AgentRelay relay = b.relay;
      if (relay != null) {
        relay.close();
      }
    });
  }

  /** Whether the pod's console log outlives it (see the class doc). */
  static boolean keepsConsoleLog(Boot b) {
    return !b.started || b.keepConsoleLog || b.ownerDied || b.runtime.config().debug();
  }

  /** {@code console.log.remove}: the guest console's log, {@code <config>/logs/<id>.log}. */
  static void consoleLog(Boot b, CleanupStack cleanup) {
    cleanup.push("console.log.remove", () -> undoConsoleLog(b));
  }

  private static List<RootfsShare> mountShares(Boot b) {
    SharedMounts m = b.mounts.orNull();
    return m == null ? List.of() : m.shares();
  }

  private static void undoConsoleLog(Boot b) {
    Path file = b.paths.consoleLog();
    if (file == null || !file.equals(b.runtime.consoleLogs().fileOf(b.id))) {
      return; // none, or a record older than the logs directory: its log is in the pod directory
    }
    if (!keepsConsoleLog(b)) {
      b.runtime.consoleLogs().delete(b.id);
      return;
    }
    if (b.runtime.consoleLogs().keep(b.id, b.runtime.state())) {
      log.info("pod {}: kept its guest console log {} ({})", b.id, file,
          b.runtime.config().debug() ? "MICROPOD_DEBUG=1"
              : b.ownerDied ? "its owner died"
              : b.started ? "the VM had exited by itself" : "the start failed");
    }
  }

  /** {@code state.remove}: the pod's record in the config directory. */
  static void record(Boot b, CleanupStack cleanup) {
    cleanup.push("state.remove", () -> b.runtime.state().delete(b.id));
  }

  /** {@code poddir.remove}: {@code <home>/pods/<id>}, the VMM's and virtiofsd's logs; kept with MICROPOD_DEBUG=1. */
  static void podDir(Boot b, CleanupStack cleanup) {
    cleanup.push("poddir.remove", () -> {
      if (b.runtime.config().debug()) {
        log.info("pod {}: MICROPOD_DEBUG=1, kept its logs (qemu.log, virtiofsd*.log) in {}",
            b.id, b.paths.podDir());
      } else {
        deleteOwnTree(b.paths.podDir(), b.id);
      }
    });
  }

  /** {@code sockdir.remove}: {@code /tmp/micropod-<id>}, the VMM's and virtiofsd's sockets. */
  static void socketDir(Boot b, CleanupStack cleanup) {
    cleanup.push("sockdir.remove", () -> deleteOwnTree(b.paths.socketDir(), "micropod-" + b.id));
  }

  /**
   * Deletes {@code dir} only when its name is the one MicroPod gave it ({@link PodPaths}): the
   * directories of an attached or orphaned pod come from its record, which is data.
   */
  private static void deleteOwnTree(Path dir, String expectedName) throws IOException {
    if (dir == null) {
      return;
    }
    if (dir.getFileName() == null || !dir.getFileName().toString().equals(expectedName)) {
      log.warn("not deleting {}: not a MicroPod pod directory (expected a name of {})", dir, expectedName);
      return;
    }
    FileTrees.deleteTree(dir);
  }

  /** {@code rootfs.share.stop}: the image's virtiofsd (or the block image's stand-in). */
  static void rootfsShare(Boot b, CleanupStack cleanup) {
    cleanup.push("rootfs.share.stop", () -> b.rootfsShare.get().stop());
  }

  /** {@code mount<i>.share.stop}: the virtiofsd of the spec's {@code i}th host mount. */
  static void mountShare(int i, RootfsShare share, CleanupStack cleanup) {
    cleanup.push("mount" + i + ".share.stop", share::stop);
  }

  /** {@code vmm.stop}: the VMM, given time to exit by itself when the guest was asked to shut down. */
  static void vmm(Boot b, CleanupStack cleanup) {
    cleanup.push("vmm.stop", () -> b.vmProcess().stop(b.shutdownRequested ? RealMicroPod.VMM_EXIT_GRACE : Duration.ZERO));
  }

  /**
   * {@code agent.close}: asks a live guest that answered to shut down (so that the VMM may exit by
   * itself), then closes the channel. Registered as soon as the channel exists, before the agent
   * answered: {@code agent} is that channel; null for an orphan's (none was opened).
   */
  static void agent(Boot b, AgentClient agent, CleanupStack cleanup) {
    cleanup.push("agent.close", () -> {
      try {
        if (b.agent.orNull() != null && b.vmProcess().isAlive()) {
          agent.shutdown(AgentClient.SHUTDOWN_DEADLINE);
          b.shutdownRequested = true;
        }
      } catch (MicroPodException e) {
        log.debug("pod {}: Shutdown RPC failed, the VMM will be terminated: {}", b.id, e.getMessage());
      } finally {
        if (agent != null) { // an orphan's: no channel was opened
          agent.close();
        }
      }
    });
  }

  /**
   * The JVM is exiting: kills the processes at once and undoes the files as {@link #all} would
   * (best effort, nothing waits). The caller decides whether the pod outlives the JVM (detached).
   */
  static void kill(Boot b) {
    SpawnedVm v = b.vm.orNull();
    if (v != null) {
      v.process().kill();
    }
    RootfsShare f = b.rootfsShare.orNull();
    if (f != null) {
      f.kill();
    }
    for (RootfsShare m : mountShares(b)) {
      m.kill();
    }
    if (b.paths.consoleLog() != null && !keepsConsoleLog(b)) {
      b.runtime.consoleLogs().delete(b.id);
    }
    deleteOwnTreeOnExit(b.paths.socketDir(), "micropod-" + b.id);
    if (!b.runtime.config().debug()) {
      deleteOwnTreeOnExit(b.paths.podDir(), b.id);
    }
    if (b.record() != null) {
      try {
        b.runtime.state().delete(b.id);
      } catch (RuntimeException e) {
        // the JVM is exiting: the next sweep removes it
      }
    }
  }

  private static void deleteOwnTreeOnExit(Path dir, String expectedName) {
    try {
      deleteOwnTree(dir, expectedName);
    } catch (IOException | RuntimeException e) {
      // the JVM is exiting: best effort
    }
  }
}
