package io.micropod.internal.vm;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class QemuSnapshotCommandLineTest {
  private static final QemuCommandLine.Paths PATHS = new QemuCommandLine.Paths(
      Path.of("/tmp/p/console.log"), Path.of("/tmp/s/agent.sock"), Path.of("/tmp/s/virtiofs.sock"));

  private static List<String> build(QemuCommandLine.Control control) {
    HostCapabilities host = QemuCommandLineTest.host(Accel.TCG, Machine.MICROVM, 2596098);
    return QemuCommandLine.build(host, 512, 1, PATHS, false, GuestNetworkConfig.NONE, List.of(),
        QemuCommandLine.FileRefs.byPath(host, PATHS.consoleLog(), Path.of("/store/img.ext4")), control);
  }

  @Test
  void everyPodGetsAQmpSocketAndKeepsItsMemfdRam() {
    List<String> a = build(new QemuCommandLine.Control(Path.of("/tmp/s/qmp.sock"), null, false));
    assertThat(String.join(" ", a)).contains("-qmp unix:/tmp/s/qmp.sock,server=on,wait=off")
        .contains("memory-backend-memfd,id=mem,size=512M,share=on").doesNotContain("-incoming");
  }

  @Test
  void aSnapshottablePodMapsItsRamFromAFileSharedSoMigrationCanLeaveItOut() {
    List<String> a = build(new QemuCommandLine.Control(Path.of("/tmp/s/qmp.sock"), Path.of("/tmp/s/ram"), false));
    assertThat(String.join(" ", a))
        .contains("memory-backend-file,id=mem,size=512M,share=on,mem-path=/tmp/s/ram")
        .doesNotContain("memfd").doesNotContain("-incoming");
  }

  @Test
  void aRestoredPodStartsWaitingForItsDeviceStateAndStillDeniesSpawning() {
    List<String> a = build(new QemuCommandLine.Control(Path.of("/tmp/s/qmp.sock"), Path.of("/tmp/s/ram"), true));
    assertThat(String.join(" ", a)).contains("-incoming defer").contains("spawn=deny");
    assertThat(a).doesNotContain("exec:");
  }

  @Test
  void aSparseCopyHoldsOnlyTheNonZeroPagesAndTheSameBytes(@TempDir Path tmp) throws IOException {
    Path from = tmp.resolve("ram");
    try (FileChannel c = FileChannel.open(from, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      c.write(ByteBuffer.wrap(new byte[] {1, 2, 3}), 4096 * 3 + 10);
      c.write(ByteBuffer.wrap(new byte[] {9}), (8L << 20) - 1);
    }
    Path to = tmp.resolve("copy");

    long written = SparseFiles.copy(from, to, true);

    assertThat(written).isEqualTo(2 * 4096);
    assertThat(Files.size(to)).isEqualTo(8L << 20);
    assertThat(Files.mismatch(from, to)).isEqualTo(-1);
  }
}
