package io.micropod.internal.vm.firecracker;

import io.micropod.HostUnsupportedException;
import io.micropod.VmStartException;
import io.micropod.event.Phase;
import io.micropod.internal.base.RuntimeConfig;
import io.micropod.internal.image.BlockImages;
import io.micropod.internal.transport.HybridVsockConnector;
import io.micropod.internal.transport.HybridVsockRelay;
import io.micropod.internal.vm.BlockRootfs;
import io.micropod.internal.vm.FileTail;
import io.micropod.internal.vm.HostCapabilities;
import io.micropod.internal.vm.ManagedProcess;
import io.micropod.internal.vm.QemuDriver;
import io.micropod.internal.vm.QemuLaunch;
import io.micropod.internal.vm.RootfsShare;
import io.micropod.internal.vm.SparseFiles;
import io.micropod.internal.vm.VmConfig;
import io.micropod.internal.vm.VmProcess;
import io.micropod.internal.vm.VmmDriver;
import java.io.IOException;
import java.io.InputStream;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Firecracker driver, to the contract in {@code docs/firecracker.md}.
 *
 * <h2>Boot, as named steps</h2>
 * <ol>
 *   <li>{@code vmm.spawn}: {@code firecracker --api-sock <sockdir>/firecracker.sock --id <podId>
 *       [--enable-pci]} with stdout and stderr (the guest's serial console) through the console
 *       capper into the pod's console log ({@code <config>/logs/<id>.log}), at most
 *       {@link Options#consoleLogMaxBytes} ({@link #launchCommand}); waits for the API socket. {@code <sockdir>} is the pod's
 *       0700 socket directory.
 *   <li>{@code vm.configure.logger}, {@code .metrics} ({@code <poddir>/firecracker.log},
 *       {@code firecracker-metrics.json}), {@code .boot-source} (the ELF {@code vmlinux}, the
 *       agent initramfs, {@link #bootArgs}), {@code .machine-config}, {@code .drives.rootfs} (the
 *       read-only ext4 image of the image tree), {@code .vsock} (CID 3,
 *       {@code <sockdir>/vsock.sock}), {@code .network-interfaces} ({@code eth0}: a TAP of
 *       {@code MICROPOD_FIRECRACKER_TAP} with {@code guest_mac}, for a pod with NAT; see
 *       {@link FirecrackerNetwork} for when there is none, with a WARN, and why MicroPod
 *       networks are refused).
 *   <li>{@code vm.boot}: {@code PUT /actions InstanceStart}.
 *   <li>A {@link HybridVsockRelay} on {@code <sockdir>/agent.sock} to guest port
 *       {@link #AGENT_VSOCK_PORT}: the agent client connects there as with QEMU.
 * </ol>
 * A failure at any step kills the VMM and throws {@link VmStartException} with the step id, the
 * API's {@code fault_message} and the tails of the console and Firecracker's log.
 *
 * <h2>Stop</h2>
 * Waits the grace period for the VMM to exit (the agent powered the guest off), then
 * {@code SendCtrlAltDel} and {@link #CTRL_ALT_DEL_DEADLINE}, then SIGTERM and SIGKILL.
 *
 * <h2>What met a real Firecracker</h2>
 * Nothing in this class: the build machines have no usable KVM and no Firecracker binary. The
 * process management ran against a stand-in executable ({@code fake-firecracker}, a test
 * resource) that serves the documented API; the API calls against a peer that checks them
 * field by field; the guest side (PCI mode with Debian's kernel, vsock, reboot on exit) only in
 * QEMU where it could, see {@code docs/firecracker.md}. The jailer path (as root: {@link Jailer},
 * {@link Jail}, {@link JailerCommand}) has never met a real jailer either: its argv and chroot
 * layout are tested against the jailer's documentation only; the console capper, the PID
 * namespace the jailer runs in ({@link #launchCommand}) and the cgroup removal
 * ({@link JailerCgroups}) ran with stand-in jailers, never a real one. Snapshots ({@link #restore},
 * {@link FirecrackerVm#snapshot(Path, Path, boolean)}) follow the contract of releases 1.13.0 to
 * 1.16.1 and ran only against the stand-in: no snapshot file, resumed guest, VMGenID reseed or
 * reopened TAP of a real Firecracker. The same holds for their use by MicroPod's public snapshot
 * path ({@link #restoresBySpawning}, {@link #snapshotFiles}): whole pods ran against the stand-in
 * with an in-process agent ({@code FirecrackerSnapshotPodTest}), never a guest resumed on KVM.
 */
public final class FirecrackerDriver implements VmmDriver {
  private static final Logger log = LoggerFactory.getLogger(FirecrackerDriver.class);

  /** The guest vsock port the agent listens on (contract). */
  public static final int AGENT_VSOCK_PORT = 1024;
  /** The guest's vsock context id. */
  public static final int GUEST_CID = 3;
  /** How long the guest gets to react to Ctrl-Alt-Del before the VMM is terminated. */
  public static final Duration CTRL_ALT_DEL_DEADLINE = Duration.ofSeconds(3);
  public static final String SPAWN_STEP = "vmm.spawn";
  public static final String BOOT_STEP = "vm.boot";

  /**
   * Settings from the environment.
   *
   * @param enablePci {@code --enable-pci} (Firecracker 1.13+): needed with Debian's kernel, which
   *     lacks {@code CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES}; {@code MICROPOD_FIRECRACKER_PCI=0} turns
   *     it off for a kernel that has it
   * @param tapDevice {@code MICROPOD_FIRECRACKER_TAP}: TAP devices (comma-separated, one per
   *     concurrently running pod) for pods with NAT, attached as {@code eth0}; creating them
   *     needs root or CAP_NET_ADMIN, once (docs/networking.md); null for none
   * @param vsockTimeouts the hybrid-vsock dialer's stages
   * @param jailer how to run Firecracker through its jailer (as root, see {@link #from}); null:
   *     Firecracker runs directly as this process's user
   * @param consoleLogMaxBytes at most this much of the guest's console (Firecracker's stdout)
   *     reaches the console log, as with QEMU ({@code MICROPOD_CONSOLE_LOG_MAX_BYTES})
   */
  public record Options(boolean enablePci, String tapDevice, HybridVsockConnector.Timeouts vsockTimeouts,
      Jailer jailer, long consoleLogMaxBytes) {
    public static final Options DEFAULT = new Options(true, null, HybridVsockConnector.Timeouts.DEFAULT);

    public Options {
      if (consoleLogMaxBytes < 1) {
        throw new IllegalArgumentException("consoleLogMaxBytes < 1: " + consoleLogMaxBytes);
      }
    }

    /** Without the jailer, the default console log cap. */
    public Options(boolean enablePci, String tapDevice, HybridVsockConnector.Timeouts vsockTimeouts) {
      this(enablePci, tapDevice, vsockTimeouts, null);
    }

    /** The default console log cap ({@link QemuDriver#CONSOLE_LOG_MAX_BYTES}). */
    public Options(boolean enablePci, String tapDevice, HybridVsockConnector.Timeouts vsockTimeouts, Jailer jailer) {
      this(enablePci, tapDevice, vsockTimeouts, jailer, QemuDriver.CONSOLE_LOG_MAX_BYTES);
    }

    /** The TAP devices of {@link #tapDevice()}, in order. */
    public List<String> taps() {
      List<String> taps = new ArrayList<>();
      if (tapDevice != null) {
        for (String t : tapDevice.split(",")) {
          if (!t.isBlank()) {
            taps.add(t.trim());
          }
        }
      }
      return taps;
    }

    public static Options from(RuntimeConfig config) {
      String pci = config.getenv("MICROPOD_FIRECRACKER_PCI");
      String tap = config.getenv("MICROPOD_FIRECRACKER_TAP");
      return new Options(pci == null || !pci.trim().equals("0"),
          tap == null || tap.isBlank() ? null : tap.trim(), HybridVsockConnector.Timeouts.DEFAULT, null,
          QemuDriver.consoleLogMaxBytes(config));
    }

    /**
     * {@link #from(RuntimeConfig)}, and as root the jailer ({@code MICROPOD_FIRECRACKER_JAILER},
     * else {@code jailer} beside {@code firecracker}, else on PATH) with chroots under
     * {@code <home>/jailer}: as root Firecracker runs only through it.
     *
     * @throws HostUnsupportedException as root when no jailer is found
     */
    public static Options from(RuntimeConfig config, Path firecracker) {
      Options o = from(config);
      if (!io.micropod.internal.vm.VmmUser.runningAsRoot()) {
        return o;
      }
      return new Options(o.enablePci(), o.tapDevice(), o.vsockTimeouts(), Jailer.find(config, firecracker),
          o.consoleLogMaxBytes());
    }
  }

  /**
   * The jailer settings: its binary, the chroot base directory, the cgroup version, and where the
   * cgroup hierarchies are mounted ({@code /proc/mounts}; a test names a fake one). Each pod's
   * Firecracker runs as the pod's own uid and gid ({@link io.micropod.internal.vm.VmmUser}, the
   * same ids QEMU would get).
   */
  public record Jailer(Path binary, Path chrootBaseDir, int cgroupVersion, Path procMounts) {
    /** With the host's {@code /proc/mounts}. */
    public Jailer(Path binary, Path chrootBaseDir, int cgroupVersion) {
      this(binary, chrootBaseDir, cgroupVersion, Path.of("/proc/mounts"));
    }

    /** The jailer for {@code firecracker} on this host (see {@link Options#from(RuntimeConfig, Path)}). */
    static Jailer find(RuntimeConfig config, Path firecracker) {
      String env = config.getenv("MICROPOD_FIRECRACKER_JAILER");
      Path binary = null;
      if (env != null && !env.isBlank()) {
        binary = Path.of(env.trim());
      } else if (firecracker != null && firecracker.getParent() != null
          && Files.isExecutable(firecracker.getParent().resolve("jailer"))) {
        binary = firecracker.getParent().resolve("jailer");
      } else {
        binary = onPath(config, "jailer");
      }
      if (binary == null || !Files.isExecutable(binary)) {
        throw new HostUnsupportedException(List.of("Firecracker's jailer"
            + (binary == null ? "" : " (" + binary + " is not executable)") + ": as root, MicroPod runs"
            + " Firecracker only through it (chroot, its own uid, cgroups). Install the jailer of the same"
            + " release beside firecracker, or set MICROPOD_FIRECRACKER_JAILER to its path; or run MicroPod"
            + " as an ordinary user"));
      }
      if (onPath(config, "unshare") == null) {
        throw new HostUnsupportedException(List.of("unshare (util-linux): as root, MicroPod runs the jailed"
            + " Firecracker in a PID namespace of its own so that it dies with the JVM. Install util-linux,"
            + " or run MicroPod as an ordinary user"));
      }
      int cgroups = Files.exists(Path.of("/sys/fs/cgroup/cgroup.controllers")) ? 2 : 1;
      return new Jailer(binary, config.home().resolve("jailer"), cgroups);
    }

    /** {@code name} on {@code config}'s PATH, or null. */
    private static Path onPath(RuntimeConfig config, String name) {
      String path = config.getenv("PATH");
      for (String d : (path == null ? "/usr/bin:/bin" : path).split(":")) {
        if (!d.isEmpty() && Files.isExecutable(Path.of(d, name))) {
          return Path.of(d, name);
        }
      }
      return null;
    }
  }

  /**
   * Where one VM's files are: {@code apiSocket} and the {@code *OnHost} paths as this JVM reaches
   * them, the others as Firecracker names them in its API calls (inside its jail when jailed).
   */
  record Placement(Path apiSocket, Path kernel, Path initramfs, Path rootfs, Path vsock, Path vsockOnHost,
      Path log, Path logOnHost, Path metrics, Jail jail, Path systemImage) {

    /** Firecracker run directly: every path is the host's. */
    static Placement direct(VmConfig config, Path rootfs) {
      return new Placement(FirecrackerDriver.apiSocket(config), config.host().kernel(), config.host().initramfs(),
          rootfs, vsockSocket(config), vsockSocket(config), firecrackerLog(config), firecrackerLog(config),
          metricsFile(config), null, config.host().systemImage());
    }

    /** Firecracker in {@code jail}: it names the files at the jail's fixed paths. */
    static Placement jailed(Jail jail, boolean systemImage) {
      return new Placement(jail.hostPath(Jail.API_SOCKET), Jail.KERNEL, Jail.INITRAMFS, Jail.ROOTFS, Jail.VSOCK,
          jail.hostPath(Jail.VSOCK), Jail.LOG, jail.hostPath(Jail.LOG), Jail.METRICS, jail,
          systemImage ? Jail.SYSTEM_IMAGE : null);
    }
  }

  /**
   * The jailed command of {@code config}'s Firecracker and its laid-out chroot: as {@code uid}
   * (uid = gid), the pod id as the jail id, the API socket at {@link Jail#API_SOCKET}.
   */
  Jail jail(VmConfig config, Path rootfs, int uid) throws IOException {
    Jailer j = options.jailer();
    JailerCommand c = new JailerCommand(j.binary(), config.podId(), binary, uid, uid, j.chrootBaseDir(),
        j.cgroupVersion());
    return Jail.prepare(c, config.host().kernel(), config.host().initramfs(), rootfs, config.host().systemImage());
  }

  /** The jailed command line: the jailer's, then Firecracker's (no {@code --id}: the jailer adds it). */
  List<String> jailedCommand(Jail jail) {
    List<String> fc = new ArrayList<>(List.of("--api-sock", Jail.API_SOCKET.toString()));
    if (options.enablePci()) {
      fc.add("--enable-pci");
    }
    return jail.command().command(fc);
  }

  /**
   * What is spawned: {@code vmm} (Firecracker's argv, or the jailer's) with its stdout and stderr
   * (the guest's serial console) through the console capper of {@link QemuLaunch#stdoutToConsole},
   * the one QEMU's console goes through ({@link Options#consoleLogMaxBytes}, then the marker).
   *
   * <p>Jailed, also in a PID namespace of its own whose init is a root {@code sh} that dies with
   * this JVM: {@code unshare --pid --fork --kill-child=SIGKILL --mount-proc -- sh -c '"$@"; exit $?'}.
   * The jailer's drop to the pod's uid clears {@code PR_SET_PDEATHSIG}, so the death signal
   * {@link ManagedProcess} sets cannot reach Firecracker itself; it reaches {@code unshare}, whose
   * {@code --kill-child} kills that init, and the kernel kills everything in a PID namespace whose
   * init dies, whatever its uid. The jailer's documentation names spawning it in a new PID
   * namespace as the alternative to its {@code --new-pid-ns}, which is no use here: with it the
   * jailer exits at once and the JVM would watch nothing. {@code --mount-proc}: {@code /proc}
   * then shows the namespace's pids, which the jailer reads its own descriptors from. Under it,
   * a SIGTERM to the spawned process ({@code unshare}, which blocks it) does nothing: a forced
   * stop takes {@link ManagedProcess#stop}'s SIGKILL, 2 s later.
   *
   * @param capper the identity the capper drops to (the pod's, jailed), or null
   */
  List<String> launchCommand(VmConfig config, List<String> vmm, io.micropod.internal.vm.VmmUser capper) {
    List<String> inner = vmm;
    if (options.jailer() != null) {
      inner = new ArrayList<>(List.of("unshare", "--pid", "--fork", "--kill-child=SIGKILL", "--mount-proc", "--",
          "sh", "-c", "\"$@\"; exit $?", "micropod-jail-init"));
      inner.addAll(vmm);
    }
    return QemuLaunch.stdoutToConsole(capper, new QemuLaunch.Console(config.consoleLog(),
        config.podDir().resolve("console.fifo"), 1, options.consoleLogMaxBytes()), capperPid(config), inner);
  }

  /** Where {@link #launchCommand} writes the console capper's pid. */
  static Path capperPid(VmConfig config) {
    return config.podDir().resolve("console.pid");
  }

  /** How long a dead VMM's console capper gets to copy the VMM's last output into the log. */
  static final Duration CONSOLE_DRAIN = Duration.ofSeconds(2);

  /**
   * Waits (at most {@link #CONSOLE_DRAIN}) for the console capper of {@code config}'s VMM, which
   * has exited, to end: only then is everything the VMM printed in the log.
   */
  static void awaitConsoleDrained(VmConfig config) {
    try {
      String pid = Files.readString(capperPid(config)).trim();
      ProcessHandle.of(Long.parseLong(pid)).ifPresent(h -> {
        try {
          h.onExit().get(CONSOLE_DRAIN.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
          log.debug("pod {}: console capper {} still running: {}", config.podId(), pid, e.toString());
        }
      });
    } catch (IOException | NumberFormatException e) {
      log.debug("pod {}: no console capper pid: {}", config.podId(), e.toString());
    }
  }

  private final Path binary;
  private final BlockImages blockImages;
  private final Options options;
  private final FirecrackerNetwork network;
  /** TAPs attached to running VMs of this driver. */
  private final java.util.Set<String> tapsInUse = java.util.concurrent.ConcurrentHashMap.newKeySet();

  public FirecrackerDriver(Path binary, BlockImages blockImages, Options options) {
    this(binary, blockImages, options, FirecrackerNetwork.ofHost());
  }

  FirecrackerDriver(Path binary, BlockImages blockImages, Options options, FirecrackerNetwork network) {
    this.binary = binary;
    this.blockImages = blockImages;
    this.options = options;
    this.network = network;
  }

  @Override
  public String name() {
    return "firecracker";
  }

  public Path binary() {
    return binary;
  }

  /** Builds (or finds) the read-only ext4 image of {@code tree}; nothing runs beside the VM. */
  @Override
  public RootfsShare shareRootfs(VmConfig config, Path tree, Instant deadline) throws InterruptedException {
    return BlockRootfs.prepare(blockImages, config.podId(), tree);
  }

  /**
   * The public snapshot path ({@code snapshottable(true)}, {@code MicroPod.snapshot},
   * {@code fromSnapshot}) runs on this driver for a Firecracker run directly: a snapshot is
   * {@link FirecrackerVm#snapshot(Path, Path)}, a restore {@link #restore}. Both follow the
   * contract of releases 1.13.0 to 1.16.1 and have run only against the stand-in, never a real
   * KVM. Jailed (MicroPod as root), refused before anything starts: the jail holds only what
   * {@link Jail} links into it, so Firecracker could neither write a snapshot into the snapshot
   * directory nor read one from it (placing them in the jail is not implemented).
   */
  @Override
  public String snapshotsUnsupported() {
    if (options.jailer() == null) {
      return null;
    }
    return "the firecracker driver cannot snapshot or restore pods through its jailer (MicroPod runs as root,"
        + " so Firecracker runs jailed, and the jail cannot reach the snapshot files: not implemented)."
        + " Run MicroPod as an ordinary user (Firecracker then runs without the jailer), or use the qemu"
        + " driver for pods you snapshot or restore (MICROPOD_VMM=qemu, or MicroPodRuntime.builder().vmm(\"qemu\"))";
  }

  /** Firecracker loads a snapshot into a fresh VMM: {@link #restore}. */
  @Override
  public boolean restoresBySpawning() {
    return true;
  }

  /** Firecracker has no virtio-fs, by its maintainers' decision. */
  @Override
  public String mountsUnsupported() {
    return "the firecracker driver cannot mount host directories: Firecracker has no virtio-fs "
        + "(its maintainers declined it). Use the qemu driver (MICROPOD_VMM=qemu, or "
        + "MicroPodRuntime.builder().vmm(\"qemu\")), or copy the files in with copyToContainer(..) "
        + "before start or copyIn(..) after";
  }

  /** The API socket's name in a pod's socket directory (Firecracker run directly). */
  public static final String API_SOCKET_NAME = "firecracker.sock";

  /** The API socket of a pod. */
  public static Path apiSocket(VmConfig config) {
    return config.socketDir().resolve(API_SOCKET_NAME);
  }

  /** The host end of the pod's hybrid vsock ({@code uds_path}). */
  public static Path vsockSocket(VmConfig config) {
    return config.socketDir().resolve("vsock.sock");
  }

  public static Path firecrackerLog(VmConfig config) {
    return config.podDir().resolve("firecracker.log");
  }

  public static Path metricsFile(VmConfig config) {
    return config.podDir().resolve("firecracker-metrics.json");
  }

  /** The VMM command line. */
  public List<String> command(VmConfig config) {
    List<String> cmd = new ArrayList<>(List.of(binary.toString(), "--api-sock", apiSocket(config).toString(),
        "--id", config.podId()));
    if (options.enablePci()) {
      cmd.add("--enable-pci");
    }
    return cmd;
  }

  /**
   * The kernel command line: the contract's keys with {@code micropod.channel=vsock},
   * {@code micropod.rootfs=blk}, {@code micropod.accel=kvm}, and {@code micropod.vmm=firecracker}
   * (the guest's /init leaves with {@code reboot -f}: Firecracker exits on the guest's reboot).
   * No {@code tsc_early_khz}: that works around a TCG-only hang.
   */
  public static String bootArgs(boolean debug) {
    return "console=ttyS0 reboot=k panic=1 quiet cryptomgr.notests rdinit=/init micropod.accel=kvm"
        + " micropod.channel=vsock micropod.rootfs=blk micropod.vmm=firecracker micropod.debug=" + (debug ? "1" : "0");
  }

  /** {@link #bootArgs(boolean)} plus one {@code micropod.nic} key per device of {@code guest}. */
  static String bootArgs(boolean debug, io.micropod.internal.vm.GuestNetworkConfig guest) {
    return bootArgs(debug, guest, "");
  }

  /**
   * {@link #bootArgs(boolean, io.micropod.internal.vm.GuestNetworkConfig)} plus
   * {@code micropod.runtime=<ociRuntime>} unless {@code ociRuntime} is empty (the guest's default).
   */
  static String bootArgs(boolean debug, io.micropod.internal.vm.GuestNetworkConfig guest, String ociRuntime) {
    StringBuilder sb = new StringBuilder(bootArgs(debug));
    if (!ociRuntime.isEmpty()) {
      sb.append(" micropod.runtime=").append(ociRuntime);
    }
    for (String nic : guest.kernelArgs()) {
      sb.append(' ').append(nic);
    }
    return sb.toString();
  }

  @Override
  public VmProcess spawn(VmConfig config, RootfsShare rootfs, Instant deadline)
      throws IOException, InterruptedException {
    HostCapabilities host = config.host();
    checkSpawnable(config, rootfs);
    Files.createDirectories(config.podDir());
    Placement at;
    List<String> cmd;
    if (options.jailer() != null) {
      io.micropod.internal.vm.VmmUser user = io.micropod.internal.vm.VmmUser.forPod(config.podId(), host,
          config.network());
      Jail jail = jail(config, rootfs.blockImage(), user.uid());
      at = Placement.jailed(jail, host.systemImage() != null);
      cmd = launchCommand(config, jailedCommand(jail), user);
    } else {
      at = Placement.direct(config, rootfs.blockImage());
      touch(at.logOnHost());
      touch(at.metrics());
      cmd = launchCommand(config, command(config), null);
    }
    FirecrackerNetwork.Plan net = planNetwork(config);
    String tap = net.tap();
    ManagedProcess process;
    try {
      process = ManagedProcess.start(config.podId(), "firecracker", cmd, config.consoleLog());
    } catch (IOException e) {
      releaseTap(tap);
      if (at.jail() != null) {
        at.jail().delete();
      }
      throw new VmStartException("cannot start " + binary + ": " + e.getMessage(), e, config.podId(),
          Phase.VM_BOOT, SPAWN_STEP, "");
    }
    if (tap != null) {
      process.onExit().whenComplete((code, t) -> releaseTap(tap));
    }
    if (at.jail() != null) {
      Jailer j = options.jailer();
      process.onExit().whenComplete((code, t) -> {
        at.jail().delete();
        JailerCgroups.remove(j.procMounts(), at.jail().command());
      });
    }
    FirecrackerVm vm = new FirecrackerVm(config, process, new FirecrackerApi(at.apiSocket()), at.logOnHost());
    boolean ok = false;
    try {
      ManagedProcess.Await seen = awaitApi(process, at.apiSocket(), deadline);
      if (seen != ManagedProcess.Await.APPEARED) {
        String what = seen == ManagedProcess.Await.DIED
            ? "firecracker exited with code " + process.exitCode().orElse(-1) + " before it created its API socket "
                + at.apiSocket() + "; see " + config.consoleLog()
            : "firecracker did not open its API socket " + at.apiSocket() + " before the start-up deadline";
        throw new VmStartException(what, null, config.podId(), Phase.VM_BOOT, SPAWN_STEP, vm.consoleTail());
      }
      FirecrackerApi api = vm.api();
      step(vm, "vm.configure.logger", () -> api.putLogger(at.log(), config.debug() ? "Debug" : "Info"));
      step(vm, "vm.configure.metrics", () -> api.putMetrics(at.metrics()));
      step(vm, "vm.configure.boot-source", () -> api.putBootSource(at.kernel(), bootArgs(config.debug(), net.guest(), host.ociRuntime()),
          at.initramfs()));
      step(vm, "vm.configure.machine-config", () -> api.putMachineConfig(config.cpus(), config.memoryMib(), false));
      step(vm, "vm.configure.drives.rootfs", () -> api.putDrive("rootfs", at.rootfs(), false, true));
      if (at.systemImage() != null) {
        // the second drive: the guest's /init takes /dev/vdb for it (Firecracker sets no serial)
        step(vm, "vm.configure.drives.sys", () -> api.putDrive("sys", at.systemImage(), false, true));
      }
      step(vm, "vm.configure.vsock", () -> api.putVsock(GUEST_CID, at.vsock()));
      if (tap != null) {
        step(vm, "vm.configure.network-interfaces", () -> api.putNetworkInterface(FirecrackerNetwork.IFACE_ID, tap,
            io.micropod.internal.vm.GuestNetworkConfig.NAT_MAC));
      }
      step(vm, BOOT_STEP, () -> api.action("InstanceStart"));
      vm.relay = HybridVsockRelay.start(config.podId(), config.agentSocket(),
          new HybridVsockConnector(at.vsockOnHost(), AGENT_VSOCK_PORT, options.vsockTimeouts()));
      log.debug("pod {}: firecracker pid {} started the VM; agent relay {} -> {} port {}", config.podId(),
          process.pid(), config.agentSocket(), at.vsockOnHost(), AGENT_VSOCK_PORT);
      ok = true;
      return vm;
    } finally {
      if (!ok) {
        vm.stop(Duration.ZERO);
      }
    }
  }

  /** {@code config}'s network on this host, its TAP (if any) taken until {@link #releaseTap}. */
  private FirecrackerNetwork.Plan planNetwork(VmConfig config) {
    FirecrackerNetwork.Plan net;
    synchronized (tapsInUse) {
      net = network.plan(config.podId(), config.network(), options.taps(), tapsInUse);
      if (net.tap() != null) {
        tapsInUse.add(net.tap());
      }
    }
    if (net.warning() != null) {
      log.warn("pod {}: {}", config.podId(), net.warning());
    }
    return net;
  }

  private void releaseTap(String tap) {
    if (tap != null) {
      tapsInUse.remove(tap);
    }
  }

  /**
   * Waits until the API socket accepts connections. The file appears at bind(2), a moment before
   * listen(2): a connect in between is refused (seen with the stand-in), so existing is not enough.
   */
  static ManagedProcess.Await awaitApi(ManagedProcess process, Path socket, Instant deadline)
      throws InterruptedException {
    ManagedProcess.Await seen = process.awaitFile(socket, deadline);
    if (seen != ManagedProcess.Await.APPEARED) {
      return seen;
    }
    while (true) {
      try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
        return ManagedProcess.Await.APPEARED;
      } catch (IOException e) {
        if (!process.isAlive()) {
          return ManagedProcess.Await.DIED;
        }
        if (Instant.now().isAfter(deadline)) {
          return ManagedProcess.Await.TIMED_OUT;
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
        if (Thread.interrupted()) {
          throw new InterruptedException("interrupted while waiting for " + socket);
        }
      }
    }
  }

  /** What Firecracker cannot take: an odd vCPU count, a compressed kernel, no block image. */
  private void checkSpawnable(VmConfig config, RootfsShare rootfs) throws IOException {
    int cpus = config.cpus();
    if (cpus < 1 || cpus > 32 || (cpus > 1 && cpus % 2 != 0)) {
      throw new VmStartException("Firecracker takes 1 or an even number of vCPUs up to 32, not " + cpus
          + ": set cpus(1), cpus(2), cpus(4), ...", null, config.podId(), Phase.VM_BOOT, SPAWN_STEP, "");
    }
    if (rootfs == null || rootfs.blockImage() == null) {
      throw new IllegalStateException("the firecracker driver needs a block rootfs image");
    }
    Path kernel = config.host().kernel();
    byte[] magic = new byte[4];
    try (InputStream in = Files.newInputStream(kernel)) {
      if (in.readNBytes(magic, 0, 4) != 4 || magic[0] != 0x7f || magic[1] != 'E' || magic[2] != 'L' || magic[3] != 'F') {
        throw new VmStartException("Firecracker boots an uncompressed ELF vmlinux, and " + kernel
            + " is not one: use the guest image's vmlinux (or set MICROPOD_KERNEL_PATH to one)", null,
            config.podId(), Phase.VM_BOOT, SPAWN_STEP, "");
      }
    }
  }

  private static void touch(Path p) throws IOException {
    if (!Files.exists(p)) {
      Files.createFile(p);
    }
  }

  /** One API call as a named boot step. */
  private interface ApiCall {
    void run() throws FirecrackerApiException;
  }

  private static void step(FirecrackerVm vm, String stepId, ApiCall call) {
    log.debug("pod {}: {}", vm.config.podId(), stepId);
    try {
      call.run();
    } catch (FirecrackerApiException e) {
      throw new VmStartException("firecracker failed at " + stepId + ": " + e.getMessage() + "; see " + vm.config.consoleLog() + " and "
          + vm.logOnHost, e, vm.config.podId(), Phase.VM_BOOT, stepId, vm.consoleTail());
    }
  }

  /** The step id of a snapshot load (the version check, logger and metrics are part of it). */
  public static final String LOAD_STEP = "vm.snapshot.load";

  /**
   * Spawns a fresh Firecracker and restores a snapshot into it, resumed, memory from a file.
   * Never met a real Firecracker or KVM: contract-tested against the stand-in only.
   * <ol>
   *   <li>{@code GET /version}: the fields below are refused (400, unknown field) by releases
   *       before they appeared, so a release too old for them fails here, before the load, with
   *       the version it needs ({@link #requiredForRestore}).
   *   <li>{@code PUT /logger}, {@code PUT /metrics}, to this pod's files: a snapshot keeps
   *       neither, and Firecracker takes them only before the load.
   *   <li>{@code PUT /snapshot/load} with {@code vsock_override} (1.16.0+): the hybrid vsock moves
   *       to this pod's socket, not the source pod's, which may still be in use; and, for a pod
   *       with NAT, {@code network_overrides} (1.13.0+) pointing {@code eth0} at this pod's own
   *       TAP (else the restored VM would reopen the source pod's).
   *   <li>A new agent relay: vsock connections do not survive a restore; the relay dials anew.
   * </ol>
   * The guest kernel's RNG is reseeded by VMGenID where the guest binds it (Firecracker 1.16.0+
   * with Debian's 6.1 kernel built with {@code CONFIG_VMGENID}); random state seeded in user space
   * (the agent's {@code SecureRandom}, ids) is a copy of the snapshot's in every restored VM:
   * the caller reseeds it through the agent after this returns, as for QEMU.
   */
  @Override
  public FirecrackerVm restore(VmConfig config, Path snapshot, Path memFile, Instant deadline)
      throws IOException, InterruptedException {
    if (options.jailer() != null) {
      throw new IllegalStateException(snapshotsUnsupported());
    }
    Files.createDirectories(config.podDir());
    touch(firecrackerLog(config));
    touch(metricsFile(config));
    String tap = planNetwork(config).tap();
    ManagedProcess process;
    try {
      process = ManagedProcess.start(config.podId(), "firecracker", launchCommand(config, command(config), null),
          config.consoleLog());
    } catch (IOException e) {
      releaseTap(tap);
      throw new VmStartException("cannot start " + binary + ": " + e.getMessage(), e, config.podId(),
          Phase.VM_BOOT, SPAWN_STEP, "");
    }
    if (tap != null) {
      process.onExit().whenComplete((code, t) -> releaseTap(tap));
    }
    FirecrackerVm vm = new FirecrackerVm(config, process, new FirecrackerApi(apiSocket(config)),
        firecrackerLog(config));
    boolean ok = false;
    try {
      if (awaitApi(process, apiSocket(config), deadline) != ManagedProcess.Await.APPEARED) {
        throw new VmStartException("firecracker did not create its API socket " + apiSocket(config), null,
            config.podId(), Phase.VM_BOOT, SPAWN_STEP, vm.consoleTail());
      }
      FirecrackerApi api = vm.api();
      step(vm, LOAD_STEP, () -> vm.version = api.version());
      String tooOld = requiredForRestore(vm.version, tap != null);
      if (tooOld != null) {
        throw new VmStartException(tooOld + "; see docs/firecracker.md", null, config.podId(), Phase.VM_BOOT,
            LOAD_STEP, "");
      }
      step(vm, "vm.configure.logger", () -> api.putLogger(firecrackerLog(config), config.debug() ? "Debug" : "Info"));
      step(vm, "vm.configure.metrics", () -> api.putMetrics(metricsFile(config)));
      java.util.Map<String, String> nets = tap == null ? java.util.Map.of()
          : java.util.Map.of(FirecrackerNetwork.IFACE_ID, tap);
      step(vm, LOAD_STEP, () -> api.loadSnapshot(snapshot, memFile, true, vsockSocket(config), nets));
      log.debug("pod {}: restored {} on Firecracker {}; guest kernel RNG reseeded by VMGenID: {}", config.podId(),
          snapshot, vm.version, vm.version.atLeast(FirecrackerVersion.VMGENID_FOR_LINUX_6_1)
              ? "yes, if the guest kernel has CONFIG_VMGENID" : "no (Firecracker < 1.16.0 with a 6.1 kernel)");
      vm.relay = HybridVsockRelay.start(config.podId(), config.agentSocket(),
          new HybridVsockConnector(vsockSocket(config), AGENT_VSOCK_PORT, options.vsockTimeouts()));
      ok = true;
      return vm;
    } finally {
      if (!ok) {
        vm.stop(Duration.ZERO);
      }
    }
  }

  /**
   * Null when Firecracker {@code version} takes the snapshot load MicroPod sends; else why not,
   * naming the release needed: {@code vsock_override} always (without it the restored VM would
   * listen on the source pod's socket), {@code network_overrides} for a pod with a TAP.
   */
  static String requiredForRestore(FirecrackerVersion version, boolean withTap) {
    List<String> missing = new ArrayList<>();
    if (!version.atLeast(FirecrackerVersion.VSOCK_OVERRIDE)) {
      missing.add("vsock_override from " + FirecrackerVersion.VSOCK_OVERRIDE);
    }
    if (withTap && !version.atLeast(FirecrackerVersion.NETWORK_OVERRIDES)) {
      missing.add("network_overrides from " + FirecrackerVersion.NETWORK_OVERRIDES);
    }
    if (missing.isEmpty()) {
      return null;
    }
    return "restoring a snapshot needs Firecracker " + FirecrackerVersion.VSOCK_OVERRIDE + " or later ("
        + String.join(", ", missing) + " in PUT /snapshot/load; older releases refuse the field), and this"
        + " Firecracker is " + version + ": install a newer Firecracker, or use the qemu driver (MICROPOD_VMM=qemu)";
  }

  /**
   * {@code PATCH /vm Paused} (unless {@code pause} is false: the VM is paused already),
   * {@code PUT /snapshot/create} ({@code Full}), then {@code PATCH /vm Resumed} when
   * {@code resume}. A failed create leaves Firecracker's VM paused: it is resumed here unless it
   * was paused before ({@code pause} false), so that the source pod keeps running, and the
   * create's error is thrown with a failed resume attached as suppressed. {@code vsockReset} runs
   * after the create either way: the snapshot reset the VM's vsock device.
   */
  static void snapshot(FirecrackerApi api, Path snapshot, Path memFile, boolean pause, boolean resume,
      Runnable vsockReset) throws FirecrackerApiException {
    if (pause) {
      api.pause();
    }
    try {
      api.createSnapshot(snapshot, memFile, "Full");
    } catch (FirecrackerApiException e) {
      if (pause) {
        try {
          api.resume();
        } catch (FirecrackerApiException r) {
          e.addSuppressed(r);
        }
      }
      vsockReset.run();
      throw e;
    }
    if (resume) {
      api.resume();
    }
    vsockReset.run();
  }

  /**
   * A snapshot of the VM behind {@code api} as MicroPod keeps it: {@link #snapshot(FirecrackerApi,
   * Path, Path, boolean, boolean, Runnable) taken} (a VM {@code paused} before stays paused, any
   * other runs on), then the memory file's zero pages punched out ({@link SparseFiles#digHoles}:
   * Firecracker writes every page of guest memory) and both files fsynced. Used by the pod that
   * started the VM.
   *
   * <p>Never met a real Firecracker (only the stand-in, which writes a whole file of
   * {@code mem_size_mib} before it answers): that the memory file is closed and complete when
   * {@code /snapshot/create} answers (else punching its holes would race Firecracker's writes),
   * and that its size is exactly the guest's memory (the restore checks it: {@code Snapshots}).
   *
   * @return the bytes of guest memory in use (the memory file's allocated blocks)
   */
  public static long snapshotFiles(FirecrackerApi api, Path stateFile, Path memFile, boolean paused,
      Runnable vsockReset) throws IOException {
    snapshot(api, stateFile, memFile, !paused, !paused, vsockReset);
    long inUse = SparseFiles.digHoles(memFile);
    for (Path f : new Path[] {stateFile, memFile}) {
      try (java.nio.channels.FileChannel c = java.nio.channels.FileChannel.open(f,
          java.nio.file.StandardOpenOption.WRITE)) {
        c.force(true);
      }
    }
    return inUse;
  }

  /**
   * A running Firecracker VM: its process, API client and agent relay, with pause, resume and
   * snapshot in the shape {@link VmProcess}'s QEMU counterparts take; none has met a real
   * Firecracker.
   */
  public static final class FirecrackerVm implements VmProcess {
    private final VmConfig config;
    private final ManagedProcess process;
    private final FirecrackerApi api;
    private final Path logOnHost;
    private volatile HybridVsockRelay relay;
    private volatile FirecrackerVersion version;
    /** Whether the guest is paused by {@link #pause} (a snapshot leaves it as it found it). */
    private volatile boolean paused;

    FirecrackerVm(VmConfig config, ManagedProcess process, FirecrackerApi api, Path logOnHost) {
      this.config = config;
      this.process = process;
      this.api = api;
      this.logOnHost = logOnHost;
    }

    public FirecrackerApi api() {
      return api;
    }

    /** The Firecracker release, asked at restore; null for a cold-started VM. */
    public FirecrackerVersion version() {
      return version;
    }

    public long pid() {
      return process.pid();
    }

    /** {@code PATCH /vm Paused}. */
    @Override
    public void pause() throws FirecrackerApiException {
      api.pause();
      paused = true;
    }

    /** {@code PATCH /vm Resumed}. */
    @Override
    public void resume() throws FirecrackerApiException {
      api.resume();
      paused = false;
    }

    /**
     * Pauses, writes a {@code Full} snapshot, resumes when {@code resume}. Never met a real
     * Firecracker: contract-tested against the stand-in only.
     *
     * <p>A failed {@code /snapshot/create} leaves Firecracker's VM paused: it is resumed here
     * (whatever {@code resume} says: the source pod keeps running) and the create's error is
     * thrown, with a failed resume attached as suppressed.
     *
     * <p>Taking a snapshot resets the vsock device of this VM too: on resume the guest has lost
     * every vsock connection, and the host ends may not notice (nothing more comes through). The
     * agent relay's connections are closed here, so gRPC sees the end at once and reconnects
     * through the relay, which dials the guest anew.
     *
     * @throws FirecrackerApiException the failed call (pause, create or resume)
     */
    public void snapshot(Path snapshot, Path memFile, boolean resume) throws FirecrackerApiException {
      FirecrackerDriver.snapshot(api, snapshot, memFile, true, resume, this::resetAgentConnections);
      paused = !resume;
    }

    /**
     * The driver-neutral snapshot of {@link VmProcess#snapshot}: Firecracker's microVM state into
     * {@code stateFile}, its guest memory into {@code memFile}, both made sparse and fsynced
     * ({@link #snapshotFiles}); a VM that was {@link #pause paused} stays paused (and is not
     * paused again), any other runs on, also after a failed create.
     *
     * @return the bytes of guest memory in use (the memory file's allocated blocks)
     * @throws IOException the failed API call ({@link FirecrackerApiException}, with
     *     Firecracker's {@code fault_message}, e.g. "No space left on device") or file operation
     */
    @Override
    public long snapshot(Path stateFile, Path memFile) throws IOException {
      boolean wasPaused = paused;
      return snapshotFiles(api, stateFile, memFile, wasPaused, this::resetAgentConnections);
    }

    /** Ends the agent relay's connections after a vsock reset; gRPC reconnects through the relay. */
    private void resetAgentConnections() {
      HybridVsockRelay r = relay;
      if (r != null) {
        r.closeConnections();
        log.debug("pod {}: vsock reset by the snapshot: agent connections closed, gRPC reconnects", config.podId());
      }
    }

    @Override
    public Path agentSocket() {
      return config.agentSocket();
    }

    @Override
    public boolean isAlive() {
      return process.isAlive();
    }

    @Override
    public CompletableFuture<Integer> onExit() {
      return process.onExit();
    }

    @Override
    public String consoleTail() {
      if (!process.isAlive()) {
        awaitConsoleDrained(config);
      }
      return FileTail.tails(40, config.consoleLog().toString(), config.consoleLog(), "firecracker.log",
          logOnHost);
    }

    @Override
    public void stop(Duration grace) {
      try {
        boolean exited = false;
        if (!grace.isZero() && process.isAlive()) {
          try {
            exited = process.awaitExit(grace);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        if (!exited && process.isAlive() && !grace.isZero() && !Thread.currentThread().isInterrupted()) {
          try {
            api.action("SendCtrlAltDel");
            process.awaitExit(CTRL_ALT_DEL_DEADLINE);
          } catch (FirecrackerApiException e) {
            log.debug("pod {}: SendCtrlAltDel failed: {}", config.podId(), e.getMessage());
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        process.stop(Duration.ZERO);
      } finally {
        HybridVsockRelay r = relay;
        if (r != null) {
          r.close();
        }
        api.close();
      }
    }

    @Override
    public void kill() {
      process.kill();
      HybridVsockRelay r = relay;
      if (r != null) {
        r.close();
      }
    }
  }
}
