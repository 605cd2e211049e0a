package io.micropod.internal.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micropod.VmStartException;
import io.micropod.internal.vm.Accel;
import io.micropod.internal.vm.HostCapabilities;
import io.micropod.internal.vm.Machine;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VirtiofsDaemonTest {
  @TempDir Path tmp;

  private static HostCapabilities host(Path virtiofsd, List<String> wrapper) {
    return new HostCapabilities(Path.of("/usr/bin/qemu-system-x86_64"), virtiofsd, wrapper,
        Path.of("/g/vmlinux"), Path.of("/g/initramfs.cpio"), Accel.TCG, "test", Machine.MICROVM, 0, wrapper.isEmpty());
  }

  @Test
  void commandLineMatchesTheGuestContract() {
    assertThat(VirtiofsDaemon.command(host(Path.of("/usr/lib/qemu/virtiofsd"), List.of()),
        Path.of("/tmp/micropod-abc/virtiofs.sock"), Path.of("/store/rootfs/0123")))
        .containsExactly("/usr/lib/qemu/virtiofsd", "--socket-path=/tmp/micropod-abc/virtiofs.sock",
            "-o", "source=/store/rootfs/0123", "-o", "cache=none", "-o", "sandbox=chroot");
  }

  @Test
  void nonRootRunsItUnderUnshare() {
    assertThat(VirtiofsDaemon.command(host(Path.of("/usr/lib/qemu/virtiofsd"), List.of("unshare", "--map-root-user")),
        Path.of("/s"), Path.of("/r")))
        .startsWith("unshare", "--map-root-user", "/usr/lib/qemu/virtiofsd");
  }

  @Test
  void aDaemonThatDiesBeforeItsSocketAppearsFailsFastWithItsOutput() throws IOException {
    Path fake = tmp.resolve("fake-virtiofsd");
    Files.writeString(fake, "#!/bin/sh\necho 'fuse: cannot open source' >&2\nexit 3\n");
    fake.toFile().setExecutable(true);
    Instant started = Instant.now();

    assertThatThrownBy(() -> VirtiofsDaemon.start("pod1", host(fake, List.of()), tmp.resolve("v.sock"),
            tmp, tmp.resolve("virtiofsd.log"), Instant.now().plusSeconds(60)))
        .isInstanceOfSatisfying(VmStartException.class, e -> {
          assertThat(e.stepId()).isEqualTo("virtiofs.start");
          assertThat(e.consoleTail()).contains("cannot open source");
          assertThat(e).hasMessageContaining("exited with code 3");
        });
    assertThat(Duration.between(started, Instant.now())).isLessThan(Duration.ofSeconds(30));
  }
}
