package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micropod.internal.BenchProbes;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link ExecSpec#timeout()} on one real pod (QEMU, agent, the exec helper), shared by the tests:
 * the blocking exec over the bulk port, the streaming exec over gRPC, and a guest that stops
 * answering (the VM paused) so that only the host's deadline can end the call.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class ExecTimeoutIT {
  private static final Duration TIMEOUT = Duration.ofSeconds(2);
  /** What the caller may wait at most: the deadline, then the grace for the guest's answer. */
  private static final Duration BOUND = TIMEOUT.plus(ExecSpec.KILL_GRACE);

  private static MicroPod pod;

  @BeforeAll
  static void startPod() {
    pod = MicroPod.builder().image(TestImages.busybox()).command("sleep", "3600").start();
  }

  @AfterAll
  static void closePod() {
    if (pod != null) {
      pod.close();
      assertThat(Leaks.of(pod.id())).isEmpty();
    }
  }

  /** The container's processes whose command line holds {@code marker}, as {@code ps} lists them. */
  private static String processesWith(String marker) {
    // [s]leep: the grep's own command line does not match itself
    return pod.exec("sh", "-c", "ps -o pid,args | grep '[s]" + marker.substring(1) + "' || true").stdout();
  }

  @Test
  void aBlockingExecPastItsTimeoutIsKilledWithItsBackgroundChildAndThrowsWithItsOutput() {
    assertThat(BenchProbes.usesBulk(pod)).as("a plain exec's output comes over the bulk port").isTrue();
    // tag::exec-timeout[]
    ExecSpec spec = ExecSpec.builder("sh", "-c", "echo before; echo err >&2; sleep 61 & sleep 62")
        .timeout(Duration.ofSeconds(2)) // then kill it, and its background sleep too
        .build();
    // pod.exec(spec) throws ExecTimeoutException: stdout() "before\n", stderr() "err\n"
    // end::exec-timeout[]
    long t0 = System.nanoTime();

    assertThatThrownBy(() -> pod.exec(spec)).isInstanceOfSatisfying(ExecTimeoutException.class, e -> {
      assertThat(e.killConfirmed()).isTrue();
      assertThat(e.stdout()).isEqualTo("before\n");
      assertThat(e.stderr()).isEqualTo("err\n");
      assertThat(e.timeout()).isEqualTo(TIMEOUT);
      assertThat(e.command()).containsExactly("sh", "-c", "echo before; echo err >&2; sleep 61 & sleep 62");
      assertThat(e.podId()).isEqualTo(pod.id());
      assertThat(e).hasMessageContaining("timeout of 2 s").hasMessageContaining("ExecSpec.Builder.timeout");
    });
    Duration took = Duration.ofNanos(System.nanoTime() - t0);

    assertThat(took).isBetween(TIMEOUT, BOUND);
    assertThat(processesWith("sleep 6")).as("the exec and its background child are gone").isEmpty();
    assertThat(pod.exec("echo", "next").stdout()).isEqualTo("next\n");
  }

  @Test
  void aStreamingExecPastItsTimeoutIsKilledAndAwaitSaysTheDeadlineEndedIt() {
    // execStreaming's output comes over gRPC, not the bulk port: the other transport
    ExecProcess p = pod.execStreaming(ExecSpec.builder("sh", "-c", "echo before; sleep 63 & sleep 64")
        .timeout(TIMEOUT).build());
    long t0 = System.nanoTime();

    assertThatThrownBy(p::await).isInstanceOfSatisfying(ExecTimeoutException.class, e -> {
      assertThat(e.killConfirmed()).isTrue();
      assertThat(e.stdout()).isEqualTo("before\n");
    });

    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(BOUND);
    assertThat(processesWith("sleep 6")).as("the exec and its background child are gone").isEmpty();
  }

  @Test
  void aTtyExecPastItsTimeoutIsKilled() {
    ExecSpec spec = ExecSpec.builder("sleep", "65").tty(80, 24).timeout(TIMEOUT).build();

    assertThatThrownBy(() -> pod.exec(spec)).isInstanceOfSatisfying(ExecTimeoutException.class,
        e -> assertThat(e.killConfirmed()).isTrue());
    assertThat(processesWith("sleep 65")).isEmpty();
  }

  @Test
  void anExecWhoseGuestStopsAnsweringFailsWithinTimeoutPlusGrace() throws Exception {
    String started = "/tmp/started-" + System.nanoTime();
    ExecSpec spec = ExecSpec.builder("sh", "-c", "touch " + started + "; sleep 66").timeout(TIMEOUT).build();
    CompletableFuture<ExecResult> exec = CompletableFuture.supplyAsync(() -> pod.exec(spec));
    until("the exec started", () -> exec.isDone() || pod.exec("test", "-e", started).exitCode() == 0);
    long t0 = System.nanoTime();
    pod.pause(); // the agent answers nothing now: not the kill, not the exit
    try {
      assertThatThrownBy(() -> exec.get(BOUND.plusSeconds(10).toMillis(), TimeUnit.MILLISECONDS))
          .isInstanceOf(ExecutionException.class).cause()
          .isInstanceOfSatisfying(ExecTimeoutException.class, e -> {
            assertThat(e.killConfirmed()).isFalse();
            assertThat(e).hasMessageContaining("did not confirm");
          });
      // the deadline counts from the exec's start, before the pause
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(BOUND.plusSeconds(1));
    } finally {
      pod.resume();
    }
    // the host cancelled the call: the agent, running again, ends the process
    until("the cancelled exec's process is gone", () -> processesWith("sleep 66").isEmpty());
    assertThat(pod.exec("echo", "next").stdout()).isEqualTo("next\n");
  }

  private static void until(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within 60 s: " + what);
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
    }
  }
}
