package io.micropod.internal.vm;

import io.micropod.HostUnsupportedException;
import io.micropod.VmStartException;
import io.micropod.event.Phase;
import io.micropod.internal.image.BlockImages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The QEMU driver: {@code qemu-system-x86_64} per the guest contract, TCG or KVM. */
public final class QemuDriver implements VmmDriver {
  private static final Logger log = LoggerFactory.getLogger(QemuDriver.class);
  public static final String SPAWN_STEP = "vmm.spawn";

  /** The default cap of a guest console log on disk (see {@link QemuLaunch}): 16 MiB. */
  public static final long CONSOLE_LOG_MAX_BYTES = 16L << 20;

  private final RootfsMode rootfsMode;
  private final BlockImages blockImages;
  private final long consoleLogMaxBytes;

  /** The default: the image tree over virtio-fs. */
  public QemuDriver() {
    this(RootfsMode.VIRTIOFS, null);
  }

  /** With {@link RootfsMode#BLOCK}, {@code blockImages} builds the read-only images. */
  public QemuDriver(RootfsMode rootfsMode, BlockImages blockImages) {
    this(rootfsMode, blockImages, CONSOLE_LOG_MAX_BYTES);
  }

  /** {@code consoleLogMaxBytes}: at most this much of a guest's console reaches its log file. */
  public QemuDriver(RootfsMode rootfsMode, BlockImages blockImages, long consoleLogMaxBytes) {
    if (rootfsMode == RootfsMode.BLOCK && blockImages == null) {
      throw new IllegalArgumentException("block mode needs BlockImages");
    }
    if (consoleLogMaxBytes < 1) {
      throw new IllegalArgumentException("consoleLogMaxBytes < 1: " + consoleLogMaxBytes);
    }
    this.rootfsMode = rootfsMode;
    this.blockImages = blockImages;
    this.consoleLogMaxBytes = consoleLogMaxBytes;
  }

  /**
   * The console log cap of {@code config}: {@code MICROPOD_CONSOLE_LOG_MAX_BYTES}, else
   * {@link #CONSOLE_LOG_MAX_BYTES}.
   *
   * @throws IllegalArgumentException naming the value when it is not a positive number
   */
  public static long consoleLogMaxBytes(io.micropod.internal.base.RuntimeConfig config) {
    String v = config.getenv("MICROPOD_CONSOLE_LOG_MAX_BYTES");
    if (v == null || v.isBlank()) {
      return CONSOLE_LOG_MAX_BYTES;
    }
    try {
      long n = Long.parseLong(v.trim());
      if (n >= 1) {
        return n;
      }
    } catch (NumberFormatException e) {
      // below
    }
    throw new IllegalArgumentException("MICROPOD_CONSOLE_LOG_MAX_BYTES must be a number of bytes >= 1: " + v);
  }

  public RootfsMode rootfsMode() {
    return rootfsMode;
  }

  @Override
  public String name() {
    return "qemu";
  }

  @Override
  public RootfsShare shareRootfs(VmConfig config, Path tree, Instant deadline)
      throws InterruptedException {
    if (rootfsMode == RootfsMode.BLOCK || config.snapshotting() != null) {
      // a snapshottable pod: vhost-user-fs cannot migrate, a read-only block device can
      return BlockRootfs.prepare(blockImages, config.podId(), tree);
    }
    VirtiofsDaemon d = VirtiofsDaemon.start(config.podId(), config.host(), config.virtiofsSocket(),
        tree, config.podDir().resolve("virtiofsd.log"), deadline, config.detached());
    return shareOf(d);
  }

  /** A running virtiofsd as the share the pod stops or kills. */
  private static RootfsShare shareOf(VirtiofsDaemon d) {
    return new RootfsShare() {
      @Override
      public void stop() {
        d.stop();
      }

      @Override
      public void kill() {
        d.kill();
      }

      @Override
      public long pid() {
        return d.pid();
      }
    };
  }

  @Override
  public String mountsUnsupported() {
    return null;
  }

  /** Migration to a file and {@code -incoming} (docs/snapshots.md). */
  @Override
  public String snapshotsUnsupported() {
    return null;
  }

  /** A virtiofsd per mount; see {@link VirtiofsDaemon#mountCommand}. */
  @Override
  public RootfsShare shareMount(VmConfig config, io.micropod.Mount mount, VmConfig.MountDevice device,
      Path logFile, Instant deadline) throws InterruptedException {
    if (!mount.readOnly() && config.host().fsguard() == null) {
      // Fail closed: without the seccomp wrapper the guest could create device nodes, setuid
      // files or files of any owner in the host directory. A read-only mount (and the image share)
      // is a read-only bind the host kernel enforces, so it does not need the wrapper.
      throw new HostUnsupportedException(List.of("the guest image's host helper "
          + HostProbe.FSGUARD_NAME + " (needed for the read-write mount of "
          + mount.hostPath() + "): it is missing from the guest image directory (<guest dir>/host/);"
          + " reinstall the guest image of this SDK version (it ships the helper)"));
    }
    VirtiofsDaemon d = VirtiofsDaemon.start(config.podId(),
        VirtiofsDaemon.mountCommand(config.host(), device.socket(), mount.hostPath(), mount.readOnly()),
        device.socket(), mount.hostPath(), logFile, deadline, config.detached());
    return shareOf(d);
  }

  /**
   * The environment that puts the netguard into QEMU for a NAT pod (docs/networking.md): slirp
   * maps the gateway to the host's loopback, so without the guard the guest reaches every local
   * service of the host. Fails closed when the guard is missing.
   *
   * @throws io.micropod.HostUnsupportedException for a NAT pod without the guard
   */
  static java.util.Map<String, String> netguardEnv(HostCapabilities host, GuestNetworkConfig network) {
    return netguardEnv(host, network, null);
  }

  /**
   * As {@link #netguardEnv(HostCapabilities, GuestNetworkConfig)}, with the pod's socket directory
   * for the guard's egress rules and events ({@code io.micropod.internal.net.EgressFiles}): always
   * set for a NAT pod, so that rules given later to a running pod apply.
   */
  static java.util.Map<String, String> netguardEnv(HostCapabilities host, GuestNetworkConfig network,
      Path socketDir) {
    if (!network.nat()) {
      return java.util.Map.of();
    }
    if (host.netguard() == null) {
      throw new io.micropod.HostUnsupportedException(List.of("the network guard " + HostProbe.NETGUARD
          + " (QEMU's NAT would reach the host's own services without it): it is missing from <guest dir>/host/;"
          + " reinstall the guest image of this SDK version, or use networkMode(NetworkMode.NONE)"));
    }
    StringBuilder ports = new StringBuilder();
    for (int p : network.exposedHostPorts()) {
      ports.append(ports.length() == 0 ? "" : ",").append(p);
    }
    java.util.Map<String, String> env = new java.util.TreeMap<>(java.util.Map.of("LD_PRELOAD",
        host.netguard().toString(), "MICROPOD_NETGUARD_HOST_PORTS", ports.toString()));
    if (socketDir != null) {
      env.put("MICROPOD_NETGUARD_DIR", socketDir.toString());
    }
    return java.util.Collections.unmodifiableMap(env);
  }

  @Override
  public VmProcess spawn(VmConfig config, RootfsShare rootfs, Instant deadline)
      throws IOException, InterruptedException {
    Path blockImage = rootfs == null ? null : rootfs.blockImage();
    if ((rootfsMode == RootfsMode.BLOCK || config.snapshotting() != null) && blockImage == null) {
      throw new IllegalStateException("block rootfs mode but no block image was prepared");
    }
    QemuCommandLine.Paths paths =
        new QemuCommandLine.Paths(config.consoleLog(), config.agentSocket(), config.virtiofsSocket(),
            config.bulkSocket());
    java.util.Map<String, String> env = netguardEnv(config.host(), config.network(), config.socketDir());
    VmmUser user = null;
    if (VmmUser.applies(config.host())) {
      user = VmmUser.forPod(config.podId(), config.host(), config.network());
      log.debug("pod {}: qemu runs as uid {} (groups {})", config.podId(), user.uid(), user.groups());
    }
    Launch l = launch(config, blockImage, env, user, consoleLogMaxBytes);
    Snapshotting snap = config.snapshotting();
    QemuCommandLine.Control control = new QemuCommandLine.Control(config.qmpSocket(),
        snap == null ? null : snap.ramFile(), snap != null && snap.incoming());
    List<String> args = QemuCommandLine.build(config.host(), config.memoryMib(), config.cpus(), paths,
        config.debug(), config.network(), config.mounts(), l.refs(), control);
    List<String> command = QemuLaunch.command(user, l.files(), l.console(), l.env(), !config.detached(), args);
    ManagedProcess qemu;
    try {
      qemu = ManagedProcess.start(config.podId(), "qemu", command, config.vmmLog(), config.detached());
    } catch (IOException e) {
      throw new VmStartException("cannot start " + args.get(0) + ": " + e.getMessage(), e,
          config.podId(), Phase.VM_BOOT, SPAWN_STEP, "");
    }
    QemuVm vm = new QemuVm(config, qemu);
    log.debug("pod {}: qemu pid {}, {} {}, console {}", config.podId(), qemu.pid(),
        config.host().machine().qemuName(), config.host().accel().qemuName(), config.consoleLog());
    ManagedProcess.Await seen;
    try {
      seen = qemu.awaitFile(config.agentSocket(), deadline);
    } catch (InterruptedException e) {
      vm.stop(Duration.ZERO);
      throw e;
    }
    if (seen != ManagedProcess.Await.APPEARED) {
      String tail = vm.consoleTail();
      vm.stop(Duration.ZERO);
      String what = seen == ManagedProcess.Await.DIED
          ? "QEMU exited with code " + qemu.exitCode().orElse(-1) + " before it created the agent socket "
              + config.agentSocket() + "; see " + config.vmmLog()
          : "QEMU did not create the agent socket " + config.agentSocket() + " before the start-up deadline";
      throw new VmStartException(what, null, config.podId(), Phase.VM_BOOT, SPAWN_STEP, tail);
    }
    return vm;
  }

  /** What QEMU is handed: its files (by path or as descriptors), its console, its env. */
  record Launch(QemuCommandLine.FileRefs refs, List<VmmUser.PassedFile> files, QemuLaunch.Console console,
      java.util.Map<String, String> env) {}

  /**
   * What QEMU gets (see {@link QemuLaunch}): the console always as descriptor 5 (QEMU's fd set 1),
   * a pipe into the capper of at most {@code consoleMax} bytes. When {@code user} is not null
   * (root: see {@link VmmUser}) also the kernel, initramfs, block image, system image and netguard
   * as descriptors 3, 4, 6.. (the images through fd sets 2 and 3, which QEMU dups without
   * reopening), and
   * the socket directory and the virtiofsd sockets in it (they serve only this pod) become the
   * uid's own; else those files by path.
   */
  static Launch launch(VmConfig config, Path blockImage, java.util.Map<String, String> env, VmmUser user,
      long consoleMax) throws IOException {
    HostCapabilities host = config.host();
    QemuLaunch.Console console = new QemuLaunch.Console(config.consoleLog(),
        config.podDir().resolve("console.fifo"), 5, consoleMax);
    List<String> addFd = new java.util.ArrayList<>(List.of("fd=5,set=1"));
    if (user == null) {
      return new Launch(new QemuCommandLine.FileRefs(host.kernel().toString(), host.initramfs().toString(),
          "/dev/fdset/1", blockImage == null ? null : blockImage.toString(), addFd,
          host.systemImage() == null ? null : host.systemImage().toString()), List.of(), console, env);
    }
    List<VmmUser.PassedFile> files = new java.util.ArrayList<>();
    VmmUser.PassedFile kernel = new VmmUser.PassedFile(host.kernel(), 3, false);
    VmmUser.PassedFile initramfs = new VmmUser.PassedFile(host.initramfs(), 4, false);
    files.addAll(List.of(kernel, initramfs));
    int next = 6;
    String block = null;
    if (blockImage != null) {
      files.add(new VmmUser.PassedFile(blockImage, next, false));
      addFd.add("fd=" + next++ + ",set=2");
      block = "/dev/fdset/2";
    }
    String system = null;
    if (host.systemImage() != null) {
      files.add(new VmmUser.PassedFile(host.systemImage(), next, false));
      addFd.add("fd=" + next++ + ",set=3");
      system = "/dev/fdset/3";
    }
    java.util.Map<String, String> e = new java.util.TreeMap<>(env);
    if (e.containsKey("LD_PRELOAD")) {
      VmmUser.PassedFile guard = new VmmUser.PassedFile(Path.of(e.get("LD_PRELOAD")), next++, false);
      files.add(guard);
      e.put("LD_PRELOAD", guard.devFd());
    }
    user.own(config.socketDir());
    // the guard (in QEMU, as the uid) re-reads the egress rules whenever they change
    Path egressRules = config.socketDir().resolve(io.micropod.internal.net.EgressFiles.RULES);
    if (Files.exists(egressRules, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      user.own(egressRules);
    }
    if (config.snapshotting() != null && Files.exists(config.snapshotting().ramFile())) {
      user.own(config.snapshotting().ramFile()); // a restore's copy: QEMU maps it read-write
    }
    List<Path> sockets = new java.util.ArrayList<>();
    if (blockImage == null) {
      sockets.add(config.virtiofsSocket());
    }
    for (VmConfig.MountDevice m : config.mounts()) {
      sockets.add(m.socket());
    }
    for (Path s : sockets) {
      if (Files.exists(s, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
        user.own(s);
      }
    }
    // Its own switch ports, and no other member's: the network's group (which this uid holds, to
    // reach the ports' directory) keeps no access to them, so a member's QEMU cannot connect to
    // another member's port before that member's QEMU does.
    for (GuestNetworkConfig.Nic nic : config.network().nics()) {
      if (Files.exists(nic.switchSocket(), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
        user.own(nic.switchSocket());
        Files.setPosixFilePermissions(nic.switchSocket(),
            java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
      }
    }
    QemuCommandLine.FileRefs refs = new QemuCommandLine.FileRefs(kernel.devFd(), initramfs.devFd(),
        "/dev/fdset/1", block, addFd, system);
    return new Launch(refs, files, console, e);
  }

  private static final class QemuVm implements VmProcess {
    private final VmConfig config;
    private final ManagedProcess qemu;
    private volatile boolean initSeen;

    QemuVm(VmConfig config, ManagedProcess qemu) {
      this.config = config;
      this.qemu = qemu;
    }

    @Override
    public Path agentSocket() {
      return config.agentSocket();
    }

    @Override
    public Path bulkSocket() {
      return config.bulkSocket();
    }

    @Override
    public boolean isAlive() {
      return qemu.isAlive();
    }

    @Override
    public CompletableFuture<Integer> onExit() {
      return qemu.onExit();
    }

    @Override
    public String consoleTail() {
      return FileTail.tails(40, config.consoleLog().toString(), config.consoleLog(), "qemu.log", config.vmmLog());
    }

    @Override
    public boolean reachedInit() {
      if (config.snapshotting() != null && config.snapshotting().incoming()) {
        return true; // restored: its kernel ran /init before the snapshot, it prints nothing now
      }
      if (!initSeen) {
        initSeen = ConsoleMarker.seen(config.consoleLog(), ConsoleMarker.INIT_STARTED);
      }
      return initSeen;
    }

    @Override
    public void stop(Duration grace) {
      qemu.stop(grace);
    }

    @Override
    public void kill() {
      qemu.kill();
    }

    @Override
    public long pid() {
      return qemu.pid();
    }

    /**
     * A QMP connection for one operation, closed after it: QEMU serves one QMP client at a time,
     * so a connection kept open would lock out every other process (`micropod pause`, `micropod
     * snapshot create` on a detached pod: they would wait for the greeting until their timeout).
     */
    private Qmp qmp() throws IOException {
      return Qmp.connect(config.qmpSocket());
    }

    @Override
    public synchronized void pause() throws IOException {
      try (Qmp q = qmp()) {
        q.execute("stop", java.util.Map.of());
      }
    }

    @Override
    public synchronized void resume() throws IOException {
      try (Qmp q = qmp()) {
        q.execute("cont", java.util.Map.of());
      }
    }

    @Override
    public synchronized long snapshot(Path stateFile, Path ramFile) throws IOException {
      Snapshotting snap = config.snapshotting();
      if (snap == null) {
        throw new IllegalStateException("pod " + config.podId() + " was not started snapshottable");
      }
      try (Qmp q = qmp()) {
        return QemuControl.snapshot(q, snap.ramFile(), stateFile, ramFile, config.socketDir(), config.vmmLog());
      }
    }

    @Override
    public synchronized void restore(Path stateFile, Duration timeout) throws IOException {
      Instant deadline = Instant.now().plus(timeout);
      try (Qmp q = qmp(); java.io.FileInputStream in = new java.io.FileInputStream(stateFile.toFile())) {
        q.execute("migrate-set-capabilities", java.util.Map.of("capabilities", QemuControl.IGNORE_SHARED));
        q.execute("getfd", java.util.Map.of("fdname", "snapshot"), in.getFD());
        q.execute("migrate-incoming", java.util.Map.of("uri", "fd:snapshot"));
        while (true) {
          String status;
          try {
            status = q.execute("query-status", java.util.Map.of()).path("status").asText();
          } catch (IOException e) {
            if (!qemu.isAlive()) {
              throw new IOException("QEMU rejected the snapshot's device state and exited: "
                  + FileTail.tails(5, "qemu.log", config.vmmLog()), e);
            }
            throw e;
          }
          if (!status.equals("inmigrate")) {
            break;
          }
          if (Instant.now().isAfter(deadline)) {
            throw new IOException("QEMU did not load the snapshot within " + timeout.toSeconds() + " s");
          }
          sleepMillis(5);
        }
        q.execute("cont", java.util.Map.of());
      }
    }

    private static void sleepMillis(long ms) throws IOException {
      try {
        Thread.sleep(ms);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException("interrupted while QEMU migrates");
      }
    }
  }
}
