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
    try (MicroPod pod = sleepingPod(512)) {
      long qemu = qemuPid(pod.id());
      // 200 MiB in the container's tmpfs-backed overlay: guest RAM the host must back
      assertThat(pod.exec("dd", "if=/dev/zero", "of=/tmp/big", "bs=1M", "count=200").exitCode()).isZero();
      long peak = rssShmemKib(qemu);
      assertThat(peak).isGreaterThan(200 * MIB);

      assertThat(pod.exec("rm", "/tmp/big").exitCode()).isZero();

      // page reporting runs ~2 s after pages are freed, in 2 MiB blocks: most of the 200 MiB returns
      assertThat(givenBackKib(qemu, peak, 150 * MIB, Instant.now().plusSeconds(30)))
          .as("KiB the host got back from the peak, %d KiB", peak).isGreaterThanOrEqualTo(150 * MIB);
    }
  }

  /**
   * An idle pod gives back what boot left in its page cache: once the agent serves, {@code /init}
   * has the guest report free single pages (order 0, not only free 2 MiB blocks) and drops the
   * clean page cache once, and the pod's RAM on the host shrinks.
   */
  @Test
  void anIdlePodReportsSinglePagesAndGivesItsBootPageCacheBack() throws Exception {
    try (MicroPod pod = sleepingPod(256)) {
      long qemu = qemuPid(pod.id());
      long atStart = rssShmemKib(qemu);
      // /init does it 10 s after the agent's start at the earliest, then polls every 2 s
      Instant deadline = Instant.now().plusSeconds(90);
      String order = "";
      while (!order.equals("0") && Instant.now().isBefore(deadline)) {
        order = pod.exec("cat", "/sys/module/page_reporting/parameters/page_reporting_order").stdout().strip();
        if (!order.equals("0")) {
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(500));
        }
      }
      assertThat(order).as("the guest's page_reporting_order").isEqualTo("0");
      assertThat(givenBackKib(qemu, atStart, 10 * MIB, deadline))
          .as("KiB the host got back from %d KiB after start", atStart).isGreaterThanOrEqualTo(10 * MIB);
    }
  }

  /** How far QEMU's guest RAM fell below {@code fromKib}: polled until it is {@code wantedKib} or the deadline. */
  private static long givenBackKib(long qemu, long fromKib, long wantedKib, Instant deadline) throws IOException {
    long now = rssShmemKib(qemu);
    while (fromKib - now < wantedKib && Instant.now().isBefore(deadline)) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(250));
      now = rssShmemKib(qemu);
    }
    return fromKib - now;
  }

  private static MicroPod sleepingPod(int memoryMib) {
    return MicroPod.builder().image(TestImages.busybox()).memoryMib(memoryMib).command("sleep", "3600").start();
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
