package io.micropod.internal.vm;

import java.nio.file.Path;

/**
 * What a driver needs to launch one VM.
 *
 * @param podDir per-pod state directory (logs), 0700
 * @param socketDir short per-pod socket directory (sun_path is limited to 107 bytes), 0700
 * @param network the VM's network devices; {@link GuestNetworkConfig#NONE}: only loopback
 */
public record VmConfig(
    String podId,
    int memoryMib,
    int cpus,
    HostCapabilities host,
    Path podDir,
    Path socketDir,
    boolean debug,
    GuestNetworkConfig network) {

  /** Without network devices ({@link GuestNetworkConfig#NONE}). */
  public VmConfig(String podId, int memoryMib, int cpus, HostCapabilities host, Path podDir,
      Path socketDir, boolean debug) {
    this(podId, memoryMib, cpus, host, podDir, socketDir, debug, GuestNetworkConfig.NONE);
  }

  /** This config with {@code network} as its network devices. */
  public VmConfig withNetwork(GuestNetworkConfig network) {
    return new VmConfig(podId, memoryMib, cpus, host, podDir, socketDir, debug,
        java.util.Objects.requireNonNull(network, "network"));
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
