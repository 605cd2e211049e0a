package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.internal.state.PodRecord;
import io.micropod.internal.state.StateDirectory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.RepetitionInfo;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A JVM that started a pod is killed with SIGKILL: its VMM and virtiofsd die with it (parent
 * death signal), and the next runtime start removes its records and directories. CI runs it 3
 * times; {@code -Dmicropod.it.sigkill20=true} adds the 20-run variant (docs/reliability.md).
 *
 * <p>A <b>detached</b> pod's processes outlive the JVM on purpose, so a JVM killed while its
 * {@code start()} runs must have recorded each of them before it could run: the next sweep then
 * reaps them. CI kills at four points (a helper or the VMM just spawned, found by polling the
 * process table; the start of agent connect and of container start, from inside the child's
 * listener); the opt-in property adds kills at 20 spread times after the first phase.
 */
class SigkillLeakIT {

  @RepeatedTest(3)
  void killedJvmLeavesNothingBehind() throws Exception {
    killAndCheck(true);
  }

  @RepeatedTest(20)
  @EnabledIfSystemProperty(named = "micropod.it.sigkill20", matches = "true")
  void killedJvmLeavesNothingBehind20Times(RepetitionInfo info) throws Exception {
    killAndCheck(false);
  }

  private static void killAndCheck(boolean checkBusy) throws Exception {
    MicroPodRuntime runtime = MicroPodRuntime.defaultRuntime();
    StateDirectory state = new StateDirectory(runtime.configDir());
    ChildJvm child = ChildJvm.start("hold");
    String id;
    PodRecord record;
    try {
      id = child.await("POD ", Duration.ofMinutes(4));
      record = state.read(id).orElseThrow();
      assertThat(record.vmm().isAlive()).isTrue();
      assertThat(record.virtiofsd().isAlive()).isTrue();
      if (checkBusy) {
        // a held pod is visited through its owner's relay, which stays the owner
        MicroPod visitor = runtime.attach(id);
        assertThat(visitor.exec("echo", "via-relay").stdout()).isEqualTo("via-relay\n");
        visitor.close(); // only disconnects
        assertThat(record.vmm().isAlive()).isTrue();
        assertThat(state.read(id).orElseThrow().owner()).isEqualTo(record.owner());
      }
    } finally {
      child.process().destroyForcibly(); // SIGKILL: no shutdown hook runs
    }
    assertThat(child.process().waitFor(30, TimeUnit.SECONDS)).isTrue();

    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while ((record.vmm().isAlive() || record.virtiofsd().isAlive()) && System.nanoTime() < deadline) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
    }
    assertThat(record.vmm().isAlive()).as("qemu pid %d after its JVM was killed", record.vmm().pid()).isFalse();
    assertThat(record.virtiofsd().isAlive()).as("virtiofsd pid %d", record.virtiofsd().pid()).isFalse();

    // the next runtime start (list() sweeps as a start does) removes the files
    assertThat(runtime.list()).noneMatch(i -> i.id().equals(id));
    assertThat(Files.exists(state.fileOf(id))).isFalse();
    assertThat(Files.exists(Path.of(record.podDir()))).isFalse();
    assertThat(Files.exists(Path.of(record.socketDir()))).isFalse();
    assertThat(Leaks.of(id)).isEmpty();
  }

  /** Kill points: a process of the pod appeared (by its command line), or a phase started. */
  @ParameterizedTest
  @ValueSource(strings = {"spawned:virtiofsd", "spawned:qemu-system", "AGENT_CONNECT", "CONTAINER_START"})
  @Timeout(300)
  void aDetachedPodsJvmKilledDuringStartLeavesNothingRunning(String point) throws Exception {
    if (point.startsWith("spawned:")) {
      killDetachedStartAndCheck("none", point.substring("spawned:".length()), 0, false);
    } else {
      killDetachedStartAndCheck(point, null, 0, false);
    }
  }

  @RepeatedTest(20)
  @EnabledIfSystemProperty(named = "micropod.it.sigkill20", matches = "true")
  @Timeout(300)
  void aDetachedPodsJvmKilledAtSpreadTimesDuringStartLeavesNothingRunning(RepetitionInfo info) throws Exception {
    // 0 to 7.6 s after the first phase: pull, virtiofsd, QEMU spawn and the boot under TCG (a
    // start takes ~9 s here); a kill that comes after start() returned checks the other side:
    // the started detached pod survives its JVM and closes cleanly
    killDetachedStartAndCheck("none", null, (info.getCurrentRepetition() - 1) * 400L, true);
  }

  /**
   * Starts a detached pod in a child JVM and SIGKILLs that JVM: at phase {@code phase} (from
   * its listener), as soon as a process of the pod whose command line contains {@code process}
   * runs, or {@code delayMillis} after the first phase. Then the sweep must leave nothing. When
   * the kill came after {@code start()} returned ({@code completedIsFine} only), the pod must
   * instead survive the sweep, and closing an attached handle must leave nothing.
   */
  private static void killDetachedStartAndCheck(String phase, String process, long delayMillis,
      boolean completedIsFine) throws Exception {
    MicroPodRuntime runtime = MicroPodRuntime.defaultRuntime();
    String id;
    try (ChildJvm child = ChildJvm.start("start-detached-watched", phase)) {
      id = child.await("PHASE ", Duration.ofMinutes(2)).split(" ")[0];
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(4);
      long killAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(delayMillis);
      while (child.process().isAlive() && System.nanoTime() < deadline) {
        if (process != null && runningWith(id, process)) {
          break;
        }
        if (process == null && phase.equals("none") && System.nanoTime() - killAt >= 0) {
          break;
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(process != null ? 1 : 10));
      }
      child.process().destroyForcibly(); // SIGKILL (a no-op when it killed itself)
      assertThat(child.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
      if (child.output().contains("POD " + id)) {
        assertThat(runtime.list()).as("a started detached pod survives its JVM").anyMatch(i -> i.id().equals(id));
        runtime.attach(id).close();
        assertThat(Leaks.of(id)).isEmpty();
        assertThat(completedIsFine).as("the kill came after start() returned; the child's output:\n%s",
            child.output()).isTrue();
        return;
      }
    }

    // the next runtime start (list() sweeps as a start does) reaps what the record names
    assertThat(runtime.list()).noneMatch(i -> i.id().equals(id));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (!Leaks.of(id).isEmpty() && System.nanoTime() < deadline) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
    }
    assertThat(Leaks.of(id)).as("what pod %s left after its JVM was killed during start()", id).isEmpty();
    assertThat(new StateDirectory(runtime.configDir()).read(id)).isEmpty();
  }

  private static boolean runningWith(String podId, String what) {
    return ProcessHandle.allProcesses().anyMatch(p -> p.isAlive() && p.info().commandLine()
        .filter(c -> c.contains(podId) && c.contains(what)).isPresent());
  }
}
