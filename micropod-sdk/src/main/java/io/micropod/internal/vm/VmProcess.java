package io.micropod.internal.vm;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/** A launched VM as its driver hands it out. */
public interface VmProcess {
  /** The host end of the agent channel: a Unix socket gRPC connects to. */
  Path agentSocket();

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
}
