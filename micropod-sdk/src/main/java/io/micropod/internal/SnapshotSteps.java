package io.micropod.internal;

import io.micropod.MicroPodException;
import io.micropod.MicroPodSpec;
import io.micropod.SnapshotException;
import io.micropod.VmStartException;
import io.micropod.event.Phase;
import io.micropod.internal.vm.Snapshotting;
import io.micropod.internal.vm.SparseFiles;
import io.micropod.internal.vm.VmConfig;
import io.micropod.internal.vm.VmProcess;
import io.micropod.internal.vm.VmmDriver;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The steps of a pod restored from a snapshot (docs/snapshots.md), in place of the VM boot and
 * the container's creation: {@code snapshot.verify} (the block image is the snapshot's),
 * {@code snapshot.copy} (the snapshot's RAM into the pod's own RAM file), {@code vmm.spawn}
 * waiting for the device state, {@code snapshot.load}, {@code agent.connect} (a new session on the
 * agent channel), {@code snapshot.identity} (reseed, clock, container id and hostname). On
 * Firecracker ({@link VmmDriver#restoresBySpawning()}), one {@code snapshot.load}
 * ({@link #spawnRestored}) replaces {@code snapshot.copy}, {@code vmm.spawn} and
 * {@code snapshot.load}; every other step is the same. That path has run only against a stand-in
 * Firecracker, never a real one on KVM (docs/firecracker.md).
 */
final class SnapshotSteps {
  private static final Logger log = LoggerFactory.getLogger(SnapshotSteps.class);
  private static final SecureRandom RANDOM = new SecureRandom();
  /** How many bytes of host entropy a restored guest gets. */
  static final int ENTROPY_BYTES = 64;

  private SnapshotSteps() {}

  /** The steps of a restore on QEMU, in order. */
  static List<BootStep<Boot>> steps() {
    return steps(BootStep.of("snapshot.copy", Phase.RESTORE, SnapshotSteps::copyRam), PodStarter.VMM_SPAWN,
        BootStep.of("snapshot.load", Phase.RESTORE, SnapshotSteps::load));
  }

  /**
   * The steps of a restore with {@code driver}, in order: QEMU's ({@link #steps()}), or, for a
   * driver that spawns its VMM from the snapshot's files ({@link VmmDriver#restoresBySpawning()}:
   * Firecracker), one {@code snapshot.load} in place of {@code snapshot.copy}, {@code vmm.spawn}
   * and {@code snapshot.load}: no RAM copy (Firecracker maps the snapshot's memory file privately,
   * so forks share its clean pages and never write it).
   */
  static List<BootStep<Boot>> steps(VmmDriver driver) {
    return driver.restoresBySpawning()
        ? steps(BootStep.of("snapshot.load", Phase.RESTORE, SnapshotSteps::spawnRestored))
        : steps();
  }

  /**
   * The steps of a warm start ({@link WarmStarts}): the restore of a template without a container,
   * then the container's steps of a cold start, then what follows them.
   */
  static List<BootStep<Boot>> warmSteps(VmmDriver driver) {
    List<BootStep<Boot>> steps = new java.util.ArrayList<>(steps(driver));
    steps.remove(PodStarter.PORTS_START);
    steps.addAll(List.of(PodStarter.CONTAINER_CREATE, PodStarter.CONTAINER_COPY, PodStarter.CONTAINER_START,
        PodStarter.PORTS_START, PodStarter.NETWORK_ANNOUNCE));
    return List.copyOf(steps);
  }

  /** The restore's steps with {@code load}, the steps that bring the VM up from the snapshot. */
  @SafeVarargs
  private static List<BootStep<Boot>> steps(BootStep<Boot>... load) {
    List<BootStep<Boot>> steps = new java.util.ArrayList<>(List.of(PodStarter.IMAGE_RESOLVE,
        PodStarter.ROOTFS_PREPARE, PodStarter.CONSOLE_LOG_CREATE, PodStarter.STATE_WRITE, PodStarter.PODDIR_CREATE,
        PodStarter.SOCKDIR_CREATE, PodStarter.VIRTIOFS_START,
        BootStep.of("snapshot.verify", Phase.RESTORE, SnapshotSteps::verifyBlockImage),
        PodStarter.MOUNTS_SHARE, PodStarter.PORTS_BIND, PodStarter.NETWORK_ATTACH));
    steps.addAll(List.of(load));
    steps.addAll(List.of(PodStarter.AGENT_CONNECT, PodStarter.AGENT_RELAY,
        BootStep.of("snapshot.identity", Phase.RESTORE, SnapshotSteps::identity), PodStarter.PORTS_START));
    return List.copyOf(steps);
  }

  /**
   * Before anything starts: the runtime's driver can snapshot (a pod started snapshottable) or
   * restore (a pod from a snapshot).
   *
   * @throws SnapshotException naming the driver and what to do instead
   */
  static void checkDriver(MicroPodSpec spec, RuntimeServices runtime, String podId) {
    if (!spec.snapshottable() && spec.fromSnapshot().isEmpty()) {
      return;
    }
    String unsupported = runtime.driver().snapshotsUnsupported();
    if (unsupported != null) {
      String what = spec.fromSnapshot().map(n -> "restoring snapshot \"" + n + "\"").orElse("snapshottable(true)");
      throw new SnapshotException(unsupported + " (" + what + ")", null, podId, spec.fromSnapshot().orElse(null));
    }
  }

  /**
   * The checked manifest of the spec's snapshot, before anything starts.
   *
   * @throws SnapshotException when it is missing, broken, or of another SDK or guest image
   */
  static Snapshots.Manifest check(MicroPodSpec spec, RuntimeServices runtime, String podId) {
    return Snapshots.forRestore(runtime.config().home(), spec.fromSnapshot().orElseThrow(), runtime.host(),
        runtime.driver().name(), podId);
  }

  /** The RAM of a snapshottable pod: {@code <socketDir>/ram}; a restore's comes from its snapshot. */
  static Snapshotting snapshotting(Boot b, Path socketDir) {
    Snapshotting cold = Snapshotting.cold(socketDir);
    return b.restoredFrom == null ? cold
        : new Snapshotting(cold.ramFile(), b.restoredFrom.snapshot().path().resolve(Snapshots.STATE));
  }

  /** The guest saw this very block device before the snapshot: it must be the same image. */
  static void verifyBlockImage(Boot b, CleanupStack cleanup) throws IOException {
    Snapshots.Manifest m = b.restoredFrom;
    Path block = b.rootfsShare.get().blockImage();
    if (block == null || !block.toString().equals(m.blockImage()) || Files.size(block) != m.blockImageBytes()) {
      throw new SnapshotException("snapshot \"" + m.snapshot().name() + "\" was taken with the block image "
          + m.blockImage() + " (" + m.blockImageBytes() + " bytes) but image " + b.spec.image() + " now gives "
          + block + ": the image changed since; take the snapshot again", null, b.id, m.snapshot().name());
    }
  }

  /** The snapshot's RAM, copied (sparse) to the pod's RAM file, which QEMU then maps shared. */
  static void copyRam(Boot b, CleanupStack cleanup) throws IOException {
    Path from = b.restoredFrom.snapshot().path().resolve(Snapshots.RAM);
    Path to = b.baseVmConfig().snapshotting().ramFile();
    long started = System.nanoTime();
    try {
      SparseFiles.copy(from, to, false);
    } catch (IOException e) {
      throw new SnapshotException("cannot copy the RAM of snapshot \"" + b.restoredFrom.snapshot().name()
          + "\" to " + to + ": " + e.getMessage(), e, b.id, b.restoredFrom.snapshot().name());
    }
    cleanup.push("snapshot.ram", () -> Files.deleteIfExists(to));
    log.debug("pod {}: RAM copied from {} in {} ms", b.id, from, (System.nanoTime() - started) / 1_000_000);
  }

  /** QEMU loads the device state and the guest runs on. */
  static void load(Boot b, CleanupStack cleanup) {
    try {
      b.vmProcess().restore(b.baseVmConfig().snapshotting().restoreState(), b.remaining());
    } catch (IOException e) {
      throw new SnapshotException("pod " + b.id + ": QEMU could not load snapshot \""
          + b.restoredFrom.snapshot().name() + "\": " + e.getMessage(), e, b.id, b.restoredFrom.snapshot().name());
    }
  }

  /**
   * {@code snapshot.load} of a driver that spawns from the snapshot's files (Firecracker): the VMM
   * starts with the snapshot's device state and memory file, moved to this pod's vsock socket and
   * TAP ({@link VmmDriver#restore}). A VMM that refuses the snapshot (too old a release, a state
   * it cannot read) is a {@link SnapshotException} carrying its reason; one that does not start at
   * all stays a {@link VmStartException} of {@code vmm.spawn}, as for a cold start.
   */
  static void spawnRestored(Boot b, CleanupStack cleanup) throws IOException, InterruptedException {
    VmConfig config = VmSteps.vmConfig(b);
    Path snapshot = b.restoredFrom.snapshot().path();
    String name = b.restoredFrom.snapshot().name();
    long spawnNanos = System.nanoTime();
    Instant deadline = Instant.now().plus(b.spec.startupTimeout());
    VmProcess vm;
    try {
      vm = b.runtime.driver().restore(config, snapshot.resolve(Snapshots.STATE), snapshot.resolve(Snapshots.RAM),
          Instant.now().plus(RealMicroPod.SOCKET_TIMEOUT));
    } catch (VmStartException e) {
      if (PodStarter.VMM_SPAWN.id().equals(e.stepId())) {
        throw e;
      }
      throw new SnapshotException("pod " + b.id + ": the " + b.runtime.driver().name() + " VMM could not load"
          + " snapshot \"" + name + "\": " + e.getMessage(), e, b.id, name);
    }
    VmSteps.spawned(b, cleanup, config, vm, spawnNanos, deadline);
  }

  /**
   * The restored guest's own identity: fresh kernel randomness, the host's clock, the container
   * known by this pod's id, and its hostname (the spec's; else this pod's id unless the snapshot's
   * pod had one set, which it keeps). A template without a container (a warm start) has no
   * container to rename: the one created next gets this pod's id and hostname.
   */
  static void identity(Boot b, CleanupStack cleanup) {
    Snapshots.Manifest m = b.restoredFrom;
    boolean container = !m.containerId().isEmpty();
    String hostname = !container ? "" : b.spec.hostname().orElse(m.hostnameSet() ? "" : b.id);
    byte[] entropy = new byte[ENTROPY_BYTES];
    RANDOM.nextBytes(entropy);
    Instant now = Instant.now();
    try {
      b.agentClient().restored(m.containerId(), b.id, hostname, entropy,
          now.getEpochSecond() * 1_000_000_000L + now.getNano(), b.remaining());
    } catch (MicroPodException e) {
      throw new SnapshotException("pod " + b.id + ": the guest agent could not take its new identity after"
          + " the restore: " + e.getMessage(), e, b.id, m.snapshot().name());
    }
    b.containerCreated = container;
  }
}
