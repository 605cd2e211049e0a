package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class SnapshotSpecTest {

  @Test
  void aSnapshottablePodCannotHaveHostMountsAndTheErrorSaysWhatToDo() {
    MicroPodSpec.Builder b = MicroPod.builder().image("oci:/i").snapshottable(true)
        .mount(Mount.readOnly(Path.of("/tmp"), "/data"));

    assertThatThrownBy(b::build).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("cannot have host directory mounts").hasMessageContaining("copyToContainer");
  }

  @Test
  void fromSnapshotTakesTheSnapshotsImageMemoryAndCpusAndIsSnapshottable() {
    PodSnapshot s = new PodSnapshot("warm", Path.of("/h/snapshots/warm"), "oci:/images/app", "abc",
        Instant.EPOCH, 1, 768, 2, "g", "v");

    MicroPodSpec spec = MicroPod.builder().fromSnapshot(s).build();

    assertThat(spec.fromSnapshot()).hasValue("warm");
    assertThat(spec.snapshottable()).isTrue();
    assertThat(spec.image().toString()).startsWith("oci:/images/app");
    assertThat(spec.memoryMib()).isEqualTo(768);
    assertThat(spec.cpus()).isEqualTo(2);
    assertThat(spec.newBuilder().build()).isEqualTo(spec);
    assertThat(MicroPod.builder().image("oci:/images/app").build().snapshottable()).isFalse();
  }
}
