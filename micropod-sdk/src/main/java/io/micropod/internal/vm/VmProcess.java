package io.micropod.internal.vm;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/** A launched VM as its driver hands it out. */
public interface VmProcess {
  /** The host end of the agent channel: a Unix socket gRPC connects to. */
  Path agentSocket();

  /**
   * The host end of the bulk port that carries exec output past gRPC (QEMU's second
   * virtio-serial port); null when the VM has none (Firecracker), and exec output stays on gRPC.
   */
  default Path bulkSocket() {
    return null;
  }

  boolean isAlive();

  /** Completes with the VMM's exit code when it exits. */
  CompletableFuture<Integer> onExit();

  /** The last lines of the guest console and the VMM's output. */
  String consoleTail();

  /**
   * Stops the VM: waits up to {@code grace} for it to exit by itself (after the agent was asked
   * to shut down), then terminates and if needed kills the VMM.
   */
  void stop(Duration grace);

  /**
   * Whether the guest kernel got as far as running {@code /init} (its first console line);
   * {@code true} when the driver cannot tell, so that no caller waits for it in vain.
   */
  default boolean reachedInit() {
    return true;
  }

  /** Kills the VMM at once (JVM shutdown). */
  void kill();

  /** The VMM's pid, for the pod record; -1 when there is no host process. */
  default long pid() {
    return -1;
  }

  /**
   * Stops the guest's CPUs (QMP {@code stop}); the VMM keeps running.
   *
   * @throws UnsupportedOperationException when this driver cannot
   * @throws java.io.IOException when the VMM does not answer
   */
  default void pause() throws java.io.IOException {
    throw new UnsupportedOperationException("this VMM driver cannot pause a VM");
  }

  /** Lets a paused guest run again (QMP {@code cont}); see {@link #pause}. */
  default void resume() throws java.io.IOException {
    throw new UnsupportedOperationException("this VMM driver cannot resume a VM");
  }

  /**
   * Writes the VM's device state to {@code stateFile} (new) and a sparse copy of its RAM to
   * {@code ramFile} (new), the guest paused meanwhile; it runs again afterwards unless it was
   * paused before. Only for a VM spawned with {@link VmConfig#snapshotting()}.
   *
   * @return the bytes of RAM in use that were copied
   * @throws java.io.IOException when the VMM refuses or a file cannot be written; the VM runs on
   */
  default long snapshot(java.nio.file.Path stateFile, java.nio.file.Path ramFile) throws java.io.IOException {
    throw new UnsupportedOperationException("this VMM driver cannot snapshot a VM");
  }

  /**
   * Loads {@code stateFile} into a VM spawned waiting for it ({@link Snapshotting#incoming()}),
   * then lets the guest run.
   *
   * @throws java.io.IOException when the VMM rejects the state (it exits) or does not load it in time
   */
  default void restore(java.nio.file.Path stateFile, Duration timeout) throws java.io.IOException {
    throw new UnsupportedOperationException("this VMM driver cannot restore a VM");
  }
}
