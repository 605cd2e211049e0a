package io.micropod.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.internal.base.RuntimeConfig;
import io.micropod.internal.state.ConsoleLogs;
import io.micropod.internal.state.OrphanReaper;
import io.micropod.internal.state.PodRecord;
import io.micropod.internal.state.StateDirectory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sweep of dead owners' pods: {@code OrphanReaper} (state package) decides which records are
 * orphans, {@code PodStates.reap} undoes each with {@code PodResources}. Real processes stand in
 * for the VMM and virtiofsd; a recycled pid is a live process recorded with another start time.
 */
class OrphanReaperTest {
  @TempDir
  Path tmp;
  private RuntimeServices runtime;
  private StateDirectory state;

  @BeforeEach
  void setUp() {
    runtime = new RuntimeServices(new RuntimeConfig(tmp.resolve("home"), "qemu", null, null, null, null, Map.of(), tmp));
    state = runtime.state();
  }

  @AfterEach
  void tearDown() {
    runtime.close();
  }

  static PodRecord record(String id, PodRecord.Proc owner, PodRecord.Proc vmm, Path podDir, Path sockDir) {
    return new PodRecord(PodRecord.VERSION, id, "n-" + id, "oci:/x:latest", "qemu", PodRecord.RUNNING, false,
        owner, vmm, null, "", podDir.toString(), sockDir.toString(), sockDir.resolve("agent.sock").toString(),
        Map.of(), "2026-11-28T00:00:00Z", null);
  }

  static PodRecord.Proc deadOwner() throws Exception {
    Process owner = new ProcessBuilder("true").start();
    assertThat(owner.waitFor(10, TimeUnit.SECONDS)).isTrue();
    return new PodRecord.Proc(owner.pid(), 1);
  }

  @Test
  void sweepKillsOnlyProcessesWhosePidAndStartTimeMatchAndRemovesTheFiles() throws Exception {
    PodRecord.Proc gone = deadOwner();
    Process vmm = new ProcessBuilder("sleep", "60").start();
    Process notOurs = new ProcessBuilder("sleep", "60").start();
    try {
      Path podDir = Files.createDirectory(tmp.resolve("p1"));
      Path sockDir = Files.createDirectory(tmp.resolve("micropod-p1"));
      state.write(record("p1", gone, PodRecord.Proc.of(vmm.pid()), podDir, sockDir));
      // a recycled pid: same pid, other start time: never killed
      Path podDir2 = Files.createDirectory(tmp.resolve("p2"));
      PodRecord.Proc recycled = new PodRecord.Proc(notOurs.pid(), PodRecord.Proc.of(notOurs.pid()).startTime() - 5);
      state.write(record("p2", gone, recycled, podDir2, tmp.resolve("micropod-p2")));
      // a live owner: kept
      state.write(record("p3", PodRecord.Proc.self(), null, tmp.resolve("p3"), tmp.resolve("micropod-p3")));

      assertThat(runtime.reapOrphans()).containsExactlyInAnyOrder("p1", "p2");

      assertThat(vmm.waitFor(10, TimeUnit.SECONDS)).isTrue();
      assertThat(notOurs.isAlive()).isTrue();
      assertThat(podDir).doesNotExist();
      assertThat(sockDir).doesNotExist();
      assertThat(podDir2).doesNotExist();
      assertThat(state.all()).extracting(PodRecord::id).containsExactly("p3");
    } finally {
      vmm.destroyForcibly();
      notOurs.destroyForcibly();
    }
  }

  @Test
  void aDetachedPodWhoseOwnerDiedBeforeItsStartCompletedIsReapedWithItsRecordedHelpers() throws Exception {
    PodRecord.Proc gone = deadOwner();
    Process vmm = new ProcessBuilder("sleep", "60").start();
    Process helper = new ProcessBuilder("sleep", "60").start();
    Process runningVmm = new ProcessBuilder("sleep", "60").start();
    try {
      PodRecord starting = new PodRecord(PodRecord.VERSION, "s1", null, "oci:/x:latest", "qemu", PodRecord.STARTING,
          true, gone, null, null, "", tmp.resolve("s1").toString(), tmp.resolve("micropod-s1").toString(),
          tmp.resolve("micropod-s1/agent.sock").toString(), Map.of(), "2026-11-28T00:00:00Z", null)
          .withSpawned(PodRecord.Proc.of(helper.pid()), false)
          .withSpawned(PodRecord.Proc.of(vmm.pid()), true);
      state.write(starting);
      // a detached pod whose start completed outlives its owner
      PodRecord running = new PodRecord(PodRecord.VERSION, "r1", null, "oci:/x:latest", "qemu", PodRecord.RUNNING,
          true, gone, PodRecord.Proc.of(runningVmm.pid()), null, "", tmp.resolve("r1").toString(),
          tmp.resolve("micropod-r1").toString(), tmp.resolve("micropod-r1/agent.sock").toString(), Map.of(),
          "2026-11-28T00:00:00Z", null);
      state.write(running);

      assertThat(OrphanReaper.isLive(starting)).isFalse();
      assertThat(OrphanReaper.isLive(running)).isTrue();
      assertThat(runtime.reapOrphans()).containsExactly("s1");

      assertThat(vmm.waitFor(10, TimeUnit.SECONDS)).isTrue();
      assertThat(helper.waitFor(10, TimeUnit.SECONDS)).isTrue();
      assertThat(runningVmm.isAlive()).isTrue();
      assertThat(state.all()).extracting(PodRecord::id).containsExactly("r1");
    } finally {
      vmm.destroyForcibly();
      helper.destroyForcibly();
      runningVmm.destroyForcibly();
    }
  }

  @Test
  void sweepDeletesOnlyDirectoriesNamedAsMicroPodNamesThem() throws Exception {
    Path precious = Files.createDirectory(tmp.resolve("precious"));
    Files.writeString(precious.resolve("keep.txt"), "x");
    state.write(record("p9", deadOwner(), null, precious, precious));

    runtime.reapOrphans();

    assertThat(precious.resolve("keep.txt")).exists();
    assertThat(state.all()).isEmpty();
  }

  @Test
  void theSweepOfADeadOwnersPodKillsItsMountDaemonsAndKeepsItsConsoleLog() throws Exception {
    ConsoleLogs logs = runtime.consoleLogs();
    Process mountDaemon = new ProcessBuilder("sleep", "60").start();
    try {
      Path log = logs.create("p1");
      Files.writeString(log, "[    0.000000] Linux version 6.1\n"); // what the guest wrote before its owner died
      Path podDir = Files.createDirectories(tmp.resolve("p1"));
      Path sockDir = Files.createDirectories(tmp.resolve("micropod-p1"));
      state.write(record("p1", deadOwner(), null, podDir, sockDir)
          .withConsoleLog(log.toString())
          .withMounts(List.of("/h:/c:ro"), List.of(PodRecord.Proc.of(mountDaemon.pid()))));
      assertThat(state.read("p1").orElseThrow().mountDaemons()).hasSize(1);

      assertThat(runtime.reapOrphans()).containsExactly("p1");

      assertThat(mountDaemon.waitFor(10, TimeUnit.SECONDS)).isTrue();
      assertThat(podDir).doesNotExist();
      assertThat(state.read("p1")).isEmpty();
      assertThat(log).hasContent("[    0.000000] Linux version 6.1");
    } finally {
      mountDaemon.destroyForcibly();
    }
  }

  @org.junit.jupiter.api.Test
  void aPausedDetachedPodWhoseOwnerExitedIsStillLiveLikeARunningOne() {
    // failed before (CliIT): `micropod pause` (an owner that exits at once) left a PAUSED record
    // that the next sweep reaped, stopping the pod
    PodRecord.Proc deadOwner = new PodRecord.Proc(Integer.MAX_VALUE, 1);
    java.util.function.Function<String, PodRecord> detached = status -> new PodRecord(PodRecord.VERSION,
        "abc", null, "oci:/i", "qemu", status, true, deadOwner, PodRecord.Proc.self(), null, null, "/p", "/s",
        "/s/agent.sock", Map.of(), "2026-01-01T00:00:00Z", null);

    assertThat(OrphanReaper.isLive(detached.apply(PodRecord.PAUSED))).isTrue();
    assertThat(OrphanReaper.isLive(detached.apply(PodRecord.RUNNING))).isTrue();
    assertThat(OrphanReaper.isLive(detached.apply(PodRecord.STARTING))).isFalse();
  }

  @org.junit.jupiter.api.Test
  void aRunningPodWhoseAgentSaidItsMainProcessExitedIsListedAsExitedWithItsSpec() throws Exception {
    PodRecord.Proc deadOwner = new PodRecord.Proc(Integer.MAX_VALUE, 1);
    Path console = tmp.resolve("c.log");
    Files.writeString(console, "micropod-agent INFO state abc state=stopped health=none streak=0 restarts=0"
        + " exit=3 at=1764979260000\n");
    PodRecord r = new PodRecord(PodRecord.VERSION, "abc", null, "oci:/i", "qemu", PodRecord.RUNNING, true,
        deadOwner, PodRecord.Proc.self(), null, null, "/p", "/s", "/s/agent.sock", Map.of(), "2025-01-01T00:00:00Z",
        "2025-01-01T00:00:01Z").withConsoleLog(console.toString())
        .withDetails(new PodRecord.Details(null, java.util.List.of("sh"), null, null, null,
            Map.of(), java.util.List.of(), java.util.List.of(), "always", null, Map.of("total", 900L)));

    io.micropod.PodInfo info = PodStates.info(r);

    assertThat(info.status()).isEqualTo(io.micropod.PodInfo.Status.EXITED);
    assertThat(info.lastExitCode()).hasValue(3);
    assertThat(info.finishedAt()).contains(java.time.Instant.ofEpochMilli(1764979260000L));
    assertThat(info.config().orElseThrow().command()).containsExactly("sh");
    assertThat(info.config().orElseThrow().restart()).isEqualTo(io.micropod.RestartPolicy.always());
    assertThat(info.bootTimings().orElseThrow().total()).isEqualTo(java.time.Duration.ofMillis(900));
    // an exit by the guest's clock before the recorded start shows at the start
    assertThat(PodStates.info(r.withStarted("2025-12-07T00:00:00Z")).finishedAt())
        .contains(java.time.Instant.parse("2025-12-07T00:00:00Z"));
    // the guest's word never turns a starting or paused pod into an exited one
    assertThat(PodStates.info(r.withStatus(PodRecord.PAUSED)).status()).isEqualTo(io.micropod.PodInfo.Status.PAUSED);
    assertThat(OrphanReaper.isLive(r)).isTrue(); // kept, with its VM, until rm
  }
}
