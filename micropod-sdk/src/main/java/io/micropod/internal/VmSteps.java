package io.micropod.internal;

import static io.micropod.internal.RealMicroPod.SOCKET_TIMEOUT;

import io.micropod.AgentTimeoutException;
import io.micropod.MicroPodException;
import io.micropod.VmStartException;
import io.micropod.event.Phase;
import io.micropod.internal.agent.AgentClient;
import io.micropod.internal.agent.BulkChannel;
import io.micropod.internal.agent.GuestInfo;
import io.micropod.internal.base.Durations;
import io.micropod.internal.state.ConsoleLogs;
import io.micropod.internal.state.PodRecord;
import io.micropod.internal.vm.ManagedProcess;
import io.micropod.internal.vm.Accel;
import io.micropod.internal.vm.RootfsShare;
import io.micropod.internal.vm.VmConfig;
import io.micropod.internal.vm.VmProcess;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pod's files and its VM: {@code console.log.create}, {@code state.write},
 * {@code poddir.create}, {@code sockdir.create} (each creates one thing and registers its undo),
 * {@code virtiofs.start} (the image share: virtiofsd, or in block mode the image's block device),
 * {@code vmm.spawn} ({@link SpawnedVm}) and {@code agent.connect} ({@link ConnectedAgent}).
 */
final class VmSteps {
  private static final Logger log = LoggerFactory.getLogger(VmSteps.class);

  /** {@code rwx------}: the pod's directories are its owner's alone. */
  private static final FileAttribute<Set<PosixFilePermission>> OWNER_ONLY =
      PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));

  private VmSteps() {}

  /**
   * {@code console.log.create}: {@code <config>/logs/<id>.log}, removed on close, kept when the
   * start failed, the VM exited by itself or with MICROPOD_DEBUG=1
   * ({@link PodResources#keepsConsoleLog}).
   */
  static void createConsoleLog(Boot b, CleanupStack cleanup) {
    b.runtime.consoleLogs().create(b.id);
    PodResources.consoleLog(b, cleanup);
  }

  /**
   * {@code state.write}: the pod's record in the config directory, naming the directories before
   * they exist, so that a sweep finds what a killed start left.
   */
  static void writeRecord(Boot b, CleanupStack cleanup) {
    try {
      PodStates.create(b);
    } catch (UncheckedIOException e) {
      throw ConsoleLogs.unwritable(b.runtime.config().configDir(),
          b.runtime.state().dir(), e);
    }
    if (b.spec.detached()) {
      // they outlive a killed JVM: each is in the record before it runs, so a sweep reaps it
      ManagedProcess.recordSpawns(b.id, (role, pid) ->
          b.updateRecord(r -> r.withSpawned(PodRecord.Proc.of(pid), !role.equals("virtiofsd"))));
      cleanup.push("spawns.forget", () -> ManagedProcess.forgetSpawns(b.id));
    }
    PodResources.record(b, cleanup);
  }

  /** {@code poddir.create}: {@code <home>/pods/<id>}, the VMM's and virtiofsd's logs; kept with MICROPOD_DEBUG=1. */
  static void createPodDir(Boot b, CleanupStack cleanup) throws IOException {
    Path podDir = b.paths.podDir();
    Files.createDirectories(podDir.getParent());
    Files.createDirectory(podDir, OWNER_ONLY);
    PodResources.podDir(b, cleanup);
  }

  /** {@code sockdir.create}: {@code /tmp/micropod-<id>}, the VMM's and virtiofsd's sockets. */
  static void createSocketDir(Boot b, CleanupStack cleanup) throws IOException {
    Files.createDirectory(b.paths.socketDir(), OWNER_ONLY);
    PodResources.socketDir(b, cleanup);
  }

  /**
   * {@code virtiofs.start}: shares the prepared image tree with the VM about to be spawned: a
   * virtiofsd, or, in block mode, the image's block file (no helper process; the id stays the one
   * users know).
   */
  static void shareRootfs(Boot b, CleanupStack cleanup) throws IOException, InterruptedException {
    RootfsShare share = b.runtime.driver().shareRootfs(b.baseVmConfig(), b.prepared.get().rootfs(),
        Instant.now().plus(SOCKET_TIMEOUT));
    b.rootfsShare.set(share);
    PodResources.rootfsShare(b, cleanup);
    b.updateRecord(r -> r.withVirtiofsd(PodRecord.Proc.of(share.pid())));
  }

  /**
   * {@code vmm.spawn}: the VMM, with the devices of the image share, the mounts and the networks;
   * the start's deadline counts from here.
   */
  static void spawnVmm(Boot b, CleanupStack cleanup) throws IOException, InterruptedException {
    VmConfig config = vmConfig(b);
    long spawnNanos = System.nanoTime();
    Instant deadline = Instant.now().plus(b.spec.startupTimeout());
    VmProcess vm = b.runtime.driver().spawn(config, b.rootfsShare.get(), Instant.now().plus(SOCKET_TIMEOUT));
    spawned(b, cleanup, config, vm, spawnNanos, deadline);
  }

  /** The VM's config: the base one with the devices of the mounts and the networks. */
  static VmConfig vmConfig(Boot b) {
    return b.baseVmConfig().withMounts(b.mounts.get().devices()).withNetwork(b.networks.get().guest());
  }

  /**
   * What follows a VMM's spawn, however it was spawned (cold, or from a snapshot's files): the
   * {@link SpawnedVm} result, its undo, its pid and what a snapshot by another process needs in
   * the record, the sockets restricted.
   */
  static void spawned(Boot b, CleanupStack cleanup, VmConfig config, VmProcess vm, long spawnNanos,
      Instant deadline) throws IOException {
    b.vm.set(new SpawnedVm(vm, spawnNanos, deadline));
    PodResources.vmm(b, cleanup);
    // what another process needs to snapshot it (micropod snapshot create)
    Path blockImage = b.rootfsShare.get().blockImage();
    PodRecord.Snapshottable snapshottable = config.snapshotting() == null || blockImage == null ? null
        : new PodRecord.Snapshottable(b.spec.memoryMib(), b.spec.cpus(),
            config.snapshotting().ramFile().toString(), blockImage.toString(),
            Snapshots.containerIdOf(b), b.spec.hostname().orElse(null));
    b.updateRecord(r -> r.withVmm(PodRecord.Proc.of(vm.pid())).withSnapshottable(snapshottable));
    PodStates.restrictSockets(config.socketDir());
  }

  static void connectAgent(Boot b, CleanupStack cleanup) throws InterruptedException {
    SpawnedVm spawned = b.vm.get();
    VmProcess vm = spawned.process();
    Path socket = vm.agentSocket();
    AgentClient agent = b.runtime.connectAgent(b.id, socket);
    PodResources.agent(b, agent, cleanup);
    Duration budget = b.remaining();
    CompletableFuture<GuestInfo> info = agent.getInfoAsync(budget);
    try {
      KernelStallWatch.await(CompletableFuture.anyOf(info, vm.onExit()),
          System.nanoTime() + budget.toNanos() + TimeUnit.SECONDS.toNanos(1), vm, spawned.spawnNanos(),
          b.host.accel() == Accel.TCG, b.id);
    } catch (TimeoutException e) {
      info.cancel(true);
    } catch (ExecutionException e) {
      // one of them failed: looked at below
    } catch (InterruptedException | RuntimeException e) {
      info.cancel(true);
      throw e;
    }
    if (!info.isDone() || info.isCompletedExceptionally()) {
      info.cancel(true);
      if (!vm.isAlive()) {
        throw new VmStartException(b.vmExitedMessage(exitCodeOf(vm), "while booting, before its agent answered"),
            null, b.id, Phase.AGENT_CONNECT, "agent.connect", b.consoleTail());
      }
      Throwable failure = failureOf(info);
      if (failure == null || failure instanceof AgentTimeoutException
          || failure instanceof CancellationException) {
        throw new AgentTimeoutException("the agent of pod " + b.id + " did not answer within "
            + Durations.human(b.spec.startupTimeout()) + " of the VM's start (agent socket " + socket
            + "); the guest may be slow (raise startupTimeout) or hung. Guest console: "
            + b.paths.consoleLog() + "\n--- console and VMM output (last lines) ---\n"
            + b.consoleTail(), failure, b.id, Phase.AGENT_CONNECT, "GetInfo", b.spec.startupTimeout());
      }
      if (failure instanceof RuntimeException) {
        throw (RuntimeException) failure;
      }
      throw new MicroPodException("GetInfo failed: " + failure, failure, b.id, Phase.AGENT_CONNECT);
    }
    GuestInfo g = info.join();
    connectBulk(b.id, vm, agent);
    long readyNanos = System.nanoTime();
    b.agent.set(new ConnectedAgent(agent, g, readyNanos));
    log.debug("pod {}: agent {} answered {} ms after the VM's spawn ({}; kernel {}; {}; guest uptime at"
            + " /init {} ms, agent main {} ms, agent ready {} ms, answer {} ms)", b.id, g.agentVersion(),
        (readyNanos - spawned.spawnNanos()) / 1_000_000, socket, g.kernelRelease(),
        g.runtimeVersion(), g.initStartedMs(), g.agentMainMs(), g.agentReadyMs(), g.nowMs());
  }

  /**
   * Connects the pod's bulk channel (QEMU's second virtio-serial port) for collecting execs'
   * output; without one (Firecracker, a socket that does not answer) output stays on gRPC.
   */
  static void connectBulk(String podId, VmProcess vm, AgentClient agent) {
    Path bulk = vm.bulkSocket();
    if (bulk == null) {
      return;
    }
    try {
      agent.useBulk(BulkChannel.connect(podId, bulk));
    } catch (IOException | RuntimeException e) {
      log.warn("pod {}: no bulk channel on {} ({}): exec output uses the agent's gRPC channel", podId, bulk,
          e.toString());
    }
  }

  /** The VMM's exit code; it may take a moment after the process ended to be reported. */
  static String exitCodeOf(VmProcess vm) {
    try {
      return String.valueOf(vm.onExit().get(1, TimeUnit.SECONDS));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "unknown";
    } catch (ExecutionException | TimeoutException e) {
      return "unknown";
    }
  }

  private static Throwable failureOf(CompletableFuture<?> f) {
    try {
      f.getNow(null);
      return null;
    } catch (CompletionException e) {
      return e.getCause();
    } catch (CancellationException e) {
      return e;
    }
  }
}
