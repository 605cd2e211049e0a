package io.micropod.internal.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micropod.VmStartException;
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
            "-o", "source=/store/rootfs/0123", "-o", "cache=none", "-o", "sandbox=chroot", "-o", "no_xattr");
  }

  @Test
  void everyVirtiofsdRunsUnderTheFsguardWrapperWhenTheGuestImageHasIt() {
    HostCapabilities base = host(Path.of("/usr/lib/qemu/virtiofsd"), List.of());
    HostCapabilities guarded = new HostCapabilities(base.qemuBinary(), base.virtiofsd(), List.of(), base.kernel(),
        base.initramfs(), base.accel(), base.accelReason(), base.machine(), 0, true, "", Path.of("/g/host/micropod-fsguard"), null);
    assertThat(VirtiofsDaemon.mountCommand(guarded, Path.of("/s"), Path.of("/d"), false))
        .startsWith("/g/host/micropod-fsguard", "/usr/lib/qemu/virtiofsd");
    assertThat(VirtiofsDaemon.mountCommand(guarded, Path.of("/s"), Path.of("/d"), true))
        .containsSubsequence("micropod-ro-bind", "/d", "/g/host/micropod-fsguard", "/usr/lib/qemu/virtiofsd");
    HostCapabilities rootless = new HostCapabilities(base.qemuBinary(), base.virtiofsd(),
        List.of("unshare", "--map-root-user"), base.kernel(), base.initramfs(), base.accel(), base.accelReason(),
        base.machine(), 0, false, "", Path.of("/g/host/micropod-fsguard"), null);
    assertThat(VirtiofsDaemon.command(rootless, Path.of("/s"), Path.of("/d")))
        .startsWith("unshare", "--map-root-user", "/g/host/micropod-fsguard", "/usr/lib/qemu/virtiofsd");
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

  @Test
  void aReadOnlyMountRunsVirtiofsdOnAReadOnlyBindInItsOwnMountNamespace() {
    List<String> asRoot = VirtiofsDaemon.mountCommand(host(Path.of("/usr/lib/qemu/virtiofsd"), List.of()),
        Path.of("/tmp/m/mount0.sock"), Path.of("/home/u/data"), true);
    assertThat(asRoot).containsExactly("unshare", "--mount", "--propagation", "private",
        "sh", "-c", VirtiofsDaemon.READ_ONLY_BIND, "micropod-ro-bind", "/home/u/data",
        "/usr/lib/qemu/virtiofsd", "--socket-path=/tmp/m/mount0.sock", "-o", "source=/home/u/data",
        "-o", "cache=none", "-o", "sandbox=chroot", "-o", "no_xattr");
    List<String> rootless = VirtiofsDaemon.mountCommand(
        host(Path.of("/usr/lib/qemu/virtiofsd"), List.of("unshare", "--map-root-user", "--mount")),
        Path.of("/s"), Path.of("/d"), true);
    assertThat(rootless).startsWith("unshare", "--map-root-user", "--mount", "sh", "-c")
        .containsSubsequence("/d", "/usr/lib/qemu/virtiofsd", "--socket-path=/s");
    assertThat(VirtiofsDaemon.mountCommand(host(Path.of("/v"), List.of()), Path.of("/s"), Path.of("/d"), false))
        .isEqualTo(VirtiofsDaemon.command(host(Path.of("/v"), List.of()), Path.of("/s"), Path.of("/d")));
  }

  @Test
  void theReadOnlyBindStopsWritesOnTheHostSide() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
        "unshare --mount without a user namespace needs root (the rootless wrapper is covered by the command line test)");
    Path shared = Files.createDirectories(tmp.resolve("shared"));
    Files.writeString(shared.resolve("present"), "readable");
    // a stand-in virtiofsd: reads and tries to write in its source, then makes its socket file
    Path fake = tmp.resolve("fake-virtiofsd");
    Files.writeString(fake, "#!/bin/sh\n"
        + "sock=${1#--socket-path=}; src=${3#source=}\n"
        + "cat \"$src/present\"; echo\n"
        + "if echo x > \"$src/written\"; then echo WROTE; else echo REFUSED; fi\n"
        + "touch \"$sock\"; exec sleep 30\n");
    fake.toFile().setExecutable(true);
    Path log = tmp.resolve("virtiofsd-mount0.log");
    HostCapabilities host = host(fake, List.of());

    VirtiofsDaemon d = VirtiofsDaemon.start("pod1", VirtiofsDaemon.mountCommand(host, tmp.resolve("m.sock"), shared, true),
        tmp.resolve("m.sock"), shared, log, Instant.now().plusSeconds(30), false);
    d.stop();

    assertThat(Files.readString(log)).contains("readable").contains("Read-only file system").contains("REFUSED")
        .doesNotContain("WROTE");
    assertThat(shared.resolve("written")).doesNotExist();
    assertThat(Files.readString(Path.of("/proc/self/mountinfo"))).doesNotContain(shared.toString());
  }
}
