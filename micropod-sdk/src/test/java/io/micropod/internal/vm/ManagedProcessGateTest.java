package io.micropod.internal.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A detached process runs only after its pod recorded it (else a killed JVM would leak it). */
@Timeout(30)
class ManagedProcessGateTest {
  @TempDir Path tmp;

  @Test
  void aDetachedProcessRunsOnlyAfterItsRecorderReturned() throws Exception {
    Path ran = tmp.resolve("ran");
    AtomicBoolean ranBeforeRecorded = new AtomicBoolean(true);
    long[] recordedPid = {-1};
    ManagedProcess.recordSpawns("gatepod1", (role, pid) -> {
      recordedPid[0] = pid;
      ranBeforeRecorded.set(Files.exists(ran));
    });
    ManagedProcess p = null;
    try {
      p = ManagedProcess.start("gatepod1", "helper", List.of("sh", "-c", "touch " + ran + "; exec sleep 30"),
          tmp.resolve("helper.log"), true);

      assertThat(recordedPid[0]).isEqualTo(p.pid());
      assertThat(ranBeforeRecorded).isFalse();
      assertThat(p.awaitFile(ran, Instant.now().plusSeconds(10))).isEqualTo(ManagedProcess.Await.APPEARED);
      assertThat(p.isAlive()).isTrue();
    } finally {
      ManagedProcess.forgetSpawns("gatepod1");
      if (p != null) {
        p.stop(Duration.ZERO);
      }
    }
  }

  @Test
  void aDetachedProcessThatCannotBeRecordedNeverRuns() throws Exception {
    Path ran = tmp.resolve("ran");
    long[] gate = {-1};
    ManagedProcess.recordSpawns("gatepod2", (role, pid) -> {
      gate[0] = pid;
      throw new IllegalStateException("disk full");
    });
    try {
      assertThatThrownBy(() -> ManagedProcess.start("gatepod2", "helper", List.of("touch", ran.toString()),
          tmp.resolve("helper.log"), true))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("cannot record helper")
          .hasMessageContaining("disk full");
    } finally {
      ManagedProcess.forgetSpawns("gatepod2");
    }
    // the gate is killed while it still waits: once it is gone, the command never ran
    Instant deadline = Instant.now().plusSeconds(10);
    while (ProcessHandle.of(gate[0]).filter(ProcessHandle::isAlive).isPresent() && Instant.now().isBefore(deadline)) {
      Thread.onSpinWait();
    }
    assertThat(ProcessHandle.of(gate[0]).filter(ProcessHandle::isAlive)).isEmpty();
    assertThat(ran).doesNotExist();
  }
}
