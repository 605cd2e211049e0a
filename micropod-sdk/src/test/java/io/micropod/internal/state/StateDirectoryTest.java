package io.micropod.internal.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StateDirectoryTest {
  @TempDir
  Path tmp;

  static PodRecord record(String id, PodRecord.Proc owner, PodRecord.Proc vmm, Path podDir, Path sockDir) {
    return new PodRecord(PodRecord.VERSION, id, "n-" + id, "oci:/x:latest", "qemu", PodRecord.RUNNING, false,
        owner, vmm, null, "", podDir.toString(), sockDir.toString(), sockDir.resolve("agent.sock").toString(),
        Map.of(), "2026-11-28T00:00:00Z", null);
  }

  @Test
  void writeIsAtomicOwnerOnlyAndRoundTrips() throws Exception {
    StateDirectory state = new StateDirectory(tmp);
    PodRecord r = record("abc", PodRecord.Proc.self(), null, tmp.resolve("abc"), tmp.resolve("micropod-abc"));

    state.write(r);

    assertThat(state.read("abc")).contains(r);
    assertThat(Files.getPosixFilePermissions(state.fileOf("abc"))).isEqualTo(PosixFilePermissions.fromString("rw-------"));
    assertThat(Files.getPosixFilePermissions(state.dir())).isEqualTo(PosixFilePermissions.fromString("rwx------"));
    assertThat(Files.readString(state.fileOf("abc"))).doesNotContain("alive");
    try (var s = Files.list(state.dir())) {
      assertThat(s.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder(".lock", "abc.json");
    }
  }

  @Test
  void detailsRoundTripAndRecordsWithoutThemStillRead() throws Exception {
    StateDirectory state = new StateDirectory(tmp);
    PodRecord r = record("det", PodRecord.Proc.self(), null, tmp.resolve("det"), tmp.resolve("micropod-det"))
        .withDetails(new PodRecord.Details(List.of("/bin/sh"), List.of("-c", "exit 3"), "1000",
            "h", "/srv", Map.of("k", "v"), List.of("backend"), List.of("db"), "on-failure:2",
            new PodRecord.Health(List.of("true"), 5000, 1000, 3, 0), Map.of("total", 1234L)));

    state.write(r);

    assertThat(state.read("det")).contains(r);
    // a record of an older version: no details
    state.write(r.withDetails(null));
    assertThat(Files.readString(state.fileOf("det"))).contains("\"details\" : null");
    Files.writeString(state.fileOf("det"), Files.readString(state.fileOf("det")).replace(",\n  \"details\" : null", ""));
    assertThat(state.read("det")).contains(r.withDetails(null));
  }

  @Test
  void aCrashMidWriteLeavesTheOldRecordReadable() throws Exception {
    StateDirectory state = new StateDirectory(tmp);
    PodRecord r = record("abc", PodRecord.Proc.self(), null, tmp.resolve("abc"), tmp.resolve("micropod-abc"));
    state.write(r);
    // what a writer killed before its rename leaves: a torn temp file next to the record
    Files.writeString(state.dir().resolve(".tmp-abc-123.part"), "{\"version\" : 1, \"id\" : \"ab");

    assertThat(state.all()).containsExactly(r);
    assertThat(state.read("abc")).contains(r);
  }

  @Test
  void parsesStartTimeAfterTheLastParenthesisAndTreatsZombiesAsDead() {
    String fields = " S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 424242 20 21";
    assertThat(ProcStat.parseStartTime("77 (we ird) (name)" + fields)).hasValue(424242);
    assertThat(ProcStat.parseStartTime("77 (z)" + fields.replace(" S ", " Z "))).isEmpty();
    assertThat(ProcStat.parseStartTime("garbage")).isEmpty();
    assertThat(ProcStat.startTime(ProcessHandle.current().pid())).isPresent();
  }

  @Test
  void aHelperRecordedAtItsSpawnMovesToItsPlaceWhenItsStepRecordsIt() {
    PodRecord r = record("m1", PodRecord.Proc.self(), null, tmp.resolve("m1"), tmp.resolve("micropod-m1"));
    PodRecord.Proc share = new PodRecord.Proc(101, 1);
    PodRecord.Proc mount = new PodRecord.Proc(102, 2);

    PodRecord spawned = r.withSpawned(share, false).withSpawned(mount, false).withSpawned(share, false);
    assertThat(spawned.processes()).containsExactly(share, mount);
    PodRecord placed = spawned.withVirtiofsd(share).withMounts(List.of("/a:/b:ro"), List.of(mount));
    assertThat(placed.virtiofsd()).isEqualTo(share);
    assertThat(placed.mountDaemons()).containsExactly(mount);
    assertThat(placed.processes()).containsExactly(share, mount);
  }
}
