package io.micropod.internal.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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

  @Test
  void gnuCpAndTheJavaCopyGiveTheSameSparseFileAndCount(@TempDir Path tmp) throws IOException {
    assertThat(Path.of("/usr/bin/cp")).as("GNU cp, which .ci/run's Debian has").isExecutable();
    Path from = tmp.resolve("ram");
    byte[] page = new byte[4096];
    java.util.Arrays.fill(page, (byte) 7);
    try (FileChannel c = FileChannel.open(from, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      c.write(ByteBuffer.wrap(page), 0);
      c.write(ByteBuffer.wrap(new byte[8192]), 4096); // written zeros: left out of both copies
      c.write(ByteBuffer.wrap(page), 5L << 20);
      c.write(ByteBuffer.wrap(new byte[] {1}), (16L << 20) - 1);
    }

    long byCp = SparseFiles.copyWithCp(from, tmp.resolve("cp"), false);
    long byJava = SparseFiles.copyInJava(from, tmp.resolve("java"), false);

    assertThat(byCp).isEqualTo(byJava).isEqualTo(3 * 4096);
    assertThat(Files.mismatch(from, tmp.resolve("cp"))).isEqualTo(-1);
    assertThat(Files.mismatch(from, tmp.resolve("java"))).isEqualTo(-1);
    assertThatThrownBy(() -> SparseFiles.copyWithCp(from, tmp.resolve("cp"), false))
        .isInstanceOf(java.nio.file.FileAlreadyExistsException.class);
    assertThat(Files.mismatch(from, tmp.resolve("cp"))).as("the existing target is left alone").isEqualTo(-1);
  }

  /** Firecracker writes every page of its memory file: the zero pages are punched out in place. */
  @Test
  void diggingHolesLeavesOnlyTheNonZeroPagesAllocatedAndTheSameBytes(@TempDir Path tmp) throws IOException {
    assertThat(Path.of("/usr/bin/fallocate")).as("util-linux fallocate, which .ci/run's Debian has").isExecutable();
    Path mem = tmp.resolve("mem");
    byte[] page = new byte[4096];
    java.util.Arrays.fill(page, (byte) 7);
    try (FileChannel c = FileChannel.open(mem, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      c.write(ByteBuffer.wrap(new byte[8 << 20]), 0); // every page written, as a whole memory dump
      c.write(ByteBuffer.wrap(page), 4096 * 5);
    }
    byte[] before = Files.readAllBytes(mem);

    long inUse = SparseFiles.digHoles(mem);

    assertThat(inUse).isEqualTo(4096);
    assertThat(Files.size(mem)).isEqualTo(8L << 20);
    assertThat(Files.readAllBytes(mem)).isEqualTo(before);
  }
}
