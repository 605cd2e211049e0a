package io.micropod.internal.vm;

import io.micropod.HostCheck;
import io.micropod.HostUnsupportedException;
import io.micropod.internal.base.RuntimeConfig;
import io.micropod.internal.base.SdkVersion;
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
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds what the QEMU driver needs on this host and reports everything missing at once, each
 * with the path looked at and how to get it.
 *
 * <p>Every rule records a {@link HostCheck} in a {@link Findings}: the start path ({@link
 * #probe}) throws on the MISSING ones, {@code micropod doctor} ({@link #diagnose}) shows them all.
 * So both apply the same rules; the doctor only adds what the start path need not pay for
 * (virtiofsd's version, reading the whole guest image to verify it, the network rows) and
 * changes nothing on disk (it neither installs the guest image nor creates the home).
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
  private static final Pattern VERSION = Pattern.compile("\\b(\\d+\\.\\d+(?:\\.\\d+)?)\\b");
  /** bin/setup-host's package (Debian/Ubuntu); its qemu-system-common brings virtiofsd. */
  static final String QEMU_INSTALL = "apt-get install qemu-system-x86 (Fedora: dnf install qemu-system-x86-core)";
  private static final String REBUILD = "mvn -pl rootfs-builder -am install (or add the io.micropod:micropod-guest "
      + "artifact and remove the incomplete guest directory)";

  private final RuntimeConfig config;
  private final String sdkVersion;
  private final Path kvmDevice;
  private final Path cpuinfo;
  private final BooleanSupplier isRoot;
  private final Predicate<List<String>> commandSucceeds;
  private final Function<List<String>, String> commandOutput;
  private final GuestImageInstaller installer;
  private final Predicate<Path> readWrite;

  /** A probe of the real host. */
  public static HostProbe forHost(RuntimeConfig config) {
    return new HostProbe(config, SdkVersion.get(), Path.of("/dev/kvm"), Path.of("/proc/cpuinfo"),
        HostProbe::runningAsRoot, HostProbe::succeeds);
  }

  public HostProbe(RuntimeConfig config, String sdkVersion, Path kvmDevice, Path cpuinfo,
      BooleanSupplier isRoot, Predicate<List<String>> commandSucceeds) {
    this(config, sdkVersion, kvmDevice, cpuinfo, isRoot, commandSucceeds, HostProbe::output,
        GuestImageInstaller.forSdk(sdkVersion), p -> Files.isReadable(p) && Files.isWritable(p));
  }

  /**
   * @param commandOutput runs a command ({@code qemu-system-x86_64 --version}) and returns its
   *     output, or null when it cannot be run or fails
   * @param installer the guest image on the classpath
   * @param readWrite whether this user may open a device read-write (a test's stand-in for
   *     access(2), which always says yes to root)
   */
  public HostProbe(RuntimeConfig config, String sdkVersion, Path kvmDevice, Path cpuinfo,
      BooleanSupplier isRoot, Predicate<List<String>> commandSucceeds,
      Function<List<String>, String> commandOutput, GuestImageInstaller installer, Predicate<Path> readWrite) {
    this.readWrite = readWrite;
    this.config = config;
    this.sdkVersion = sdkVersion;
    this.kvmDevice = kvmDevice;
    this.cpuinfo = cpuinfo;
    this.isRoot = isRoot;
    this.commandSucceeds = commandSucceeds;
    this.commandOutput = commandOutput;
    this.installer = installer;
  }

  /** The checks of one probe, in order, plus what the start-up log line says. Not thread-safe. */
  public static final class Findings {
    private final List<HostCheck> checks = new ArrayList<>();
    private String qemuVersion;
    private String accelSummary;
    private Path guestDir;

    public void add(HostCheck check) {
      checks.add(check);
    }

    void ok(String name, String detail) {
      add(HostCheck.ok(name, detail));
    }

    void warn(String name, String detail, String fix) {
      add(HostCheck.warn(name, detail, fix));
    }

    void missing(String name, String detail, String fix) {
      add(HostCheck.missing(name, detail, fix));
    }

    public List<HostCheck> checks() {
      return List.copyOf(checks);
    }

    /** The details of the MISSING checks: the lines of a {@link HostUnsupportedException}. */
    public List<String> missingLines() {
      List<String> lines = new ArrayList<>();
      for (HostCheck c : checks) {
        if (c.status() == HostCheck.Status.MISSING) {
          lines.add(c.detail());
        }
      }
      return lines;
    }

    /** The WARN checks' names. */
    public List<String> degraded() {
      List<String> names = new ArrayList<>();
      for (HostCheck c : checks) {
        if (c.status() == HostCheck.Status.WARN) {
          names.add(c.name());
        }
      }
      return names;
    }

    /** QEMU's version ({@code 7.2.22}), or null when unknown or QEMU is not used. */
    public String qemuVersion() {
      return qemuVersion;
    }

    /** {@code KVM} or {@code TCG (why)}; null when QEMU is not used. */
    public String accelSummary() {
      return accelSummary;
    }

    /** The guest image directory of this SDK version. */
    public Path guestDir() {
      return guestDir;
    }
  }

  /** Check names, stable: tests and scripts may look them up with {@code HostReport.check(..)}. */
  public static final String CHECK_ACCEL = "accelerator";
  public static final String CHECK_QEMU = "qemu";
  public static final String CHECK_VIRTIOFSD = "virtiofsd";
  public static final String CHECK_USERNS = "virtiofsd as non-root";
  public static final String CHECK_GUEST_IMAGE = "guest image";
  public static final String CHECK_KERNEL = "guest kernel";
  public static final String CHECK_INITRAMFS = "guest initramfs";
  public static final String CHECK_HOME = "home";
  public static final String CHECK_MACHINE = "qemu machine";
  public static final String CHECK_OCI_RUNTIME = "oci runtime";
  public static final String CHECK_NAT = "network: NAT";
  public static final String CHECK_PORTS = "network: port mapping";
  public static final String CHECK_POD_NETWORKS = "network: pod networks";

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

  /**
   * The system image to attach: the one beside {@code initramfs} (a guest image directory that
   * {@code build-guest.sh} wrote), else this SDK's installed one (an initramfs of one's own, or a
   * test's modified copy, runs on the SDK's JRE and agent); null when neither exists. An initramfs
   * that holds the JRE itself ignores the disk.
   */
  Path systemImage(Path initramfs) {
    Path beside = HostCapabilities.systemImageBeside(initramfs);
    if (beside != null) {
      return beside;
    }
    Path installed = guestDir().resolve(HostCapabilities.SYSTEM_IMAGE);
    return initramfs != null && Files.isRegularFile(installed) ? installed : null;
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
   * Probes the host for {@code vmm}, recording every check in {@code findings} (the start path:
   * installs the guest image on first use and creates the home).
   *
   * @throws HostUnsupportedException listing everything that is missing
   */
  public HostCapabilities probe(String vmm, Findings findings) {
    HostCapabilities h = examine(vmm, false, findings);
    List<String> missing = findings.missingLines();
    if (!missing.isEmpty()) {
      throw new HostUnsupportedException(missing);
    }
    return h;
  }

  /**
   * The doctor's probe: every check of {@link #probe(String, Findings)} plus virtiofsd's version,
   * a sha256 check of the installed guest image and the network rows, and nothing written: the
   * guest image is reported installable rather than installed, the home is not created. Never
   * throws for a missing piece.
   */
  public void diagnose(String vmm, Findings findings) {
    examine(vmm, true, findings);
  }

  /**
   * Probes the host for {@code vmm}: for {@code firecracker} QEMU and virtiofsd are not needed
   * (their fields stay null).
   *
   * @throws HostUnsupportedException listing everything that is missing
   */
  public HostCapabilities probe(String vmm) {
    return probe(vmm, new Findings());
  }

  /** The probe of both modes; returns null when something is MISSING. */
  private HostCapabilities examine(String vmm, boolean doctor, Findings f) {
    boolean qemuNeeded = !VmmSelection.FIRECRACKER.equals(vmm);
    f.guestDir = guestDir();
    String cpu = readCpuinfo();
    AccelChoice accel = chooseAccel(cpu);
    if (qemuNeeded) {
      f.accelSummary = accel.accel() == Accel.KVM ? "KVM" : "TCG (" + accel.brief() + ")";
      if (accel.accel() == Accel.KVM) {
        f.ok(CHECK_ACCEL, "KVM (" + accel.brief() + ")");
      } else {
        f.warn(CHECK_ACCEL, "TCG (" + accel.brief() + "): software emulation, expect seconds per boot",
            accel.fix());
      }
    }
    Path qemu = qemuNeeded ? findQemu(f) : null;
    Path virtiofsd = qemuNeeded ? findVirtiofsd(f, doctor) : null;
    boolean root = isRoot.getAsBoolean();
    List<String> wrapper = List.of();
    if (virtiofsd != null) {
      if (root) {
        f.ok(CHECK_USERNS, "not needed: running as root, virtiofsd runs directly");
      } else {
        List<String> probe = new ArrayList<>(UNSHARE);
        probe.add("true");
        if (commandSucceeds.test(probe)) {
          wrapper = UNSHARE;
          f.ok(CHECK_USERNS, "virtiofsd runs in a user namespace (unshare --map-root-user --mount)");
        } else {
          f.missing(CHECK_USERNS, "permission to run virtiofsd: it needs root, or unprivileged user namespaces "
              + "for `unshare --map-root-user` (which failed here; on Debian/Ubuntu: "
              + "sysctl kernel.unprivileged_userns_clone=1, or run as root)",
              "sudo sysctl -w kernel.unprivileged_userns_clone=1 (or run as root)");
        }
      }
    }
    List<String> comingFiles = guestImage(f, doctor);
    Path kernel = null;
    Path initramfs = null;
    if (comingFiles == null) {
      kernel = findKernel(f);
      initramfs = findInitramfs(f);
    }
    Path fsguard = null;
    if (qemuNeeded) {
      fsguard = helper(f, FSGUARD_NAME, initramfs, comingFiles, "read-write mounts refuse to start without it "
          + "(read-only mounts and the image share work)");
    }
    Path netguard = helper(f, NETGUARD, initramfs, comingFiles,
        "NAT pods (the default network mode) refuse to start without it; NetworkMode.NONE pods work");
    checkHome(f, !doctor);
    Machine machine = Machine.MICROVM;
    if (qemuNeeded) {
      String machineEnv = config.getenv("MICROPOD_QEMU_MACHINE");
      if (machineEnv != null && !machineEnv.isBlank()) {
        machine = Machine.parse(machineEnv);
        if (machine == null) {
          f.missing(CHECK_MACHINE, "a supported QEMU machine: MICROPOD_QEMU_MACHINE=" + machineEnv
              + " is neither microvm nor q35", "unset MICROPOD_QEMU_MACHINE, or set it to microvm or q35");
        } else {
          f.ok(CHECK_MACHINE, machine.qemuName() + " (MICROPOD_QEMU_MACHINE)");
        }
      } else {
        f.ok(CHECK_MACHINE, machine.qemuName() + " (the default; MICROPOD_QEMU_MACHINE=q35 picks q35)");
      }
    }
    String ociRuntime = config.getenv("MICROPOD_OCI_RUNTIME");
    ociRuntime = ociRuntime == null ? "" : ociRuntime.strip();
    if (!ociRuntime.isEmpty() && !HostCapabilities.OCI_RUNTIMES.contains(ociRuntime)) {
      f.missing(CHECK_OCI_RUNTIME, "a supported OCI runtime: MICROPOD_OCI_RUNTIME=" + ociRuntime
          + " is neither crun nor runc (unset it for the guest image's default, crun)",
          "unset MICROPOD_OCI_RUNTIME, or set it to crun or runc");
    } else {
      f.ok(CHECK_OCI_RUNTIME, ociRuntime.isEmpty() ? "the guest image's default (crun; MICROPOD_OCI_RUNTIME=runc "
          + "picks runc)" : ociRuntime + " (MICROPOD_OCI_RUNTIME)");
    }
    if (doctor) {
      networkRows(f, qemuNeeded, netguard, comingFiles);
    }
    if (!f.missingLines().isEmpty()) {
      return null;
    }
    return new HostCapabilities(qemu, virtiofsd, wrapper, kernel, initramfs, accel.accel(), accel.reason(), machine,
        tscKhz(cpu), root, ociRuntime, fsguard, netguard, systemImage(initramfs));
  }

  /**
   * The guest image: overridden, installed (verified by the doctor), or installed now from the
   * micropod-guest artifact (start) / installable from it (doctor).
   *
   * @return the files the artifact would install when the doctor found it not installed yet
   *     (kernel and initramfs are not looked for then); else null
   */
  private List<String> guestImage(Findings f, boolean doctor) {
    Path dir = guestDir();
    boolean overridden = override(config.kernel(), "MICROPOD_KERNEL_PATH") != null
        && override(config.initramfs(), "MICROPOD_AGENT_ROOTFS") != null;
    if (overridden) {
      f.ok(CHECK_GUEST_IMAGE, "kernel and initramfs given by MICROPOD_KERNEL_PATH / MICROPOD_AGENT_ROOTFS "
          + "(or the builder); not verified");
      return null;
    }
    String reinstall = "rm -rf " + dir + " (the SDK unpacks it again from " + artifact() + " on the next start)";
    if (Files.isRegularFile(dir.resolve(GuestImageInstaller.MANIFEST))) {
      if (!doctor) {
        f.ok(CHECK_GUEST_IMAGE, dir + " (installed)");
        return null;
      }
      try {
        List<String> bad = installer.verify(dir);
        if (bad.isEmpty()) {
          f.ok(CHECK_GUEST_IMAGE, dir + " (installed; every file matches the sha256 in its manifest.json)");
        } else {
          f.warn(CHECK_GUEST_IMAGE, dir + " differs from its manifest.json: " + String.join("; ", bad), reinstall);
        }
      } catch (GuestImageInstaller.InstallException e) {
        f.warn(CHECK_GUEST_IMAGE, dir + ": " + e.getMessage(), reinstall);
      }
      return null;
    }
    if (Files.isDirectory(dir)) {
      // built by hand or by an older tool: the kernel and initramfs rows say whether it is usable
      f.ok(CHECK_GUEST_IMAGE, dir + " (no manifest.json: not installed from " + artifact() + ", not verified)");
      return null;
    }
    String fix = "add the dependency " + artifact() + " (io.micropod:micropod-bom manages its version), "
        + "or set MICROPOD_KERNEL_PATH and MICROPOD_AGENT_ROOTFS";
    if (!doctor) {
      // first use: unpack the guest image from io.micropod:micropod-guest (no-op when present)
      List<String> problems = new ArrayList<>();
      installer.installIfMissing(dir, problems);
      if (problems.isEmpty()) {
        f.ok(CHECK_GUEST_IMAGE, dir + " (installed from " + artifact() + ")");
      } else {
        for (String p : problems) {
          f.missing(CHECK_GUEST_IMAGE, p, fix);
        }
      }
      return null;
    }
    try {
      List<String> files = installer.availableFiles();
      f.ok(CHECK_GUEST_IMAGE, "not installed yet: the first start unpacks " + artifact() + " from the classpath into "
          + dir + " (" + files.size() + " files, checked by sha256)");
      return files;
    } catch (GuestImageInstaller.InstallException e) {
      f.missing(CHECK_GUEST_IMAGE, e.getMessage(), fix);
      return null;
    }
  }

  private Path helper(Findings f, String name, Path initramfs, List<String> comingFiles, String without) {
    if (comingFiles != null) {
      if (comingFiles.contains("host/" + name)) {
        f.ok(name, "comes with the guest image (not installed yet)");
      } else {
        f.warn(name, "the guest image on the classpath has no host/" + name + ": " + without,
            "use the " + artifact() + " of this SDK version (it ships the helper)");
      }
      return null;
    }
    Path p = hostHelper(name, initramfs);
    if (p != null) {
      f.ok(name, p.toString());
    } else {
      f.warn(name, "not found in " + guestDir().resolve("host")
          + (initramfs != null ? " nor beside " + initramfs : "") + ": " + without,
          "rm -rf " + guestDir() + " (the SDK unpacks it again, helpers included, from " + artifact()
              + " on the next start)");
    }
    return p;
  }

  private void networkRows(Findings f, boolean qemuNeeded, Path netguard, List<String> comingFiles) {
    boolean guarded = netguard != null || (comingFiles != null && comingFiles.contains("host/" + NETGUARD));
    if (qemuNeeded) {
      if (guarded) {
        f.ok(CHECK_NAT, "QEMU user-mode networking (slirp), no root needed; " + NETGUARD
            + " keeps pods off the host's own services");
      } else {
        f.warn(CHECK_NAT, "NAT pods refuse to start without " + NETGUARD + " (see its row)",
            "reinstall the guest image (see the " + NETGUARD + " row), or use NetworkMode.NONE");
      }
    } else {
      f.ok(CHECK_NAT, "firecracker: a TAP device (needs privileges; see docs/firecracker.md)");
    }
    f.ok(CHECK_PORTS, "through the guest agent (no root, no QEMU hostfwd): micropod run -p, MicroPodSpec.Builder.port(..)");
    if (!qemuNeeded) {
      return;
    }
    int[] v = versionNumbers(f.qemuVersion);
    if (v != null && (v[0] < 7 || (v[0] == 7 && v[1] < 2))) {
      f.warn(CHECK_POD_NETWORKS, "QEMU " + f.qemuVersion + " has no -netdev stream (7.2 added it): pods cannot join "
          + "a Network", "install QEMU 7.2 or later (Debian 12: apt-get install qemu-system-x86)");
    } else {
      f.ok(CHECK_POD_NETWORKS, "a user-space Ethernet switch in this process, QEMU -netdev stream; no root needed");
    }
  }

  private String artifact() {
    return "io.micropod:micropod-guest:" + sdkVersion + ":" + GuestImageInstaller.PLATFORM;
  }

  /** The version in a {@code --version} output's first line ({@code 7.2.22}), or null. */
  static String parseVersion(String output) {
    if (output == null) {
      return null;
    }
    String first = output.strip().lines().findFirst().orElse("");
    Matcher m = VERSION.matcher(first);
    return m.find() ? m.group(1) : null;
  }

  private static int[] versionNumbers(String version) {
    if (version == null) {
      return null;
    }
    String[] parts = version.split("\\.");
    try {
      return new int[] {Integer.parseInt(parts[0]), parts.length > 1 ? Integer.parseInt(parts[1]) : 0};
    } catch (NumberFormatException e) {
      return null;
    }
  }

  private String versionOf(Path binary) {
    String v = parseVersion(commandOutput.apply(List.of(binary.toString(), "--version")));
    return v;
  }

  private Path findQemu(Findings f) {
    Path found = null;
    if (config.qemuBinary() != null) {
      Path p = config.qemuBinary();
      if (Files.isRegularFile(p) && Files.isExecutable(p)) {
        found = p;
      } else {
        f.missing(CHECK_QEMU, QEMU_BINARY_NAME + " not found (or not executable) at " + p
            + ", the path set with MicroPodRuntime.Builder.qemuBinary(..)",
            "point MicroPodRuntime.Builder.qemuBinary(..) at " + QEMU_BINARY_NAME + ", or install QEMU: "
                + QEMU_INSTALL);
        return null;
      }
    }
    String path = config.getenv("PATH");
    if (found == null && path != null) {
      for (String dir : path.split(File.pathSeparator)) {
        if (dir.isEmpty()) {
          continue;
        }
        Path p = Path.of(dir, QEMU_BINARY_NAME);
        if (Files.isRegularFile(p) && Files.isExecutable(p)) {
          found = p;
          break;
        }
      }
    }
    if (found == null) {
      f.missing(CHECK_QEMU, QEMU_BINARY_NAME + " binary not found on PATH (" + path + "): install QEMU "
          + "(Debian/Ubuntu: apt-get install qemu-system-x86; Fedora: dnf install qemu-system-x86-core) "
          + "or set MicroPodRuntime.Builder.qemuBinary(..)", QEMU_INSTALL);
      return null;
    }
    f.qemuVersion = versionOf(found);
    f.ok(CHECK_QEMU, found + (f.qemuVersion == null ? " (version unknown)" : ", version " + f.qemuVersion));
    return found;
  }

  private Path findVirtiofsd(Findings f, boolean withVersion) {
    Path p = config.virtiofsd() != null ? config.virtiofsd() : DEFAULT_VIRTIOFSD;
    if (Files.isRegularFile(p) && Files.isExecutable(p)) {
      String v = withVersion ? versionOf(p) : null;
      f.ok(CHECK_VIRTIOFSD, p + (v == null ? "" : ", version " + v));
      return p;
    }
    f.missing(CHECK_VIRTIOFSD, "virtiofsd not found (or not executable) at " + p + ": install QEMU's virtiofsd "
        + "(Debian 12: apt-get install qemu-system-common) or set MicroPodRuntime.Builder.virtiofsd(..)",
        "apt-get install qemu-system-x86 (Debian 12: its qemu-system-common has /usr/lib/qemu/virtiofsd; "
            + "Debian 13 / Ubuntu 24.04: apt-get install virtiofsd, then MicroPodRuntime.Builder.virtiofsd(..))");
    return null;
  }

  private Path findKernel(Findings f) {
    Path p = override(config.kernel(), "MICROPOD_KERNEL_PATH");
    if (p != null) {
      String by = config.kernel() != null ? "MicroPodRuntime.Builder.kernel(..)" : "MICROPOD_KERNEL_PATH";
      if (Files.isRegularFile(p)) {
        f.ok(CHECK_KERNEL, p + " (" + by + ")");
        return p;
      }
      f.missing(CHECK_KERNEL, "guest kernel not found at " + p + " (set by " + by + ")", "point " + by
          + " at a guest kernel, or unset it for the guest image's");
      return null;
    }
    Path vmlinux = guestDir().resolve("vmlinux");
    Path vmlinuz = guestDir().resolve("vmlinuz");
    for (Path k : List.of(vmlinux, vmlinuz)) {
      if (Files.isRegularFile(k)) {
        f.ok(CHECK_KERNEL, k.toString());
        return k;
      }
    }
    f.missing(CHECK_KERNEL, "guest kernel not found at " + vmlinux + " (nor vmlinuz next to it): run "
        + "`mvn -pl rootfs-builder -am install` to build and install the guest image of SDK "
        + sdkVersion + " into " + guestDir() + ", or set MICROPOD_KERNEL_PATH", REBUILD);
    return null;
  }

  private Path findInitramfs(Findings f) {
    Path p = override(config.initramfs(), "MICROPOD_AGENT_ROOTFS");
    if (p != null) {
      String by = config.initramfs() != null ? "MicroPodRuntime.Builder.initramfs(..)" : "MICROPOD_AGENT_ROOTFS";
      if (Files.isRegularFile(p)) {
        f.ok(CHECK_INITRAMFS, p + " (" + by + ")");
        return p;
      }
      f.missing(CHECK_INITRAMFS, "guest initramfs not found at " + p + " (set by " + by + ")", "point " + by
          + " at a guest initramfs, or unset it for the guest image's");
      return null;
    }
    Path cpio = guestDir().resolve("initramfs.cpio");
    if (Files.isRegularFile(cpio)) {
      f.ok(CHECK_INITRAMFS, cpio.toString());
      return cpio;
    }
    f.missing(CHECK_INITRAMFS, "guest initramfs not found at " + cpio + ": run `mvn -pl rootfs-builder -am install` "
        + "to build and install the guest image of SDK " + sdkVersion + ", or set MICROPOD_AGENT_ROOTFS", REBUILD);
    return null;
  }

  private Path override(Path fromBuilder, String envName) {
    if (fromBuilder != null) {
      return fromBuilder;
    }
    String env = config.getenv(envName);
    return env == null || env.isBlank() ? null : Path.of(env).toAbsolutePath();
  }

  /**
   * The home must be a writable directory (created here on the start path; the doctor only looks),
   * private to the user (0700, as {@link io.micropod.internal.files.PrivateDirs} makes the store and
   * config directory).
   */
  private void checkHome(Findings f, boolean create) {
    Path home = config.home();
    String fix = "point micropod.home or MICROPOD_HOME at a writable directory";
    if (!Files.isDirectory(home)) {
      if (create) {
        try {
          Files.createDirectories(home);
        } catch (IOException e) {
          f.missing(CHECK_HOME, "a MicroPod home that can be created: " + home + " (" + e
              + "); point micropod.home or MICROPOD_HOME at a writable directory", fix);
          return;
        }
      } else {
        Path parent = home.toAbsolutePath().getParent();
        while (parent != null && !Files.exists(parent)) {
          parent = parent.getParent();
        }
        if (parent != null && Files.isDirectory(parent) && Files.isWritable(parent)) {
          f.ok(CHECK_HOME, home + " (does not exist yet: the first start creates it)");
        } else {
          f.missing(CHECK_HOME, "a MicroPod home that can be created: " + home + " (" + parent
              + " is not a writable directory); point micropod.home or MICROPOD_HOME at a writable directory", fix);
        }
        return;
      }
    }
    if (!Files.isWritable(home)) {
      f.missing(CHECK_HOME, "write access to the MicroPod home " + home
          + " (point micropod.home or MICROPOD_HOME at a writable directory)", fix);
      return;
    }
    try {
      java.util.Set<java.nio.file.attribute.PosixFilePermission> mode = Files.getPosixFilePermissions(home);
      String m = java.nio.file.attribute.PosixFilePermissions.toString(mode);
      if (mode.equals(io.micropod.internal.files.PrivateDirs.MODE)) {
        f.ok(CHECK_HOME, home + " (" + m + ")");
      } else {
        f.warn(CHECK_HOME, home + " is " + m + ", expected rwx------: other local users may read what is in it",
            "chmod 700 " + home);
      }
    } catch (IOException | UnsupportedOperationException e) {
      f.ok(CHECK_HOME, home + " (mode unknown: " + e + ")");
    }
  }

  /**
   * @param reason the long form, for the log and {@link HostCapabilities#accelReason()}
   * @param brief a few words for the start-up line and the doctor
   * @param fix what makes KVM usable; null for KVM
   */
  record AccelChoice(Accel accel, String reason, String brief, String fix) {}

  private AccelChoice chooseAccel(String cpu) {
    String forced = config.getenv("MICROPOD_ACCEL");
    if (forced != null && !forced.isBlank()) {
      String f = forced.trim().toLowerCase(Locale.ROOT);
      if (f.equals("kvm")) {
        return new AccelChoice(Accel.KVM, "MICROPOD_ACCEL=kvm", "forced by MICROPOD_ACCEL=kvm", null);
      }
      if (f.equals("tcg")) {
        return new AccelChoice(Accel.TCG, "MICROPOD_ACCEL=tcg" + TCG_SUFFIX, "forced by MICROPOD_ACCEL=tcg",
            "unset MICROPOD_ACCEL");
      }
      log.warn("ignoring MICROPOD_ACCEL={}: expected kvm or tcg", forced);
    }
    if (!Files.exists(kvmDevice)) {
      return new AccelChoice(Accel.TCG, kvmDevice + " not found" + TCG_SUFFIX, "no " + kvmDevice,
          "enable hardware virtualisation (VT-x/AMD-V) in the BIOS, or nested virtualisation in the hypervisor, "
              + "then: modprobe kvm_intel (or kvm_amd)");
    }
    if (!readWrite.test(kvmDevice)) {
      return new AccelChoice(Accel.TCG, kvmDevice + " is not readable and writable by this user (add it to the kvm "
          + "group)" + TCG_SUFFIX, kvmDevice + " not accessible to this user",
          "sudo usermod -aG kvm $USER (then log in again), or: sudo setfacl -m u:$USER:rw " + kvmDevice);
    }
    if (!cpu.isEmpty() && !VIRT_FLAGS.matcher(cpu).find()) {
      // Seen in sandboxes: a /dev/kvm that opens but whose vCPUs QEMU cannot configure.
      return new AccelChoice(Accel.TCG, kvmDevice + " exists but the CPU reports no hardware virtualisation (no "
          + "vmx/svm flag in " + cpuinfo + "; set MICROPOD_ACCEL=kvm to try anyway)" + TCG_SUFFIX,
          "CPU without vmx/svm flags, though " + kvmDevice + " exists",
          "enable nested virtualisation (vmx/svm) for this machine in its hypervisor, or set MICROPOD_ACCEL=kvm "
              + "to try anyway");
    }
    return new AccelChoice(Accel.KVM, kvmDevice + " is usable: using KVM", kvmDevice.toString(), null);
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

  /** Runs {@code command} (5 s at most) and returns its output, or null when it fails. */
  private static String output(List<String> command) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      p.getOutputStream().close();
      java.util.concurrent.CompletableFuture<byte[]> out = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
        try {
          return p.getInputStream().readNBytes(64 * 1024);
        } catch (IOException e) {
          return new byte[0];
        }
      });
      if (!p.waitFor(5, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return null;
      }
      String s = new String(out.get(1, TimeUnit.SECONDS), StandardCharsets.UTF_8);
      return p.exitValue() == 0 ? s : null;
    } catch (IOException | java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
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
