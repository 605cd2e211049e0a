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
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * A JVM that started a pod is killed with SIGKILL: its VMM and virtiofsd die with it (parent
 * death signal), and the next runtime start removes its records and directories. CI runs it 3
 * times; {@code -Dmicropod.it.sigkill20=true} adds the 20-run variant (docs/reliability.md).
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
}
