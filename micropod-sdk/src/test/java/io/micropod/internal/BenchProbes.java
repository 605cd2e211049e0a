package io.micropod.internal;

import io.micropod.internal.base.RuntimeConfig;
import io.micropod.internal.files.FileTrees;
import io.micropod.MicroPod;
import io.micropod.internal.vm.VirtiofsDaemon;
import io.micropod.internal.state.OrphanReaper;
import io.micropod.internal.vm.HostCapabilities;
import io.micropod.internal.vm.HostProbe;
import io.micropod.internal.vm.ManagedProcess;
import io.micropod.internal.vm.QemuCommandLine;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Measurements the {@code Bench} example needs below the public API: a bare boot of the guest
 * kernel to the {@code /init} marker with the pod's own QEMU command line, and a GetInfo ping on
 * a pod's agent channel. Not API.
 */
public final class BenchProbes {
  /** What {@code /init} prints first under {@code micropod.bench=init} (guest contract). */
  public static final String INIT_MARKER = "MICROPOD-INIT-REACHED";

  private BenchProbes() {}

  /**
   * QEMU spawn to the {@code /init} marker on the console: the pods' command line (same machine,
   * memory, devices, kernel, initramfs), plus {@code micropod.bench=init}; virtiofsd serves an
   * empty directory because QEMU connects to it at start.
   */
  public static Duration bareBoot(Path home, int memoryMib) throws IOException, InterruptedException {
    return benchVm(home, memoryMib, "init", (qemu, console, agentSocket, t0) -> {
      long deadline = t0 + TimeUnit.SECONDS.toNanos(60);
      while (true) {
        if (io.micropod.internal.vm.ConsoleMarker.seen(console, INIT_MARKER)) {
          return Duration.ofNanos(System.nanoTime() - t0);
        }
        if (!qemu.isAlive() || System.nanoTime() - deadline > 0) {
          throw new IOException("the bare boot did not reach /init (see " + console + ")");
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2));
      }
    });
  }

  /** What the guest writes under {@code micropod.bench=channel} (guest contract): 64 MiB. */
  public static final long CHANNEL_BENCH_BYTES = 64L << 20;

  /**
   * The raw agent channel's throughput, guest to host, in bytes per second: the pods' QEMU command
   * line with {@code micropod.bench=channel}, where {@code /init} writes {@link #CHANNEL_BENCH_BYTES}
   * to the virtio-serial port with {@code dd} (no agent, no gRPC); the host reads them from the
   * port's Unix socket. Timed from the end of the first read to the last byte, so the boot does
   * not count.
   */
  public static double rawChannelBytesPerSecond(Path home, int memoryMib) throws IOException, InterruptedException {
    return benchVm(home, memoryMib, "channel", (qemu, console, agentSocket, t0) -> {
      long deadline = t0 + TimeUnit.SECONDS.toNanos(30);
      while (!Files.exists(agentSocket)) {
        if (!qemu.isAlive() || System.nanoTime() - deadline > 0) {
          throw new IOException("QEMU did not create " + agentSocket + " (see " + console + ")");
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2));
      }
      try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(agentSocket))) {
        // The guest powers off after writing (EOF); this only bounds a guest that never writes.
        CompletableFuture.delayedExecutor(120, TimeUnit.SECONDS).execute(() -> {
          try {
            ch.close();
          } catch (IOException ignored) {
            // closing to unblock the read below
          }
        });
        ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
        long total = 0;
        long timed = 0;
        long first = 0;
        long last = 0;
        int n;
        while (total < CHANNEL_BENCH_BYTES && (n = ch.read(buf)) >= 0) {
          buf.clear();
          if (n == 0) {
            continue;
          }
          long now = System.nanoTime();
          if (total == 0) {
            first = now;
          } else {
            timed += n;
            last = now;
          }
          total += n;
        }
        if (total < CHANNEL_BENCH_BYTES / 2 || last == first) {
          throw new IOException("raw channel: only " + total + " of " + CHANNEL_BENCH_BYTES
              + " bytes arrived (see " + console + ")");
        }
        return timed / ((last - first) / 1e9);
      }
    });
  }

  private interface BenchVmProbe<T> {
    T run(ManagedProcess qemu, Path console, Path agentSocket, long spawnNanos) throws IOException;
  }

  /**
   * Boots the pods' QEMU command line (same machine, memory, devices, kernel, initramfs) plus
   * {@code micropod.bench=<bench>}; virtiofsd serves an empty directory because QEMU connects to
   * it at start. Everything is stopped and removed afterwards.
   */
  private static <T> T benchVm(Path home, int memoryMib, String bench, BenchVmProbe<T> probe)
      throws IOException, InterruptedException {
    RuntimeConfig config = new RuntimeConfig(home, "qemu", null, null, null, null, System.getenv());
    HostCapabilities host = HostProbe.forHost(config).probe();
    String id = "bench" + Long.toHexString(System.nanoTime() & 0xffffffL);
    Path podDir = Files.createTempDirectory("micropod-bench-pod-");
    Path sockDir = Files.createTempDirectory(Path.of("/tmp"), "micropod-bench-",
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Path empty = Files.createDirectory(podDir.resolve("empty"));
    VirtiofsDaemon fs = null;
    ManagedProcess qemu = null;
    try {
      fs = VirtiofsDaemon.start(id, host, sockDir.resolve("virtiofs.sock"), empty, podDir.resolve("virtiofsd.log"),
          Instant.now().plusSeconds(10));
      Path console = podDir.resolve("console.log");
      List<String> args = new ArrayList<>(QemuCommandLine.build(host, memoryMib, 1,
          new QemuCommandLine.Paths(console, sockDir.resolve("agent.sock"), sockDir.resolve("virtiofs.sock")), false));
      int i = args.indexOf("-append");
      args.set(i + 1, args.get(i + 1) + " micropod.bench=" + bench);
      long t0 = System.nanoTime();
      qemu = ManagedProcess.start(id, "qemu", args, podDir.resolve("qemu.log"));
      return probe.run(qemu, console, sockDir.resolve("agent.sock"), t0);
    } finally {
      if (qemu != null) {
        qemu.stop(Duration.ofSeconds(5));
      }
      if (fs != null) {
        fs.stop();
      }
      FileTrees.deleteTree(sockDir);
      FileTrees.deleteTree(podDir);
    }
  }

  /** Whether {@code pod}'s collecting execs ask for the bulk channel (QEMU's bulk port). */
  public static boolean usesBulk(MicroPod pod) {
    return ((RealMicroPod) pod).agent().usesBulk();
  }

  /** One GetInfo round trip on {@code pod}'s agent channel. */
  public static Duration ping(MicroPod pod) {
    RealMicroPod p = (RealMicroPod) pod;
    long t0 = System.nanoTime();
    p.agent().getInfoAsync(Duration.ofSeconds(30)).join();
    return Duration.ofNanos(System.nanoTime() - t0);
  }

  /**
   * Host memory of {@code pod}'s processes (QEMU and its virtiofsd, found by the pod's socket
   * directory {@code /tmp/micropod-<id>/} on their command lines): {rss, pss} in KiB, summed from
   * {@code /proc/<pid>/smaps_rollup}. PSS splits pages shared between processes (the system
   * image in the host's page cache is not in either: QEMU reads it with pread, not mmap).
   */
  public static long[] hostMemoryKib(MicroPod pod) throws IOException {
    String marker = "/tmp/micropod-" + pod.id() + "/";
    long rss = 0;
    long pss = 0;
    try (var procs = Files.list(Path.of("/proc"))) {
      for (Path proc : procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit)).toList()) {
        try {
          String cmdline = new String(Files.readAllBytes(proc.resolve("cmdline")), StandardCharsets.UTF_8);
          if (!cmdline.contains(marker)) {
            continue;
          }
          for (String line : Files.readAllLines(proc.resolve("smaps_rollup"))) {
            if (line.startsWith("Rss:")) {
              rss += Long.parseLong(line.replaceAll("[^0-9]", ""));
            } else if (line.startsWith("Pss:")) {
              pss += Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
          }
        } catch (IOException e) {
          // the process ended meanwhile
        }
      }
    }
    return new long[] {rss, pss};
  }

  /** The guest's OCI runtime, as its agent reported it at start ({@code GetInfo.runtime_version}). */
  public static String runtimeVersion(MicroPod pod) {
    return ((RealMicroPod) pod).bootInfo().runtimeVersion();
  }

  /**
   * The guest's own boot timings of {@code pod}, ms of guest uptime (one clock, so their
   * differences are exact): {@code /init} started, agent {@code main}, agent serving, and the
   * guest's clock when it answered the first GetInfo.
   */
  public static long[] guestTimings(MicroPod pod) {
    var g = ((RealMicroPod) pod).bootInfo();
    return new long[] {g.initStartedMs(), g.agentMainMs(), g.agentReadyMs(), g.nowMs()};
  }
}
