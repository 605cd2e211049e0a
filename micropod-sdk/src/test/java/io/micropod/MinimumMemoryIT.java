package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The smallest guest the spec allows ({@link MicroPodSpec#MIN_MEMORY_MIB}) boots and works: the
 * JRE, agent and OCI runtimes come from the shared read-only system image, not from guest RAM
 * (docs/guest-image.md). With them in the initramfs, as before, the guest needed 512 MiB.
 */
class MinimumMemoryIT {
  @TempDir Path tmp;

  @Test
  void aPodAtTheMinimumMemoryBootsAnswersExecAndCopiesFilesBothWays() throws Exception {
    Path in = Files.writeString(tmp.resolve("in.txt"), "x".repeat(1 << 20));
    try (MicroPod pod = MicroPod.builder()
        .image(TestImages.busybox())
        .memoryMib(MicroPodSpec.MIN_MEMORY_MIB)
        .startupTimeout(Duration.ofSeconds(120))
        .command("sleep", "3600")
        .start()) {
      ExecResult mem = pod.exec("grep", "MemTotal", "/proc/meminfo");
      assertThat(mem.exitCode()).isZero();
      long kib = Long.parseLong(mem.stdout().replaceAll("[^0-9]", ""));
      assertThat(kib).isLessThanOrEqualTo(MicroPodSpec.MIN_MEMORY_MIB * 1024L);

      pod.copyIn(in, "/tmp/in.txt");
      assertThat(pod.exec("wc", "-c", "/tmp/in.txt").stdout()).startsWith(Integer.toString(1 << 20));
      pod.copyOut("/tmp/in.txt", tmp.resolve("out.txt"));
      assertThat(Files.size(tmp.resolve("out.txt"))).isEqualTo(1 << 20);
    }
  }
}
