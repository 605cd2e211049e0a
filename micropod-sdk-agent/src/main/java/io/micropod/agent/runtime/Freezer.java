package io.micropod.agent.runtime;

import io.micropod.agent.base.Log;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Freezes every container process (cgroup v2 {@code cgroup.freeze} of the containers' parent
 * cgroup) while the agent works on a container's files: {@code copyIn} and {@code copyOut}.
 *
 * <p>Why: the agent resolves each path inside the container root and then uses it by name; a
 * container process that swaps a directory on that path for a symlink in between (the
 * symlink-exchange race of CVE-2018-15664, {@code docker cp}) would redirect the write, or the
 * read, to the guest's own filesystem. Descriptor-relative calls would close it per call, but Java
 * 17 has no {@code mkdirat}/{@code symlinkat}/{@code openat2}, and a native helper would have to
 * take over the whole tar extraction. With every process of the container frozen nothing can
 * swap anything, so the whole copy is one consistent view, and it stays closed for every call the
 * copy makes. Freezing the parent rather than the container's own cgroup also holds processes that
 * join later (an exec, or the container's start racing the copy): a new member of a frozen
 * subtree is frozen at once. The cost: the container pauses for the length of the copy, as under
 * {@code docker cp}.
 *
 * <p>Thread-safe; holds nest: the subtree thaws when the last {@link Hold} closes.
 */
public final class Freezer {
  private final Path cgroup;
  private final Duration timeout;
  private int holds;

  /**
   * @param cgroup the cgroup v2 directory to freeze (created when missing: the runtime creates
   *     it at the first container otherwise)
   * @param timeout how long to wait for every process to be frozen
   */
  Freezer(Path cgroup, Duration timeout) {
    this.cgroup = cgroup;
    this.timeout = timeout;
  }

  /** Closing it thaws (when it is the last hold). */
  public interface Hold extends AutoCloseable {
    @Override
    void close();
  }

  /**
   * Freezes the subtree and waits until {@code cgroup.events} says {@code frozen 1}.
   *
   * @throws IOException when the freeze cannot be written or does not complete in time (then
   *     nothing stays frozen): the copy must not go on unfrozen
   */
  synchronized Hold freeze() throws IOException {
    if (holds == 0) {
      Files.createDirectories(cgroup);
      write("1");
      try {
        awaitFrozen();
      } catch (IOException e) {
        try {
          write("0");
        } catch (IOException suppressed) {
          e.addSuppressed(suppressed);
        }
        throw e;
      }
    }
    holds++;
    boolean[] closed = {false};
    return () -> {
      synchronized (Freezer.this) {
        if (closed[0]) {
          return;
        }
        closed[0] = true;
        if (--holds == 0) {
          try {
            write("0");
          } catch (IOException e) {
            Log.warn("cannot thaw " + cgroup + ": the containers stay frozen", e);
          }
        }
      }
    };
  }

  private void awaitFrozen() throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!frozen()) {
      if (System.nanoTime() - deadline > 0) {
        throw new IOException("the container's processes did not freeze within "
            + timeout.toMillis() + " ms (" + cgroup.resolve("cgroup.events") + ")");
      }
      try {
        wait(5); // the kernel's only wake-up is poll(2) on cgroup.events, which Java lacks
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while freezing the container");
      }
    }
  }

  /** Whether the subtree is frozen now (tests, diagnostics). */
  synchronized boolean isFrozen() {
    return holds > 0;
  }

  private boolean frozen() throws IOException {
    try {
      for (String line : Files.readString(cgroup.resolve("cgroup.events"), StandardCharsets.US_ASCII)
          .split("\n")) {
        if (line.strip().equals("frozen 1")) {
          return true;
        }
      }
      return false;
    } catch (NoSuchFileException e) {
      throw new IOException("no cgroup v2 freezer at " + cgroup + ": " + e.getMessage(), e);
    }
  }

  private void write(String value) throws IOException {
    Files.writeString(cgroup.resolve("cgroup.freeze"), value, StandardCharsets.US_ASCII);
  }
}
