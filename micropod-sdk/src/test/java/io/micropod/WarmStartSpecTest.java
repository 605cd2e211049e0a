package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class WarmStartSpecTest {

  @Test
  void warmStartIsUnsetByDefaultAndKeptByNewBuilder() {
    MicroPodSpec plain = MicroPod.builder().image("oci:/i").build();
    MicroPodSpec warm = MicroPod.builder().image("oci:/i").warmStart(true).build();
    MicroPodSpec cold = MicroPod.builder().image("oci:/i").warmStart(false).build();

    assertThat(plain.warmStart()).isEmpty();
    assertThat(warm.warmStart()).hasValue(true);
    assertThat(cold.warmStart()).hasValue(false);
    assertThat(warm.newBuilder().build()).isEqualTo(warm).isNotEqualTo(plain).isNotEqualTo(cold);
    assertThat(warm.toString()).contains("warmStart=true");
  }

  @Test
  void anExplicitWarmStartWithHostMountsIsRefusedAndTheErrorSaysWhatToDo() {
    MicroPodSpec.Builder b = MicroPod.builder().image("oci:/i").warmStart(true)
        .mount(Mount.readOnly(Path.of("/tmp"), "/data"));

    assertThatThrownBy(b::build).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("warmStart(true) cannot be combined with host directory mounts")
        .hasMessageContaining("drop warmStart(true)");
  }

  @Test
  void anExplicitWarmStartFromASnapshotIsRefused() {
    PodSnapshot s = new PodSnapshot("snap", Path.of("/h/snapshots/snap"), "oci:/images/app", "abc",
        Instant.EPOCH, 1, 512, 1, "g", "v");

    assertThatThrownBy(() -> MicroPod.builder().fromSnapshot(s).warmStart(true).build())
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("fromSnapshot(\"snap\")");
  }

  @Test
  void aSpecThatLeavesWarmStartToTheEnvironmentOrSaysColdMayHaveMounts() {
    Mount m = Mount.readOnly(Path.of("/tmp"), "/data");

    assertThat(MicroPod.builder().image("oci:/i").mount(m).build().mounts()).hasSize(1);
    assertThat(MicroPod.builder().image("oci:/i").mount(m).warmStart(false).build().mounts()).hasSize(1);
  }

  @Test
  void bootTimingsSayWhetherTheStartWasWarm() {
    BootTimings t = BootTimings.of(Duration.ZERO, Duration.ZERO, Duration.ofMillis(5), Duration.ofMillis(7),
        Duration.ofMillis(20));

    assertThat(t.warmStart()).isFalse();
    assertThat(t.withWarmStart(true).warmStart()).isTrue();
    assertThat(t.withWarmStart(true)).isNotEqualTo(t).isEqualTo(t.withWarmStart(true));
    assertThat(t.withWarmStart(true).toString()).endsWith(", warm start");
    assertThat(t.withWarmStart(true).total()).isEqualTo(t.total());
  }
}
