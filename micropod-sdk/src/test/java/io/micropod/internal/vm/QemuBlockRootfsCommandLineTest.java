package io.micropod.internal.vm;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The QEMU command line in block-rootfs mode (the guest side is exercised by BlockRootfsPodIT). */
class QemuBlockRootfsCommandLineTest {
  private static final QemuCommandLine.Paths PATHS = new QemuCommandLine.Paths(
      Path.of("/p/console.log"), Path.of("/tmp/micropod-abc/agent.sock"), Path.of("/tmp/micropod-abc/virtiofs.sock"));
  private static final Path IMAGE = Path.of("/h/store/rootfs/51dc.ext4");

  @Test
  void microvmAttachesTheImageReadOnlyOnVirtioBlkInsteadOfVirtiofs() {
    List<String> args = QemuCommandLine.build(QemuCommandLineTest.host(Accel.TCG, Machine.MICROVM, 0), 512, 1,
        PATHS, IMAGE, false);

    assertThat(args).endsWith("-drive", "file=/h/store/rootfs/51dc.ext4,if=none,format=raw,readonly=on,id=rootfs",
        "-device", "virtio-blk-device,drive=rootfs,serial=micropod-rootfs");
    assertThat(String.join(" ", args)).contains("micropod.rootfs=blk").doesNotContain("virtiofs");
  }

  @Test
  void q35UsesVirtioBlkPci() {
    List<String> args = QemuCommandLine.build(QemuCommandLineTest.host(Accel.TCG, Machine.Q35, 0), 512, 1,
        PATHS, IMAGE, false);

    assertThat(args).endsWith("-device", "virtio-blk-pci,drive=rootfs,serial=micropod-rootfs");
  }

  @Test
  void theGuestImagesSystemImageIsAttachedReadOnlyWithItsSerialBesideEitherRootfs(@TempDir Path dir)
      throws Exception {
    HostCapabilities h = QemuCommandLineTest.host(Accel.TCG, Machine.MICROVM, 0);
    Path initramfs = Files.writeString(dir.resolve("initramfs.cpio"), "cpio");
    Path system = Files.writeString(dir.resolve(HostCapabilities.SYSTEM_IMAGE), "ext4");
    HostCapabilities host = new HostCapabilities(h.qemuBinary(), h.virtiofsd(), h.virtiofsdWrapper(), h.kernel(),
        initramfs, h.accel(), h.accelReason(), h.machine(), h.tscKhz(), h.runningAsRoot(), h.ociRuntime(),
        h.fsguard(), h.netguard(), HostCapabilities.systemImageBeside(initramfs));
    assertThat(host.systemImage()).isEqualTo(system);

    for (Path block : java.util.Arrays.asList(IMAGE, null)) {
      List<String> args = QemuCommandLine.build(host, 256, 1, PATHS, block, false);
      assertThat(args).containsSubsequence("-drive", "file=" + system + ",if=none,format=raw,readonly=on,id=sys",
          "-device", "virtio-blk-device,drive=sys,serial=micropod-sys");
    }
  }

  @Test
  void anInitramfsWithoutASystemImageBesideItGetsNoSystemDrive(@TempDir Path dir) throws Exception {
    Path initramfs = Files.writeString(dir.resolve("initramfs.cpio"), "cpio");

    assertThat(HostCapabilities.systemImageBeside(initramfs)).isNull();
    assertThat(String.join(" ", QemuCommandLine.build(QemuCommandLineTest.host(Accel.TCG, Machine.MICROVM, 0),
        512, 1, PATHS, IMAGE, false))).doesNotContain("id=sys");
  }

  @Test
  void withoutAnImageTheCommandLineIsTheVirtiofsOne() {
    HostCapabilities host = QemuCommandLineTest.host(Accel.TCG, Machine.MICROVM, 0);

    assertThat(QemuCommandLine.build(host, 512, 1, PATHS, null, false))
        .isEqualTo(QemuCommandLine.build(host, 512, 1, PATHS, false));
  }
}
