package io.micropod.internal.vm;

import java.nio.file.Path;

/**
 * What a driver needs to launch one VM.
 *
 * @param podDir per-pod state directory (logs), 0700
 * @param socketDir short per-pod socket directory (sun_path is limited to 107 bytes), 0700
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
    boolean detached) {

  /** A pod whose processes die with the JVM. */
  public VmConfig(String podId, int memoryMib, int cpus, HostCapabilities host, Path podDir,
      Path socketDir, boolean debug) {
    this(podId, memoryMib, cpus, host, podDir, socketDir, debug, false);
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
