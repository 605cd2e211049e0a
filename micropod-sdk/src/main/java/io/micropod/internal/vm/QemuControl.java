package io.micropod.internal.vm;

import io.micropod.internal.state.ProcStat;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pause, resume and snapshot of a QEMU that another process started (an attached pod, see
 * {@code PodStates}): one QMP connection per call on {@code <socket dir>/qmp.sock}. The snapshot
 * is also the one {@link QemuDriver}'s own VM takes, on its connection.
 */
public final class QemuControl {
  private static final Logger log = LoggerFactory.getLogger(QemuControl.class);
  /** The QMP socket's name in a pod's socket directory. */
  public static final String QMP_SOCKET = "qmp.sock";

  private QemuControl() {}

  /** QMP {@code stop}: the guest's vCPUs stop. */
  public static void pause(Path socketDir) throws IOException {
    run(socketDir, "stop");
  }

  /** QMP {@code cont}: the guest runs again. */
  public static void resume(Path socketDir) throws IOException {
    run(socketDir, "cont");
  }

  /**
   * Writes the device state of the QEMU of {@code socketDir} to {@code stateFile} and a sparse copy
   * of its guest RAM file {@code guestRam} to {@code ramOut}; see {@link #snapshot(Qmp, Path, Path, Path, Path, Path)}.
   */
  public static long snapshot(Path socketDir, Path guestRam, Path stateFile, Path ramOut) throws IOException {
    try (Qmp q = Qmp.connect(socketDir.resolve(QMP_SOCKET))) {
      return snapshot(q, guestRam, stateFile, ramOut, socketDir, socketDir);
    }
  }

  /** The prefix of the marker a snapshot writer leaves in the socket directory while it holds the guest paused. */
  static final String PAUSE_MARKER = "snapshot-paused-";

  /**
   * Lets the guest of {@code socketDir} run again if a snapshot writer that paused it died before it
   * could ({@code snapshot-paused-<pid>-<start>} of a process that is gone: a SIGKILL mid snapshot).
   * A detached pod would otherwise stay paused for good, its record saying it runs.
   *
   * @return whether it was resumed
   */
  public static boolean resumeIfWriterDied(Path socketDir) {
    List<Path> stale = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(socketDir, PAUSE_MARKER + "*")) {
      for (Path p : ds) {
        String[] parts = p.getFileName().toString().substring(PAUSE_MARKER.length()).split("-");
        try {
          if (!ProcStat.isAlive(Long.parseLong(parts[0]), Long.parseLong(parts[1]))) {
            stale.add(p);
          }
        } catch (RuntimeException notOurs) {
          stale.add(p);
        }
      }
    } catch (IOException e) {
      return false; // no socket directory: nothing of ours to resume
    }
    if (stale.isEmpty()) {
      return false;
    }
    try (Qmp q = Qmp.connect(socketDir.resolve(QMP_SOCKET))) {
      String migration = q.execute("query-migrate", Map.of()).path("status").asText();
      if (migration.equals("active") || migration.equals("setup")) {
        q.execute("migrate_cancel", Map.of());
      }
      q.execute("cont", Map.of());
      for (Path p : stale) {
        Files.deleteIfExists(p);
      }
      return true;
    } catch (IOException e) {
      log.warn("cannot resume the guest of {} that a dead snapshot writer paused: {}", socketDir, e.toString());
      return false;
    }
  }

  /** QEMU's migration capability that leaves the shared RAM file out of the stream. */
  static final List<Map<String, Object>> IGNORE_SHARED =
      List.of(Map.of("capability", "x-ignore-shared", "state", true));

  /**
   * The guest is paused (QMP {@code stop}), its device state migrated to {@code stateFile} through
   * a descriptor ({@code getfd} + {@code migrate fd:}, without the RAM: {@code x-ignore-shared}),
   * its RAM file {@code guestRam} copied sparsely to {@code ramOut} while it is still paused; then
   * it runs again, unless it was paused before.
   *
   * While the guest is paused here, a marker in {@code socketDir} names this process, so that a
   * sweep resumes the guest if this process dies before it could ({@link #resumeIfWriterDied}).
   *
   * @param logHint where QEMU's own messages are, for a failed migration's message
   * @return the bytes of RAM in use that {@code ramOut} holds
   */
  static long snapshot(Qmp q, Path guestRam, Path stateFile, Path ramOut, Path socketDir, Path logHint)
      throws IOException {
    boolean wasRunning = q.execute("query-status", Map.of()).path("running").asBoolean();
    Path marker = socketDir.resolve(PAUSE_MARKER + ProcessHandle.current().pid() + "-"
        + ProcStat.self());
    if (wasRunning) {
      Files.write(marker, new byte[0]); // before the stop: a kill after it finds the marker
      q.execute("stop", Map.of());
    }
    try {
      q.execute("migrate-set-capabilities", Map.of("capabilities", IGNORE_SHARED));
      try (java.io.FileOutputStream out = new java.io.FileOutputStream(stateFile.toFile())) {
        q.execute("getfd", Map.of("fdname", "snapshot"), out.getFD());
        q.execute("migrate", Map.of("uri", "fd:snapshot"));
        awaitMigration(q, Instant.now().plus(Duration.ofMinutes(2)), logHint);
        out.getFD().sync();
      }
      // while the guest is still paused: its RAM is what the device state refers to
      return SparseFiles.copy(guestRam, ramOut, true);
    } finally {
      if (wasRunning) {
        q.execute("cont", Map.of());
        Files.deleteIfExists(marker);
      }
    }
  }

  /** Polls {@code query-migrate} until the outgoing migration completed. */
  private static void awaitMigration(Qmp q, Instant deadline, Path logHint) throws IOException {
    while (true) {
      com.fasterxml.jackson.databind.JsonNode r = q.execute("query-migrate", Map.of());
      String status = r.path("status").asText();
      if (status.equals("completed")) {
        return;
      }
      if (status.equals("failed") || status.equals("cancelled")) {
        throw new IOException("QEMU's migration to the snapshot file " + status + ": "
            + r.path("error-desc").asText("no reason given") + " (see " + logHint + ")");
      }
      if (Instant.now().isAfter(deadline)) {
        q.execute("migrate_cancel", Map.of());
        throw new IOException("QEMU did not finish writing the snapshot before the deadline");
      }
      java.util.concurrent.locks.LockSupport.parkNanos(5_000_000L);
      if (Thread.interrupted()) {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException("interrupted while QEMU writes the snapshot");
      }
    }
  }

  private static void run(Path socketDir, String command) throws IOException {
    try (Qmp q = Qmp.connect(socketDir.resolve(QMP_SOCKET))) {
      q.execute(command, Map.of());
    }
  }
}
