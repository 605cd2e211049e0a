package io.micropod.internal.vm;

import java.nio.file.Path;

/**
 * What a driver needs to launch one VM.
 *
 * @param podDir per-pod state directory (logs), 0700
 * @param socketDir short per-pod socket directory (sun_path is limited to 107 bytes), 0700
 * @param network the VM's network devices; {@link GuestNetworkConfig#NONE}: only loopback
 * @param detached whether the VMM and its helpers outlive the JVM (else they die with it)
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
    boolean detached) {

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
        java.util.Objects.requireNonNull(network, "network"), detached);
  }

  public Path consoleLog() {
    return podDir.resolve("console.log");
  }

  public Path vmmLog() {
    return podDir.resolve("qemu.log");
  }

  public Path agentSocket() {
    return socketDir.resolve("agent.sock");
  }

  public Path virtiofsSocket() {
    return socketDir.resolve("virtiofs.sock");
  }
}
