package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/**
 * Memory a container frees goes back to the host: the guest reports the blocks it freed through
 * virtio-balloon's free page reporting, and QEMU drops them from the pod's memfd (its {@code
 * RssShmem}). Without it, host memory a pod ever touched stays with it until it stops.
 */
class FreePageReportingIT {
  private static final long MIB = 1024;

  @Test
  void memoryAContainerFreesLeavesTheHostWithinSeconds() throws Exception {
    try (MicroPod pod = MicroPod.builder()
        .image(TestImages.busybox())
        .memoryMib(512)
        .command("sleep", "3600")
        .start()) {
      long qemu = qemuPid(pod.id());
      // 200 MiB in the container's tmpfs-backed overlay: guest RAM the host must back
      assertThat(pod.exec("dd", "if=/dev/zero", "of=/tmp/big", "bs=1M", "count=200").exitCode()).isZero();
      long peak = rssShmemKib(qemu);
      assertThat(peak).isGreaterThan(200 * MIB);

      assertThat(pod.exec("rm", "/tmp/big").exitCode()).isZero();

      // page reporting runs ~2 s after pages are freed, in 2 MiB blocks: most of the 200 MiB returns
      Instant deadline = Instant.now().plusSeconds(30);
      long now = rssShmemKib(qemu);
      while (peak - now < 150 * MIB && Instant.now().isBefore(deadline)) {
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(250));
        now = rssShmemKib(qemu);
      }
      assertThat(peak - now).as("KiB the host got back (peak %d KiB, now %d KiB)", peak, now)
          .isGreaterThanOrEqualTo(150 * MIB);
    }
  }

  /** The pod's QEMU: the process whose command line names the pod's socket directory. */
  private static long qemuPid(String podId) {
    String marker = "/tmp/micropod-" + podId + "/agent.sock";
    return ProcessHandle.allProcesses()
        .filter(p -> p.info().command().map(c -> c.contains("qemu-system")).orElse(false))
        .filter(p -> p.info().commandLine().map(c -> c.contains(marker)).orElse(false))
        .findFirst().orElseThrow(() -> new AssertionError("no QEMU with " + marker)).pid();
  }

  /** The guest RAM resident on the host: QEMU's shared memory (the memory-backend memfd). */
  private static long rssShmemKib(long pid) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
      if (line.startsWith("RssShmem:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    throw new AssertionError("no RssShmem in /proc/" + pid + "/status");
  }
}
