package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micropod.internal.state.StateDirectory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Faults around snapshots (issue 18, docs/snapshots.md): a JVM SIGKILLed while it takes a
 * snapshot or restores one, and a full disk. One detached snapshottable pod whose container counts
 * in a loop, and one snapshot of it, shared by the tests (run one after another: the full-disk
 * test mounts a small tmpfs over the home's snapshot directory for its duration).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class SnapshotFaultIT {
  private static final String COUNTER =
      "i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.2; done";

  private MicroPodRuntime runtime;
  private MicroPod source;
  private PodSnapshot snapshot;

  @BeforeAll
  void startSourceAndSnapshotIt() {
    runtime = MicroPodRuntime.builder().home(TestImages.home()).build();
    source = MicroPod.builder().runtime(runtime).image(TestImages.busybox()).detached(true)
        .command("sh", "-c", COUNTER).snapshottable(true).start();
    snapshot = source.snapshot("fault-" + source.id());
  }

  @AfterAll
  void closeEverything() {
    try {
      if (source != null) {
        source.close();
        assertThat(Leaks.of(source.id())).isEmpty();
      }
      if (snapshot != null) {
        runtime.removeSnapshot(snapshot.name());
      }
      assertThat(tempDirs("")).isEmpty();
    } finally {
      runtime.close();
    }
  }

  @Test
  void aJvmKilledWhileTakingASnapshotLeavesNoSnapshotAndTheDetachedPodRunsOn() throws Exception {
    String name = "fault-killed-" + source.id();
    try (ChildJvm child = ChildJvm.start("snapshot-of", source.id(), name)) {
      // the kill comes once the writer's temp directory holds the device state: the guest is
      // paused then, and the snapshot half written
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
      while (tempDirs(name).stream().noneMatch(d -> Files.exists(d.resolve("state")))) {
        assertThat(child.process().isAlive()).as("the child, before its snapshot started:\n%s", child.output()).isTrue();
        assertThat(System.nanoTime() - deadline).as("the child's snapshot did not start:\n%s", child.output()).isNegative();
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
      }
      child.process().destroyForcibly(); // SIGKILL
      assertThat(child.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(child.output()).doesNotContain("SNAPSHOT " + name);
    }

    // the half-written snapshot is never listed, and listing removes it (its writer is dead)
    assertThat(runtime.snapshots()).noneMatch(s -> s.name().equals(name));
    assertThat(runtime.snapshot(name)).isEmpty();
    assertThat(tempDirs(name)).isEmpty();
    // a sweep (any list or start) lets the guest the dead writer paused run on
    assertThat(runtime.list()).anyMatch(p -> p.id().equals(source.id()));
    assertThat(within(Duration.ofSeconds(60), () -> source.exec("echo", "alive").stdout())).isEqualTo("alive\n");
    long count = count(source);
    awaitCount(source, count + 2);
  }

  /**
   * Kill points: a phase's start (from the child's listener), or "spawned:X": as soon as a process
   * of the pod whose command line holds X runs (QEMU waiting for the device state).
   */
  @ParameterizedTest
  @CsvSource({"AGENT_CONNECT, attached", "AGENT_CONNECT, detached", "spawned:qemu-system, detached"})
  @Timeout(300)
  void aJvmKilledWhileRestoringLeavesNothingRunning(String point, String mode) throws Exception {
    String id;
    try (ChildJvm child = ChildJvm.start("restore-watched", snapshot.name(),
        point.startsWith("spawned:") ? "none" : point, mode)) {
      id = child.await("PHASE ", Duration.ofMinutes(2)).split(" ")[0];
      if (point.startsWith("spawned:")) {
        String what = point.substring("spawned:".length());
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (child.process().isAlive() && !runningWith(id, what) && System.nanoTime() - deadline < 0) {
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
      }
      child.process().destroyForcibly(); // SIGKILL (a no-op when it killed itself)
      assertThat(child.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(child.output()).as("the kill came before start() returned").doesNotContain("POD " + id);
    }

    // the next sweep reaps what the record names; the pod's own RAM copy goes with its directory
    assertThat(runtime.list()).noneMatch(i -> i.id().equals(id));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (!Leaks.of(id).isEmpty() && System.nanoTime() < deadline) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
    }
    assertThat(Leaks.of(id)).as("what restored pod %s left after its JVM was killed", id).isEmpty();
    assertThat(new StateDirectory(runtime.configDir()).read(id)).isEmpty();
    // the snapshot it restored from is untouched, and the source runs on
    assertThat(runtime.snapshot(snapshot.name())).isPresent();
    assertThat(source.exec("echo", "alive").stdout()).isEqualTo("alive\n");
  }

  @Test
  void aFullDiskFailsTheSnapshotSayingWhatItNeedsAndThePodRunsOn() throws Exception {
    assertThat(ProcessHandle.current().info().user().orElse("?"))
        .as("this test mounts a 64 MiB tmpfs over the snapshot directory: it needs root").isEqualTo("root");
    Path dir = TestImages.home().resolve("snapshots");
    String name = "fault-full-" + source.id();
    run("mount", "-t", "tmpfs", "-o", "size=64m,mode=0700", "micropod-snapfault", dir.toString());
    try {
      assertThatThrownBy(() -> source.snapshot(name))
          .isInstanceOf(SnapshotException.class)
          .hasMessageContaining("no space left in " + dir)
          .hasMessageMatching("(?s).*needs \\d+ MiB \\(the guest's RAM in use\\).*, \\d+ MiB are free there.*")
          .hasMessageContaining("the pod runs on");
      try (Stream<Path> s = Files.list(dir)) {
        assertThat(s.toList()).as("what the failed snapshot left in %s", dir).isEmpty();
      }
    } finally {
      run("umount", dir.toString());
    }
    assertThat(source.exec("echo", "alive").stdout()).isEqualTo("alive\n");
    long count = count(source);
    awaitCount(source, count + 2);
    assertThat(runtime.snapshot(name)).isEmpty();
  }

  private static void run(String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("%s", List.of(cmd)).isTrue();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.exitValue()).as("%s: %s", List.of(cmd), out).isZero();
  }

  private static <T> T within(Duration timeout, java.util.concurrent.Callable<T> call) throws Exception {
    CompletableFuture<T> f = CompletableFuture.supplyAsync(() -> {
      try {
        return call.call();
      } catch (Exception e) {
        throw new java.util.concurrent.CompletionException(e);
      }
    });
    try {
      return f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new AssertionError("no answer within " + timeout + " (a guest left paused?)", e);
    }
  }

  private static long count(MicroPod pod) {
    String s = pod.exec("cat", "/tmp/count").stdout().trim();
    return s.isEmpty() ? 0 : Long.parseLong(s);
  }

  /** Polls the container's counter until it reaches {@code atLeast} (30 s at most). */
  private static void awaitCount(MicroPod pod, long atLeast) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (count(pod) < atLeast) {
      assertThat(System.nanoTime() - deadline).as("pod %s counting to %d", pod.id(), atLeast).isNegative();
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
    }
  }

  private static boolean runningWith(String podId, String what) {
    return ProcessHandle.allProcesses().anyMatch(p -> p.isAlive() && p.info().commandLine()
        .filter(c -> c.contains(podId) && c.contains(what)).isPresent());
  }

  /** The snapshot temp directories of snapshot {@code name} (all when empty). */
  private static List<Path> tempDirs(String name) {
    Path dir = TestImages.home().resolve("snapshots");
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().startsWith(".tmp-" + name)).toList();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
