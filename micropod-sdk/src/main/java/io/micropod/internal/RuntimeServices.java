package io.micropod.internal;

import io.micropod.HostUnsupportedException;
import io.micropod.internal.agent.AgentClient;
import io.micropod.internal.agent.AgentTransport;
import io.micropod.internal.base.RuntimeConfig;
import io.micropod.internal.base.SdkVersion;
import io.micropod.internal.files.PrivateDirs;
import io.micropod.internal.image.ImageService;
import io.micropod.internal.image.RootfsStore;
import io.micropod.internal.registry.DockerCredentials;
import io.micropod.internal.registry.RegistryClient;
import io.micropod.internal.state.PodRecord;
import java.nio.file.Path;
import java.util.Set;
import io.micropod.internal.vm.HostCapabilities;
import io.micropod.internal.vm.HostProbe;
import io.micropod.internal.image.BlockImages;
import io.micropod.internal.vm.QemuControl;
import io.micropod.internal.vm.QemuDriver;
import io.micropod.internal.vm.VmmSelection;
import io.micropod.internal.vm.firecracker.FirecrackerDriver;
import io.micropod.internal.vm.VmmDriver;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The internals of a {@code MicroPodRuntime}: configuration, host capabilities (probed once, on
 * first start; a failed probe is retried next time), the gRPC executor and I/O event loop
 * (created on first use, daemon threads), the image store, the VMM driver, and a JVM shutdown
 * hook that kills the VMs of pods still running when the JVM exits. Thread-safe.
 */
public final class RuntimeServices {
  private static final Logger log = LoggerFactory.getLogger(RuntimeServices.class);

  private final RuntimeConfig config;
  private Supplier<HostCapabilities> probe;
  private VmmDriver driver;
  private final Map<String, Runnable> livePods = new ConcurrentHashMap<>();

  private HostCapabilities host;
  /** The start path's checks of the last probe (null with a probe replaced by a test). */
  private volatile HostProbe.Findings findings;
  private RootfsStore store;
  private ImageService images;
  private final Set<String> insecureRegistries;
  private io.micropod.internal.net.NetworkRegistry networks;
  private ExecutorService executor;
  private AgentTransport agentTransport;
  private Thread shutdownHook;
  private boolean closed;
  private final io.micropod.internal.state.StateDirectory state;
  private final io.micropod.internal.state.ConsoleLogs consoleLogs;
  private volatile boolean swept;

  public RuntimeServices(RuntimeConfig config) {
    this(config, Set.of());
  }

  /** @param insecureRegistries registries spoken to over plain HTTP ({@code host[:port]}) */
  public RuntimeServices(RuntimeConfig config, Set<String> insecureRegistries) {
    this(config, null, null, insecureRegistries);
  }

  /** A runtime with its host probe and VMM driver replaced (tests). */
  public RuntimeServices(RuntimeConfig config, Supplier<HostCapabilities> probe, VmmDriver driver) {
    this(config, probe, driver, Set.of());
  }

  private RuntimeServices(RuntimeConfig config, Supplier<HostCapabilities> probe, VmmDriver driver,
      Set<String> insecureRegistries) {
    this.insecureRegistries = Set.copyOf(insecureRegistries);
    this.config = config;
    this.probe = probe;
    this.driver = driver;
    this.state = new io.micropod.internal.state.StateDirectory(config.configDir());
    this.consoleLogs = new io.micropod.internal.state.ConsoleLogs(config.configDir());
  }

  /** The guest console logs under {@code <config>/logs/}. */
  public io.micropod.internal.state.ConsoleLogs consoleLogs() {
    return consoleLogs;
  }

  /** The pod records of this runtime's config directory. */
  public io.micropod.internal.state.StateDirectory state() {
    return state;
  }

  /** Sweeps the records of dead owners, once per runtime (first start); failures are logged. */
  public void sweepOnce() {
    if (swept) {
      return;
    }
    swept = true;
    sweep();
  }

  /** Sweeps the records of dead owners; failures are logged at WARN. */
  public void sweep() {
    try {
      java.util.List<String> removed = reapOrphans();
      if (!removed.isEmpty()) {
        log.info("removed {} pod(s) of dead owners from {}: {}", removed.size(), state.dir(), removed);
      }
    } catch (RuntimeException e) {
      log.warn("cannot sweep the pod records in {}: {}", state.dir(), e.toString());
    }
    consoleLogs.prune(state);
    resumeAfterDeadSnapshotWriters();
    Snapshots.sweepTemps(config.home());
  }

  /**
   * A process killed while it took a snapshot leaves the pod's guest paused (a detached pod, or one
   * of a live JVM): its marker names the dead writer, and the guest runs on.
   */
  private void resumeAfterDeadSnapshotWriters() {
    try {
      for (PodRecord r : state.all()) {
        if ("qemu".equals(r.driver()) && r.socketDir() != null && !PodRecord.PAUSED.equals(r.status())
            && QemuControl.resumeIfWriterDied(Path.of(r.socketDir()))) {
          log.info("pod {}: resumed its guest, paused by a snapshot writer that died", r.id());
        }
      }
    } catch (RuntimeException e) {
      log.warn("cannot look for pods paused by dead snapshot writers in {}: {}", state.dir(), e.toString());
    }
  }

  /**
   * Undoes the pods of dead owners ({@code OrphanReaper} finds them under the state lock, {@link
   * PodStates#reap} undoes each as {@code close()} would); returns their ids.
   */
  java.util.List<String> reapOrphans() {
    return io.micropod.internal.state.OrphanReaper.sweep(state, r -> PodStates.reap(this, r));
  }

  public RuntimeConfig config() {
    return config;
  }

  /** The VMM driver; chosen with the host probe ({@link VmmSelection}) unless given. */
  public synchronized VmmDriver driver() {
    if (driver == null) {
      host();
    }
    return driver;
  }

  /** Chooses the driver (explaining itself in one INFO line) and the probe that goes with it. */
  private void selectDriver() {
    VmmSelection.Choice choice = VmmSelection.select(config);
    // the details; the one INFO line comes once the host is probed (host())
    log.debug("{}", choice.reason());
    if (choice.vmm().equals(VmmSelection.FIRECRACKER)) {
      driver = new FirecrackerDriver(choice.firecrackerBinary(),
          new BlockImages(config.home(), config.getenv("PATH")),
          FirecrackerDriver.Options.from(config, choice.firecrackerBinary()));
    } else {
      driver = new QemuDriver(choice.rootfsMode(),
          new BlockImages(config.home(), config.getenv("PATH")), QemuDriver.consoleLogMaxBytes(config));
    }
    probe = () -> {
      HostProbe.Findings f = new HostProbe.Findings();
      findings = f;
      return HostProbe.forHost(config).probe(choice.vmm(), f);
    };
  }

  /**
   * What {@code MicroPodRuntime.checkHost()} reports: the native transport, the VMM choice, every
   * check of the start path's host probe (without its side effects: nothing is installed or
   * created) plus the doctor's extras, and Firecracker's readiness. Never throws for a missing
   * piece; runs a few short commands ({@code --version}, {@code unshare}) and reads the installed
   * guest image to check its sha256s.
   */
  public List<io.micropod.HostCheck> checkHost() {
    checkOpen();
    List<io.micropod.HostCheck> checks = new ArrayList<>();
    String epoll = AgentTransport.unavailableReason();
    checks.add(epoll == null
        ? io.micropod.HostCheck.ok(CHECK_TRANSPORT, "grpc-netty-shaded native epoll (Unix sockets)")
        : io.micropod.HostCheck.missing(CHECK_TRANSPORT, epoll, "run on Linux x86_64 or aarch64"));
    String vmm = VmmSelection.QEMU;
    try {
      VmmSelection.Choice choice = VmmSelection.select(config);
      vmm = choice.vmm();
      String rootfs = choice.rootfsMode() == io.micropod.internal.vm.RootfsMode.BLOCK
          ? "rootfs as a read-only block image" : "rootfs over virtio-fs";
      boolean auto = !choice.reason().contains("forced by");
      checks.add(io.micropod.HostCheck.ok(CHECK_VMM, vmm.equals(VmmSelection.QEMU) && auto
          ? "qemu (chosen automatically: firecracker is not usable here, see its row), " + rootfs
          : choice.reason()));
    } catch (HostUnsupportedException e) {
      for (String line : e.missing()) {
        checks.add(io.micropod.HostCheck.missing(CHECK_VMM, line,
            "unset MICROPOD_VMM (or MicroPodRuntime.Builder.vmm(..)) for the automatic choice, or fix what this names"));
      }
    }
    HostProbe.Findings f = new HostProbe.Findings();
    HostProbe.forHost(config).diagnose(vmm, f);
    checks.addAll(f.checks());
    List<String> fc = VmmSelection.firecrackerProblems(config, Path.of("/dev/kvm"), Path.of("/proc/cpuinfo"));
    if (fc.isEmpty()) {
      checks.add(io.micropod.HostCheck.ok(CHECK_FIRECRACKER, VmmSelection.firecrackerBinary(config)
          + ": /dev/kvm is usable, it can boot pods here (MICROPOD_VMM=firecracker)"));
    } else {
      checks.add(io.micropod.HostCheck.warn(CHECK_FIRECRACKER, "cannot boot here: " + String.join("; ", fc)
          + (vmm.equals(VmmSelection.QEMU) ? " (the qemu driver is used instead)" : ""),
          "Firecracker needs KVM: a usable /dev/kvm on a CPU with vmx/svm, and a release binary from "
              + "https://github.com/firecracker-microvm/firecracker/releases in MICROPOD_FIRECRACKER_BIN or on PATH"));
    }
    return checks;
  }

  public static final String CHECK_TRANSPORT = "native transport";
  public static final String CHECK_VMM = "vmm";
  public static final String CHECK_FIRECRACKER = "firecracker";

  /**
   * The one INFO line of a runtime's first start: version, VMM, accelerator (and why not KVM),
   * guest image; when a check is degraded, which ones, pointing at {@code micropod doctor}.
   * The details are at DEBUG.
   *
   * @param f the start path's checks, or null (a probe replaced by a test)
   */
  static String startupLine(String sdkVersion, boolean firecracker, HostCapabilities h, HostProbe.Findings f) {
    StringBuilder sb = new StringBuilder("MicroPod ").append(sdkVersion).append(": ");
    if (firecracker) {
      sb.append("firecracker with KVM");
    } else {
      String version = f == null ? null : f.qemuVersion();
      sb.append("qemu").append(version == null ? "" : " " + version).append(" with ")
          .append(f == null || f.accelSummary() == null ? h.accel().name() : f.accelSummary());
    }
    Path image = h.initramfs() == null ? null : h.initramfs().toAbsolutePath().getParent();
    sb.append(", guest image ").append(f != null && image != null && image.equals(f.guestDir()) ? image
        : h.initramfs());
    List<String> degraded = f == null ? List.of() : f.degraded();
    if (!degraded.isEmpty()) {
      sb.append("; degraded (").append(String.join(", ", degraded))
          .append("): run `micropod doctor` for details and fixes");
    }
    return sb.toString();
  }

  /**
   * What this host offers; probed on first call and cached once it succeeded.
   *
   * @throws HostUnsupportedException naming everything missing
   */
  public synchronized HostCapabilities host() {
    checkOpen();
    if (host == null) {
      String epoll = AgentTransport.unavailableReason();
      if (epoll != null) {
        throw new HostUnsupportedException(List.of(epoll));
      }
      if (driver == null) {
        selectDriver();
      }
      HostCapabilities h = probe.get();
      boolean firecracker = driver instanceof FirecrackerDriver;
      log.info("{}", startupLine(SdkVersion.get(), firecracker, h, findings));
      if (firecracker) {
        log.debug("firecracker: /dev/kvm is used directly; the QEMU accelerator probe does not apply");
      } else {
        log.debug("{}", h.accelReason());
      }
      HostProbe.Findings f = findings;
      if (f != null) {
        for (io.micropod.HostCheck c : f.checks()) {
          log.debug("host check: {}", c);
        }
      }
      log.debug("host: qemu {}, virtiofsd {}{}, kernel {}, initramfs {}, machine {}, tsc {} kHz",
          h.qemuBinary(), h.virtiofsd(), h.virtiofsdWrapper().isEmpty() ? "" : " via " + h.virtiofsdWrapper(),
          h.kernel(), h.initramfs(), h.machine().qemuName(), h.tscKhz());
      host = h;
    }
    return host;
  }

  public synchronized RootfsStore store() {
    checkOpen();
    if (store == null) {
      store = new RootfsStore(config.home(), host().runningAsRoot());
      try {
        store.open();
      } catch (java.io.IOException e) {
        log.warn("cannot make the image store {} private or clean it: {}", config.home().resolve("store"), e.toString());
      }
    }
    return store;
  }

  /**
   * The image service: pulls, the blob store, the catalog. Needs no host probe, so images can be
   * listed and pulled on hosts that cannot run VMs.
   */
  public synchronized ImageService images() {
    checkOpen();
    if (images == null) {
      Path userHome = Path.of(System.getProperty("user.home"));
      String envHome = config.getenv("HOME");
      if (envHome != null && !envHome.isBlank()) {
        userHome = Path.of(envHome);
      }
      images = new ImageService(config.home(), new RegistryClient(RegistryClient.defaultHttpClient(),
          new DockerCredentials(config.env(), userHome), insecureRegistries));
      try {
        images.blobs().open();
        io.micropod.internal.files.PrivateDirs.ensure(config.configDir());
      } catch (java.io.IOException e) {
        log.warn("cannot make the blob store or config dir private or clean them: {}", e.toString());
      }
    }
    return images;
  }

  public Set<String> insecureRegistries() {
    return insecureRegistries;
  }

  /** The networks of this runtime (created on first use). */
  public synchronized io.micropod.internal.net.NetworkRegistry networks() {
    checkOpen();
    if (networks == null) {
      networks = new io.micropod.internal.net.NetworkRegistry(config.home());
    }
    return networks;
  }

  /** The executor gRPC callbacks run on. */
  public synchronized ExecutorService executor() {
    checkOpen();
    if (executor == null) {
      executor = Executors.newCachedThreadPool(daemonThreads("micropod-runtime-grpc-"));
    }
    return executor;
  }

  /** The transport of every agent channel of this runtime (one I/O thread). */
  public synchronized AgentTransport agentTransport() {
    checkOpen();
    if (agentTransport == null) {
      agentTransport = new AgentTransport(daemonThreads("micropod-runtime-io-"));
    }
    return agentTransport;
  }

  /** A client of the agent of pod {@code podId} on {@code socket}, on this runtime's transport. */
  public AgentClient connectAgent(String podId, Path socket) {
    return agentTransport().connect(podId, socket, executor());
  }

  /** Tracks a pod (while starting and running) so the shutdown hook can kill its VM. */
  public synchronized void track(String podId, Runnable killer) {
    checkOpen();
    livePods.put(podId, killer);
    if (shutdownHook == null) {
      shutdownHook = new Thread(this::killAll, "micropod-runtime-shutdown");
      Runtime.getRuntime().addShutdownHook(shutdownHook);
    }
  }

  private final java.util.concurrent.ConcurrentHashMap<String, String> names =
      new java.util.concurrent.ConcurrentHashMap<>();

  /** Reserves pod name {@code name} for {@code podId}; false when a live pod holds it. */
  public boolean claimName(String name, String podId) {
    return names.putIfAbsent(name, podId) == null;
  }

  /** Releases {@code name} if {@code podId} holds it. */
  public void releaseName(String name, String podId) {
    names.remove(name, podId);
  }

  public void untrack(String podId) {
    livePods.remove(podId);
  }

  /** Runs every pod's killer, in parallel: a pod with an exit grace period stops in its own time. */
  private void killAll() {
    List<Thread> killers = new ArrayList<>();
    livePods.forEach((id, killer) -> {
      Thread t = new Thread(() -> {
        try {
          killer.run();
        } catch (RuntimeException e) {
          // the JVM is exiting; nothing better to do
        }
      }, "micropod-exit-" + id);
      t.start();
      killers.add(t);
    });
    for (Thread t : killers) {
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("the MicroPodRuntime is closed");
    }
  }

  public void close() {
    ExecutorService e;
    AgentTransport g;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      e = executor;
      g = agentTransport;
      if (images != null) {
        images.close();
      }
      if (shutdownHook != null) {
        try {
          Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException ignored) {
          // already shutting down
        }
      }
    }
    if (networks != null) {
      networks.closeAll();
    }
    if (!livePods.isEmpty()) {
      log.warn("closing a MicroPodRuntime with {} pod(s) still running: {}; close pods first",
          livePods.size(), livePods.keySet());
    }
    if (g != null) {
      g.close();
    }
    if (e != null) {
      e.shutdown();
    }
  }

  static ThreadFactory daemonThreads(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
