package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;

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
            // No guest answers within 1 ms of its VMM's spawn, under TCG or KVM alike.
            .startupTimeout(Duration.ofMillis(1))
            .start());

    assertThat(thrown).isInstanceOf(AgentTimeoutException.class).hasMessageContaining("agent");
    String podId = ((MicroPodException) thrown).podId();
    assertThat(Leaks.of(podId)).isEmpty();
  }

  /**
   * A user's empty home gets the guest image from the {@code micropod-guest} artifact on the
   * classpath (as a project that only depends on the SDK has it), host helpers included, and boots
   * it. The error for a missing artifact is GuestImageInstallerTest's.
   */
  @Test
  void anEmptyHomeGetsTheGuestImageFromTheArtifactAndBootsIt(@TempDir Path emptyHome) throws Exception {
    try (MicroPodRuntime runtime = MicroPodRuntime.builder().home(emptyHome).build();
        MicroPod pod = MicroPod.builder().runtime(runtime).image(TestImages.busybox())
            .command("sh", "-c", "echo from-the-artifact; exec sleep 600").start()) {
      assertThat(pod.exec("echo", "ok").stdout()).contains("ok");
      try (var guests = java.nio.file.Files.list(emptyHome.resolve("guest"))) {
        Path guest = guests.filter(d -> !d.getFileName().toString().startsWith(".")).findFirst().orElseThrow();
        assertThat(guest.resolve("manifest.json")).isRegularFile();
        assertThat(guest.resolve("host").resolve("libmicropod-netguard.so")).isRegularFile();
        assertThat(guest.resolve("host").resolve("micropod-fsguard")).isExecutable();
      }
    }
  }
}
