package io.micropod.internal.vm;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class QemuCommandLineTest {
  private static final QemuCommandLine.Paths PATHS = new QemuCommandLine.Paths(
      Path.of("/home/u/.cache/micropod/pods/abc/console.log"),
      Path.of("/tmp/micropod-abc/agent.sock"),
      Path.of("/tmp/micropod-abc/virtiofs.sock"));

  static HostCapabilities host(Accel accel, Machine machine, long tscKhz) {
    return new HostCapabilities(Path.of("/usr/bin/qemu-system-x86_64"), Path.of("/usr/lib/qemu/virtiofsd"),
        List.of(), Path.of("/g/vmlinux"), Path.of("/g/initramfs.cpio"), accel, "test", machine, tscKhz, true);
  }

  @Test
  void microvmUnderTcgMatchesTheGuestContract() {
    List<String> args = QemuCommandLine.build(host(Accel.TCG, Machine.MICROVM, 2596098), 512, 1, PATHS, false);

    assertThat(args).containsExactly(
        "/usr/bin/qemu-system-x86_64", "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
        "-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
        "-accel", "tcg,tb-size=64",
        "-machine", "microvm,acpi=on,rtc=on,isa-serial=on,memory-backend=mem",
        "-cpu", "max", "-m", "512M", "-smp", "1",
        "-object", "memory-backend-memfd,id=mem,size=512M,share=on",
        "-global", "virtio-mmio.force-legacy=false",
        "-kernel", "/g/vmlinux", "-initrd", "/g/initramfs.cpio",
        "-append", "console=ttyS0 quiet panic=1 cryptomgr.notests rdinit=/init tsc_early_khz=2596098"
            + " micropod.accel=tcg micropod.channel=serial micropod.rootfs=virtiofs micropod.debug=0",
        "-chardev", "file,id=console,path=/home/u/.cache/micropod/pods/abc/console.log",
        "-serial", "chardev:console",
        "-device", "virtio-serial-device",
        "-chardev", "socket,id=agent,path=/tmp/micropod-abc/agent.sock,server=on,wait=off",
        "-device", "virtserialport,chardev=agent,name=io.micropod.agent.0",
        "-device", "virtio-balloon-device,free-page-reporting=on",
        "-chardev", "socket,id=rootfs,path=/tmp/micropod-abc/virtiofs.sock",
        "-device", "vhost-user-fs-device,chardev=rootfs,tag=micropod-rootfs");
  }

  @Test
  void kvmUsesTheHostCpu() {
    List<String> args = QemuCommandLine.build(host(Accel.KVM, Machine.MICROVM, 2596098), 1024, 2, PATHS, false);

    assertThat(args).containsSequence("-accel", "kvm", "-machine", "microvm,acpi=on,rtc=on,isa-serial=on,memory-backend=mem")
        .containsSequence("-cpu", "host")
        .containsSequence("-m", "1024M", "-smp", "2")
        .containsSequence("-object", "memory-backend-memfd,id=mem,size=1024M,share=on");
    assertThat(String.join(" ", args)).contains("micropod.accel=kvm");
  }

  @Test
  void q35UsesPciDevicesAndNoMmioGlobal() {
    List<String> args = QemuCommandLine.build(host(Accel.TCG, Machine.Q35, 0), 512, 1, PATHS, true);

    assertThat(args).containsSequence("-accel", "tcg,tb-size=64", "-machine", "q35,memory-backend=mem")
        .containsSequence("-device", "virtio-serial-pci")
        .containsSequence("-device", "virtio-balloon-pci,free-page-reporting=on")
        .containsSequence("-device", "vhost-user-fs-pci,chardev=rootfs,tag=micropod-rootfs")
        .doesNotContain("-global", "virtio-serial-device");
    assertThat(QemuCommandLine.kernelCmdline(host(Accel.TCG, Machine.Q35, 0), true))
        .isEqualTo("console=ttyS0 quiet panic=1 cryptomgr.notests rdinit=/init"
            + " micropod.accel=tcg micropod.channel=serial micropod.rootfs=virtiofs micropod.debug=1");
  }

  @Test
  void anOciRuntimeChoiceBecomesTheMicropodRuntimeKey() {
    HostCapabilities crun = new HostCapabilities(Path.of("/usr/bin/qemu-system-x86_64"),
        Path.of("/usr/lib/qemu/virtiofsd"), List.of(), Path.of("/g/vmlinux"), Path.of("/g/initramfs.cpio"),
        Accel.TCG, "test", Machine.MICROVM, 0, true, "runc");

    assertThat(QemuCommandLine.kernelCmdline(crun, false)).endsWith(" micropod.debug=0 micropod.runtime=runc");
    assertThat(QemuCommandLine.kernelCmdline(host(Accel.TCG, Machine.MICROVM, 0), false))
        .doesNotContain("micropod.runtime");
  }

  @Test
  void eachMountIsAVhostUserFsDeviceWithItsOwnTagAfterTheImageTree() {
    List<String> args = QemuCommandLine.build(host(Accel.TCG, Machine.MICROVM, 0), 512, 1, PATHS, null, false,
        GuestNetworkConfig.NONE, List.of(
            new VmConfig.MountDevice(QemuCommandLine.mountTag(0), Path.of("/tmp/micropod-abc/mount0.sock")),
            new VmConfig.MountDevice(QemuCommandLine.mountTag(1), Path.of("/tmp/micropod-abc/mount1.sock"))));

    String joined = String.join(" ", args);
    assertThat(joined).contains("-device vhost-user-fs-device,chardev=rootfs,tag=micropod-rootfs"
        + " -chardev socket,id=mount0,path=/tmp/micropod-abc/mount0.sock"
        + " -device vhost-user-fs-device,chardev=mount0,tag=micropod-mount-0"
        + " -chardev socket,id=mount1,path=/tmp/micropod-abc/mount1.sock"
        + " -device vhost-user-fs-device,chardev=mount1,tag=micropod-mount-1");
    assertThat(QemuCommandLine.build(host(Accel.TCG, Machine.Q35, 0), 512, 1, PATHS, null, false,
        GuestNetworkConfig.NONE, List.of(new VmConfig.MountDevice("micropod-mount-0", Path.of("/s"))))
    ).contains("vhost-user-fs-pci,chardev=mount0,tag=micropod-mount-0");
  }

  @Test
  void aBulkSocketAddsTheBulkPortBesideTheAgentPortAndNoneWithoutIt() {
    QemuCommandLine.Paths withBulk = new QemuCommandLine.Paths(PATHS.consoleLog(), PATHS.agentSocket(),
        PATHS.virtiofsSocket(), Path.of("/run/p/bulk.sock"));
    String line = String.join(" ", QemuCommandLine.build(host(Accel.TCG, Machine.MICROVM, 0), 512, 1, withBulk, false));
    assertThat(line).contains("-chardev socket,id=bulk,path=/run/p/bulk.sock,server=on,wait=off"
        + " -device virtserialport,chardev=bulk,name=" + QemuCommandLine.BULK_PORT_NAME);
    assertThat(line.indexOf("name=" + QemuCommandLine.AGENT_PORT_NAME))
        .as("the agent's port stays the first").isLessThan(line.indexOf("name=io.micropod.bulk.0"));
    assertThat(String.join(" ", QemuCommandLine.build(host(Accel.TCG, Machine.MICROVM, 0), 512, 1, PATHS, false)))
        .doesNotContain("bulk");
  }
}
