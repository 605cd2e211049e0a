package io.micropod.agent.runtime;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads cgroup v2 files of the containers ({@code <root>/micropod/<id>}, as {@code cgroupsPath}
 * in config.json names them) and the guest's {@code /proc} figures. Files that do not exist
 * (the container exited and runc removed its cgroup) read as 0.
 */
public final class Cgroups {
  private final Path root;
  private final Path proc;

  /** @param root where cgroup2 is mounted ({@code /sys/fs/cgroup} in the guest) */
  public Cgroups(Path root, Path proc) {
    this.root = root;
    this.proc = proc;
  }

  /** The parent cgroup of every container. */
  Path parent() {
    return root.resolve("micropod");
  }

  Path of(String id) {
    return parent().resolve(id);
  }

  /**
   * The hierarchical {@code oom_kill} count of the containers' parent cgroup: it keeps counting
   * after runc removed an exited container's own cgroup.
   */
  long parentOomKills() {
    return keyed(parent().resolve("memory.events"), "oom_kill");
  }

  /** The figures of container {@code id} and of the guest. */
  public Stats stats(String id) {
    Path c = of(id);
    long[] io = ioBytes(c.resolve("io.stat"));
    long max = single(c.resolve("memory.max"));
    NetDev net = netDev(proc.resolve("net/dev"));
    return new Stats(
        keyed(c.resolve("cpu.stat"), "usage_usec"),
        single(c.resolve("memory.current")),
        max,
        io[0],
        io[1],
        keyed(proc.resolve("meminfo"), "MemTotal:") * 1024,
        keyed(proc.resolve("meminfo"), "MemAvailable:") * 1024,
        load1(),
        keyed(c.resolve("memory.events"), "oom_kill"),
        net);
  }

  /** What {@link #stats} reads. */
  public record Stats(long cpuUsageUsec, long memoryUsageBytes, long memoryLimitBytes,
      long ioReadBytes, long ioWriteBytes, long guestMemTotalBytes, long guestMemAvailableBytes,
      double guestLoad1, long oomKills, NetDev net) {}

  /**
   * Traffic summed over the guest's interfaces except {@code lo}: the container shares the
   * guest's network namespace, so these are the pod's figures.
   */
  public record NetDev(long rxBytes, long rxPackets, long txBytes, long txPackets) {}

  /**
   * Parses {@code /proc/net/dev}: two header lines, then {@code name: rx_bytes rx_packets errs
   * drop fifo frame compressed multicast tx_bytes tx_packets ...}. The kernel may join the name
   * and the first number ({@code eth0:123}) when the number is wide. Lines that do not parse are
   * skipped; counters are unsigned 64-bit and sums saturate at {@link Long#MAX_VALUE}.
   */
  static NetDev netDev(Path file) {
    long[] sum = new long[4];
    for (String line : read(file).split("\n")) {
      int colon = line.indexOf(':');
      if (colon < 0) {
        continue;
      }
      String name = line.substring(0, colon).trim();
      if (name.isEmpty() || name.equals("lo") || name.contains("|")) {
        continue;
      }
      String[] f = line.substring(colon + 1).trim().split("\\s+");
      if (f.length < 10) {
        continue;
      }
      long[] v = new long[4];
      try {
        v[0] = unsigned(f[0]);
        v[1] = unsigned(f[1]);
        v[2] = unsigned(f[8]);
        v[3] = unsigned(f[9]);
      } catch (NumberFormatException e) {
        continue;
      }
      for (int i = 0; i < 4; i++) {
        sum[i] = saturatedAdd(sum[i], v[i]);
      }
    }
    return new NetDev(sum[0], sum[1], sum[2], sum[3]);
  }

  /** An unsigned decimal counter; beyond {@link Long#MAX_VALUE} it reads as that. */
  private static long unsigned(String s) {
    long v = Long.parseUnsignedLong(s);
    return v < 0 ? Long.MAX_VALUE : v;
  }

  private static long saturatedAdd(long a, long b) {
    long r = a + b;
    return r < 0 ? Long.MAX_VALUE : r;
  }

  private static String read(Path file) {
    try {
      return new String(Files.readAllBytes(file), StandardCharsets.US_ASCII);
    } catch (IOException e) {
      return "";
    }
  }

  /** A file of one number; "max" and missing read as 0. */
  static long single(Path file) {
    String s = read(file).trim();
    try {
      return s.isEmpty() || s.equals("max") ? 0 : Long.parseLong(s);
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  /** The number after {@code key} in a "key value" per line file (cpu.stat, meminfo). */
  static long keyed(Path file, String key) {
    for (String line : read(file).split("\n")) {
      String[] f = line.trim().split("\\s+");
      if (f.length >= 2 && f[0].equals(key)) {
        try {
          return Long.parseLong(f[1]);
        } catch (NumberFormatException e) {
          return 0;
        }
      }
    }
    return 0;
  }

  /** Sums rbytes and wbytes over the lines of io.stat. */
  static long[] ioBytes(Path file) {
    long r = 0;
    long w = 0;
    for (String line : read(file).split("\n")) {
      for (String f : line.trim().split("\\s+")) {
        try {
          if (f.startsWith("rbytes=")) {
            r += Long.parseLong(f.substring(7));
          } else if (f.startsWith("wbytes=")) {
            w += Long.parseLong(f.substring(7));
          }
        } catch (NumberFormatException e) {
          // skip
        }
      }
    }
    return new long[] {r, w};
  }

  private double load1() {
    String[] f = read(proc.resolve("loadavg")).trim().split("\\s+");
    try {
      return f.length > 0 && !f[0].isEmpty() ? Double.parseDouble(f[0]) : 0;
    } catch (NumberFormatException e) {
      return 0;
    }
  }
}
