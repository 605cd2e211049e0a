package io.micropod;

import io.micropod.internal.BenchProbes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;

/**
 * MicroPod's performance baseline on this machine (docs/performance.md): medians of several
 * repetitions and their ratios. A test-scope tool of the SDK, not an example: its probes
 * ({@link io.micropod.internal.BenchProbes}) boot bare QEMU and read the agent's boot answer, which
 * no public API offers.
 *
 * <pre>
 * mvn -q test-compile exec:java -pl micropod-sdk -Dexec.mainClass=io.micropod.Bench \
 *     [-Dexec.args="--reps 5 --exec-reps 20 --p6-max 8 --p6-mem 512 --p6-idle 20 --p6-floor-mib 2048 --forks 8
 *         --only P1,P1W,P2,P4,P5,P6,P7,MIN"]
 * </pre>
 *
 * Uses the busybox test image the build installs ({@code $MICROPOD_HOME/oci/busybox}) or
 * {@code --image oci:/path}. P3 (pull + unpack against skopeo + umoci) is the image engineer's:
 * {@link #p3} is its hook and prints that it is not measured yet. The guest's OCI runtime is the
 * guest image's default (crun) unless {@code MICROPOD_OCI_RUNTIME=runc|crun} says otherwise; P1
 * and P4 print the one that ran.
 */
public final class Bench {
  private int reps = 5;
  private int execReps = 20;
  private int p6Max = 8;
  private int p6Mem = MicroPodSpec.DEFAULT_MEMORY_MIB;
  private int p6Idle = 20;
  private int p6FloorMib = 2048;
  private int p6BudgetS = 0;
  private int p6CheckEvery = 1;
  private int streamMb = 50;
  private int forks = 8;
  private String only = "P1,P1W,P2,P3,P4,P5,P6,MIN";
  /** P1's median, for P2's ratio; null when P1 did not run. */
  private Duration p1Median;
  /** P1's bare boot median, for P1W's ratio; null when P1 did not run. */
  private Duration bareMedian;
  private String image;

  public static void main(String[] args) throws Exception {
    Bench b = new Bench();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--reps" -> b.reps = Integer.parseInt(args[++i]);
        case "--exec-reps" -> b.execReps = Integer.parseInt(args[++i]);
        case "--p6-max" -> b.p6Max = Integer.parseInt(args[++i]);
        case "--p6-mem" -> b.p6Mem = Integer.parseInt(args[++i]);
        case "--p6-idle" -> b.p6Idle = Integer.parseInt(args[++i]);
        case "--p6-floor-mib" -> b.p6FloorMib = Integer.parseInt(args[++i]);
        case "--p6-budget-s" -> b.p6BudgetS = Integer.parseInt(args[++i]);
        case "--p6-check-every" -> b.p6CheckEvery = Math.max(1, Integer.parseInt(args[++i]));
        case "--stream-mb" -> b.streamMb = Integer.parseInt(args[++i]);
        case "--forks" -> b.forks = Integer.parseInt(args[++i]);
        case "--only" -> b.only = args[++i].toUpperCase();
        case "--image" -> b.image = args[++i];
        default -> throw new IllegalArgumentException("unknown option " + args[i]
            + " (known: --reps N, --exec-reps N, --p6-max N, --p6-mem MiB, --p6-idle S, --p6-floor-mib MiB, --p6-budget-s S,"
            + " --p6-check-every N, --stream-mb N,"
            + " --forks N, --only P1,P1W,P2,P3,P4,P5,P6,P7,MIN, --image REF)");
      }
    }
    b.run();
    System.exit(0);
  }

  private void run() throws Exception {
    MicroPodRuntime rt = MicroPodRuntime.defaultRuntime();
    if (image == null) {
      Path layout = rt.home().resolve("oci").resolve("busybox");
      if (!Files.isRegularFile(layout.resolve("index.json"))) {
        throw new IllegalStateException("no busybox image at " + layout + ": run `mvn install` first, or pass --image");
      }
      image = "oci:" + layout;
    }
    System.out.printf("MicroPod bench: host nproc %d, CPU %s, accel %s, home %s, image %s, reps %d%n",
        Runtime.getRuntime().availableProcessors(), cpuModel(), accel(), rt.home(), image, reps);
    // warm-up: unpacks the image once, loads classes, probes the host
    try (MicroPod pod = MicroPod.builder().image(image).command("true").start()) {
      pod.waitFor();
    }
    if (only.matches(".*P1(,.*|$)")) {
      p1(rt);
    }
    if (only.contains("P1W")) {
      p1w(rt);
    }
    if (only.contains("P2")) {
      p2(rt);
    }
    if (only.contains("P3")) {
      p3();
    }
    List<Double> raw = new ArrayList<>();
    if (only.contains("P5")) {
      // the denominator first, while no pod runs beside it
      for (int i = 0; i < Math.max(1, Math.min(reps, 3)); i++) {
        raw.add(BenchProbes.rawChannelBytesPerSecond(rt.home(), MicroPodSpec.DEFAULT_MEMORY_MIB) / 1e6);
      }
      Collections.sort(raw);
    }
    if (only.contains("P4") || only.contains("P5")) {
      try (MicroPod pod = MicroPod.builder().image(image).command("sleep", "3600").start()) {
        if (only.contains("P4")) {
          p4(pod);
        }
        if (only.contains("P5")) {
          p5(pod, raw.get(raw.size() / 2));
        }
      }
    }
    if (only.contains("P6")) {
      p6();
    }
    if (only.contains("P7")) {
      p7(rt);
    }
    if (only.contains("MIN")) {
      smallestPod();
    }
  }

  /** The goal for P6: pods of 256 MiB alive at once on a 2-core, 24 GiB host (issue 14). */
  static final int P6_GOAL = 64;

  /** The goal for the smallest pod, MiB (issue 14). */
  static final int SMALLEST_GOAL_MIB = 256;

  /**
   * The smallest pod that boots: a busybox pod of {@link MicroPodSpec#DEFAULT_MEMORY_MIB}, then
   * 256 MiB and {@link MicroPodSpec#MIN_MEMORY_MIB}, each to its first exec answer (three boots);
   * below the minimum the spec refuses, so no guest smaller than it is tried.
   */
  private void smallestPod() {
    Duration reference = startToFirstExec(MicroPodSpec.DEFAULT_MEMORY_MIB);
    int smallest = -1;
    Duration took = null;
    List<String> tried = new ArrayList<>();
    for (int mib : new int[] {SMALLEST_GOAL_MIB, MicroPodSpec.MIN_MEMORY_MIB}) {
      try {
        Duration d = startToFirstExec(mib);
        tried.add(mib + " MiB boots, " + d.toMillis() + " ms");
        smallest = mib;
        took = d;
      } catch (RuntimeException e) {
        tried.add(mib + " MiB fails: " + e.getMessage().lines().findFirst().orElse(""));
        break;
      }
    }
    String below;
    try {
      MicroPod.builder().memoryMib(MicroPodSpec.MIN_MEMORY_MIB - 1);
      below = (MicroPodSpec.MIN_MEMORY_MIB - 1) + " MiB is accepted by the spec but not tried";
    } catch (IllegalArgumentException e) {
      below = "below it the spec refuses (" + e.getMessage() + ")";
    }
    if (smallest < 0) {
      System.out.printf("MIN smallest pod that boots: none of %s (%s)%n", tried, below);
      return;
    }
    System.out.printf("MIN smallest pod that boots: %d MiB (goal %d MiB: ratio %.2fx); start() -> first exec %d ms"
        + " against %d ms at %d MiB (ratio %.2fx); %s; %s%n", smallest, SMALLEST_GOAL_MIB,
        (double) smallest / SMALLEST_GOAL_MIB, took.toMillis(), reference.toMillis(), MicroPodSpec.DEFAULT_MEMORY_MIB,
        ratio(took, reference), tried, below);
  }

  private Duration startToFirstExec(int mib) {
    long t0 = System.nanoTime();
    try (MicroPod pod = MicroPod.builder().image(image).memoryMib(mib).command("sleep", "3600").start()) {
      ExecResult r = pod.exec("true");
      if (r.exitCode() != 0) {
        throw new IllegalStateException("exec true exited " + r.exitCode() + " in a " + mib + " MiB pod");
      }
      return Duration.ofNanos(System.nanoTime() - t0);
    }
  }

  /**
   * P7 (issue 18's fork figure): {@code --forks} pods restored from one snapshot, all alive at
   * once, against as many cold starts of the same snapshottable spec alive at once: the time to
   * have them all answering an exec, and the host memory they hold (QEMU RSS and PSS summed, and
   * the drop of the host's MemAvailable, which also counts each restored pod's RAM file in the
   * page cache).
   */
  private void p7(MicroPodRuntime rt) throws Exception {
    MicroPodSpec spec = MicroPod.builder().image(image).command("sh", "-c", "echo ready; exec sleep 3600")
        .snapshottable(true).build();
    String name = "bench-p7-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
    PodSnapshot snapshot;
    try (MicroPod source = MicroPod.start(spec)) {
      source.exec("true");
      snapshot = source.snapshot(name);
    }
    try {
      String restored = forkRound(MicroPod.builder().fromSnapshot(snapshot).build());
      String cold = forkRound(spec);
      System.out.printf("P7 %d pods restored from one snapshot, alive at once: %s%n", forks, restored);
      System.out.printf("   %d cold starts of the same snapshottable spec, alive at once: %s%n", forks, cold);
    } finally {
      rt.removeSnapshot(name);
    }
  }

  /** Starts {@code forks} pods of {@code spec} one after another, each answering an exec; then measures. */
  private String forkRound(MicroPodSpec spec) throws Exception {
    List<MicroPod> pods = new ArrayList<>();
    long available0 = memAvailableKib();
    long t0 = System.nanoTime();
    try {
      for (int i = 0; i < forks; i++) {
        MicroPod pod = MicroPod.start(spec);
        pods.add(pod);
        pod.exec("true");
      }
      long total = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
      long rss = 0;
      long pss = 0;
      for (MicroPod p : pods) {
        long[] m = BenchProbes.hostMemoryKib(p);
        rss += m[0];
        pss += m[1];
      }
      long used = available0 - memAvailableKib();
      return String.format("%d ms in all (%d ms each); QEMU RSS %d MiB, PSS %d MiB in all; host MemAvailable"
          + " down %d MiB", total, total / forks, rss / 1024, pss / 1024, used / 1024);
    } finally {
      for (MicroPod p : pods) {
        p.close();
      }
    }
  }

  private static long memAvailableKib() throws IOException {
    return memAvailableKib(Files.readString(Path.of("/proc/meminfo")));
  }

  /** MemAvailable of a {@code /proc/meminfo} text, KiB. */
  static long memAvailableKib(String meminfo) {
    for (String line : meminfo.split("\n")) {
      if (line.startsWith("MemAvailable:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    throw new IllegalStateException("no MemAvailable in /proc/meminfo");
  }

  /**
   * Why P6 must not start another pod, or null: {@code --p6-max} reached, or the host's
   * MemAvailable under the floor (a pod more could push the host into swapping or its OOM killer,
   * which would kill other people's work too, not only the bench's).
   */
  static String p6StopReason(int alive, int max, long availableKib, int floorMib) {
    if (alive >= max) {
      return "reached --p6-max " + max;
    }
    if (availableKib < floorMib * 1024L) {
      return "host MemAvailable " + availableKib / 1024 + " MiB < --p6-floor-mib " + floorMib;
    }
    return null;
  }

  /** The above, or that {@code --p6-budget-s} (0: none) is spent, so a long run ends in its slot. */
  static String p6StopReason(int alive, int max, long availableKib, int floorMib, long elapsedS, int budgetS) {
    String r = p6StopReason(alive, max, availableKib, floorMib);
    if (r == null && budgetS > 0 && elapsedS >= budgetS) {
      r = "--p6-budget-s " + budgetS + " spent (" + elapsedS + " s)";
    }
    return r;
  }

  private void p1(MicroPodRuntime rt) throws Exception {
    List<Duration> bare = bareBoots(rt);
    List<Duration> first = new ArrayList<>();
    List<BootTimings> timings = new ArrayList<>();
    List<long[]> guest = new ArrayList<>();
    String runtime = "";
    MicroPodSpec spec = firstOutputSpec().build();
    for (int i = 0; i < reps; i++) {
      long t0 = System.nanoTime();
      try (MicroPod pod = MicroPod.start(spec)) {
        first.add(awaitFirstOutput(pod, t0));
        timings.add(pod.bootTimings());
        guest.add(BenchProbes.guestTimings(pod));
        runtime = BenchProbes.runtimeVersion(pod);
      }
    }
    Duration b = median(bare);
    Duration f = median(first);
    p1Median = f;
    bareMedian = b;
    System.out.printf("P1 start() -> first container output (%s): median %d ms; bare boot (QEMU spawn -> /init"
        + " marker, same QEMU settings): median %d ms; ratio %.2fx%n", runtime, f.toMillis(), b.toMillis(),
        ratio(f, b));
    System.out.printf("   start() breakdown, medians: image %d ms, VM spawn -> /init %d ms, VM spawn -> agent"
            + " ready %d ms, container create+start %d ms, start() total %d ms%n",
        med(timings, BootTimings::image), med(timings, BootTimings::vmBoot), med(timings, BootTimings::agentReady),
        med(timings, BootTimings::containerStart), med(timings, BootTimings::total));
    System.out.printf("   guest clock, medians: kernel start -> /init %d ms, /init -> agent main %d ms,"
            + " agent main -> serving %d ms, serving -> first GetInfo answered %d ms%n",
        medL(guest, g -> g[0]), medL(guest, g -> g[1] - g[0]), medL(guest, g -> g[2] - g[1]),
        medL(guest, g -> g[3] - g[2]));
    System.out.printf("   samples (ms): first output %s; bare boot %s%n", ms(first), ms(bare));
  }

  /** P1's and P1W's bare boots: QEMU spawn to the /init marker, {@code reps} times. */
  private List<Duration> bareBoots(MicroPodRuntime rt) throws Exception {
    List<Duration> bare = new ArrayList<>();
    for (int i = 0; i < reps; i++) {
      bare.add(BenchProbes.bareBoot(rt.home(), MicroPodSpec.DEFAULT_MEMORY_MIB));
    }
    return bare;
  }

  /** P1's and P1W's pod: prints {@code first-output}, then sleeps. */
  private MicroPodSpec.Builder firstOutputSpec() {
    return MicroPod.builder().image(image).command("sh", "-c", "echo first-output; exec sleep 3600");
  }

  /** Waits for the pod's first output line; the time since {@code t0} (nanoTime). */
  private static Duration awaitFirstOutput(MicroPod pod, long t0) {
    while (!pod.logs().contains("first-output")) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2));
    }
    return Duration.ofNanos(System.nanoTime() - t0);
  }

  /**
   * P1W: a warm start ({@code warmStart(true)}: restored from the configuration's template, then
   * the container created) to the container's first output, as P1 times it; the template is made
   * by one start before the timed ones. Against P1's bare boot (measured here when P1 did not run).
   */
  private void p1w(MicroPodRuntime rt) throws Exception {
    Duration b = bareMedian != null ? bareMedian : median(bareBoots(rt));
    MicroPodSpec spec = firstOutputSpec().warmStart(true).build();
    long m0 = System.nanoTime();
    try (MicroPod pod = MicroPod.start(spec)) {
      System.out.printf("P1W template: made by a cold start() of %d ms (%s)%n",
          (System.nanoTime() - m0) / 1_000_000, pod.bootTimings());
    }
    List<Duration> first = new ArrayList<>();
    List<BootTimings> timings = new ArrayList<>();
    for (int i = 0; i < reps; i++) {
      long t0 = System.nanoTime();
      try (MicroPod pod = MicroPod.start(spec)) {
        first.add(awaitFirstOutput(pod, t0));
        timings.add(pod.bootTimings());
      }
    }
    Duration f = median(first);
    System.out.printf("P1W warm start() -> first container output: median %d ms; bare boot median %d ms; ratio"
        + " %.2fx%s; %d of %d starts warm%n", f.toMillis(), b.toMillis(), ratio(f, b),
        p1Median == null ? "" : String.format(" (P1 cold %d ms)", p1Median.toMillis()),
        timings.stream().filter(BootTimings::warmStart).count(), timings.size());
    System.out.printf("   start() breakdown, medians: VM spawn -> agent ready %d ms, container create+start %d ms,"
            + " start() total %d ms; samples (ms) %s%n", med(timings, BootTimings::agentReady),
        med(timings, BootTimings::containerStart), med(timings, BootTimings::total), ms(first));
  }

  /**
   * P2: {@code start()} of a pod restored from a snapshot to its first exec answer, against a cold
   * start of the same (snapshottable) spec to its first exec answer and against P1's median.
   */
  private void p2(MicroPodRuntime rt) {
    MicroPodSpec spec = MicroPod.builder().image(image).command("sh", "-c", "echo ready; exec sleep 3600")
        .snapshottable(true).build();
    String name = "bench-p2-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
    List<Duration> cold = new ArrayList<>();
    PodSnapshot snapshot;
    Duration took;
    long t0 = System.nanoTime();
    try (MicroPod source = MicroPod.start(spec)) {
      source.exec("true");
      cold.add(Duration.ofNanos(System.nanoTime() - t0));
      long s0 = System.nanoTime();
      snapshot = source.snapshot(name);
      took = Duration.ofNanos(System.nanoTime() - s0);
    }
    List<Duration> restored = new ArrayList<>();
    try {
      MicroPodSpec restore = MicroPod.builder().fromSnapshot(snapshot).build();
      for (int i = 0; i < reps; i++) {
        long r0 = System.nanoTime();
        try (MicroPod pod = MicroPod.start(restore)) {
          pod.exec("true");
          restored.add(Duration.ofNanos(System.nanoTime() - r0));
        }
      }
    } finally {
      rt.removeSnapshot(name);
    }
    Duration r = median(restored);
    Duration c = median(cold);
    System.out.printf("P2 fromSnapshot start() -> first exec answer: median %d ms; cold start() of the same"
            + " snapshottable spec -> first exec answer %d ms (ratio %.2fx)%s%n", r.toMillis(), c.toMillis(),
        ratio(r, c), p1Median == null ? "" : String.format("; P1 median %d ms (ratio %.2fx)", p1Median.toMillis(),
            ratio(r, p1Median)));
    System.out.printf("   snapshot() %d ms, %d MB on disk; samples (ms): restores %s%n", took.toMillis(),
        snapshot.sizeBytes() / 1_000_000, ms(restored));
  }

  /** Hook for P3 (pull + unpack against skopeo copy + umoci unpack): the images engineer's part. */
  void p3() {
    System.out.println("P3 pull+unpack vs skopeo copy + umoci unpack: not measured yet (registry pulls are "
        + "the images work; hook: Bench.p3)");
  }

  private void p4(MicroPod pod) {
    List<Duration> exec = new ArrayList<>();
    List<Duration> ping = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      pod.exec("true");
      BenchProbes.ping(pod);
    }
    for (int i = 0; i < execReps; i++) {
      long t0 = System.nanoTime();
      ExecResult r = pod.exec("true");
      exec.add(Duration.ofNanos(System.nanoTime() - t0));
      if (r.exitCode() != 0) {
        throw new IllegalStateException("exec true exited " + r.exitCode());
      }
    }
    for (int i = 0; i < Math.max(execReps, 100); i++) {
      ping.add(BenchProbes.ping(pod));
    }
    Duration e = median(exec);
    Duration p = median(ping);
    System.out.printf("P4 exec `true` round trip (%s): median %.1f ms (%d reps); GetInfo ping on the same channel:"
        + " median %.2f ms (%d reps); ratio %.0fx%n", BenchProbes.runtimeVersion(pod), e.toNanos() / 1e6, exec.size(),
        p.toNanos() / 1e6, ping.size(), ratio(e, p));
  }

  private void p5(MicroPod pod, double rawMbps) throws IOException {
    long bytes = (long) streamMb * 1024 * 1024;
    // The host keeps at most AgentLimits.MAX_OUTPUT_BYTES of an exec's stdout (then a marker and
    // the rest is received and dropped): the timing covers every byte, the check what is kept.
    long kept = Math.min(bytes, io.micropod.internal.agent.AgentLimits.MAX_OUTPUT_BYTES);
    List<Double> rates = new ArrayList<>();
    for (int i = 0; i < Math.max(1, Math.min(reps, 3)); i++) {
      long t0 = System.nanoTime();
      // dd with 64 KiB blocks, not busybox's head -c: head alone takes ~2 s of guest CPU for 50 MiB
      // under TCG (byte-wise), which capped the figure at ~15 MB/s whatever the agent did.
      ExecResult r = pod.exec("dd", "if=/dev/zero", "bs=65536", "count=" + (bytes >> 16));
      long ns = System.nanoTime() - t0;
      boolean cut = bytes > kept;
      if (r.exitCode() != 0 || r.stdout().length() < kept
          || cut != r.stdout().contains(io.micropod.internal.agent.AgentLimits.truncationMarker(kept))) {
        throw new IllegalStateException("exit " + r.exitCode() + ", got " + r.stdout().length() + " of " + bytes
            + " bytes (" + kept + " kept)");
      }
      rates.add(bytes / 1e6 / (ns / 1e9));
    }
    Collections.sort(rates);
    double rate = rates.get(rates.size() / 2);
    System.out.printf("P5 stdout throughput, container writes %d MiB (exec of dd bs=64k, host-side): median %.1f MB/s;"
        + " raw channel (guest dd of 64 MiB to the agent port, host reads the socket): median %.1f MB/s;"
        + " ratio %.2fx%n", streamMb, rate, rawMbps, rate / rawMbps);
    // copyIn / copyOut of one file of the same size, against the same channel figure
    Path dir = Files.createTempDirectory("micropod-bench-copy-");
    try {
      Path file = dir.resolve("in.bin");
      byte[] block = new byte[1 << 20];
      new java.util.Random(1).nextBytes(block); // incompressible, though nothing on the path compresses
      try (var out = Files.newOutputStream(file)) {
        for (int i = 0; i < streamMb; i++) {
          out.write(block);
        }
      }
      List<Double> in = new ArrayList<>();
      List<Double> out = new ArrayList<>();
      for (int i = 0; i < Math.max(1, Math.min(reps, 3)); i++) {
        long t0 = System.nanoTime();
        pod.copyIn(file, "/tmp/bench.bin");
        in.add(bytes / 1e6 / ((System.nanoTime() - t0) / 1e9));
        Path back = dir.resolve("out-" + i + ".bin");
        t0 = System.nanoTime();
        pod.copyOut("/tmp/bench.bin", back);
        out.add(bytes / 1e6 / ((System.nanoTime() - t0) / 1e9));
        if (Files.size(back) != bytes || Files.mismatch(file, back) != -1) {
          throw new IllegalStateException("copyOut gave back " + Files.size(back) + " bytes, not the " + bytes
              + " copied in");
        }
        Files.delete(back);
      }
      pod.exec("rm", "-f", "/tmp/bench.bin");
      Collections.sort(in);
      Collections.sort(out);
      double inRate = in.get(in.size() / 2);
      double outRate = out.get(out.size() / 2);
      System.out.printf("P5 copyIn of a %d MiB file: median %.1f MB/s (ratio %.2fx); copyOut: median %.1f MB/s"
          + " (ratio %.2fx), against the raw channel's %.1f MB/s (guest to host)%n",
          streamMb, inRate, inRate / rawMbps, outRate, outRate / rawMbps, rawMbps);
    } finally {
      io.micropod.internal.files.FileTrees.deleteTree(dir);
    }
  }

  private void p6() throws IOException {
    List<MicroPod> pods = new ArrayList<>();
    String stopped;
    long available0 = memAvailableKib();
    long t0 = System.nanoTime();
    try {
      while ((stopped = p6StopReason(pods.size(), p6Max, memAvailableKib(), p6FloorMib,
          TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0), p6BudgetS)) == null) {
        try {
          pods.add(MicroPod.builder().image(image).memoryMib(p6Mem).command("sleep", "3600").start());
        } catch (RuntimeException e) {
          stopped = "start " + (pods.size() + 1) + " failed: " + e.getMessage().lines().findFirst().orElse("");
          break;
        }
        // every pod after every start (--p6-check-every 1), else the new one each time and all of
        // them every N starts and at the end: a full round costs one exec per pod alive
        String silent = silentPod(pods.size() % p6CheckEvery == 0 ? pods : pods.subList(pods.size() - 1, pods.size()));
        if (silent != null) {
          stopped = silent;
          break;
        }
        if (pods.size() % 8 == 0) {
          System.out.printf("   P6 %d pods alive, %d s, host MemAvailable %d MiB%n", pods.size(),
              TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0), memAvailableKib() / 1024);
        }
      }
      String silent = silentPod(pods);
      if (silent != null) {
        stopped += "; then " + silent;
      }
      long available = memAvailableKib();
      System.out.printf("P6 pods alive at once, each answering exec: %d of the goal %d (ratio %.2fx; %d MiB each;"
              + " stopped: %s; %d s; host MemAvailable %d -> %d MiB, load %s)%n",
          pods.size(), P6_GOAL, (double) pods.size() / P6_GOAL, p6Mem, stopped,
          TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0), available0 / 1024, available / 1024,
          Files.readString(Path.of("/proc/loadavg")).strip());
      hostMemory(pods);
    } finally {
      pods.forEach(MicroPod::close);
    }
  }

  private static String silentPod(List<MicroPod> pods) {
    for (MicroPod p : pods) {
      if (p.exec("true").exitCode() != 0) {
        return "pod " + p.id() + " stopped answering";
      }
    }
    return null;
  }

  /**
   * Host memory per idle pod (QEMU + virtiofsd, RSS and PSS), once the pods have been idle for
   * {@code --p6-idle} seconds (free page reporting gives memory back a few seconds after the
   * guest frees it).
   */
  private void hostMemory(List<MicroPod> pods) {
    if (pods.isEmpty()) {
      return;
    }
    LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(p6Idle));
    try {
      List<Long> rss = new ArrayList<>();
      List<Long> pss = new ArrayList<>();
      for (MicroPod p : pods) {
        long[] m = BenchProbes.hostMemoryKib(p);
        rss.add(m[0] / 1024);
        pss.add(m[1] / 1024);
      }
      System.out.printf("P6 host memory per idle pod (QEMU + virtiofsd, %d s idle, %d MiB each): RSS %s MiB"
          + " (mean %d), PSS %s MiB (mean %d)%n", p6Idle, p6Mem, rss,
          rss.stream().mapToLong(Long::longValue).sum() / rss.size(), pss,
          pss.stream().mapToLong(Long::longValue).sum() / pss.size());
    } catch (IOException e) {
      System.out.println("P6 host memory: cannot read /proc: " + e);
    }
  }

  private static Duration median(List<Duration> ds) {
    List<Duration> s = new ArrayList<>(ds);
    Collections.sort(s);
    return s.get(s.size() / 2);
  }

  private static long med(List<BootTimings> ts, Function<BootTimings, Duration> f) {
    return median(ts.stream().map(f).toList()).toMillis();
  }

  private static long medL(List<long[]> xs, java.util.function.ToLongFunction<long[]> f) {
    long[] v = xs.stream().mapToLong(f).sorted().toArray();
    return v[v.length / 2];
  }

  private static String ms(List<Duration> ds) {
    return ds.stream().map(d -> Long.toString(d.toMillis())).toList().toString();
  }

  private static double ratio(Duration a, Duration b) {
    return b.isZero() ? Double.NaN : (double) a.toNanos() / b.toNanos();
  }

  private static String cpuModel() throws IOException {
    return Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
        .map(l -> l.substring(l.indexOf(':') + 1).trim()).findFirst().orElse("?");
  }

  private static String accel() throws IOException {
    String cpuinfo = Files.readString(Path.of("/proc/cpuinfo"));
    boolean hw = cpuinfo.contains(" vmx") || cpuinfo.contains(" svm");
    return Files.isWritable(Path.of("/dev/kvm")) && hw ? "kvm" : "tcg (no usable KVM)";
  }
}
