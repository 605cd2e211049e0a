package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Snapshots on the real QEMU driver (docs/snapshots.md): one snapshottable pod whose container
 * counts in a loop, one snapshot of it, two pods restored from it (a fork), shared by the tests.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
class SnapshotIT {
  private static final String COUNTER =
      "i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.2; done";

  private MicroPodRuntime runtime;
  private MicroPod source;
  private PodSnapshot snapshot;
  private MicroPod forkA;
  private MicroPod forkB;
  private long countAtSnapshot;
  private String randomA;
  private String randomB;
  private static final String READ_RANDOM = "head -c 32 /dev/urandom | od -A n -t x1";
  private final List<String> podIds = new ArrayList<>();

  @BeforeAll
  void startSourceSnapshotAndFork() {
    runtime = MicroPodRuntime.builder().home(TestImages.home()).build();
    long t0 = System.nanoTime();
    source = MicroPod.builder().runtime(runtime).image(TestImages.busybox())
        .command("sh", "-c", COUNTER).snapshottable(true).start();
    podIds.add(source.id());
    source.exec("sh", "-c", "echo kept > /tmp/before.txt");
    long coldMs = (System.nanoTime() - t0) / 1_000_000;
    countAtSnapshot = awaitCount(source, 3);
    // a read now reseeds the kernel's generator from its pool if due: the snapshot then holds a
    // fresh seed that the kernel alone would keep for up to a minute (10 s this early in its life)
    source.exec("sh", "-c", "head -c 16 /dev/urandom > /dev/null");
    long s0 = System.nanoTime();
    snapshot = source.snapshot("it-" + source.id());
    long snapMs = (System.nanoTime() - s0) / 1_000_000;
    long r0 = System.nanoTime();
    forkA = MicroPod.builder().runtime(runtime).fromSnapshot(snapshot).start();
    podIds.add(forkA.id());
    randomA = forkA.exec("sh", "-c", READ_RANDOM).stdout();
    long restoreMs = (System.nanoTime() - r0) / 1_000_000;
    forkB = MicroPod.builder().runtime(runtime).fromSnapshot(snapshot).start();
    podIds.add(forkB.id());
    randomB = forkB.exec("sh", "-c", READ_RANDOM).stdout();
    System.out.printf("SnapshotIT figures: cold start to first exec %d ms; snapshot %d ms, %d bytes;"
        + " restore to first exec %d ms; restore timings %s; VMM RSS KiB source %d, fork A %d, fork B %d%n",
        coldMs, snapMs, snapshot.sizeBytes(), restoreMs, forkA.bootTimings(), rssKib(source), rssKib(forkA),
        rssKib(forkB));
  }

  @AfterAll
  void closeEverything() {
    for (MicroPod p : new MicroPod[] {forkB, forkA, source}) {
      if (p != null) {
        p.close();
      }
    }
    try {
      if (snapshot != null) {
        runtime.removeSnapshot(snapshot.name());
      }
      for (String id : podIds) {
        assertThat(Leaks.of(id)).as("left behind by pod %s", id).isEmpty();
      }
      assertThat(tempDirs()).isEmpty();
    } finally {
      runtime.close();
    }
  }

  @Test
  void aRestoredPodsProcessGoesOnCountingAndItsFilesAreIntact() {
    long first = count(forkA);
    assertThat(first).isGreaterThanOrEqualTo(countAtSnapshot);
    awaitCount(forkA, first + 3);
    assertThat(forkA.exec("cat", "/tmp/before.txt").stdout()).isEqualTo("kept\n");
  }

  /**
   * A restored guest resumes inside the snapshot host's agent session and misses that host's
   * disconnect: the new host's HTTP/2 preface must begin a fresh session, not be read (and
   * refused) inside the old one, which cost every restore gRPC's 1 s reconnect backoff.
   */
  @Test
  void aRestoredPodsAgentServesTheNewHostsFirstConnection() throws IOException {
    for (MicroPod fork : List.of(forkA, forkB)) {
      Path console = runtime.configDir().resolve("logs").resolve(fork.id() + ".log");
      assertThat(Files.readString(console)).as("the console of %s", fork.id())
          .doesNotContain(PauseResumeAcrossProcessesIT.PREFACE_IN_OLD_SESSION);
    }
  }

  @Test
  void theSourcePodRunsOnAfterTheSnapshot() {
    long now = count(source);
    awaitCount(source, now + 2);
  }

  @Test
  void forksHaveTheirOwnIdsHostnamesAndRandomBytes() {
    assertThat(forkA.id()).isNotEqualTo(forkB.id()).isNotEqualTo(source.id());
    assertThat(forkA.exec("hostname").stdout().trim()).isEqualTo(forkA.id());
    assertThat(forkB.exec("hostname").stdout().trim()).isEqualTo(forkB.id());
    // each fork's first read, right after its restore (without the agent's forced reseed: the
    // same 32 bytes in both, seen)
    assertThat(randomA).isNotBlank().isNotEqualTo(randomB);
  }

  @Test
  void aRestoredPodsClockIsTheHosts() {
    long guest = Long.parseLong(forkB.exec("date", "+%s").stdout().trim());
    assertThat(Math.abs(guest - Instant.now().getEpochSecond())).isLessThanOrEqualTo(5);
  }

  @Test
  void theSnapshotIsListedWithItsOriginAndSize() {
    PodSnapshot listed = runtime.snapshot(snapshot.name()).orElseThrow();
    assertThat(runtime.snapshots()).contains(listed);
    assertThat(listed.sourcePodId()).isEqualTo(source.id());
    assertThat(listed.image()).isEqualTo(source.spec().image().toString());
    assertThat(listed.sizeBytes()).isPositive().isLessThan((long) listed.memoryMib() << 20);
    assertThat(listed.guestVersion()).isNotBlank();
  }

  @Test
  void aPausedPodRefusesExecAndResumesWhereItWas() {
    forkB.pause();
    try {
      assertThat(runtime.list()).filteredOn(p -> p.id().equals(forkB.id()))
          .extracting(PodInfo::status).containsExactly(PodInfo.Status.PAUSED);
      assertThatThrownBy(() -> forkB.exec("true")).isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("paused");
    } finally {
      forkB.resume();
    }
    assertThat(forkB.exec("echo", "back").stdout()).isEqualTo("back\n");
    assertThat(runtime.list()).filteredOn(p -> p.id().equals(forkB.id()))
        .extracting(PodInfo::status).containsExactly(PodInfo.Status.RUNNING);
  }

  @Test
  void aCorruptOrTruncatedSnapshotIsRefusedAndTheSourceRunsOn() throws IOException {
    PodSnapshot bad = source.snapshot("it-bad-" + source.id());
    try {
      Path state = bad.path().resolve("state");
      byte[] bytes = Files.readAllBytes(state);
      bytes[bytes.length / 2] ^= 1;
      Files.write(state, bytes);
      assertThatThrownBy(() -> MicroPod.builder().runtime(runtime).fromSnapshot(bad).start())
          .isInstanceOf(SnapshotException.class).hasMessageContaining("corrupt");
      try (RandomAccessFile ram = new RandomAccessFile(bad.path().resolve("ram").toFile(), "rw")) {
        ram.setLength(ram.length() / 2);
      }
      assertThatThrownBy(() -> MicroPod.builder().runtime(runtime).fromSnapshot(bad).start())
          .isInstanceOf(SnapshotException.class).hasMessageContaining("truncated");
      assertThatThrownBy(() -> source.snapshot(bad.name()))
          .isInstanceOf(SnapshotException.class).hasMessageContaining("exists");
    } finally {
      assertThat(runtime.removeSnapshot(bad.name())).isTrue();
    }
    assertThat(source.exec("echo", "alive").stdout()).isEqualTo("alive\n");
    assertThat(runtime.snapshot(bad.name())).isEmpty();
  }

  private static long count(MicroPod pod) {
    String s = pod.exec("cat", "/tmp/count").stdout().trim();
    return s.isEmpty() ? 0 : Long.parseLong(s);
  }

  /** Polls the container's counter until it reaches {@code atLeast} (30 s at most). */
  private static long awaitCount(MicroPod pod, long atLeast) {
    return poll(() -> {
      try {
        long c = count(pod);
        return c >= atLeast ? c : null;
      } catch (RuntimeException e) {
        return null;
      }
    }, Duration.ofSeconds(30), "pod " + pod.id() + " counting to " + atLeast);
  }

  private static <T> T poll(Supplier<T> probe, Duration timeout, String what) {
    Instant deadline = Instant.now().plus(timeout);
    while (true) {
      T v = probe.get();
      if (v != null) {
        return v;
      }
      if (Instant.now().isAfter(deadline)) {
        throw new AssertionError("timed out after " + timeout + ": " + what);
      }
      java.util.concurrent.locks.LockSupport.parkNanos(100_000_000L);
    }
  }

  private long rssKib(MicroPod pod) {
    long pid = runtime.list().stream().filter(p -> p.id().equals(pod.id())).findFirst()
        .flatMap(p -> p.vmmPid().isPresent() ? java.util.Optional.of(p.vmmPid().getAsLong())
            : java.util.Optional.empty()).orElse(-1L);
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
      }
    } catch (IOException e) {
      return -1;
    }
    return -1;
  }

  private List<Path> tempDirs() {
    Path dir = TestImages.home().resolve("snapshots");
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().startsWith(".tmp-")).toList();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
