package io.micropod.internal.vm;

import io.micropod.HostUnsupportedException;
import io.micropod.internal.RuntimeConfig;
import io.micropod.internal.SdkVersion;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds what the QEMU driver needs on this host and reports everything missing at once, each
 * with the path looked at and how to get it.
 */
public final class HostProbe {
  private static final Logger log = LoggerFactory.getLogger(HostProbe.class);

  public static final String QEMU_BINARY_NAME = "qemu-system-x86_64";
  public static final Path DEFAULT_VIRTIOFSD = Path.of("/usr/lib/qemu/virtiofsd");
  /** The host helper that runs virtiofsd under a seccomp filter, in {@code <guest dir>/host/}. */
  public static final String FSGUARD_NAME = "micropod-fsguard";
  /**
   * virtiofsd's wrapper for non-root users: a user namespace (root inside) plus a mount
   * namespace with a private tmpfs on /run, because the C virtiofsd writes its pid file under
   * /var/run/virtiofsd/, which only the real root may write ("Could not create
   * '/var/run/virtiofsd/...pid': Permission denied" otherwise).
   */
  public static final List<String> UNSHARE = List.of("unshare", "--map-root-user", "--mount",
      "sh", "-c", "mount -t tmpfs tmpfs /run && exec \"$0\" \"$@\"");
  private static final String TCG_SUFFIX = ": using TCG software emulation, expect seconds per boot";
  private static final Pattern CPU_MHZ = Pattern.compile("(?m)^cpu MHz\\s*:\\s*([0-9.]+)");
  private static final Pattern VIRT_FLAGS = Pattern.compile("(?m)^flags\\s*:.*\\b(vmx|svm)\\b");

  private final RuntimeConfig config;
  private final String sdkVersion;
  private final Path kvmDevice;
  private final Path cpuinfo;
  private final BooleanSupplier isRoot;
  private final Predicate<List<String>> commandSucceeds;

  /** A probe of the real host. */
  public static HostProbe forHost(RuntimeConfig config) {
    return new HostProbe(config, SdkVersion.get(), Path.of("/dev/kvm"), Path.of("/proc/cpuinfo"),
        HostProbe::runningAsRoot, HostProbe::succeeds);
  }

  public HostProbe(RuntimeConfig config, String sdkVersion, Path kvmDevice, Path cpuinfo,
      BooleanSupplier isRoot, Predicate<List<String>> commandSucceeds) {
    this.config = config;
    this.sdkVersion = sdkVersion;
    this.kvmDevice = kvmDevice;
    this.cpuinfo = cpuinfo;
    this.isRoot = isRoot;
    this.commandSucceeds = commandSucceeds;
  }

  /**
   * A host helper of the guest image in use ({@code rootfs-builder/host/}): {@code
   * <guest dir>/host/NAME}, else {@code host/NAME} beside the initramfs (a guest image pointed at
   * with {@code MICROPOD_AGENT_ROOTFS} brings its own); null when neither has it. Without the
   * netguard a NAT pod refuses to start, without the fsguard a read-write mount (QemuDriver).
   */
  Path hostHelper(String name, Path initramfs) {
    java.util.List<Path> dirs = new java.util.ArrayList<>(java.util.List.of(guestDir().resolve("host")));
    if (initramfs != null && initramfs.toAbsolutePath().getParent() != null) {
      dirs.add(initramfs.toAbsolutePath().getParent().resolve("host"));
    }
    for (Path dir : dirs) {
      Path p = dir.resolve(name);
      if (Files.isRegularFile(p) && (name.endsWith(".so") || Files.isExecutable(p))) {
        return p;
      }
    }
    log.debug("no host helper {} in {}", name, dirs);
    return null;
  }

  /** The netguard's file name under {@code <guest dir>/host/}. */
  public static final String NETGUARD = "libmicropod-netguard.so";

  /** The guest image directory of this SDK version: {@code <home>/guest/<version>}. */
  public Path guestDir() {
    return config.home().resolve("guest").resolve(sdkVersion);
  }

  /**
   * Probes the host.
   *
   * @throws HostUnsupportedException listing everything that is missing
   */
  public HostCapabilities probe() {
    return probe(VmmSelection.QEMU);
  }

  /**
   * Probes the host for {@code vmm}: for {@code firecracker} QEMU and virtiofsd are not needed
   * (their fields stay null).
   *
   * @throws HostUnsupportedException listing everything that is missing
   */
  public HostCapabilities probe(String vmm) {
    boolean qemuNeeded = !VmmSelection.FIRECRACKER.equals(vmm);
    List<String> missing = new ArrayList<>();
    Path qemu = qemuNeeded ? findQemu(missing) : null;
    Path virtiofsd = qemuNeeded ? findVirtiofsd(missing) : null;
    if (!Files.isDirectory(guestDir()) && (override(config.kernel(), "MICROPOD_KERNEL_PATH") == null
        || override(config.initramfs(), "MICROPOD_AGENT_ROOTFS") == null)) {
      // first use: unpack the guest image from io.micropod:micropod-guest (no-op when present)
      GuestImageInstaller.forSdk(sdkVersion).installIfMissing(guestDir(), missing);
    }
    Path kernel = findKernel(missing);
    Path initramfs = findInitramfs(missing);
    checkHome(missing);
    boolean root = isRoot.getAsBoolean();
    List<String> wrapper = List.of();
    if (!root && virtiofsd != null) {
      List<String> probe = new ArrayList<>(UNSHARE);
      probe.add("true");
      if (commandSucceeds.test(probe)) {
        wrapper = UNSHARE;
      } else {
        missing.add("permission to run virtiofsd: it needs root, or unprivileged user namespaces "
            + "for `unshare --map-root-user` (which failed here; on Debian/Ubuntu: "
            + "sysctl kernel.unprivileged_userns_clone=1, or run as root)");
      }
    }
    Machine machine = Machine.MICROVM;
    String machineEnv = config.getenv("MICROPOD_QEMU_MACHINE");
    if (machineEnv != null && !machineEnv.isBlank()) {
      machine = Machine.parse(machineEnv);
      if (machine == null) {
        missing.add("a supported QEMU machine: MICROPOD_QEMU_MACHINE=" + machineEnv
            + " is neither microvm nor q35");
      }
    }
    String ociRuntime = config.getenv("MICROPOD_OCI_RUNTIME");
    ociRuntime = ociRuntime == null ? "" : ociRuntime.strip();
    if (!ociRuntime.isEmpty() && !HostCapabilities.OCI_RUNTIMES.contains(ociRuntime)) {
      missing.add("a supported OCI runtime: MICROPOD_OCI_RUNTIME=" + ociRuntime
          + " is neither crun nor runc (unset it for the guest image's default, crun)");
    }
    if (!missing.isEmpty()) {
      throw new HostUnsupportedException(missing);
    }
    String cpu = readCpuinfo();
    String[] reason = new String[1];
    Accel accel = chooseAccel(cpu, reason);
    return new HostCapabilities(qemu, virtiofsd, wrapper, kernel, initramfs, accel, reason[0],
        machine, tscKhz(cpu), root, ociRuntime, qemuNeeded ? hostHelper(FSGUARD_NAME, initramfs) : null,
        hostHelper(NETGUARD, initramfs));
  }

  private Path findQemu(List<String> missing) {
    if (config.qemuBinary() != null) {
      Path p = config.qemuBinary();
      if (Files.isRegularFile(p) && Files.isExecutable(p)) {
        return p;
      }
      missing.add(QEMU_BINARY_NAME + " not found (or not executable) at " + p
          + ", the path set with MicroPodRuntime.Builder.qemuBinary(..)");
      return null;
    }
    String path = config.getenv("PATH");
    if (path != null) {
      for (String dir : path.split(File.pathSeparator)) {
        if (dir.isEmpty()) {
          continue;
        }
        Path p = Path.of(dir, QEMU_BINARY_NAME);
        if (Files.isRegularFile(p) && Files.isExecutable(p)) {
          return p;
        }
      }
    }
    missing.add(QEMU_BINARY_NAME + " binary not found on PATH (" + path + "): install QEMU "
        + "(Debian/Ubuntu: apt-get install qemu-system-x86; Fedora: dnf install qemu-system-x86-core) "
        + "or set MicroPodRuntime.Builder.qemuBinary(..)");
    return null;
  }

  private Path findVirtiofsd(List<String> missing) {
    Path p = config.virtiofsd() != null ? config.virtiofsd() : DEFAULT_VIRTIOFSD;
    if (Files.isRegularFile(p) && Files.isExecutable(p)) {
      return p;
    }
    missing.add("virtiofsd not found (or not executable) at " + p + ": install QEMU's virtiofsd "
        + "(Debian 12: apt-get install qemu-system-common) or set MicroPodRuntime.Builder.virtiofsd(..)");
    return null;
  }

  private Path findKernel(List<String> missing) {
    Path p = override(config.kernel(), "MICROPOD_KERNEL_PATH");
    if (p != null) {
      if (Files.isRegularFile(p)) {
        return p;
      }
      missing.add("guest kernel not found at " + p + " (set by "
          + (config.kernel() != null ? "MicroPodRuntime.Builder.kernel(..)" : "MICROPOD_KERNEL_PATH") + ")");
      return null;
    }
    Path vmlinux = guestDir().resolve("vmlinux");
    if (Files.isRegularFile(vmlinux)) {
      return vmlinux;
    }
    Path vmlinuz = guestDir().resolve("vmlinuz");
    if (Files.isRegularFile(vmlinuz)) {
      return vmlinuz;
    }
    missing.add("guest kernel not found at " + vmlinux + " (nor vmlinuz next to it): run "
        + "`mvn -pl rootfs-builder -am install` to build and install the guest image of SDK "
        + sdkVersion + " into " + guestDir() + ", or set MICROPOD_KERNEL_PATH");
    return null;
  }

  private Path findInitramfs(List<String> missing) {
    Path p = override(config.initramfs(), "MICROPOD_AGENT_ROOTFS");
    if (p != null) {
      if (Files.isRegularFile(p)) {
        return p;
      }
      missing.add("guest initramfs not found at " + p + " (set by "
          + (config.initramfs() != null ? "MicroPodRuntime.Builder.initramfs(..)" : "MICROPOD_AGENT_ROOTFS") + ")");
      return null;
    }
    Path cpio = guestDir().resolve("initramfs.cpio");
    if (Files.isRegularFile(cpio)) {
      return cpio;
    }
    missing.add("guest initramfs not found at " + cpio + ": run `mvn -pl rootfs-builder -am install` "
        + "to build and install the guest image of SDK " + sdkVersion + ", or set MICROPOD_AGENT_ROOTFS");
    return null;
  }

  private Path override(Path fromBuilder, String envName) {
    if (fromBuilder != null) {
      return fromBuilder;
    }
    String env = config.getenv(envName);
    return env == null || env.isBlank() ? null : Path.of(env).toAbsolutePath();
  }

  private void checkHome(List<String> missing) {
    Path home = config.home();
    try {
      Files.createDirectories(home);
      if (!Files.isWritable(home)) {
        missing.add("write access to the MicroPod home " + home
            + " (point micropod.home or MICROPOD_HOME at a writable directory)");
      }
    } catch (IOException e) {
      missing.add("a MicroPod home that can be created: " + home + " (" + e
          + "); point micropod.home or MICROPOD_HOME at a writable directory");
    }
  }

  private Accel chooseAccel(String cpu, String[] reason) {
    String forced = config.getenv("MICROPOD_ACCEL");
    if (forced != null && !forced.isBlank()) {
      String f = forced.trim().toLowerCase(Locale.ROOT);
      if (f.equals("kvm")) {
        reason[0] = "MICROPOD_ACCEL=kvm";
        return Accel.KVM;
      }
      if (f.equals("tcg")) {
        reason[0] = "MICROPOD_ACCEL=tcg" + TCG_SUFFIX;
        return Accel.TCG;
      }
      log.warn("ignoring MICROPOD_ACCEL={}: expected kvm or tcg", forced);
    }
    if (!Files.exists(kvmDevice)) {
      reason[0] = kvmDevice + " not found" + TCG_SUFFIX;
      return Accel.TCG;
    }
    if (!Files.isReadable(kvmDevice) || !Files.isWritable(kvmDevice)) {
      reason[0] = kvmDevice + " is not readable and writable by this user (add it to the kvm group)"
          + TCG_SUFFIX;
      return Accel.TCG;
    }
    if (!cpu.isEmpty() && !VIRT_FLAGS.matcher(cpu).find()) {
      // Seen in sandboxes: a /dev/kvm that opens but whose vCPUs QEMU cannot configure.
      reason[0] = kvmDevice + " exists but the CPU reports no hardware virtualisation (no vmx/svm flag in "
          + cpuinfo + "; set MICROPOD_ACCEL=kvm to try anyway)" + TCG_SUFFIX;
      return Accel.TCG;
    }
    reason[0] = kvmDevice + " is usable: using KVM";
    return Accel.KVM;
  }

  private String readCpuinfo() {
    try {
      return Files.readString(cpuinfo, StandardCharsets.ISO_8859_1);
    } catch (IOException e) {
      return "";
    }
  }

  /** The first {@code cpu MHz} of /proc/cpuinfo in kHz; 0 when absent. */
  static long tscKhz(String cpuinfo) {
    Matcher m = CPU_MHZ.matcher(cpuinfo);
    if (!m.find()) {
      return 0;
    }
    try {
      return Math.round(Double.parseDouble(m.group(1)) * 1000);
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private static boolean runningAsRoot() {
    try {
      return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
    } catch (IOException | RuntimeException e) {
      return "root".equals(System.getProperty("user.name"));
    }
  }

  private static boolean succeeds(List<String> command) {
    try {
      Process p = new ProcessBuilder(command)
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .start();
      if (!p.waitFor(5, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return false;
      }
      return p.exitValue() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
