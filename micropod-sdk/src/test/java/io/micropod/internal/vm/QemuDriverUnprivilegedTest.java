package io.micropod.internal.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What an unprivileged QEMU is handed (docs/security.md, "QEMU itself"): its files from the 0700
 * home as descriptors, the console and block image as fd sets, and only its own socket directory
 * and sockets by ownership.
 */
class QemuDriverUnprivilegedTest {
  @TempDir Path tmp;

  private VmConfig config(Path socketDir, List<VmConfig.MountDevice> mounts) {
    HostCapabilities host = new HostCapabilities(Path.of("/usr/bin/qemu-system-x86_64"), Path.of("/v"), List.of(),
        Path.of("/g/vmlinux"), Path.of("/g/initramfs.cpio"), Accel.TCG, "test", Machine.MICROVM, 0, true, "",
        Path.of("/g/host/fsguard"), Path.of("/g/host/libmicropod-netguard.so"));
    return new VmConfig("pod1", 512, 1, host, tmp, socketDir, false, GuestNetworkConfig.NONE, false,
        tmp.resolve("console.log"), mounts);
  }

  @Test
  void homeFilesArePassedAsDescriptorsAndTheConsoleAndBlockImageAsFdSets() throws Exception {
    Path sockets = Files.createDirectory(tmp.resolve("s"));
    VmConfig config = config(sockets, List.of());
    VmmUser user = new VmmUser(rootOrPod(), List.of());

    QemuDriver.Launch u = QemuDriver.launch(config, Path.of("/store/img.raw"),
        Map.of("LD_PRELOAD", "/g/host/libmicropod-netguard.so", "MICROPOD_NETGUARD_HOST_PORTS", ""), user, 4096);

    assertThat(u.console()).isEqualTo(new QemuLaunch.Console(tmp.resolve("console.log"),
        tmp.resolve("console.fifo"), 5, 4096));
    assertThat(u.files()).containsExactly(
        new VmmUser.PassedFile(Path.of("/g/vmlinux"), 3, false),
        new VmmUser.PassedFile(Path.of("/g/initramfs.cpio"), 4, false),
        new VmmUser.PassedFile(Path.of("/store/img.raw"), 6, false),
        new VmmUser.PassedFile(Path.of("/g/host/libmicropod-netguard.so"), 7, false));
    assertThat(u.refs()).isEqualTo(new QemuCommandLine.FileRefs("/dev/fd/3", "/dev/fd/4", "/dev/fdset/1",
        "/dev/fdset/2", List.of("fd=5,set=1", "fd=6,set=2")));
    assertThat(u.env()).containsExactly(Map.entry("LD_PRELOAD", "/dev/fd/7"),
        Map.entry("MICROPOD_NETGUARD_HOST_PORTS", ""));
    List<String> args = QemuCommandLine.build(config.host(), 512, 1,
        new QemuCommandLine.Paths(config.consoleLog(), config.agentSocket(), config.virtiofsSocket()), false,
        GuestNetworkConfig.NONE, List.of(), u.refs());
    assertThat(String.join(" ", args)).contains("-add-fd fd=5,set=1 -add-fd fd=6,set=2")
        .contains("-kernel /dev/fd/3 -initrd /dev/fd/4")
        .contains("file,id=console,path=/dev/fdset/1,append=on")
        .contains("file=/dev/fdset/2,if=none,format=raw,readonly=on,id=rootfs")
        .doesNotContain("/g/").doesNotContain("console.log");
  }

  @Test
  void theSystemImageIsPassedAsADescriptorInItsOwnFdSet() throws Exception {
    Path sockets = Files.createDirectory(tmp.resolve("s"));
    VmConfig base = config(sockets, List.of());
    HostCapabilities h = base.host();
    HostCapabilities host = new HostCapabilities(h.qemuBinary(), h.virtiofsd(), h.virtiofsdWrapper(), h.kernel(),
        h.initramfs(), h.accel(), h.accelReason(), h.machine(), h.tscKhz(), h.runningAsRoot(), h.ociRuntime(),
        h.fsguard(), h.netguard(), Path.of("/g/system.img"));
    VmConfig config = new VmConfig("pod1", 512, 1, host, tmp, sockets, false, GuestNetworkConfig.NONE, false,
        tmp.resolve("console.log"), List.of());

    QemuDriver.Launch u = QemuDriver.launch(config, Path.of("/store/img.raw"), Map.of(),
        new VmmUser(rootOrPod(), List.of()), 4096);

    assertThat(u.files()).containsExactly(
        new VmmUser.PassedFile(Path.of("/g/vmlinux"), 3, false),
        new VmmUser.PassedFile(Path.of("/g/initramfs.cpio"), 4, false),
        new VmmUser.PassedFile(Path.of("/store/img.raw"), 6, false),
        new VmmUser.PassedFile(Path.of("/g/system.img"), 7, false));
    assertThat(u.refs()).isEqualTo(new QemuCommandLine.FileRefs("/dev/fd/3", "/dev/fd/4", "/dev/fdset/1",
        "/dev/fdset/2", List.of("fd=5,set=1", "fd=6,set=2", "fd=7,set=3"), "/dev/fdset/3"));
    List<String> args = QemuCommandLine.build(host, 512, 1,
        new QemuCommandLine.Paths(config.consoleLog(), config.agentSocket(), config.virtiofsSocket()), false,
        GuestNetworkConfig.NONE, List.of(), u.refs());
    assertThat(String.join(" ", args))
        .contains("file=/dev/fdset/3,if=none,format=raw,readonly=on,id=sys")
        .doesNotContain("/g/");
    // as an ordinary user: by path
    assertThat(QemuDriver.launch(config, null, Map.of(), null, 100).refs().systemImage()).isEqualTo("/g/system.img");
  }

  @Test
  void asAnOrdinaryUserQemuOpensItsFilesByPathAndOnlyTheConsoleIsADescriptor() throws Exception {
    Path sockets = Files.createDirectory(tmp.resolve("s"));

    QemuDriver.Launch l = QemuDriver.launch(config(sockets, List.of()), null, Map.of("A", "b"), null, 100);

    assertThat(l.files()).isEmpty();
    assertThat(l.env()).containsExactly(Map.entry("A", "b"));
    assertThat(l.refs()).isEqualTo(new QemuCommandLine.FileRefs("/g/vmlinux", "/g/initramfs.cpio", "/dev/fdset/1",
        null, List.of("fd=5,set=1")));
    assertThat(Files.getAttribute(sockets, "unix:uid")).isEqualTo(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
  }

  @Test
  void theSocketDirectoryAndTheVirtiofsdSocketsBecomeTheUidsOwnAndNothingElse() throws Exception {
    assumeTrue(isRoot(), "changing owners needs root (CI runs as root)");
    Path sockets = Files.createDirectory(tmp.resolve("s"));
    Path mount = Files.createFile(sockets.resolve("mount0.sock"));
    Path image = Files.createFile(sockets.resolve("virtiofs.sock"));
    Path other = Files.createFile(tmp.resolve("other"));
    VmmUser user = new VmmUser(VmmUser.POD_BASE + 3, List.of());

    QemuDriver.launch(config(sockets, List.of(new VmConfig.MountDevice("m0", mount))), null, Map.of(), user, 4096);

    for (Path p : List.of(sockets, mount, image)) {
      assertThat(Files.getAttribute(p, "unix:uid")).as("%s", p).isEqualTo(user.uid());
      assertThat(Files.getAttribute(p, "unix:gid")).as("%s", p).isEqualTo(user.uid());
    }
    assertThat(Files.getAttribute(other, "unix:uid")).isEqualTo(0);
    assertThat(Files.getAttribute(tmp, "unix:uid")).isEqualTo(0);
  }

  @Test
  void itsOwnSwitchPortBecomesTheUidsAloneAndAnotherMembersPortIsLeftAlone() throws Exception {
    assumeTrue(isRoot(), "changing owners needs root (CI runs as root)");
    Path sockets = Files.createDirectory(tmp.resolve("s"));
    Path net = Files.createDirectory(tmp.resolve("micropod-net-x"));
    Path mine = Files.createFile(net.resolve("port-2.sock"));
    Path theirs = Files.createFile(net.resolve("port-3.sock"));
    for (Path p : List.of(mine, theirs)) { // as EthernetSwitch leaves them for the network's group
      Files.setAttribute(p, "unix:gid", 4242);
      Files.setPosixFilePermissions(p, java.nio.file.attribute.PosixFilePermissions.fromString("rw-rw----"));
    }
    VmmUser user = new VmmUser(VmmUser.POD_BASE + 5, List.of(4242));
    GuestNetworkConfig network = new GuestNetworkConfig(false,
        List.of(new GuestNetworkConfig.Nic("n1", "02:6d:70:59:01:02", "10.89.1.2/24", mine)));
    VmConfig c = new VmConfig("pod1", 512, 1, config(sockets, List.of()).host(), tmp, sockets, false, network,
        false, tmp.resolve("console.log"), List.of());

    QemuDriver.launch(c, null, Map.of(), user, 4096);

    assertThat(Files.getAttribute(mine, "unix:uid")).isEqualTo(user.uid());
    assertThat(Files.getAttribute(mine, "unix:gid")).isEqualTo(user.uid());
    assertThat(Files.getPosixFilePermissions(mine))
        .isEqualTo(java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    assertThat(Files.getAttribute(theirs, "unix:uid")).isEqualTo(0);
    assertThat(Files.getAttribute(theirs, "unix:gid")).isEqualTo(4242);
  }

  /** A uid whose chown succeeds for whoever runs the test (itself when not root). */
  private static int rootOrPod() throws Exception {
    return isRoot() ? VmmUser.POD_BASE + 1 : (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
  }

  private static boolean isRoot() {
    try {
      return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
    } catch (Exception e) {
      return false;
    }
  }
}
