package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.internal.BenchProbes;
import io.micropod.internal.agent.AgentLimits;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * A collecting exec's output over the bulk port (QEMU's second virtio-serial port, past gRPC):
 * complete, in order, stdout and stderr apart, the exit code after the last byte. One real pod.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class BulkExecIT {
  /** 1 MiB: few iterations of the guest's shell loop (each forks a cat: slow under TCG). */
  private static final int BLOCK = 1024 * 1024;
  private MicroPod pod;

  @BeforeAll
  void startPod() {
    pod = MicroPod.builder().image(TestImages.busybox()).command("sleep", "3600").start();
  }

  @AfterAll
  void closePod() {
    if (pod != null) {
      pod.close();
      assertThat(Leaks.of(pod.id())).isEmpty();
    }
  }

  /** Block {@code i} of the output: its number in 8 digits, then zeros to 1 MiB. */
  private static String block(int i) {
    return String.format("%08d", i) + "\0".repeat(BLOCK - 8);
  }

  @Test
  void fiftyMebibytesOfStdoutArriveInOrderApartFromStderrWithTheExitCodeLast() {
    assertThat(BenchProbes.usesBulk(pod)).as("a QEMU pod's execs use the bulk port").isTrue();
    int blocks = 50; // 50 MiB
    // each block numbered, so that a lost, doubled or reordered frame shows; stderr interleaved
    ExecResult r = pod.exec("sh", "-c",
        "dd if=/dev/zero of=/tmp/z bs=" + (BLOCK - 8) + " count=1 2>/dev/null; i=0; while [ $i -lt " + blocks
            + " ]; do printf '%08d' $i; cat /tmp/z; [ $((i % 10)) -eq 0 ] && echo \"err $i\" >&2;"
            + " i=$((i + 1)); done; echo 'stderr last' >&2; exit 7");
    assertThat(r.exitCode()).isEqualTo(7);
    long kept = AgentLimits.MAX_OUTPUT_BYTES;
    String out = r.stdout();
    int keptBlocks = (int) (kept / BLOCK);
    for (int i = 0; i < keptBlocks; i++) {
      String got = out.substring(i * BLOCK, (i + 1) * BLOCK);
      if (!got.equals(block(i))) {
        throw new AssertionError("block " + i + " of the kept stdout is wrong: starts with "
            + got.substring(0, 8).replace('\0', '.'));
      }
    }
    assertThat(out.substring(keptBlocks * BLOCK)).contains(AgentLimits.truncationMarker(kept));
    StringBuilder err = new StringBuilder();
    for (int i = 0; i < blocks; i += 10) {
      err.append("err ").append(i).append('\n');
    }
    assertThat(r.stderr()).isEqualTo(err + "stderr last\n");
  }

  /**
   * Bench P5's exec: dd writing 50 MiB in 64 KiB blocks as fast as it can, read by the agent's
   * direct pump (the pipe into a direct buffer, straight to the port). The native splice pump
   * tried before stalled on exactly this (docs/performance.md).
   */
  @Test
  void ddWritingFiftyMebibytesAsFastAsItCanArrivesWholeAndThePortStaysUsable() {
    long kept = AgentLimits.MAX_OUTPUT_BYTES;
    ExecResult r = pod.exec("dd", "if=/dev/zero", "bs=65536", "count=800");
    assertThat(r.exitCode()).isZero();
    assertThat(r.stderr()).isEqualTo("800+0 records in\n800+0 records out\n");
    String out = r.stdout();
    assertThat(out.substring(0, (int) kept)).isEqualTo("\0".repeat((int) kept));
    assertThat(out.substring((int) kept)).contains(AgentLimits.truncationMarker(kept));
    assertThat(pod.exec("echo", "next").stdout()).isEqualTo("next\n");
    assertThat(BenchProbes.usesBulk(pod)).as("no bad frame").isTrue();
  }

  @Test
  void smallOutputsOfManyExecsStayApartAndComplete() {
    for (int i = 0; i < 5; i++) {
      ExecResult r = pod.exec("sh", "-c", "echo out" + i + "; echo err" + i + " >&2; exit " + i);
      assertThat(r.stdout()).isEqualTo("out" + i + "\n");
      assertThat(r.stderr()).isEqualTo("err" + i + "\n");
      assertThat(r.exitCode()).isEqualTo(i);
    }
    assertThat(BenchProbes.usesBulk(pod)).isTrue();
  }

  @Test
  void anExecWithATerminalStaysOnGrpcAndTheBulkPortStaysUsable() {
    ExecResult tty = pod.exec(ExecSpec.builder("sh", "-c", "echo on-a-tty").tty(80, 24).build());
    assertThat(tty.stdout()).contains("on-a-tty");
    ExecResult r = pod.exec("echo", "after");
    assertThat(r.stdout()).isEqualTo("after\n");
    assertThat(BenchProbes.usesBulk(pod)).isTrue();
  }

  /**
   * The exec's process exits at once, but a background child keeps its stdout and writes past the
   * agent's 2 s output grace: the exec returns with what came before its end, the late lines are
   * dropped (as docker exec drops them), and no frame of the ended stream reaches the host, which
   * would break the pod's bulk channel (failing the exec reading it then) and send later execs
   * to gRPC.
   */
  @Test
  void aBackgroundChildWritingAfterTheExecEndedLeavesTheNextExecsOutputOnTheBulkPortIntact() {
    assertThat(BenchProbes.usesBulk(pod)).isTrue();
    ExecResult first = pod.exec("sh", "-c",
        "rm -f /tmp/late-done; (sleep 4; echo late; sleep 1; echo later >&2; sleep 1; touch /tmp/late-done) &"
            + " echo now");
    assertThat(first.exitCode()).isZero();
    assertThat(first.stdout()).isEqualTo("now\n");
    assertThat(first.stderr()).isEmpty();
    // this exec's stream is open while the child writes its late lines (bounded: 60 s)
    ExecResult second = pod.exec("sh", "-c",
        "i=0; while [ ! -e /tmp/late-done ] && [ $i -lt 60 ]; do sleep 1; i=$((i + 1)); done;"
            + " test -e /tmp/late-done || exit 9; echo second; echo second-err >&2");
    assertThat(second.exitCode()).as("the child finished its late writes").isZero();
    assertThat(second.stdout()).isEqualTo("second\n");
    assertThat(second.stderr()).isEqualTo("second-err\n");
    assertThat(BenchProbes.usesBulk(pod)).as("no frame after an end frame broke the channel").isTrue();
    ExecResult third = pod.exec("sh", "-c", "dd if=/dev/zero bs=65536 count=16 2>/dev/null | wc -c");
    assertThat(third.stdout().trim()).isEqualTo("1048576");
    assertThat(BenchProbes.usesBulk(pod)).as("still on the bulk port").isTrue();
  }

  @Test
  void aPodRestoredFromASnapshotReconnectsItsBulkPort() {
    try (MicroPodRuntime runtime = MicroPodRuntime.builder().home(TestImages.home()).build();
        MicroPod source = MicroPod.builder().runtime(runtime).image(TestImages.busybox())
            .command("sleep", "3600").snapshottable(true).start()) {
      assertThat(source.exec("echo", "before").stdout()).isEqualTo("before\n"); // the agent opened the port
      PodSnapshot snapshot = source.snapshot("bulk-it-" + source.id());
      try (MicroPod fork = MicroPod.builder().runtime(runtime).fromSnapshot(snapshot).start()) {
        assertThat(BenchProbes.usesBulk(fork)).as("the restored pod's host end is connected").isTrue();
        ExecResult r = fork.exec("sh", "-c", "dd if=/dev/zero bs=65536 count=64 2>/dev/null | wc -c; echo e >&2");
        assertThat(r.stdout().trim()).isEqualTo("4194304");
        assertThat(r.stderr()).isEqualTo("e\n");
        ExecResult big = fork.exec("dd", "if=/dev/zero", "bs=65536", "count=64");
        assertThat(big.stdout()).hasSize(4 << 20);
        assertThat(BenchProbes.usesBulk(fork)).as("no bad frame after the restore").isTrue();
      } finally {
        runtime.removeSnapshot(snapshot.name());
      }
    }
  }
}
