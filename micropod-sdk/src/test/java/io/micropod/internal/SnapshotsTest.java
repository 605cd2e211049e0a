package io.micropod.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micropod.SnapshotException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class SnapshotsTest {

  @Test
  void aSnapshotNameIsValidatedNamingTheBadValue() {
    assertThat(Snapshots.checkName("web-1.warm_2")).isEqualTo("web-1.warm_2");
    assertThatThrownBy(() -> Snapshots.checkName("../x")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("../x");
    assertThatThrownBy(() -> Snapshots.checkName(".tmp-a")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Snapshots.checkName("")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aHalfWrittenSnapshotOfADeadWriterIsNeverListedAndIsSweptAway(@TempDir Path home) throws IOException {
    Path dead = Snapshots.dir(home).resolve(".tmp-warm-" + Integer.MAX_VALUE + "-1");
    Files.createDirectories(dead);
    Files.write(dead.resolve("state"), new byte[] {1});
    Path live = Snapshots.dir(home).resolve(".tmp-other-" + ProcessHandle.current().pid() + "-1");
    Files.createDirectories(live);

    assertThat(Snapshots.list(home)).isEmpty();

    assertThat(dead).doesNotExist();
    assertThat(live).exists(); // its writer still runs
  }

  @Test
  void aSnapshotWithoutItsManifestIsNotListedAndIsReportedBroken(@TempDir Path home) throws IOException {
    Path broken = Snapshots.dir(home).resolve("broken");
    Files.createDirectories(broken);
    Files.write(broken.resolve("state"), new byte[] {1});

    assertThat(Snapshots.list(home)).isEmpty();
    assertThatThrownBy(() -> Snapshots.find(home, "broken")).isInstanceOf(SnapshotException.class)
        .hasMessageContaining("broken").hasMessageContaining("remove it");
    assertThat(Snapshots.remove(home, "broken")).isTrue();
    assertThat(broken).doesNotExist();
    assertThat(Snapshots.remove(home, "broken")).isFalse();
  }

  /** A manifest as {@link Snapshots#take} writes it; {@code vmm} null: one written before the field. */
  private static void writeManifest(Path home, String name, String vmm) throws IOException {
    Path dir = Snapshots.dir(home).resolve(name);
    Files.createDirectories(dir);
    Files.writeString(dir.resolve(Snapshots.MANIFEST), "{\"format\":" + Snapshots.FORMAT + ",\"name\":\"" + name
        + "\",\"image\":\"oci:/i\",\"sourcePodId\":\"abc\",\"containerId\":\"abc\","
        + "\"createdAt\":\"2026-01-01T00:00:00Z\",\"sizeBytes\":1,\"memoryMib\":512,\"cpus\":1,"
        + "\"guestVersion\":\"g\",\"sdkVersion\":\"" + io.micropod.internal.base.SdkVersion.get() + "\","
        + "\"machine\":\"microvm\",\"hostnameSet\":false,\"blockImage\":\"/b\",\"blockImageBytes\":1,"
        + "\"ramBytes\":1,\"stateSha256\":\"sha256:00\"" + (vmm == null ? "" : ",\"vmm\":\"" + vmm + "\"") + "}");
  }

  @Test
  void aSnapshotOfOneVmmIsRefusedByARuntimeOfTheOtherNamingBoth(@TempDir Path home) throws IOException {
    writeManifest(home, "fc", "firecracker");
    writeManifest(home, "old", null);

    assertThatThrownBy(() -> Snapshots.forRestore(home, "fc", null, "qemu", "pod1"))
        .isInstanceOfSatisfying(SnapshotException.class, e -> assertThat(e.snapshot()).isEqualTo("fc"))
        .hasMessageContaining("taken on the firecracker VMM").hasMessageContaining("runs the qemu driver")
        .hasMessageContaining("MICROPOD_VMM=firecracker");
    assertThat(Snapshots.read(Snapshots.dir(home).resolve("old")).vmm()).isEqualTo("qemu");
    assertThatThrownBy(() -> Snapshots.forRestore(home, "old", null, "firecracker", "pod1"))
        .isInstanceOf(SnapshotException.class).hasMessageContaining("taken on the qemu VMM")
        .hasMessageContaining("MICROPOD_VMM=qemu");
  }
}
