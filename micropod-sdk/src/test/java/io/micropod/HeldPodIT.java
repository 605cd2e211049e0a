package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.internal.agent.AgentRelay;
import io.micropod.internal.state.PodRecord;
import io.micropod.internal.state.ProcStat;
import io.micropod.internal.state.StateDirectory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A second JVM (this one) reaches a pod that a live JVM (a child) holds, through the owner's agent
 * relay: it execs into it (two handles at once), follows its logs and stops it; the owner sees its
 * container exit and removes the pod.
 */
class HeldPodIT {

  @Test
  @Timeout(value = 6, unit = TimeUnit.MINUTES)
  void secondJvmExecsFollowsLogsAndStopsAPodALiveJvmHolds() throws Exception {
    String id = null;
    MicroPodRuntime runtime = MicroPodRuntime.defaultRuntime();
    try (ChildJvm owner = ChildJvm.start("hold-ticking")) {
      id = owner.await("POD ", Duration.ofMinutes(4));
      PodRecord record = new StateDirectory(runtime.configDir()).read(id).orElseThrow();
      assertThat(record.owner().pid()).isEqualTo(owner.process().pid());
      Path relay = AgentRelay.socketOf(Path.of(record.socketDir()));
      assertThat(Files.getPosixFilePermissions(relay)).isEqualTo(PosixFilePermissions.fromString("rw-------"));

      try (MicroPod pod = runtime.attach(id); MicroPod second = runtime.attach(id)) {
        // both handles at once, each its own connection to the owner's relay
        CompletableFuture<ExecResult> a = CompletableFuture.supplyAsync(() -> pod.exec("sh", "-c", "sleep 1; echo one"));
        CompletableFuture<ExecResult> b = CompletableFuture.supplyAsync(() -> second.exec("echo", "two"));
        assertThat(a.get(60, TimeUnit.SECONDS).stdout()).isEqualTo("one\n");
        assertThat(b.get(60, TimeUnit.SECONDS).stdout()).isEqualTo("two\n");
        assertThat(pod.exec("sh", "-c", "exit 3").exitCode()).isEqualTo(3);
        assertThat(pod.logs()).contains("tick 0\n");

        List<String> followed = new CopyOnWriteArrayList<>();
        try (MicroPod.LogFollower follower = second.followLogs(line -> followed.add(line.text()))) {
          awaitTrue(() -> followed.stream().filter(l -> l.startsWith("tick ")).count() >= 3, Duration.ofSeconds(60),
              () -> "three ticks followed: " + followed);
          // the owner still holds the pod: this JVM did not take it over
          assertThat(new StateDirectory(runtime.configDir()).read(id).orElseThrow().owner())
              .isEqualTo(record.owner());

          assertThat(pod.stop(Duration.ofSeconds(20))).isEqualTo(5); // the container's TERM trap
          follower.awaitEnd(Duration.ofSeconds(30));
          assertThat(followed).contains("got TERM");
        }
      }
      // closing the visiting handles left the pod to its owner, which saw the exit and removed it
      assertThat(owner.await("EXITED ", Duration.ofSeconds(60))).isEqualTo("5");
      assertThat(owner.waitFor(Duration.ofSeconds(60))).isZero();
      assertThat(record.vmm().isAlive()).isFalse();
      assertThat(Leaks.of(id)).isEmpty();
      assertThat(relay).doesNotExist();
    } finally {
      if (id != null) {
        new StateDirectory(runtime.configDir()).read(id).ifPresent(r -> r.processes()
            .forEach(p -> ProcStat.killIfSame(p.pid(), p.startTime())));
      }
    }
  }

  private static void awaitTrue(java.util.function.BooleanSupplier condition, Duration timeout,
      java.util.function.Supplier<String> what) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("not within " + timeout + ": " + what.get());
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
    }
  }
}
