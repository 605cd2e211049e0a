package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micropod.event.MicroPodListener;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MicroPodSpecTest {

  @Test
  void seccompDefaultsToTheDefaultProfileAndUnconfinedIsKeptByNewBuilder() {
    MicroPodSpec confined = MicroPodSpec.builder().image("oci:/images/busybox").build();
    MicroPodSpec unconfined = confined.newBuilder().seccomp(SeccompProfile.UNCONFINED).build();

    assertThat(confined.seccomp()).isEqualTo(SeccompProfile.DEFAULT);
    assertThat(confined.toString()).doesNotContain("seccomp");
    assertThat(unconfined.seccomp()).isEqualTo(SeccompProfile.UNCONFINED);
    assertThat(unconfined.newBuilder().build().seccomp()).isEqualTo(SeccompProfile.UNCONFINED);
    assertThat(unconfined).isNotEqualTo(confined);
    assertThat(unconfined.toString()).contains("seccomp=UNCONFINED");
    assertThatThrownBy(() -> MicroPodSpec.builder().seccomp(null))
        .isInstanceOf(NullPointerException.class).hasMessage("seccomp");
  }

  @Test
  void defaultsAreDocumented() {
    MicroPodSpec spec = MicroPodSpec.builder().image("oci:/images/busybox").build();

    assertThat(spec.image()).isEqualTo(ImageRef.parse("oci:/images/busybox:latest"));
    assertThat(spec.command()).isEmpty();
    assertThat(spec.env()).isEmpty();
    assertThat(spec.workingDir()).isEmpty();
    assertThat(spec.memoryMib()).isEqualTo(512);
    assertThat(spec.cpus()).isEqualTo(1);
    assertThat(spec.startupTimeout()).isEqualTo(Duration.ofSeconds(120));
    assertThat(spec.listener()).isSameAs(MicroPodListener.NONE);
    assertThat(spec.runtime()).isSameAs(MicroPodRuntime.defaultRuntime());
    assertThat(spec.pullPolicy()).isEqualTo(PullPolicy.IF_MISSING);
    assertThat(spec.platform()).isEqualTo("linux/amd64");
  }

  @Test
  void platformAndPullPolicyAreValidatedAndKept() {
    MicroPodSpec spec = MicroPodSpec.builder().image("alpine").platform("linux/arm64/v8")
        .pullPolicy(PullPolicy.NEVER).build();

    assertThat(spec.platform()).isEqualTo("linux/arm64/v8");
    assertThat(spec.pullPolicy()).isEqualTo(PullPolicy.NEVER);
    assertThat(spec.newBuilder().build()).isEqualTo(spec);
    assertThat(spec.toString()).contains("pullPolicy=NEVER", "platform=linux/arm64/v8");
    for (String bad : List.of("amd64", "linux/", "Linux/amd64", "linux/amd64/v1/x", "linux amd64")) {
      assertThatThrownBy(() -> MicroPodSpec.builder().platform(bad))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("\"" + bad + "\"");
    }
  }

  @Test
  void insecureRegistriesAreValidated() {
    MicroPodRuntime.builder().insecureRegistry("registry.lan:5000").insecureRegistry("10.0.0.5");

    assertThatThrownBy(() -> MicroPodRuntime.builder().insecureRegistry("http://registry.lan"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("without scheme");
  }

  @Test
  void buildWithoutImageFails() {
    assertThatThrownBy(() -> MicroPodSpec.builder().command("true").build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("image is required");
  }

  @Test
  void startWithoutImageFailsBeforeAnythingRuns() {
    assertThatThrownBy(() -> MicroPod.builder().start())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("image is required");
  }

  @Test
  void imageIsParsedAtOnce() {
    assertThatThrownBy(() -> MicroPod.builder().image("Alpine"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("lowercase");
  }

  @Test
  void memoryOutOfRangeNamesTheValue() {
    assertThatThrownBy(() -> MicroPod.builder().memoryMib(64))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("memoryMib < 160: 64");
    assertThatThrownBy(() -> MicroPod.builder().memoryMib(65537))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("memoryMib > 65536: 65537");
    assertThat(MicroPod.builder().image("oci:/x").memoryMib(512).build().memoryMib()).isEqualTo(512);
    assertThat(MicroPod.builder().image("oci:/x").memoryMib(65536).build().memoryMib()).isEqualTo(65536);
  }

  @Test
  void cpusBelowOneFails() {
    assertThatThrownBy(() -> MicroPod.builder().cpus(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("cpus < 1: 0");
  }

  @Test
  void startupTimeoutMustBePositive() {
    assertThatThrownBy(() -> MicroPod.builder().startupTimeout(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("startupTimeout");
  }

  @Test
  void workingDirMustBeAbsolute() {
    assertThatThrownBy(() -> MicroPod.builder().workingDir("tmp"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("workingDir is not absolute: tmp");
  }

  @Test
  void envKeepsInsertionOrderAndLaterValuesWin() {
    Map<String, String> more = new LinkedHashMap<>();
    more.put("B", "2");
    more.put("A", "3");
    MicroPodSpec spec = MicroPod.builder().image("oci:/x").env("A", "1").env("C", "c").env(more).build();

    assertThat(spec.env()).containsExactly(Map.entry("A", "3"), Map.entry("C", "c"), Map.entry("B", "2"));
  }

  @Test
  void envRejectsKeysWithEquals() {
    assertThatThrownBy(() -> MicroPod.builder().env("A=B", "x"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("A=B");
  }

  @Test
  void specIsImmutable() {
    List<String> argv = new java.util.ArrayList<>(List.of("echo", "hi"));
    MicroPodSpec spec = MicroPod.builder().image("oci:/x").command(argv).env("K", "v").build();
    argv.add("changed");

    assertThat(spec.command()).containsExactly("echo", "hi");
    assertThatThrownBy(() -> spec.command().add("x")).isInstanceOf(UnsupportedOperationException.class);
    assertThatThrownBy(() -> spec.env().put("x", "y")).isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void newBuilderCopiesEverythingAndLeavesTheOriginalAlone() {
    MicroPodListener listener = new MicroPodListener() {};
    MicroPodSpec spec = MicroPod.builder().image("oci:/x:v1").command("sh").env("K", "v")
        .workingDir("/w").memoryMib(1024).cpus(2).startupTimeout(Duration.ofSeconds(9))
        .listener(listener).build();

    MicroPodSpec copy = spec.newBuilder().build();
    MicroPodSpec changed = spec.newBuilder().memoryMib(2048).env("L", "w").build();

    assertThat(copy).isEqualTo(spec).hasSameHashCodeAs(spec);
    assertThat(changed.memoryMib()).isEqualTo(2048);
    assertThat(changed.env()).containsOnlyKeys("K", "L");
    assertThat(spec.memoryMib()).isEqualTo(1024);
    assertThat(spec.env()).containsOnlyKeys("K");
    assertThat(copy.listener()).isSameAs(listener);
  }

  @Test
  void toStringNamesEnvKeysButNeverValues() {
    MicroPodSpec spec = MicroPod.builder().image("oci:/x").env("TOKEN", "s3cr3t").build();

    assertThat(spec.toString()).contains("TOKEN").doesNotContain("s3cr3t");
  }

  @Test
  void emptyCommandMeansTheImageDefault() {
    assertThat(MicroPod.builder().image("oci:/x").command().build().command()).isEmpty();
    assertThatThrownBy(() -> MicroPod.builder().command("echo", null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("command[1] is null");
  }

  @Test
  void exitGracePeriodDefaultsToZeroAndRejectsNegative() {
    assertThat(MicroPod.builder().image("oci:/x").build().exitGracePeriod()).isZero();
    MicroPodSpec spec = MicroPod.builder().image("oci:/x").exitGracePeriod(Duration.ofSeconds(5)).build();
    assertThat(spec.exitGracePeriod()).hasSeconds(5);
    assertThat(spec.newBuilder().build()).isEqualTo(spec);
    assertThat(spec.toString()).contains("exitGracePeriod=PT5S");
    assertThatThrownBy(() -> MicroPod.builder().exitGracePeriod(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("exitGracePeriod < 0: PT-1S");
  }
}
