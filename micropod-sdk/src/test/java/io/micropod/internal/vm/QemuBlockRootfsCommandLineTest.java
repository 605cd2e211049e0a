package io.micropod.internal.vm;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

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
        "-device", "virtio-blk-device,drive=rootfs");
    assertThat(String.join(" ", args)).contains("micropod.rootfs=blk").doesNotContain("virtiofs");
  }

  @Test
  void q35UsesVirtioBlkPci() {
    List<String> args = QemuCommandLine.build(QemuCommandLineTest.host(Accel.TCG, Machine.Q35, 0), 512, 1,
        PATHS, IMAGE, false);

    assertThat(args).endsWith("-device", "virtio-blk-pci,drive=rootfs");
  }

  @Test
  void withoutAnImageTheCommandLineIsTheVirtiofsOne() {
    HostCapabilities host = QemuCommandLineTest.host(Accel.TCG, Machine.MICROVM, 0);

    assertThat(QemuCommandLine.build(host, 512, 1, PATHS, null, false))
        .isEqualTo(QemuCommandLine.build(host, 512, 1, PATHS, false));
  }
}
