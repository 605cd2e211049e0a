package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class ContainerExitIT {

  @Test
  void outputAndNonZeroExitCodeReachTheHostFromTheSmallestGuestAndCloseLeavesNothingBehind() {
    MicroPod pod = MicroPod.builder()
        .image(TestImages.busybox())
        .command("sh", "-c", "echo hello; echo oops >&2; exit 3")
        // The smallest guest the spec allows must boot: the initramfs is unpacked into RAM.
        .memoryMib(MicroPodSpec.MIN_MEMORY_MIB)
        .start();
    String id = pod.id();
    try {
      OptionalInt exitCode = pod.waitFor(Duration.ofSeconds(60));

      assertThat(exitCode).hasValue(3);
      assertThat(pod.logs()).contains("hello\n").contains("oops\n");
      assertThat(pod.bootTimings().total()).isPositive();
    } finally {
      pod.close();
    }

    assertThat(Leaks.of(id)).isEmpty();
    pod.close(); // idempotent
  }
}
