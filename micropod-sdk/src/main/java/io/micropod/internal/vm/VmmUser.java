package io.micropod.internal.vm;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The unprivileged identity a pod's QEMU runs as when MicroPod runs as root, and the command that
 * starts QEMU as it (docs/security.md, "QEMU itself").
 *
 * <p><b>Which identity.</b> Every pod gets a uid and a gid of its own (the same number) from
 * {@link #POD_BASE}: a guest that takes over its QEMU then holds no capability and owns no file
 * of the host user, and cannot signal or ptrace another pod's QEMU, which a shared
 * {@code nobody} could. The number is the pod id's hash in a range of {@link #RANGE}; one that
 * a live process holds already is skipped. The range, {@code 0x71000000}–{@code 0x710FFFFF},
 * lies above the ranges of users, systemd's dynamic users and nspawn's containers, below
 * systemd's "foreign" range and below 2^31 (where tools that read ids as signed break), so no
 * file on the host belongs to it. Each pod network has a gid of its own from
 * {@link #NETWORK_BASE}: its switch socket is group-accessible to it, and the QEMUs of its members
 * hold it as a supplementary group.
 *
 * <p><b>How.</b> QEMU is exec'd already dropped: {@code setpriv --reuid --regid --groups|--clear-groups
 * --inh-caps=-all --bounding-set=-all --no-new-privs} (with {@code --pdeathsig SIGKILL} again
 * when the pod dies with the JVM: the kernel clears that setting when the uid changes). So it
 * holds no capability at all, not even in its bounding set; QEMU's own {@code -runas} would drop
 * only after start-up and clear the death signal. Root can still signal it: the reaper and
 * {@code close()} kill it as before.
 *
 * <p><b>Its files.</b> The home stays 0700: nothing under it is made reachable for the uid by path.
 * What QEMU reads from there (kernel, initramfs, the netguard, a block image) and the console
 * log it writes are opened by a small {@code sh} before the drop and handed over as descriptors
 * ({@code /dev/fd/N}, or QEMU's {@code -add-fd} fd sets, which QEMU dups without a permission
 * check); the per-pod socket directory in {@code /tmp} and the virtiofsd sockets in it are made
 * the uid's own (they serve only this pod).
 */
public final class VmmUser {
  private static final Logger log = LoggerFactory.getLogger(VmmUser.class);

  /** The first uid/gid of pods' QEMUs. */
  public static final int POD_BASE = 0x7100_0000;
  /** The first gid of pod networks. */
  public static final int NETWORK_BASE = 0x7180_0000;
  /** How many ids each range holds. */
  public static final int RANGE = 1 << 20;

  private final int uid;
  private final List<Integer> groups;

  VmmUser(int uid, List<Integer> groups) {
    this.uid = uid;
    this.groups = List.copyOf(groups);
  }

  /** The uid, which is also the primary gid. */
  public int uid() {
    return uid;
  }

  /** The supplementary groups (pod networks, {@code /dev/kvm}'s group where needed). */
  public List<Integer> groups() {
    return groups;
  }

  /**
   * Whether QEMU runs dropped on this host: MicroPod is root, {@code setpriv} is on PATH and the
   * ranges are mapped in this process's user namespace (a container with a narrow uid map has
   * them unmapped: QEMU then runs as root, as before, with a WARN once).
   */
  public static boolean applies(HostCapabilities host) {
    return host.runningAsRoot() && AVAILABLE;
  }

  private static final boolean AVAILABLE = probe();

  /** Whether this process is root and QEMUs it starts run dropped (see {@link #applies}). */
  public static boolean active() {
    return AVAILABLE;
  }

  private static boolean probe() {
    if (!isRoot()) {
      return false;
    }
    String why = null;
    if (ManagedProcess.SETPRIV == null) {
      why = "setpriv (util-linux) is not on PATH";
    } else {
      try {
        String uidMap = Files.readString(Path.of("/proc/self/uid_map"), StandardCharsets.US_ASCII);
        String gidMap = Files.readString(Path.of("/proc/self/gid_map"), StandardCharsets.US_ASCII);
        if (!mapped(uidMap, POD_BASE, RANGE) || !mapped(gidMap, POD_BASE, 2 * RANGE)) {
          why = "ids " + POD_BASE + ".." + (POD_BASE + 2 * RANGE - 1)
              + " are not mapped in this user namespace (/proc/self/uid_map, gid_map)";
        }
      } catch (IOException e) {
        why = "cannot read /proc/self/uid_map: " + e.getMessage();
      }
    }
    if (why != null) {
      log.warn("MicroPod runs as root but QEMU will too: {}. A guest that exploits QEMU would own the"
          + " host; run MicroPod as an ordinary user, or fix the cause", why);
      return false;
    }
    return true;
  }

  /** Whether this process runs as uid 0. */
  public static boolean runningAsRoot() {
    return isRoot();
  }

  private static boolean isRoot() {
    try {
      return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  /** Whether {@code [first, first+count)} lies inside one line of a {@code uid_map}/{@code gid_map}. */
  static boolean mapped(String map, long first, long count) {
    for (String line : map.split("\n")) {
      String[] f = line.trim().split("\\s+");
      if (f.length == 3) {
        long inside = Long.parseLong(f[0]);
        long n = Long.parseLong(f[2]);
        if (first >= inside && first + count <= inside + n) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * The identity of {@code podId}'s QEMU: its uid (the first of the pod id's hash and the ids after
   * it that no live process in {@code procDir} holds), with {@code groups}.
   */
  static VmmUser forPod(String podId, Path procDir, List<Integer> groups) {
    Set<Integer> taken = uidsInUse(procDir);
    long start = Integer.toUnsignedLong(hash(podId)) % RANGE;
    for (int i = 0; i < RANGE; i++) {
      int uid = (int) (POD_BASE + (start + i) % RANGE);
      if (!taken.contains(uid)) {
        return new VmmUser(uid, groups);
      }
    }
    throw new IllegalStateException("every uid of " + POD_BASE + " + " + RANGE + " is in use");
  }

  /** {@code podId}'s identity with the groups its network sockets and {@code /dev/kvm} need. */
  public static VmmUser forPod(String podId, HostCapabilities host, GuestNetworkConfig network) {
    Set<Integer> groups = new TreeSet<>();
    for (GuestNetworkConfig.Nic nic : network.nics()) {
      int gid = gidOf(nic.switchSocket());
      if (gid >= NETWORK_BASE && gid < NETWORK_BASE + RANGE) {
        groups.add(gid);
      }
    }
    Path kvm = Path.of("/dev/kvm");
    if (host.accel() == Accel.KVM && Files.exists(kvm)) {
      try {
        int mode = (Integer) Files.getAttribute(kvm, "unix:mode");
        if ((mode & 06) != 06) {
          groups.add(gidOf(kvm)); // only the group may open it
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read the mode of /dev/kvm", e);
      }
    }
    return forPod(podId, Path.of("/proc"), new ArrayList<>(groups));
  }

  /** The gid of a pod network named {@code key}: its hash in {@link #NETWORK_BASE}'s range. */
  public static int networkGid(String key) {
    return (int) (NETWORK_BASE + Integer.toUnsignedLong(hash(key)) % RANGE);
  }

  private static int gidOf(Path p) {
    try {
      return (Integer) Files.getAttribute(p, "unix:gid");
    } catch (IOException e) {
      return -1; // QEMU says what it cannot open
    }
  }

  private static int hash(String s) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
      return ((d[0] & 0xff) << 24) | ((d[1] & 0xff) << 16) | ((d[2] & 0xff) << 8) | (d[3] & 0xff);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The real uids of the processes in {@code procDir} within the pods' range. */
  private static Set<Integer> uidsInUse(Path procDir) {
    Set<Integer> uids = new HashSet<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(procDir, "[0-9]*")) {
      for (Path p : ds) {
        try {
          int uid = (Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS);
          if (uid >= POD_BASE && uid < POD_BASE + RANGE) {
            uids.add(uid);
          }
        } catch (IOException e) {
          // it exited
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + procDir, e);
    }
    return uids;
  }

  /** A host file QEMU opens, opened before the drop as descriptor {@code fd}; {@code append}: for writing. */
  public record PassedFile(Path path, int fd, boolean append) {
    /** What QEMU opens instead of the path: the descriptor through {@code /dev/fd}. */
    public String devFd() {
      return "/dev/fd/" + fd;
    }
  }

  /**
   * Makes {@code path} (a directory or socket QEMU uses by name) this uid's own, not following
   * links.
   */
  public void own(Path path) throws IOException {
    Files.setAttribute(path, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
    Files.setAttribute(path, "unix:gid", uid, LinkOption.NOFOLLOW_LINKS);
  }

  /**
   * The {@code setpriv} arguments that drop to this identity: uid, gid, groups, no capability
   * (the bounding set too), {@code no_new_privs}.
   *
   * @param diesWithJvm whether to set {@code --pdeathsig SIGKILL} again after the drop
   */
  public List<String> setpriv(boolean diesWithJvm) {
    List<String> c = new ArrayList<>();
    c.add(ManagedProcess.SETPRIV == null ? "setpriv" : ManagedProcess.SETPRIV);
    if (diesWithJvm) {
      c.addAll(List.of("--pdeathsig", "SIGKILL"));
    }
    c.add("--reuid=" + Integer.toUnsignedString(uid));
    c.add("--regid=" + Integer.toUnsignedString(uid));
    if (groups.isEmpty()) {
      c.add("--clear-groups");
    } else {
      StringBuilder g = new StringBuilder();
      for (int gid : groups) {
        g.append(g.length() == 0 ? "" : ",").append(Integer.toUnsignedString(gid));
      }
      c.add("--groups=" + g);
    }
    c.add("--inh-caps=-all");
    c.add("--bounding-set=-all");
    c.add("--no-new-privs");
    return c;
  }
}
