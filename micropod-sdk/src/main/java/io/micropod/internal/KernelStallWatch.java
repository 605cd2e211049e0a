package io.micropod.internal;

import io.micropod.VmStartException;
import io.micropod.event.Phase;
import io.micropod.internal.base.Durations;
import io.micropod.internal.vm.VmProcess;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Tells a guest kernel that stalled in early boot from a slow boot. Under TCG the Debian kernel
 * on {@code -machine microvm} now and then stops before it runs {@code /init} (its console ends
 * at ~0.2 s of guest time; seen about once per few hundred boots on a loaded host, never
 * reproduced in 80 boots on a quiet one). Such a VM never recovers, so instead of waiting for the
 * whole start-up timeout the boot fails with the step {@link #STEP}, and {@code start()} boots
 * once more. {@code /init} prints {@code micropod-init: started} first thing
 * ({@link VmProcess#reachedInit()}).
 */
final class KernelStallWatch {
  /** The step id of the {@link VmStartException} that reports a stall. */
  static final String STEP = "kernel.boot";
  /** Overrides the stall timeout, in seconds (tests; very slow hosts). */
  static final String TIMEOUT_PROPERTY = "micropod.kernelStallTimeoutSeconds";
  /** A quiet host reaches /init in ~2 s and a load of 20 on 2 cores in ~20 s. */
  private static final long DEFAULT_TIMEOUT_SECONDS = 45;
  private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(250);

  private KernelStallWatch() {}

  static Duration timeout() {
    return Duration.ofSeconds(Math.max(1, Long.getLong(TIMEOUT_PROPERTY, DEFAULT_TIMEOUT_SECONDS)));
  }

  /** Whether {@code e} reports a stalled kernel (worth one more boot). */
  static boolean isStall(Throwable e) {
    return e instanceof VmStartException && STEP.equals(((VmStartException) e).stepId());
  }

  /**
   * Waits for {@code done} until {@code untilNanos} ({@link System#nanoTime()}); while the
   * kernel has not reached {@code /init}, fails once {@link #timeout()} has passed since
   * {@code spawnNanos}. With {@code watch} false it is a plain bounded wait.
   *
   * @throws VmStartException with step {@link #STEP} when the kernel stalled
   * @throws TimeoutException at {@code untilNanos}
   */
  static void await(CompletableFuture<?> done, long untilNanos, VmProcess vm, long spawnNanos,
      boolean watch, String podId) throws InterruptedException, ExecutionException, TimeoutException {
    long stallAt = spawnNanos + timeout().toNanos();
    boolean watching = watch;
    while (true) {
      long left = untilNanos - System.nanoTime();
      if (left <= 0) {
        throw new TimeoutException();
      }
      try {
        done.get(watching ? Math.min(left, POLL_NANOS) : left, TimeUnit.NANOSECONDS);
        return;
      } catch (TimeoutException e) {
        if (!watching) {
          throw e;
        }
      }
      if (vm.reachedInit()) {
        watching = false;
      } else if (System.nanoTime() - stallAt > 0 && vm.isAlive()) {
        throw new VmStartException("the guest kernel of pod " + podId + " stalled in early boot: no"
            + " /init after " + Durations.human(timeout()) + " (a hang of software emulation, TCG; "
            + "raise -D" + TIMEOUT_PROPERTY + " if this host is just very slow)", null, podId,
            Phase.VM_BOOT, STEP, vm.consoleTail());
      }
    }
  }
}
