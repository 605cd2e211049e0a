package io.micropod.internal.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micropod.HostUnsupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConsoleLogsTest {
  @TempDir Path tmp;

  @Test
  void createMakesAnOwnerOnlyFileInAnOwnerOnlyDirectory() throws Exception {
    Files.createDirectories(tmp.resolve("logs"));
    Files.setPosixFilePermissions(tmp.resolve("logs"), PosixFilePermissions.fromString("rwxr-xr-x"));
    ConsoleLogs logs = new ConsoleLogs(tmp);

    Path log = logs.create("abc123");

    assertThat(log).isEqualTo(tmp.resolve("logs/abc123.log")).isEmptyFile();
    assertThat(Files.getPosixFilePermissions(log)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
    assertThat(Files.getPosixFilePermissions(log.getParent())).isEqualTo(PosixFilePermissions.fromString("rwx------"));
    logs.delete("abc123");
    assertThat(log).doesNotExist();
  }

  @Test
  void aConfigDirThatCannotBeMadeNamesItselfAndWhatToDo() throws Exception {
    Path config = Files.writeString(tmp.resolve("file"), "x").resolve("micropod");

    assertThatThrownBy(() -> new ConsoleLogs(config).create("abc"))
        .isInstanceOf(HostUnsupportedException.class)
        .hasMessageContaining(config.resolve("logs").toString())
        .hasMessageContaining("make " + config + " writable")
        .hasMessageContaining("MICROPOD_CONFIG_DIR");
  }

  @Test
  void pruneKeepsTheNewestLogsOfEndedPodsAndEveryLiveOne() throws Exception {
    StateDirectory state = new StateDirectory(tmp);
    ConsoleLogs logs = new ConsoleLogs(tmp);
    List<Path> ended = IntStream.range(0, ConsoleLogs.KEEP_ENDED + 5).mapToObj(i -> logs.create("ended" + i)).toList();
    for (int i = 0; i < ended.size(); i++) {
      Files.setLastModifiedTime(ended.get(i), FileTime.fromMillis(1_000_000L * (i + 1)));
    }
    Path live = logs.create("live0");
    Files.setLastModifiedTime(live, FileTime.fromMillis(1));
    state.write(StateDirectoryTest.record("live0", PodRecord.Proc.self(), null, tmp.resolve("live0"),
        tmp.resolve("micropod-live0")));
    Path stranger = Files.writeString(tmp.resolve("logs/notes.txt"), "mine");

    assertThat(logs.prune(state)).isEqualTo(5);

    assertThat(ended.subList(0, 5)).allSatisfy(p -> assertThat(p).doesNotExist());
    assertThat(ended.subList(5, ended.size())).allSatisfy(p -> assertThat(p).exists());
    assertThat(live).exists();
    assertThat(stranger).exists();
    assertThat(logs.prune(state)).isZero();
  }

  @Test
  void keepDropsALogTheVmNeverWroteTo() throws Exception {
    StateDirectory state = new StateDirectory(tmp);
    ConsoleLogs logs = new ConsoleLogs(tmp);
    Path empty = logs.create("empty1");
    Path written = logs.create("written1");
    Files.writeString(written, "[    0.1] Linux version 6.1\n");

    assertThat(logs.keep("empty1", state)).isFalse();
    assertThat(logs.keep("written1", state)).isTrue();

    assertThat(empty).doesNotExist();
    assertThat(written).exists();
  }
}
