package io.micropod.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.MicroPod;
import io.micropod.MicroPodRuntime;
import io.micropod.PodSnapshot;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

/**
 * {@code @MicroPodContainer(snapshot = true)}: the spec boots once (its boot writes a random token
 * before the wait strategy sees "ready"), and each of three tests, run at the same time (the build
 * runs 3 parallel threads; these methods are CONCURRENT), gets a pod of its own restored from the
 * snapshot: the same token (one boot, not three), its own id and hostname, and none of the other
 * tests' files although all three write while the others run.
 */
@Timeout(value = 600, unit = TimeUnit.SECONDS)
class SnapshotModeIT {
  private static final int TESTS = 3;
  private static final CyclicBarrier allWritten = new CyclicBarrier(TESTS);
  private static final Set<String> ids = ConcurrentHashMap.newKeySet();
  private static final Set<String> tokens = ConcurrentHashMap.newKeySet();
  private static final Set<String> snapshots = ConcurrentHashMap.newKeySet();
  private static final Instant classStart = Instant.now();
  /** A snapshot as a killed test JVM leaves it (its pid cannot exist), planted before the run makes its own. */
  private static final Path stale = plantStaleSnapshot();

  // tag::snapshot-mode[]
  @MicroPodContainer(snapshot = true)
  final ManagedPod pod = ManagedPod.of(MicroPod.builder()
          .image(TestImages.busybox())
          .command("sh", "-c", "head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \\n' > /tmp/boot-token;"
              + " echo ready; exec sleep 600"))
      .waitingFor(Wait.forLogMessage("ready", 1));
  // end::snapshot-mode[]

  @Test
  @Execution(ExecutionMode.CONCURRENT)
  void first() throws Exception {
    writesAloneInItsOwnRestoredPod();
  }

  @Test
  @Execution(ExecutionMode.CONCURRENT)
  void second() throws Exception {
    writesAloneInItsOwnRestoredPod();
  }

  @Test
  @Execution(ExecutionMode.CONCURRENT)
  void third() throws Exception {
    writesAloneInItsOwnRestoredPod();
  }

  private void writesAloneInItsOwnRestoredPod() throws Exception {
    String id = pod.id();
    assertThat(ids.add(id)).as("pod id %s already used by another test", id).isTrue();
    String token = pod.exec("cat", "/tmp/boot-token").stdout();
    assertThat(token).as("the boot's token, kept in the snapshot").matches("[0-9a-f]{16}");
    tokens.add(token);
    for (PodSnapshot s : MicroPodRuntime.defaultRuntime().snapshots()) {
      if (s.name().startsWith("testkit-") && s.createdAt().isAfter(classStart)) {
        snapshots.add(s.name());
      }
    }

    assertThat(pod.exec("sh", "-c", "echo " + id + " > /tmp/written-by-" + id).exitCode()).isZero();
    // All three have written before any looks: a shared file system would show the others' files.
    allWritten.await(300, TimeUnit.SECONDS);

    assertThat(pod.exec("sh", "-c", "ls /tmp | grep written-by-").stdout())
        .isEqualTo("written-by-" + id + "\n");
    assertThat(pod.exec("hostname").stdout()).isEqualTo(id + "\n");
  }

  @Test
  @Execution(ExecutionMode.CONCURRENT)
  void aSnapshotThatAKilledTestJvmLeftIsRemovedWhenTheRunMakesItsOwn() {
    assertThat(pod.exec("true").exitCode()).isZero(); // the run's snapshot exists by now
    assertThat(stale).doesNotExist();
    assertThat(MicroPodRuntime.defaultRuntime().snapshots()).noneMatch(s -> s.path().equals(stale));
  }

  private static Path plantStaleSnapshot() {
    Path dir = MicroPodRuntime.defaultRuntime().home().resolve("snapshots")
        .resolve("testkit-" + Integer.MAX_VALUE + "-1-0123456789ab");
    try {
      Files.createDirectories(dir);
      Files.writeString(dir.resolve("manifest.json"), "{\"format\": 1, \"name\": \"" + dir.getFileName()
          + "\", \"image\": \"oci:/x\", \"sourcePodId\": \"0123456789ab\", \"containerId\": \"0123456789ab\","
          + " \"createdAt\": \"2026-01-01T00:00:00Z\", \"sizeBytes\": 1, \"memoryMib\": 512, \"cpus\": 1,"
          + " \"guestVersion\": \"?\", \"sdkVersion\": \"?\", \"machine\": \"microvm\", \"hostnameSet\": false,"
          + " \"blockImage\": \"/nonexistent\", \"blockImageBytes\": 1, \"ramBytes\": 1, \"stateSha256\": \"sha256:0\"}");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    assertThat(MicroPodRuntime.defaultRuntime().snapshots()).as("the planted snapshot is listed")
        .anyMatch(s -> s.path().equals(dir));
    return dir;
  }

  @AfterAll
  static void oneBootThreeRestoredPods() {
    assertThat(ids).hasSize(TESTS);
    assertThat(tokens).as("one boot, restored three times").hasSize(1);
    assertThat(snapshots).as("the run's snapshot").hasSize(1);
    assertThat(ids).noneMatch(TestImages::leftovers);
  }
}
