package io.micropod.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micropod.HealthState;
import io.micropod.MicroPod;
import io.micropod.internal.registry.TestImage;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Wait#forHealthcheck()} on real VMs whose check is the image's {@code HEALTHCHECK}, none on the spec. */
class ImageHealthcheckWaitIT {

  private static String image(Path dir, String healthcheckJson) throws Exception {
    return "oci:" + TestImage.withHealthcheck(Path.of(TestImages.busybox().substring("oci:".length())),
        healthcheckJson, dir.resolve("image"));
  }

  @Test
  void readyOnceTheImagesCheckPasses(@TempDir Path dir) throws Exception {
    ManagedPod pod = ManagedPod.of(MicroPod.builder().command("sleep", "600")
            .image(image(dir, "{\"Test\":[\"CMD-SHELL\",\"test -f /etc/micropod-image-healthcheck\"],"
                + "\"Interval\":500000000}")))
        .waitingFor(Wait.forHealthcheck().withTimeout(Duration.ofSeconds(60)));
    try {
      pod.start();
      assertThat(pod.health()).get().extracting(HealthState::status).isEqualTo(HealthState.Status.HEALTHY);
    } finally {
      pod.close();
    }
  }

  @Test
  void failsWhenTheImagesCheckMakesItUnhealthy(@TempDir Path dir) throws Exception {
    ManagedPod pod = ManagedPod.of(MicroPod.builder().command("sleep", "600")
            .image(image(dir, "{\"Test\":[\"CMD\",\"false\"],\"Interval\":500000000,\"Retries\":1}")))
        .waitingFor(Wait.forHealthcheck().withTimeout(Duration.ofSeconds(60)));
    try {
      assertThatThrownBy(pod::start).isInstanceOf(PodNotReadyException.class)
          .hasMessageContaining("the container is unhealthy");
      assertThat(pod.isRunning()).isFalse();
    } finally {
      pod.close();
    }
  }
}
