package io.micropod.internal;

import io.micropod.AgentException;
import io.micropod.AgentTimeoutException;
import io.micropod.BootTimings;
import io.micropod.ContainerStartException;
import io.micropod.ExecResult;
import io.micropod.ImageException;
import io.micropod.ImageRef;
import io.micropod.MicroPod;
import io.micropod.MicroPodException;
import io.micropod.MicroPodSpec;
import io.micropod.VmStartException;
import io.micropod.agent.v1.CreateContainerRequest;
import io.micropod.agent.v1.GetInfoResponse;
import io.micropod.agent.v1.GuestBootTimings;
import io.micropod.agent.v1.ProcessSpec;
import io.micropod.event.Phase;
import io.micropod.internal.agent.AgentClient;
import io.micropod.internal.image.LayerUnpacker;
import io.micropod.internal.image.ProcessPlan;
import io.micropod.internal.image.ResolvedImage;
import io.micropod.internal.state.OrphanReaper;
import io.micropod.internal.vm.HostCapabilities;
import io.micropod.internal.vm.RootfsShare;
import io.micropod.internal.vm.VmConfig;
import io.micropod.internal.vm.VmProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pod: boots through a {@link BootSequence} of named steps, then serves exec, logs and wait
 * through its {@link AgentClient}, and tears down through the {@link CleanupStack} the steps
 * filled.
 */
public final class RealMicroPod implements MicroPod {
  private static final Logger log = LoggerFactory.getLogger(RealMicroPod.class);

  /** Where the guest's /init mounts the image tree (the overlay's lower layer). */
  public static final String GUEST_IMAGE_ROOTFS = "/run/micropod/image";
  static final Duration VMM_EXIT_GRACE = Duration.ofSeconds(5);
  /** How long virtiofsd and QEMU may take to create their sockets (native start-up, not boot). */
  static final Duration SOCKET_TIMEOUT = Duration.ofSeconds(10);

  private final Boot boot;
  private final CleanupStack cleanup;
  private final BootTimings timings;
  private final AtomicBoolean closed = new AtomicBoolean();
  private volatile Integer exitCode;

  private RealMicroPod(Boot boot, CleanupStack cleanup, BootTimings timings) {
    this.boot = boot;
    this.cleanup = cleanup;
    this.timings = timings;
  }

  /**
   * Starts a pod.
   *
   * @throws MicroPodException (a subtype) when it could not; nothing is left behind
   */
  public static MicroPod start(MicroPodSpec spec, RuntimeServices runtime) {
    try {
      return startOnce(spec, runtime);
    } catch (VmStartException e) {
      if (!KernelStallWatch.isStall(e)) {
        throw e;
      }
      log.warn("{}; everything was undone, booting it once more as a new pod", e.getMessage());
      try {
        return startOnce(spec, runtime);
      } catch (RuntimeException again) {
        again.addSuppressed(e);
        throw again;
      }
    }
  }

  /** One boot attempt: a new pod id, every step, undone on failure. */
  private static MicroPod startOnce(MicroPodSpec spec, RuntimeServices runtime) {
    long started = System.nanoTime();
    String id = Ids.newPodId();
    HostCapabilities host = runtime.host();
    List<io.micropod.internal.net.LocalNetwork> joining = NetworkSteps.check(spec, runtime);
    MountSteps.check(spec, runtime, id);
    Boot boot = new Boot(id, spec, runtime, host);
    CleanupStack cleanup = new CleanupStack(id);
    runtime.sweepOnce();
    runtime.track(id, boot::kill);
    cleanup.push("runtime.untrack", () -> runtime.untrack(id));
    claimName(boot, cleanup);
    log.debug("pod {}: starting {}", id, spec);
    Map<String, Duration> took = new BootSequence<>(id, spec.listener(), steps(joining)).run(boot, cleanup);
    boot.started = true;
    BootTimings timings = timings(boot, took, Duration.ofNanos(System.nanoTime() - started));
    RealMicroPod pod = new RealMicroPod(boot, cleanup, timings);
    try {
      boot.updateRecord(r -> r.withStarted(Instant.now().toString()));
    } catch (RuntimeException e) {
      pod.close();
      throw new MicroPodException("pod " + id + " started but its record could not be written: "
          + e.getMessage() + "; the pod was stopped", e, id, Phase.CONTAINER_START);
    }
    boot.vm.onExit().thenAccept(pod::vmExited);
    if (!spec.exitGracePeriod().isZero() && !spec.detached()) {
      runtime.track(id, pod::stopForJvmExit);
    }
    log.info("pod {} started: {} ({})", id, spec.image(), timings);
    return pod;
  }

  /** A handle to a running pod that another JVM started (see {@link PodStates#attach}). */
  static RealMicroPod attached(Boot boot, CleanupStack cleanup) {
    RealMicroPod pod = new RealMicroPod(boot, cleanup,
        BootTimings.of(Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ZERO));
    boot.vm.onExit().thenAccept(pod::vmExited);
    return pod;
  }

  /** The boot steps, in order. */
  static List<BootStep<Boot>> steps() {
    return steps(List.of());
  }

  static List<BootStep<Boot>> steps(List<io.micropod.internal.net.LocalNetwork> joining) {
    return List.of(
        BootStep.of("image.resolve", Phase.IMAGE_PULL, RealMicroPod::resolveImage),
        BootStep.of("rootfs.prepare", Phase.ROOTFS_PREPARE, RealMicroPod::prepareRootfs),
        BootStep.of("virtiofs.start", Phase.ROOTFS_PREPARE, RealMicroPod::shareRootfs),
        BootStep.of("mounts.share", Phase.ROOTFS_PREPARE, MountSteps::share),
        BootStep.of("ports.bind", Phase.VM_BOOT, Lifecycle::bindPorts),
        BootStep.of("network.attach", Phase.VM_BOOT, (b, c) -> NetworkSteps.attach(b, c, joining)),
        BootStep.of("vmm.spawn", Phase.VM_BOOT, RealMicroPod::spawnVmm),
        BootStep.of("agent.connect", Phase.AGENT_CONNECT, RealMicroPod::connectAgent),
        BootStep.of("container.create", Phase.CONTAINER_START, RealMicroPod::createContainer),
        BootStep.of("container.copy", Phase.CONTAINER_START, Lifecycle::copyFiles),
        BootStep.of("container.start", Phase.CONTAINER_START, RealMicroPod::startContainer),
        BootStep.of("ports.start", Phase.CONTAINER_START, Lifecycle::startPorts),
        BootStep.of("network.announce", Phase.CONTAINER_START, NetworkSteps::announce));
  }

  /** Reserves the spec's name (API misuse, not a boot failure: before the sequence). */
  private static void claimName(Boot b, CleanupStack cleanup) {
    String name = b.spec.name().orElse(null);
    if (name == null) {
      return;
    }
    if (!b.runtime.claimName(name, b.id)) {
      cleanup.runAll();
      throw new IllegalStateException("a running pod of this runtime is already named \"" + name
          + "\": close it or choose another name");
    }
    cleanup.push("name.release", () -> b.runtime.releaseName(name, b.id));
  }

  private static void resolveImage(Boot b, CleanupStack cleanup)
      throws IOException, InterruptedException {
    ImageRef ref = b.spec.image();
    try {
      b.image = b.runtime.images().resolve(ref, b.spec.platform(), b.spec.pullPolicy(),
          (done, total) -> Listeners.progress(b.spec.listener(), b.id, Phase.IMAGE_PULL, done, total),
          "micropod-" + b.id + "-pull-");
    } catch (ImageException e) {
      throw withPod(e, b.id, Phase.IMAGE_PULL);
    } catch (java.nio.channels.ClosedByInterruptException e) {
      throw e;
    } catch (IOException e) {
      throw new ImageException(ref.toString(), "cannot resolve " + ref + ": " + e, e, b.id, Phase.IMAGE_PULL);
    }
    String arch = b.image.config().architecture();
    if (!arch.isEmpty() && !arch.equals("amd64")) {
      throw new ImageException(ref.toString(), "the image is built for " + arch
          + "; MicroPod runs linux/amd64 guests: use an amd64 image", null, b.id, Phase.IMAGE_PULL);
    }
  }

  private static void prepareRootfs(Boot b, CleanupStack cleanup)
      throws InterruptedException, IOException {
    String ref = b.spec.image().toString();
    try {
      cleanup.push("image.release", b.runtime.images().useTree(b.image.manifestHex()));
      b.rootfs = b.runtime.store().prepare(b.image);
      b.plan = ProcessPlan.merge(b.image.config(), b.spec, b.rootfs, ref);
    } catch (ImageException e) {
      throw withPod(e, b.id, Phase.ROOTFS_PREPARE);
    } catch (java.nio.channels.ClosedByInterruptException e) {
      throw e;
    } catch (IOException e) {
      throw new ImageException(ref, "cannot unpack " + ref + " into " + b.runtime.store().treeOf(b.image)
          + ": " + e, e, b.id, Phase.ROOTFS_PREPARE);
    }
  }

  private static void shareRootfs(Boot b, CleanupStack cleanup) throws IOException, InterruptedException {
    Path podDir = b.runtime.config().home().resolve("pods").resolve(b.id);
    Path socketDir = socketBase().resolve("micropod-" + b.id);
    Path consoleLog = b.runtime.consoleLogs().create(b.id);
    b.consoleLog = consoleLog;
    boolean debug = b.runtime.config().debug();
    cleanup.push("console.log.remove", () -> {
      if (b.started && !b.keepConsoleLog && !debug) {
        b.runtime.consoleLogs().delete(b.id);
        return;
      }
      if (b.runtime.consoleLogs().keep(b.id, b.runtime.state())) {
        log.info("pod {}: kept its guest console log {} ({})", b.id, consoleLog,
            debug ? "MICROPOD_DEBUG=1" : b.started ? "the VM had exited by itself" : "the start failed");
      }
    });
    try {
      PodStates.create(b, podDir, socketDir);
    } catch (java.io.UncheckedIOException e) {
      throw io.micropod.internal.state.ConsoleLogs.unwritable(b.runtime.config().configDir(),
          b.runtime.state().dir(), e);
    }
    cleanup.push("state.remove", () -> b.runtime.state().delete(b.id));
    Files.createDirectories(podDir.getParent());
    Files.createDirectory(podDir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    b.podDir = podDir;
    boolean keep = b.runtime.config().debug();
    cleanup.push("poddir.remove", () -> {
      if (keep) {
        log.info("pod {}: MICROPOD_DEBUG=1, kept its logs (qemu.log, virtiofsd*.log) in {}",
            b.id, podDir);
      } else {
        OrphanReaper.deleteTree(podDir);
      }
    });
    Files.createDirectory(socketDir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    b.socketDir = socketDir;
    cleanup.push("sockdir.remove", () -> OrphanReaper.deleteTree(socketDir));
    b.vmConfig = new VmConfig(b.id, b.spec.memoryMib(), b.spec.cpus(), b.host, podDir, socketDir,
        b.runtime.config().debug(), io.micropod.internal.vm.GuestNetworkConfig.NONE, b.spec.detached(),
        consoleLog, List.of());
    b.rootfsShare = b.runtime.driver().shareRootfs(b.vmConfig, b.rootfs, Instant.now().plus(SOCKET_TIMEOUT));
    cleanup.push("rootfs.share.stop", () -> b.rootfsShare.stop());
    b.updateRecord(r -> r.withVirtiofsd(io.micropod.internal.state.PodRecord.Proc.of(b.rootfsShare.pid())));
  }

  private static void spawnVmm(Boot b, CleanupStack cleanup) throws IOException, InterruptedException {
    VmConfig config = b.vmConfig;
    b.spawnNanos = System.nanoTime();
    b.deadline = Instant.now().plus(b.spec.startupTimeout());
    b.vm = b.runtime.driver().spawn(config, b.rootfsShare, Instant.now().plus(SOCKET_TIMEOUT));
    cleanup.push("vmm.stop", () -> b.vm.stop(b.shutdownRequested ? VMM_EXIT_GRACE : Duration.ZERO));
    b.updateRecord(r -> r.withVmm(io.micropod.internal.state.PodRecord.Proc.of(b.vm.pid())));
    PodStates.restrictSockets(config.socketDir());
  }

  private static void connectAgent(Boot b, CleanupStack cleanup) throws InterruptedException {
    Path socket = b.vm.agentSocket();
    AgentClient agent = AgentClient.overUnixSocket(b.id, socket, b.runtime.eventLoop(), b.runtime.executor());
    b.agent = agent;
    cleanup.push("agent.close", () -> {
      try {
        if (b.info != null && b.vm.isAlive()) {
          agent.shutdown(AgentClient.SHUTDOWN_DEADLINE);
          b.shutdownRequested = true;
        }
      } catch (MicroPodException e) {
        log.debug("pod {}: Shutdown RPC failed, the VMM will be terminated: {}", b.id, e.getMessage());
      } finally {
        agent.close();
      }
    });
    Duration budget = b.remaining();
    CompletableFuture<GetInfoResponse> info = agent.getInfoAsync(budget);
    try {
      KernelStallWatch.await(CompletableFuture.anyOf(info, b.vm.onExit()),
          System.nanoTime() + budget.toNanos() + TimeUnit.SECONDS.toNanos(1), b.vm, b.spawnNanos,
          b.host.accel() == io.micropod.internal.vm.Accel.TCG, b.id);
    } catch (TimeoutException e) {
      info.cancel(true);
    } catch (ExecutionException e) {
      // one of them failed: looked at below
    } catch (InterruptedException | RuntimeException e) {
      info.cancel(true);
      throw e;
    }
    if (!info.isDone() || info.isCompletedExceptionally()) {
      info.cancel(true);
      if (!b.vm.isAlive()) {
        throw new VmStartException("the VM of pod " + b.id + " exited with code "
            + exitCodeOf(b.vm) + " while booting, before its agent answered", null, b.id,
            Phase.AGENT_CONNECT, "agent.connect", b.consoleTail());
      }
      Throwable failure = failureOf(info);
      if (failure == null || failure instanceof AgentTimeoutException
          || failure instanceof java.util.concurrent.CancellationException) {
        throw new AgentTimeoutException("the agent of pod " + b.id + " did not answer within "
            + Durations.human(b.spec.startupTimeout()) + " of the VM's start (agent socket " + socket
            + "); the guest may be slow (raise startupTimeout) or hung. Guest console: "
            + b.consoleLog + "\n--- console and VMM output (last lines) ---\n"
            + b.consoleTail(), failure, b.id, Phase.AGENT_CONNECT, "GetInfo", b.spec.startupTimeout());
      }
      if (failure instanceof RuntimeException) {
        throw (RuntimeException) failure;
      }
      throw new MicroPodException("GetInfo failed: " + failure, failure, b.id, Phase.AGENT_CONNECT);
    }
    b.info = info.join();
    b.agentReadyNanos = System.nanoTime();
    GuestBootTimings g = b.info.getBootTimings();
    log.debug("pod {}: agent {} answered {} ms after the VM's spawn ({}; kernel {}; {}; guest uptime at"
            + " /init {} ms, agent main {} ms, agent ready {} ms, answer {} ms)", b.id, b.info.getAgentVersion(),
        (b.agentReadyNanos - b.spawnNanos) / 1_000_000, socket, b.info.getKernelRelease(),
        b.info.getRuntimeVersion(), g.getInitStartedMs(), g.getAgentMainMs(), g.getAgentReadyMs(), g.getNowMs());
  }

  /** The VMM's exit code; it may take a moment after the process ended to be reported. */
  private static String exitCodeOf(VmProcess vm) {
    try {
      return String.valueOf(vm.onExit().get(1, TimeUnit.SECONDS));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "unknown";
    } catch (ExecutionException | TimeoutException e) {
      return "unknown";
    }
  }

  private static Throwable failureOf(CompletableFuture<?> f) {
    try {
      f.getNow(null);
      return null;
    } catch (java.util.concurrent.CompletionException e) {
      return e.getCause();
    } catch (java.util.concurrent.CancellationException e) {
      return e;
    }
  }

  private static void createContainer(Boot b, CleanupStack cleanup) {
    ProcessPlan p = b.plan;
    CreateContainerRequest req = CreateContainerRequest.newBuilder()
        .setContainerId(b.id)
        .setImageRootfs(GUEST_IMAGE_ROOTFS)
        .setProcess(processSpec(p, p.args()))
        .setHostname(b.spec.hostname().orElse(b.id))
        .setMemoryLimitBytes((long) b.spec.containerMemoryMib() << 20)
        .setHosts(NetworkSteps.hosts(b))
        .setResolvConf(NetworkSteps.resolvConf(b))
        .addAllMounts(MountSteps.requests(b.spec))
        .build();
    try {
      b.agent.createContainer(req, b.remaining());
      b.containerCreated = true;
    } catch (AgentException e) {
      throw vmDiedOr(b, e, "container.create");
    }
  }

  private static void startContainer(Boot b, CleanupStack cleanup) {
    try {
      b.agent.startContainer(b.id, b.remaining());
    } catch (ContainerStartException e) {
      throw new ContainerStartException("the container of pod " + b.id + " could not start "
          + b.plan.args() + ": " + e.runtimeMessage() + " (check that the command exists in the image "
          + "and is executable, and that the working directory " + b.plan.cwd() + " exists)",
          e, b.id, Phase.CONTAINER_START, e.runtimeMessage());
    } catch (AgentException e) {
      throw vmDiedOr(b, e, "container.start");
    }
  }

  /** When the VM died under a call, say so (with its console) rather than "unreachable". */
  private static RuntimeException vmDiedOr(Boot b, AgentException e, String step) {
    if (b.vm.isAlive()) {
      return e;
    }
    return new VmStartException("the VM of pod " + b.id + " exited with code "
        + exitCodeOf(b.vm) + " during " + step, e, b.id, Phase.CONTAINER_START, step,
        b.consoleTail());
  }

  static ProcessSpec processSpec(ProcessPlan plan, List<String> args) {
    return ProcessSpec.newBuilder()
        .addAllArgs(args)
        .addAllEnv(plan.env())
        .setCwd(plan.cwd())
        .setUser(plan.user())
        .setTerminal(false)
        .build();
  }

  static BootTimings timings(Boot b, Map<String, Duration> took, Duration total) {
    Duration image = took.getOrDefault("image.resolve", Duration.ZERO)
        .plus(took.getOrDefault("rootfs.prepare", Duration.ZERO));
    Duration agentReady = Duration.ofNanos(b.agentReadyNanos - b.spawnNanos);
    Duration containerStart = took.getOrDefault("container.create", Duration.ZERO)
        .plus(took.getOrDefault("container.start", Duration.ZERO));
    return BootTimings.of(image, vmBoot(b.info, agentReady), agentReady, containerStart, total);
  }

  /**
   * VMM spawn to /init: the guest's uptime at /init (counted from kernel start) plus the time
   * before the kernel ran. That offset is the host-measured time of the agent's answer minus the
   * guest's uptime when it built the answer ({@code now_ms}); agents that do not report it give
   * their ready time instead, which overestimates by the first call's latency.
   */
  static Duration vmBoot(GetInfoResponse info, Duration agentReady) {
    if (info == null || !info.hasBootTimings() || info.getBootTimings().getInitStartedMs() <= 0) {
      return Duration.ZERO;
    }
    GuestBootTimings g = info.getBootTimings();
    long guestClockAtAnswer = g.getNowMs() > 0 ? g.getNowMs() : g.getAgentReadyMs();
    long beforeKernelMs = guestClockAtAnswer > 0 ? Math.max(0, agentReady.toMillis() - guestClockAtAnswer) : 0;
    return Duration.ofMillis(Math.min(g.getInitStartedMs() + beforeKernelMs, agentReady.toMillis()));
  }

  private static ImageException withPod(ImageException e, String podId, Phase phase) {
    if (e.podId() != null) {
      return e;
    }
    if (e instanceof io.micropod.ImageNotFoundException) {
      return new io.micropod.ImageNotFoundException(e.ref(), e.getMessage(), e, podId, phase);
    }
    if (e instanceof io.micropod.RegistryAuthenticationException a) {
      return new io.micropod.RegistryAuthenticationException(e.ref(), a.registry(), e.getMessage(), e, podId, phase);
    }
    return new ImageException(e.ref(), e.getMessage(), e, podId, phase);
  }

  private static Path socketBase() {
    Path tmp = Path.of("/tmp");
    return Files.isDirectory(tmp) ? tmp : Path.of(System.getProperty("java.io.tmpdir"));
  }


  // ---- the running pod -------------------------------------------------------------------

  /** How long a failed call waits for a dying VMM to exit before it reports the failure as is. */
  static final Duration VM_GONE_GRACE = Duration.ofSeconds(2);

  private void vmExited(Integer code) {
    if (!closed.get()) {
      boot.keepConsoleLog = true;
      log.warn("pod {}: the VM exited unexpectedly (code {}); see {}", boot.id, code, boot.consoleLog);
      boot.agent.shutdownNow();
    }
  }

  /** Whether close() will keep the console log (the VM exited by itself); for tests. */
  boolean keepsConsoleLog() {
    return boot.keepConsoleLog;
  }

  /** The agent's first GetInfo answer (benchmarks read its boot timings). */
  GetInfoResponse bootInfo() {
    return boot.info;
  }

  /** The agent client (benchmarks ping it). */
  AgentClient agent() {
    return boot.agent;
  }

  @Override
  public String id() {
    return boot.id;
  }

  @Override
  public MicroPodSpec spec() {
    return boot.spec;
  }

  @Override
  public ExecResult exec(String... argv) {
    return exec(Arrays.asList(Objects.requireNonNull(argv, "argv")));
  }

  @Override
  public ExecResult exec(List<String> argv) {
    Objects.requireNonNull(argv, "argv");
    if (argv.isEmpty()) {
      throw new IllegalArgumentException("argv is empty");
    }
    for (int i = 0; i < argv.size(); i++) {
      if (argv.get(i) == null) {
        throw new IllegalArgumentException("argv[" + i + "] is null");
      }
    }
    ProcessSpec process = processSpec(boot.plan, argv);
    return call(() -> boot.agent.exec(boot.id, process, null));
  }

  @Override
  public String logs() {
    return call(() -> new String(boot.agent.readLogs(boot.id), StandardCharsets.UTF_8));
  }

  @Override
  public int waitFor() {
    Integer known = exitCode;
    if (known != null) {
      return known;
    }
    int code = call(() -> boot.agent.waitContainer(boot.id, null)).orElseThrow();
    exitCode = code;
    return code;
  }

  @Override
  public OptionalInt waitFor(Duration timeout) {
    Objects.requireNonNull(timeout, "timeout");
    Integer known = exitCode;
    if (known != null) {
      return OptionalInt.of(known);
    }
    if (timeout.isNegative()) {
      timeout = Duration.ZERO;
    }
    Duration t = timeout;
    OptionalInt r = call(() -> boot.agent.waitContainer(boot.id, t));
    if (r.isPresent()) {
      exitCode = r.getAsInt();
    }
    return r;
  }

  @Override
  public BootTimings bootTimings() {
    return timings;
  }

  private <T> T call(Supplier<T> call) {
    checkOpen();
    try {
      return call.get();
    } catch (MicroPodException e) {
      if (closed.get()) {
        throw new IllegalStateException("pod " + boot.id + " was closed", e);
      }
      throw vmGone(e);
    }
  }

  /**
   * {@code e} itself, or, when the agent became unreachable because the VM exited (the guest's
   * {@code /init} powers it off when the agent dies; or the VMM was killed), an
   * {@link io.micropod.AgentException} that says so, with the VMM's exit code, the console log's
   * path and its last lines. Waits up to {@link #VM_GONE_GRACE} for the VMM to finish exiting.
   */
  private MicroPodException vmGone(MicroPodException e) {
    if (!(e instanceof io.micropod.AgentException a) || a.status() != io.micropod.AgentStatus.UNAVAILABLE) {
      return e;
    }
    Integer code;
    try {
      code = boot.vm.onExit().get(VM_GONE_GRACE.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException ie) {
      Thread.currentThread().interrupt();
      return e;
    } catch (ExecutionException | TimeoutException notGone) {
      return e;
    }
    return new io.micropod.AgentException("the VM of pod " + boot.id + " exited (code " + code + ") during "
        + a.rpc() + ": its guest agent or kernel died (the guest powers off when the agent exits). Console log: "
        + boot.consoleLog + "\n--- console and VMM output (last lines) ---\n"
        + boot.consoleTail(), e, boot.id, a.phase().orElse(null), io.micropod.AgentStatus.UNAVAILABLE, a.rpc());
  }

  private void checkOpen() {
    if (closed.get()) {
      throw new IllegalStateException("pod " + boot.id + " is closed");
    }
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    long started = System.nanoTime();
    Listeners.phaseStart(boot.spec.listener(), boot.id, Phase.STOP);
    try {
      boot.updateRecord(r -> r.withStatus(io.micropod.internal.state.PodRecord.STOPPING));
    } catch (RuntimeException e) {
      log.debug("pod {}: cannot mark its record STOPPING: {}", boot.id, e.toString());
    }
    log.debug("pod {}: closing", boot.id);
    List<Throwable> failures = cleanup.runAll();
    Duration took = Duration.ofNanos(System.nanoTime() - started);
    if (failures.isEmpty()) {
      log.debug("pod {}: closed in {} ms", boot.id, took.toMillis());
      Listeners.phaseEnd(boot.spec.listener(), boot.id, Phase.STOP, took);
      return;
    }
    MicroPodException e = new MicroPodException("pod " + boot.id + ": " + failures.size()
        + " clean-up step(s) failed while closing; something may be left behind (see the WARN logs)",
        null, boot.id, Phase.STOP);
    failures.forEach(e::addSuppressed);
    log.warn("{}", e.getMessage());
    Listeners.phaseFailed(boot.spec.listener(), boot.id, Phase.STOP, e);
  }

  /** The JVM shutdown hook's orderly stop ({@link MicroPodSpec#exitGracePeriod()}), then the kill. */
  private void stopForJvmExit() {
    try {
      if (!closed.get()) {
        int code = stop(boot.spec.exitGracePeriod());
        log.debug("pod {}: stopped on JVM exit, exit code {}", boot.id, code);
      }
    } catch (RuntimeException e) {
      log.debug("pod {}: orderly stop on JVM exit failed: {}", boot.id, e.toString());
    } finally {
      boot.kill();
    }
  }

  @Override
  public String toString() {
    return "MicroPod{id=" + boot.id + ", image=" + boot.spec.image() + (closed.get() ? ", closed" : "") + "}";
  }

  // ---- lifecycle API (issue 4): see Lifecycle ------------------------------------------------

  @Override
  public ExecResult exec(io.micropod.ExecSpec spec) {
    Objects.requireNonNull(spec, "spec");
    checkOpen();
    ProcessSpec process = Lifecycle.processSpec(boot, spec);
    byte[] stdin = spec.stdin().orElse(null);
    return call(() -> boot.agent.exec(boot.id, process, Lifecycle.terminalSize(spec), stdin, null));
  }

  @Override
  public io.micropod.ExecProcess execStreaming(io.micropod.ExecSpec spec) {
    Objects.requireNonNull(spec, "spec");
    checkOpen();
    ProcessSpec process = Lifecycle.processSpec(boot, spec);
    return boot.agent.execStreaming(boot.id, process, Lifecycle.terminalSize(spec));
  }

  @Override
  public LogFollower followLogs(java.util.function.Consumer<io.micropod.LogLine> consumer) {
    Objects.requireNonNull(consumer, "consumer");
    checkOpen();
    return Lifecycle.followLogs(boot, consumer);
  }

  @Override
  public void signal(int signal) {
    if (signal < 1 || signal > 64) {
      throw new IllegalArgumentException("signal is not 1..64: " + signal);
    }
    call(() -> {
      boot.agent.signal(boot.id, signal, Lifecycle.CALL_DEADLINE);
      return null;
    });
  }

  @Override
  public int stop(Duration timeout) {
    Objects.requireNonNull(timeout, "timeout");
    if (timeout.isNegative()) {
      throw new IllegalArgumentException("timeout < 0: " + timeout);
    }
    OptionalInt done = waitFor(Duration.ZERO);
    if (done.isPresent()) {
      return done.getAsInt();
    }
    if (!Lifecycle.trySignal(this, 15)) {
      return waitFor();
    }
    OptionalInt r = waitFor(timeout);
    if (r.isPresent()) {
      return r.getAsInt();
    }
    log.debug("pod {}: still running {} after SIGTERM, sending SIGKILL", boot.id, Durations.human(timeout));
    Lifecycle.trySignal(this, 9);
    return waitFor();
  }

  @Override
  public io.micropod.ExitStatus waitForExit() {
    io.micropod.agent.v1.WaitContainerResponse r =
        call(() -> boot.agent.waitStatus(boot.id, null)).orElseThrow();
    exitCode = r.getExitCode();
    return new io.micropod.ExitStatus(r.getExitCode(), r.getOomKilled());
  }

  @Override
  public void copyIn(Path hostPath, String containerPath) {
    io.micropod.ContainerFile file = io.micropod.ContainerFile.fromHost(hostPath, containerPath);
    checkOpen();
    call(() -> {
      Lifecycle.copyIn(boot, file);
      return null;
    });
  }

  @Override
  public void copyOut(String containerPath, Path hostPath) {
    Objects.requireNonNull(containerPath, "containerPath");
    Objects.requireNonNull(hostPath, "hostPath");
    if (!containerPath.startsWith("/")) {
      throw new IllegalArgumentException("containerPath is not absolute: " + containerPath);
    }
    if (Files.exists(hostPath, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      throw new IllegalArgumentException("hostPath already exists: " + hostPath);
    }
    Path parent = hostPath.toAbsolutePath().getParent();
    if (parent == null || !Files.isDirectory(parent)) {
      throw new IllegalArgumentException("the parent directory of hostPath does not exist: " + hostPath);
    }
    checkOpen();
    call(() -> {
      Lifecycle.copyOut(boot, containerPath, hostPath);
      return null;
    });
  }

  @Override
  public io.micropod.PodStats stats() {
    io.micropod.agent.v1.GetStatsResponse r = call(() -> boot.agent.stats(boot.id, Lifecycle.CALL_DEADLINE));
    return new io.micropod.PodStats(r.getCpuUsageUsec(), r.getMemoryUsageBytes(),
        r.getMemoryLimitBytes(), r.getIoReadBytes(), r.getIoWriteBytes(), r.getGuestMemTotalBytes(),
        r.getGuestMemAvailableBytes(), r.getGuestLoad1(), r.getOomKills());
  }

  @Override
  public int mappedPort(int containerPort) {
    io.micropod.internal.net.PortForwarder f = boot.ports.get(containerPort);
    if (f == null) {
      throw new IllegalArgumentException("container port " + containerPort + " is not published; "
          + "published: " + boot.ports.keySet() + " (add it with MicroPodSpec.Builder.port(..))");
    }
    return f.hostPort();
  }

  @Override
  public String host() {
    return "127.0.0.1";
  }

  /** The agent client, for measurements and the testkit; not API. */
  public AgentClient agentClient() {
    checkOpen();
    return boot.agent;
  }
}
