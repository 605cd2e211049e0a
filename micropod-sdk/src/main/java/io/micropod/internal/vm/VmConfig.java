package io.micropod.internal.vm;

import java.nio.file.Path;
import java.util.List;

/**
 * What a driver needs to launch one VM.
 *
 * @param podDir per-pod state directory (logs), 0700
 * @param socketDir short per-pod socket directory (sun_path is limited to 107 bytes), 0700
 * @param network the VM's network devices; {@link GuestNetworkConfig#NONE}: only loopback
 * @param detached whether the VMM and its helpers outlive the JVM (else they die with it)
 * @param consoleLog the guest console's file (default {@code <podDir>/console.log})
 * @param mounts the virtio-fs devices of host directory mounts, in order (default none)
 * @param snapshotting null for a pod that cannot be snapshotted; else its RAM file and, for a
 *     restore, the snapshot it starts from (see {@link Snapshotting})
 */
public record VmConfig(
    String podId,
    int memoryMib,
    int cpus,
    HostCapabilities host,
    Path podDir,
    Path socketDir,
    boolean debug,
    GuestNetworkConfig network,
    boolean detached,
    Path consoleLog,
    List<MountDevice> mounts,
    Snapshotting snapshotting) {

  /** A host directory's virtio-fs device: its tag and its virtiofsd's vhost-user socket. */
  public record MountDevice(String tag, Path socket) {}

  public VmConfig {
    mounts = List.copyOf(mounts);
    if (consoleLog == null) {
      consoleLog = podDir.resolve("console.log");
    }
  }

  /** Without snapshotting. */
  public VmConfig(String podId, int memoryMib, int cpus, HostCapabilities host, Path podDir, Path socketDir,
      boolean debug, GuestNetworkConfig network, boolean detached, Path consoleLog, List<MountDevice> mounts) {
    this(podId, memoryMib, cpus, host, podDir, socketDir, debug, network, detached, consoleLog, mounts, null);
  }

  /** With the console in {@code <podDir>/console.log} and no mounts. */
  public VmConfig(String podId, int memoryMib, int cpus, HostCapabilities host, Path podDir,
      Path socketDir, boolean debug, GuestNetworkConfig network, boolean detached) {
    this(podId, memoryMib, cpus, host, podDir, socketDir, debug, network, detached, null, List.of());
  }

  /** Without network devices ({@link GuestNetworkConfig#NONE}); processes die with the JVM. */
  public VmConfig(String podId, int memoryMib, int cpus, HostCapabilities host, Path podDir,
      Path socketDir, boolean debug) {
    this(podId, memoryMib, cpus, host, podDir, socketDir, debug, GuestNetworkConfig.NONE, false);
  }

  /** With network devices; processes die with the JVM. */
  public VmConfig(String podId, int memoryMib, int cpus, HostCapabilities host, Path podDir,
      Path socketDir, boolean debug, GuestNetworkConfig network) {
    this(podId, memoryMib, cpus, host, podDir, socketDir, debug, network, false);
  }

  /** Without network devices; {@code detached}: the processes outlive the JVM. */
  public VmConfig(String podId, int memoryMib, int cpus, HostCapabilities host, Path podDir,
      Path socketDir, boolean debug, boolean detached) {
    this(podId, memoryMib, cpus, host, podDir, socketDir, debug, GuestNetworkConfig.NONE, detached);
  }

  /** This config with {@code network} as its network devices. */
  public VmConfig withNetwork(GuestNetworkConfig network) {
    return new VmConfig(podId, memoryMib, cpus, host, podDir, socketDir, debug,
        java.util.Objects.requireNonNull(network, "network"), detached, consoleLog, mounts, snapshotting);
  }

  /** This config with {@code mounts} as its host directory devices. */
  public VmConfig withMounts(List<MountDevice> mounts) {
    return new VmConfig(podId, memoryMib, cpus, host, podDir, socketDir, debug, network, detached,
        consoleLog, mounts, snapshotting);
  }

  /** This config with {@code snapshotting} (null: none). */
  public VmConfig withSnapshotting(Snapshotting snapshotting) {
    return new VmConfig(podId, memoryMib, cpus, host, podDir, socketDir, debug, network, detached,
        consoleLog, mounts, snapshotting);
  }

  /** QEMU's QMP socket (pause, resume, snapshots). */
  public Path qmpSocket() {
    return socketDir.resolve(QemuControl.QMP_SOCKET);
  }

  public Path vmmLog() {
    return podDir.resolve("qemu.log");
  }

  public Path agentSocket() {
    return socketDir.resolve("agent.sock");
  }

  /** The host end of a QEMU pod's bulk port ({@link QemuCommandLine#BULK_PORT_NAME}). */
  public Path bulkSocket() {
    return socketDir.resolve("bulk.sock");
  }

  public Path virtiofsSocket() {
    return socketDir.resolve("virtiofs.sock");
  }
}
