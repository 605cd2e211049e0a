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
}
