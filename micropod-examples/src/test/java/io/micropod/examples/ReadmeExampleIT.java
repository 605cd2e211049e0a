package io.micropod.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.MicroPod;
import io.micropod.testkit.ManagedPod;
import io.micropod.testkit.MicroPodContainer;
import org.junit.jupiter.api.Test;

// The README's JUnit example, run for real (DocSnippetsTest keeps the README equal to it).
// tag::junit[]
class ReadmeExampleIT {
  @MicroPodContainer   // static: one pod for the class
  static final ManagedPod pod = ManagedPod.of(MicroPod.builder()
      .image("oci:" + Hello.Samples.busyboxLayout()).command("sleep", "600"));

  @Test
  void runsCommands() {
    assertThat(pod.exec("echo", "hi").stdout()).isEqualTo("hi\n");
  }
}
// end::junit[]
