package io.micropod;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Validation and defaults of the lifecycle options of {@link MicroPodSpec} and {@link ExecSpec}. */
class LifecycleSpecTest {
  private static MicroPodSpec.Builder base() {
    return MicroPodSpec.builder().image("oci:/images/busybox");
  }

  @Test
  void defaultsAreDocumented() {
    MicroPodSpec spec = base().build();
    assertThat(spec.entrypoint()).isEmpty();
    assertThat(spec.user()).isEmpty();
    assertThat(spec.hostname()).isEmpty();
    assertThat(spec.name()).isEmpty();
    assertThat(spec.labels()).isEmpty();
    assertThat(spec.ports()).isEmpty();
    assertThat(spec.files()).isEmpty();
    assertThat(spec.containerMemoryMib()).isEqualTo(512 - MicroPodSpec.AGENT_RESERVE_MIB);
    assertThat(base().memoryMib(1024).build().containerMemoryMib()).isEqualTo(1024 - MicroPodSpec.AGENT_RESERVE_MIB);
  }

  @Test
  void valuesSurviveNewBuilder() {
    MicroPodSpec spec = base().entrypoint("sh", "-c").user("1000:1000").hostname("h1").name("n1")
        .label("k", "v").port(8080).port(9000, 90).containerMemoryMib(100)
        .copyToContainer("x".getBytes(UTF_8), "/etc/x", 0600).build();
    MicroPodSpec copy = spec.newBuilder().build();

    assertThat(copy).isEqualTo(spec);
    assertThat(copy.entrypoint()).contains(List.of("sh", "-c"));
    assertThat(copy.ports()).containsExactly(PortMapping.ofContainerPort(8080), PortMapping.of(9000, 90));
    assertThat(copy.containerMemoryMib()).isEqualTo(100);
    assertThat(copy.files()).singleElement().satisfies(f -> {
      assertThat(f.containerPath()).isEqualTo("/etc/x");
      assertThat(f.mode()).isEqualTo(0600);
    });
  }

  @Test
  void badValuesAreRefusedNamingThem() {
    assertThatThrownBy(() -> base().name("-bad")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("-bad");
    assertThatThrownBy(() -> base().hostname("no_underscores")).hasMessageContaining("no_underscores");
    assertThatThrownBy(() -> base().user("a b")).hasMessageContaining("a b");
    assertThatThrownBy(() -> base().port(0)).hasMessageContaining("0");
    assertThatThrownBy(() -> base().port(70000, 80)).hasMessageContaining("70000");
    assertThatThrownBy(() -> base().port(80).port(8080, 80)).hasMessageContaining("already published: 80");
    assertThatThrownBy(() -> base().port(8080, 80).port(8080, 81)).hasMessageContaining("8080");
    assertThatThrownBy(() -> base().entrypoint()).hasMessageContaining("entrypoint is empty");
    assertThatThrownBy(() -> base().containerMemoryMib(2)).hasMessageContaining("containerMemoryMib < 4: 2");
    assertThatThrownBy(() -> base().memoryMib(512).containerMemoryMib(600).build())
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("600");
    assertThatThrownBy(() -> base().copyToContainer(Path.of("/does/not/exist"), "/x"))
        .hasMessageContaining("/does/not/exist");
    assertThatThrownBy(() -> base().copyToContainer(new byte[0], "relative", 0644))
        .hasMessageContaining("relative");
    assertThatThrownBy(() -> base().copyToContainer(new byte[0], "/x", 01777))
        .hasMessageContaining("1777");
  }

  @Test
  void execTimeoutIsNoneByDefaultAndMustBePositive() {
    assertThat(ExecSpec.of("x").timeout()).isEmpty();
    assertThat(ExecSpec.builder("x").timeout(Duration.ofMillis(1500)).build().timeout())
        .contains(Duration.ofMillis(1500));
    assertThat(ExecSpec.builder("x").timeout(Duration.ofSeconds(2)).build().toString()).contains("timeout=PT2S");
    assertThatThrownBy(() -> ExecSpec.builder("x").timeout(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("timeout is not positive: PT0S");
    assertThatThrownBy(() -> ExecSpec.builder("x").timeout(Duration.ofSeconds(-3)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("PT-3S");
    assertThatThrownBy(() -> ExecSpec.builder("x").timeout(null)).isInstanceOf(NullPointerException.class);
  }

  @Test
  void execSpecValidatesAndCopiesStdin() {
    byte[] in = {1, 2, 3};
    ExecSpec spec = ExecSpec.builder("cat").stdin(in).env("A", "1").workingDir("/w").user("nobody").build();
    in[0] = 9;

    assertThat(spec.stdin()).hasValueSatisfying(b -> assertThat(b).containsExactly(1, 2, 3));
    assertThat(spec.toString()).contains("3 bytes").doesNotContain("A=1");
    assertThatThrownBy(() -> ExecSpec.of()).hasMessageContaining("argv is empty");
    assertThatThrownBy(() -> ExecSpec.builder("x").workingDir("rel")).hasMessageContaining("rel");
    assertThatThrownBy(() -> ExecSpec.builder("x").env("A=B", "c")).hasMessageContaining("A=B");
  }
}
