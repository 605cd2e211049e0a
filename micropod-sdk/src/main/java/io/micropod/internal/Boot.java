package io.micropod.internal;

import io.micropod.MicroPodSpec;
import io.micropod.internal.agent.AgentClient;
import io.micropod.internal.agent.GuestInfo;
import io.micropod.internal.image.ProcessPlan;
import io.micropod.internal.image.ResolvedImage;
import io.micropod.internal.net.LocalNetwork;
import io.micropod.internal.agent.PortForwarder;
import io.micropod.internal.state.PodRecord;
import io.micropod.internal.vm.HostCapabilities;
import io.micropod.internal.vm.RootfsShare;
import io.micropod.internal.vm.VmConfig;
import io.micropod.internal.vm.VmProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.UnaryOperator;

/** The state the boot steps share; one per start. */
final class Boot {
  final String id;
  final MicroPodSpec spec;
  final RuntimeServices runtime;
  final HostCapabilities host;
  volatile ResolvedImage image;
  volatile Path rootfs;
  volatile ProcessPlan plan;
  volatile Path podDir;
  volatile Path socketDir;
  volatile RootfsShare rootfsShare;
  /** The helpers of the host directory mounts (filled by mounts.share). */
  volatile List<RootfsShare> mountShares = List.of();
  /** The guest console's log, {@code <config>/logs/<id>.log}. */
  volatile Path consoleLog;
  /** Set once the boot sequence succeeded: a failed start keeps its console log. */
  volatile boolean started;
  /** Set when the VM exited by itself: its console log is kept. */
  volatile boolean keepConsoleLog;
  /** Set when the orphan reaper undoes the pod of a dead owner: its console log is kept. */
  volatile boolean ownerDied;
  volatile VmConfig vmConfig;
  volatile VmProcess vm;
  volatile AgentClient agent;
  volatile GuestInfo info;
  volatile Instant deadline;
  volatile long spawnNanos;
  volatile long agentReadyNanos;
  volatile boolean shutdownRequested;
  final Map<Integer, PortForwarder> ports = new ConcurrentHashMap<>();
  /** Serves this JVM's agent connection to other processes while it holds the pod; null if none. */
  volatile io.micropod.internal.agent.AgentRelay relay;
  /** Container port to host port of the ports QEMU's NAT serves (detached pods), in order. */
  final Map<Integer, Integer> hostForwards = java.util.Collections.synchronizedMap(new java.util.LinkedHashMap<>());
  /** Port-forward connections the pod may have open at once, all its ports together. */
  final java.util.concurrent.Semaphore portConnections =
      new java.util.concurrent.Semaphore(io.micropod.internal.agent.AgentLimits.MAX_PORT_CONNECTIONS);
  /** The networks the pod joined (filled by network.attach), in the spec's order. */
  final List<LocalNetwork> networks = new CopyOnWriteArrayList<>();
  /** Serialises /etc/hosts rewrites so the last one written is the newest. */
  final Object hostsLock = new Object();
  volatile boolean containerCreated;
  volatile String lastHosts;
  /** This pod's record in the config directory, once written. */
  volatile PodRecord record;
  /** The snapshot this pod is restored from (checked); null for a cold start. */
  volatile Snapshots.Manifest restoredFrom;
  /** Whether the guest is paused ({@link RealMicroPod#pause}). */
  volatile boolean paused;

  Boot(String id, MicroPodSpec spec, RuntimeServices runtime, HostCapabilities host) {
    this.id = id;
    this.spec = spec;
    this.runtime = runtime;
    this.host = host;
  }

  Duration remaining() {
    Duration d = Duration.between(Instant.now(), deadline);
    return d.isNegative() ? Duration.ofMillis(1) : d;
  }

  String consoleTail() {
    VmProcess v = vm;
    return v == null ? "" : v.consoleTail();
  }

  /** Updates and writes this pod's record (atomic, locked). */
  synchronized void updateRecord(UnaryOperator<PodRecord> change) {
    PodRecord r = record;
    if (r == null) {
      return;
    }
    r = change.apply(r);
    runtime.state().write(r);
    record = r;
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
