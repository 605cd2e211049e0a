package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A start() that fails halfway undoes everything it did. */
class StartFailureIT {

  @Test
  void commandMissingFromTheImageFailsStartAndLeavesNothingBehind() {
    Throwable thrown = org.assertj.core.api.Assertions.catchThrowable(() ->
        MicroPod.builder().image(TestImages.busybox()).command("/bin/does-not-exist").start());

    assertThat(thrown).isInstanceOf(ContainerStartException.class)
        .hasMessageContaining("/bin/does-not-exist");
    String podId = ((MicroPodException) thrown).podId();
    assertThat(podId).isNotBlank();
    assertThat(Leaks.of(podId)).isEmpty();
  }

  @Test
  void agentThatDoesNotAnswerInTimeFailsStartAndLeavesNothingBehind() {
    Throwable thrown = org.assertj.core.api.Assertions.catchThrowable(() ->
        MicroPod.builder()
            .image(TestImages.busybox())
            .command("true")
            // No guest can boot and answer this fast under TCG: the agent never answers in time.
            .startupTimeout(Duration.ofMillis(300))
            .start());

    assertThat(thrown).isInstanceOf(AgentTimeoutException.class).hasMessageContaining("agent");
    String podId = ((MicroPodException) thrown).podId();
    assertThat(Leaks.of(podId)).isEmpty();
  }

  @Test
  void hostWithoutTheGuestImageGetsOneClearError(@TempDir Path emptyHome) {
    try (MicroPodRuntime runtime = MicroPodRuntime.builder().home(emptyHome).build()) {
      assertThatThrownBy(() -> MicroPod.builder()
              .runtime(runtime)
              .image(TestImages.busybox())
              .command("true")
              .start())
          .isInstanceOf(HostUnsupportedException.class)
          .hasMessageContaining(emptyHome.toString())
          .hasMessageContaining("rootfs-builder");
    }
  }
}
