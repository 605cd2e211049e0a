package io.micropod.internal.vm.firecracker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Command building against the jailer's documented contract (Firecracker 1.16 {@code docs/jailer.md});
 * no jailer (nor Firecracker) runs here: no KVM.
 */
class JailerCommandTest {
  private final JailerCommand jailer = new JailerCommand(Path.of("/usr/bin/jailer"), "pod-abc123",
      Path.of("/opt/fc/firecracker"), 1234, 1235, Path.of("/srv/jailer"), 2);

  @Test
  void commandHasTheJailerFlagsThenFirecrackersArguments() {
    assertThat(jailer.command(List.of("--api-sock", "/run/firecracker.socket"))).containsExactly(
        "/usr/bin/jailer", "--id", "pod-abc123", "--exec-file", "/opt/fc/firecracker", "--uid", "1234",
        "--gid", "1235", "--chroot-base-dir", "/srv/jailer", "--cgroup-version", "2",
        "--", "--api-sock", "/run/firecracker.socket");
  }

  @Test
  void pathsInsideTheJailMapToTheChrootOnTheHost() {
    assertThat(jailer.chrootRoot()).isEqualTo(Path.of("/srv/jailer/firecracker/pod-abc123/root"));
    assertThat(jailer.hostPath(Path.of("/run/firecracker.socket")))
        .isEqualTo(Path.of("/srv/jailer/firecracker/pod-abc123/root/run/firecracker.socket"));
  }

  @Test
  void badIdsAndUidsAreRejectedNamingTheValue() {
    assertThatThrownBy(() -> new JailerCommand(Path.of("/j"), "bad/id", Path.of("/firecracker"), 1, 1, Path.of("/srv"), 2))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bad/id");
    assertThatThrownBy(() -> new JailerCommand(Path.of("/j"), "ok", Path.of("/firecracker"), -1, 1, Path.of("/srv"), 2))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("-1");
  }

  @Test
  void theJailerRefusesRootAnExecFileNotNamedFirecrackerASecondIdAndUnknownCgroupVersions() {
    assertThatThrownBy(() -> new JailerCommand(Path.of("/j"), "ok", Path.of("/firecracker"), 0, 5, Path.of("/srv"), 2))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("uid 0");
    assertThatThrownBy(() -> new JailerCommand(Path.of("/j"), "ok", Path.of("/usr/bin/vmm"), 5, 5, Path.of("/srv"), 2))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("/usr/bin/vmm");
    assertThatThrownBy(() -> new JailerCommand(Path.of("/j"), "ok", Path.of("/firecracker"), 5, 5, Path.of("/srv"), 3))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("3");
    assertThatThrownBy(() -> jailer.command(List.of("--id", "x")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--id");
  }
}
