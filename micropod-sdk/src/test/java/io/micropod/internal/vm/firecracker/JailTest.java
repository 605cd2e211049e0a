package io.micropod.internal.vm.firecracker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.micropod.HostUnsupportedException;
import io.micropod.internal.base.RuntimeConfig;
import io.micropod.internal.image.BlockImages;
import io.micropod.internal.transport.HybridVsockConnector;
import io.micropod.internal.vm.Accel;
import io.micropod.internal.vm.HostCapabilities;
import io.micropod.internal.vm.Machine;
import io.micropod.internal.vm.VmConfig;
import io.micropod.internal.vm.VmmUser;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The jailed Firecracker's argv and chroot layout, to the jailer's documented contract
 * (Firecracker 1.16 {@code docs/jailer.md}). No jailer or Firecracker runs here (no KVM); what a
 * real one does with this has never been seen.
 */
class JailTest {
  @TempDir Path tmp;

  private static final int UID = VmmUser.POD_BASE + 5;

  private VmConfig config() throws Exception {
    Path kernel = Files.write(tmp.resolve("vmlinux"), new byte[] {0x7f, 'E', 'L', 'F'});
    Path initramfs = Files.writeString(tmp.resolve("initramfs.cpio"), "cpio");
    HostCapabilities host = new HostCapabilities(null, null, List.of(), kernel, initramfs, Accel.KVM, "test",
        Machine.MICROVM, 0, true);
    return new VmConfig("0123abcd4567", 256, 2, host, Files.createDirectory(tmp.resolve("pod")),
        Files.createDirectory(tmp.resolve("s")), false);
  }

  private FirecrackerDriver driver() {
    return new FirecrackerDriver(Path.of("/opt/fc/firecracker"), new BlockImages(tmp, null),
        new FirecrackerDriver.Options(true, null, HybridVsockConnector.Timeouts.DEFAULT,
            new FirecrackerDriver.Jailer(Path.of("/opt/fc/jailer"), tmp.resolve("home/jailer"), 2)));
  }

  @Test
  void asRootFirecrackerStartsThroughTheJailerAsThePodsUidWithTheApiSocketInsideTheJail() throws Exception {
    assumeTrue(VmmUser.runningAsRoot(), "laying out the jail chowns to the pod's uid: needs root (CI runs as root)");
    Path image = Files.writeString(tmp.resolve("image.ext4"), "ext4");
    FirecrackerDriver driver = driver();

    Jail jail = driver.jail(config(), image, UID);

    assertThat(driver.jailedCommand(jail)).containsExactly("/opt/fc/jailer", "--id", "0123abcd4567",
        "--exec-file", "/opt/fc/firecracker", "--uid", Integer.toString(UID), "--gid", Integer.toString(UID),
        "--chroot-base-dir", tmp.resolve("home/jailer").toString(), "--cgroup-version", "2",
        "--", "--api-sock", "/run/firecracker.socket", "--enable-pci");
    Path root = tmp.resolve("home/jailer/firecracker/0123abcd4567/root");
    assertThat(jail.command().chrootRoot()).isEqualTo(root);
    FirecrackerDriver.Placement at = FirecrackerDriver.Placement.jailed(jail);
    assertThat(at.apiSocket()).isEqualTo(root.resolve("run/firecracker.socket"));
    assertThat(List.of(at.kernel(), at.initramfs(), at.rootfs(), at.vsock(), at.log(), at.metrics()))
        .as("what Firecracker is told in its API calls: paths inside its chroot")
        .containsExactly(Path.of("/vmlinux"), Path.of("/initramfs.cpio"), Path.of("/rootfs.ext4"),
            Path.of("/vsock.sock"), Path.of("/firecracker.log"), Path.of("/firecracker-metrics.json"));
    assertThat(at.vsockOnHost()).isEqualTo(root.resolve("vsock.sock"));
    assertThat(at.logOnHost()).isEqualTo(root.resolve("firecracker.log"));
  }

  @Test
  void theChrootHoldsHardLinksOfTheVmsFilesAndARunDirectoryAndLogsOnlyThePodsUidOwns() throws Exception {
    assumeTrue(VmmUser.runningAsRoot(), "laying out the jail chowns to the pod's uid: needs root (CI runs as root)");
    Path image = Files.writeString(tmp.resolve("image.ext4"), "ext4");
    Files.setPosixFilePermissions(image, PosixFilePermissions.fromString("r--r--r--"));
    VmConfig config = config();

    Jail jail = driver().jail(config, image, UID);

    Path root = jail.command().chrootRoot();
    assertThat(Files.getPosixFilePermissions(root)).isEqualTo(PosixFilePermissions.fromString("rwx------"));
    assertThat(Files.getPosixFilePermissions(jail.command().chrootBaseDir()))
        .isEqualTo(PosixFilePermissions.fromString("rwx------"));
    for (String[] f : new String[][] {{"vmlinux", config.host().kernel().toString()},
        {"initramfs.cpio", config.host().initramfs().toString()}, {"rootfs.ext4", image.toString()}}) {
      assertThat(Files.isSameFile(root.resolve(f[0]), Path.of(f[1]))).as("%s is a hard link", f[0]).isTrue();
      assertThat(Files.getAttribute(root.resolve(f[0]), "unix:uid")).as("%s stays root's", f[0]).isEqualTo(0);
    }
    for (String f : List.of("run", "firecracker.log", "firecracker-metrics.json")) {
      assertThat(Files.getAttribute(root.resolve(f), "unix:uid")).as(f).isEqualTo(UID);
      assertThat(Files.getAttribute(root.resolve(f), "unix:gid")).as(f).isEqualTo(UID);
    }
    assertThat(Files.getPosixFilePermissions(root.resolve("run"))).isEqualTo(PosixFilePermissions.fromString("rwx------"));
    assertThatThrownBy(() -> driver().jail(config, image, UID)).as("one jail per id")
        .isInstanceOf(FileAlreadyExistsException.class);

    jail.delete();

    assertThat(root.getParent()).doesNotExist();
    assertThat(image).as("the sources of the links stay").exists();
  }

  @Test
  void asRootAFirecrackerWithoutAJailerIsRefusedSayingWhatToInstall() throws Exception {
    assumeTrue(VmmUser.runningAsRoot(), "the jailer is required only as root (CI runs as root)");
    Path fc = Files.createDirectories(tmp.resolve("bin")).resolve("firecracker");
    RuntimeConfig config = new RuntimeConfig(tmp.resolve("home"), "firecracker", null, null, null, null,
        Map.of("PATH", tmp.resolve("bin").toString()));

    assertThatThrownBy(() -> FirecrackerDriver.Options.from(config, fc))
        .isInstanceOf(HostUnsupportedException.class)
        .hasMessageContaining("jailer").hasMessageContaining("MICROPOD_FIRECRACKER_JAILER");

    Path jailer = Files.writeString(tmp.resolve("bin/jailer"), "#!/bin/sh\n");
    Files.setPosixFilePermissions(jailer, PosixFilePermissions.fromString("rwx------"));
    FirecrackerDriver.Jailer found = FirecrackerDriver.Options.from(config, fc).jailer();
    assertThat(found.binary()).isEqualTo(jailer);
    assertThat(found.chrootBaseDir()).isEqualTo(tmp.resolve("home/jailer"));
    assertThat(found.cgroupVersion())
        .isEqualTo(Files.exists(Path.of("/sys/fs/cgroup/cgroup.controllers")) ? 2 : 1);
  }
}
