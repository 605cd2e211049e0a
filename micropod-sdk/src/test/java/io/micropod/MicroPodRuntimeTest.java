package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.micropod.event.MicroPodListener;
import io.micropod.event.Phase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MicroPodRuntimeTest {

  @Test
  void homeComesFromMicropodHomeEnvironmentWhenNoPropertyIsSet() {
    assumeTrue(System.getProperty("micropod.home") == null, "micropod.home is set for this JVM");

    try (MicroPodRuntime rt = MicroPodRuntime.builder()
        .environment(Map.of("MICROPOD_HOME", "/srv/micropod")).build()) {
      assertThat(rt.home()).isEqualTo(Path.of("/srv/micropod"));
    }
  }

  @Test
  void homeDefaultsToTheUsersCache() {
    assumeTrue(System.getProperty("micropod.home") == null, "micropod.home is set for this JVM");

    try (MicroPodRuntime rt = MicroPodRuntime.builder().environment(Map.of()).build()) {
      assertThat(rt.home()).isEqualTo(Path.of(System.getProperty("user.home"), ".cache", "micropod"));
    }
  }

  @Test
  void builderHomeWinsOverTheEnvironment(@TempDir Path home) {
    try (MicroPodRuntime rt = MicroPodRuntime.builder()
        .environment(Map.of("MICROPOD_HOME", "/elsewhere")).home(home).build()) {
      assertThat(rt.home()).isEqualTo(home);
      assertThat(rt.vmm()).isEqualTo("auto");
    }
  }

  @Test
  void vmmIsAutoQemuOrFirecracker() {
    assertThat(MicroPodRuntime.builder().vmm("firecracker").build().vmm()).isEqualTo("firecracker");
    assertThat(MicroPodRuntime.builder().vmm("qemu").build().vmm()).isEqualTo("qemu");
    assertThatThrownBy(() -> MicroPodRuntime.builder().vmm("cloud-hypervisor"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("unsupported vmm: cloud-hypervisor (supported: auto, qemu, firecracker)");
  }

  @Test
  void aForcedFirecrackerThatCannotRunFailsTheStartSayingWhy(@TempDir Path home) {
    try (MicroPodRuntime rt = MicroPodRuntime.builder().home(home).vmm("firecracker")
        .environment(Map.of("PATH", home.toString())).build()) {
      assertThatThrownBy(() -> MicroPod.builder().runtime(rt).image("oci:/nonexistent").start())
          .isInstanceOf(HostUnsupportedException.class)
          .hasMessageContaining("no firecracker binary on PATH (" + home + ")")
          .hasMessageContaining("forced by MicroPodRuntime.Builder.vmm(\"firecracker\")");
    }
  }

  @Test
  void defaultRuntimeIsSharedAndSurvivesClose() {
    MicroPodRuntime rt = MicroPodRuntime.defaultRuntime();
    rt.close();

    assertThat(MicroPodRuntime.defaultRuntime()).isSameAs(rt);
    assertThat(rt.home()).isNotNull();
  }

  @Test
  void startFailsWithHostUnsupportedNamingTheMissingQemuAndGuestImage(@TempDir Path home) {
    List<Phase> events = new ArrayList<>();
    MicroPodListener recorder = new MicroPodListener() {
      @Override
      public void phaseStart(String podId, Phase phase) {
        events.add(phase);
      }
    };
    try (MicroPodRuntime rt = MicroPodRuntime.builder()
        .home(home)
        .qemuBinary(home.resolve("no-such-qemu"))
        .environment(Map.of("PATH", "/usr/bin:/bin"))
        .build()) {

      assertThatThrownBy(() -> MicroPod.builder().runtime(rt).image("oci:/nowhere")
              .listener(recorder).start())
          .isInstanceOfSatisfying(HostUnsupportedException.class, e -> assertThat(e.missing())
              .anySatisfy(m -> assertThat(m).contains("qemu-system-x86_64").contains(home.resolve("no-such-qemu").toString()))
              .anySatisfy(m -> assertThat(m).contains("guest kernel not found at " + home.resolve("guest"))
                  .contains("mvn -pl rootfs-builder -am install"))
              .anySatisfy(m -> assertThat(m).contains("initramfs.cpio")));
    }
    assertThat(events).as("no phase starts before the host is known to work").isEmpty();
    assertThat(home.resolve("pods")).doesNotExist();
  }

  @Test
  void startFailsWithHostUnsupportedWhenTheOverriddenKernelIsMissing(@TempDir Path home) throws Exception {
    Path fakeQemu = Files.createFile(home.resolve("qemu"));
    fakeQemu.toFile().setExecutable(true);
    Path initramfs = Files.createFile(home.resolve("initramfs.cpio"));
    try (MicroPodRuntime rt = MicroPodRuntime.builder()
        .home(home)
        .qemuBinary(fakeQemu)
        .virtiofsd(fakeQemu)
        .initramfs(initramfs)
        .environment(Map.of("MICROPOD_KERNEL_PATH", "/no/such/vmlinux"))
        .build()) {

      assertThatThrownBy(() -> MicroPod.builder().runtime(rt).image("oci:/nowhere")
              .startupTimeout(Duration.ofSeconds(1)).start())
          .isInstanceOfSatisfying(HostUnsupportedException.class, e -> assertThat(e.missing())
              .containsExactly("guest kernel not found at /no/such/vmlinux (set by MICROPOD_KERNEL_PATH)"));
    }
  }

  @Test
  void closedRuntimeRefusesNewPods(@TempDir Path home) {
    MicroPodRuntime rt = MicroPodRuntime.builder().home(home).build();
    rt.close();
    rt.close();

    assertThatThrownBy(() -> MicroPod.builder().runtime(rt).image("oci:/x").start())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
  }
}
