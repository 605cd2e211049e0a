package io.micropod.internal;

import io.micropod.MicroPodSpec;
import io.micropod.internal.agent.AgentClient;
import io.micropod.internal.agent.AgentLimits;
import io.micropod.internal.agent.AgentRelay;
import io.micropod.internal.image.ResolvedImage;
import io.micropod.internal.net.LocalNetwork;
import io.micropod.internal.state.PodRecord;
import io.micropod.internal.vm.GuestNetworkConfig;
import io.micropod.internal.vm.HostCapabilities;
import io.micropod.internal.vm.RootfsShare;
import io.micropod.internal.vm.VmConfig;
import io.micropod.internal.vm.VmProcess;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.function.UnaryOperator;

/**
 * One pod, from its start to its close: what it is (id, spec, where its files go), what each boot
 * step produced ({@link StepResult}s, each a typed immutable value set once by the step it names and
 * read by the steps after it), and the little that changes while the pod lives.
 *
 * <p>A start fills the results step by step ({@link PodStarter#steps}); attaching to a running pod
 * and reaping an orphan fill them from the pod's record ({@code PodStates}). The undo of each
 * resource ({@link PodResources}) reads them with {@code orNull()}, as a failed start may not have
 * reached the step.
 */
final class Boot {
  final String id;
  final MicroPodSpec spec;
  final RuntimeServices runtime;
  /** What the host offers; null for an attached or reaped pod (nothing boots). */
  final HostCapabilities host;
  final PodPaths paths;
  /** The runtime's networks of the spec, checked before the start ({@code NetworkSteps.check}). */
  final List<LocalNetwork> joining;

  // ---- what the steps produced, in the order of the steps -----------------------------------
  final StepResult<ResolvedImage> image = new StepResult<>("image.resolve");
  final StepResult<PreparedImage> prepared = new StepResult<>("rootfs.prepare");
  final StepResult<RootfsShare> rootfsShare = new StepResult<>("virtiofs.start");
  final StepResult<SharedMounts> mounts = new StepResult<>("mounts.share");
  final StepResult<PublishedPorts> ports = new StepResult<>("ports.bind");
  final StepResult<JoinedNetworks> networks = new StepResult<>("network.attach");
  final StepResult<SpawnedVm> vm = new StepResult<>("vmm.spawn");
  final StepResult<ConnectedAgent> agent = new StepResult<>("agent.connect");

  // ---- what changes while the pod lives ---------------------------------------------------
  /** This pod's record in the config directory, once written; rewritten as the pod moves on. */
  private volatile PodRecord record;
  /**
   * Serves this JVM's agent connection to other processes while it holds the pod; null if none
   * (not yet, or it could not start: the pod works without it).
   */
  volatile AgentRelay relay;
  /** Set once the boot sequence succeeded: a failed start keeps its console log. */
  volatile boolean started;
  /** Set when the VM exited by itself: its console log is kept. */
  volatile boolean keepConsoleLog;
  /** Set when the orphan reaper undoes the pod of a dead owner: its console log is kept. */
  volatile boolean ownerDied;
  /** Set when the guest was asked to shut down: the VMM gets time to exit by itself. */
  volatile boolean shutdownRequested;
  /** Set once CreateContainer succeeded: from then on /etc/hosts can be rewritten. */
  volatile boolean containerCreated;
  /** The /etc/hosts content last given to the container, to skip identical rewrites. */
  volatile String lastHosts;
  /** Serialises /etc/hosts rewrites so the last one written is the newest. */
  final Object hostsLock = new Object();
  /** Port-forward connections the pod may have open at once, all its ports together. */
  final Semaphore portConnections = new Semaphore(AgentLimits.MAX_PORT_CONNECTIONS);
  /** The snapshot this pod is restored from (checked); null for a cold start. */
  volatile Snapshots.Manifest restoredFrom;
  /**
   * An attached pod's container id as its record has it (a restored pod's is the first pod's);
   * null for a pod this JVM started ({@link Snapshots#containerIdOf}).
   */
  volatile String recordedContainerId;
  /** Whether the guest is paused ({@link RealMicroPod#pause}): it changes during the pod's life. */
  volatile boolean paused;

  Boot(String id, MicroPodSpec spec, RuntimeServices runtime, HostCapabilities host) {
    this(id, spec, runtime, host, PodPaths.of(id, runtime), List.of());
  }

  Boot(String id, MicroPodSpec spec, RuntimeServices runtime, HostCapabilities host, PodPaths paths,
      List<LocalNetwork> joining) {
    this.id = id;
    this.spec = spec;
    this.runtime = runtime;
    this.host = host;
    this.paths = paths;
    this.joining = List.copyOf(joining);
  }

  /**
   * The VM's configuration before the devices of mounts and networks: what {@code virtiofs.start}
   * and {@code mounts.share} hand to the driver; {@code vmm.spawn} adds their devices.
   */
  VmConfig baseVmConfig() {
    VmConfig config = new VmConfig(id, spec.memoryMib(), spec.cpus(), host, paths.podDir(), paths.socketDir(),
        runtime.config().debug(), GuestNetworkConfig.NONE, spec.detached(), paths.consoleLog(), List.of());
    return spec.snapshottable()
        ? config.withSnapshotting(SnapshotSteps.snapshotting(this, paths.socketDir())) : config;
  }

  /**
   * What the agent supervises: the spec's health check, else the image's {@code HEALTHCHECK}
   * (none for a pod restored from a snapshot, whose image was not resolved), restarts, deadlines.
   */
  io.micropod.internal.agent.Supervising supervising() {
    ResolvedImage resolved = image.orNull();
    return io.micropod.internal.agent.Supervising.of(spec,
        resolved == null ? null : resolved.config().healthcheck());
  }

  /** The time left of the start's deadline (at least 1 ms). */
  Duration remaining() {
    Duration d = Duration.between(Instant.now(), vm.get().deadline());
    return d.isNegative() ? Duration.ofMillis(1) : d;
  }

  /** The VMM; throws while {@code vmm.spawn} has not run. */
  VmProcess vmProcess() {
    return vm.get().process();
  }

  /** The agent client; throws while {@code agent.connect} has not run. */
  AgentClient agentClient() {
    return agent.get().client();
  }

  /** The agent client, or null while {@code agent.connect} has not run (a port's early connection). */
  AgentClient agentClientOrNull() {
    ConnectedAgent a = agent.orNull();
    return a == null ? null : a.client();
  }

  /** The last lines of the console and VMM output; empty before the VMM ran. */
  String consoleTail() {
    SpawnedVm v = vm.orNull();
    return v == null ? "" : v.process().consoleTail();
  }

  /**
   * The one wording of "the VM died": {@code the VM of pod <id> exited with code <code> <when>}.
   */
  String vmExitedMessage(Object code, String when) {
    return "the VM of pod " + id + " exited with code " + code + " " + when;
  }

  /** This pod's record, or null before {@code state.write} (and for a visitor, which never writes it). */
  PodRecord record() {
    return record;
  }

  /** Sets the record that {@code state.write} (or attach) wrote. */
  void recordWritten(PodRecord r) {
    record = r;
  }

  /**
   * Updates and writes this pod's record (atomic, locked); nothing before it was written. The
   * change applies to the record as written, read under the lock, so that what another process
   * changed meanwhile (a rename: {@link PodStates#rename}) stays; to this JVM's copy when the file
   * is gone.
   */
  synchronized void updateRecord(UnaryOperator<PodRecord> change) {
    if (record == null) {
      return;
    }
    io.micropod.internal.state.StateDirectory state = runtime.state();
    record = state.locked(() -> {
      PodRecord r = change.apply(state.read(id).orElse(record));
      state.writeLocked(r);
      return r;
    });
  }

  /**
   * Kills the processes at once and removes the pod's directories and record (JVM shutdown; see
   * {@link PodResources#kill}). Does nothing for a detached pod: it outlives the JVM.
   */
  void kill() {
    if (spec.detached()) {
      return;
    }
    PodResources.kill(this);
  }
}
