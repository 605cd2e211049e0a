package io.micropod.internal.vm.firecracker;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cgroup directories a jailer made for one jailed Firecracker, removed after it exited. The
 * jailer's documentation ({@code docs/jailer.md}, Firecracker 1.16): for each cgroup hierarchy it
 * uses ({@code <cgroup_base>}: a v1 controller's mount point, e.g. {@code /sys/fs/cgroup/cpu}, or
 * the v2 unified mount, as it finds them in {@code /proc/mounts}) it creates
 * {@code <cgroup_base>/<parent_cgroup>/<id>}, the parent cgroup defaulting to the exec file's
 * name ({@code firecracker}); "it's up to the user to handle cleanup after running the jailer".
 * Firecracker 1.16's jailer makes them only for {@code --cgroup} values, which MicroPod passes
 * none of, and older ones for their fixed controllers: removing whatever is there covers both.
 *
 * <p>Only the per-pod directory goes, with {@code rmdir} (a cgroup directory is removed so, its
 * control files with it, once no process is left in it); the shared {@code <parent_cgroup>}
 * stays, another pod's jailer may be creating its own directory under it. <b>Never met a real
 * jailer</b>: tested against a fake {@code /proc/mounts} and fake hierarchies.
 */
final class JailerCgroups {
  private static final Logger log = LoggerFactory.getLogger(JailerCgroups.class);

  /** How long a directory still holding a dying process is retried ({@code EBUSY}). */
  static final Duration BUSY_RETRY = Duration.ofSeconds(3);

  private JailerCgroups() {}

  /**
   * The jail's cgroup directories on this host, whether they exist or not: {@code <mount>/<exec
   * file name>/<id>} for every {@code cgroup} (v1) or {@code cgroup2} (v2) mount in
   * {@code procMounts}' text.
   */
  static List<Path> directories(String procMounts, JailerCommand jail) {
    String type = jail.cgroupVersion() == 2 ? "cgroup2" : "cgroup";
    List<Path> dirs = new ArrayList<>();
    for (String line : procMounts.split("\n")) {
      String[] f = line.trim().split(" ");
      if (f.length >= 3 && f[2].equals(type) && f[1].startsWith("/")) {
        Path d = Path.of(unescape(f[1])).resolve(jail.firecracker().getFileName()).resolve(jail.id());
        if (!dirs.contains(d)) {
          dirs.add(d);
        }
      }
    }
    return dirs;
  }

  /** Removes the jail's cgroup directories that exist; failures are logged, never thrown. */
  static void remove(Path procMounts, JailerCommand jail) {
    List<Path> dirs;
    try {
      dirs = directories(Files.readString(procMounts), jail);
    } catch (IOException e) {
      log.warn("jail {}: cannot read {} to remove its cgroups: {}", jail.id(), procMounts, e.toString());
      return;
    }
    for (Path d : dirs) {
      removeOne(d, jail.id());
    }
  }

  private static void removeOne(Path dir, String id) {
    long deadline = System.nanoTime() + BUSY_RETRY.toNanos();
    while (true) {
      try {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
          return;
        }
        Files.delete(dir);
        log.debug("jail {}: removed cgroup {}", id, dir);
        return;
      } catch (NoSuchFileException e) {
        return;
      } catch (IOException e) {
        // EBUSY: a process of the jail, killed with its PID namespace, is not reaped yet
        if (System.nanoTime() - deadline > 0) {
          log.warn("jail {}: cannot remove its cgroup {}: {}", id, dir, e.toString());
          return;
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
      }
    }
  }

  /** {@code /proc/mounts} writes space, tab, newline and backslash in paths as octal escapes. */
  private static String unescape(String s) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
        b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
        i += 3;
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }
}
