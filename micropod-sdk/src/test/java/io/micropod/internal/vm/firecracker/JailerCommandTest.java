package io.micropod.internal.vm.firecracker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Command building only: no jailer (nor Firecracker) runs here. */
class JailerCommandTest {
  private final JailerCommand jailer = new JailerCommand(Path.of("/usr/bin/jailer"), "pod-abc123",
      Path.of("/opt/fc/firecracker"), 1234, 1235, Path.of("/srv/jailer"));

  @Test
  void commandHasTheJailerFlagsThenFirecrackersArguments() {
    assertThat(jailer.command(List.of("--api-sock", "/run/firecracker.socket"))).containsExactly(
        "/usr/bin/jailer", "--id", "pod-abc123", "--exec-file", "/opt/fc/firecracker", "--uid", "1234",
        "--gid", "1235", "--chroot-base-dir", "/srv/jailer", "--", "--api-sock", "/run/firecracker.socket");
  }

  @Test
  void pathsInsideTheJailMapToTheChrootOnTheHost() {
    assertThat(jailer.chrootRoot()).isEqualTo(Path.of("/srv/jailer/firecracker/pod-abc123/root"));
    assertThat(jailer.hostPath(Path.of("/run/firecracker.socket")))
        .isEqualTo(Path.of("/srv/jailer/firecracker/pod-abc123/root/run/firecracker.socket"));
  }

  @Test
  void badIdsAndUidsAreRejectedNamingTheValue() {
    assertThatThrownBy(() -> new JailerCommand(Path.of("/j"), "bad/id", Path.of("/fc"), 1, 1, Path.of("/srv")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bad/id");
    assertThatThrownBy(() -> new JailerCommand(Path.of("/j"), "ok", Path.of("/fc"), -1, 1, Path.of("/srv")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("-1");
  }
}
