package io.micropod.internal;

import io.micropod.AgentException;
import io.micropod.AgentStatus;
import io.micropod.BootTimings;
import io.micropod.ContainerFile;
import io.micropod.ExecProcess;
import io.micropod.ExecResult;
import io.micropod.ExecSpec;
import io.micropod.ExitStatus;
import io.micropod.LogLine;
import io.micropod.MicroPod;
import io.micropod.MicroPodException;
import io.micropod.MicroPodSpec;
import io.micropod.PodStats;
import io.micropod.event.Phase;
import io.micropod.internal.agent.AgentClient;
import io.micropod.internal.agent.AgentProcess;
import io.micropod.internal.agent.GuestInfo;
import io.micropod.internal.base.Durations;
import io.micropod.internal.state.PodRecord;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
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

  RealMicroPod(Boot boot, CleanupStack cleanup, BootTimings timings) {
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
    return PodStarter.start(spec, runtime);
  }

  /** A handle to a running pod that another JVM started (see {@link PodStates#attach}). */
  static RealMicroPod attached(Boot boot, CleanupStack cleanup) {
    RealMicroPod pod = new RealMicroPod(boot, cleanup,
        BootTimings.of(Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ZERO));
    boot.vmProcess().onExit().thenAccept(pod::vmExited);
    return pod;
  }


  // ---- the running pod -------------------------------------------------------------------

  /** How long a failed call waits for a dying VMM to exit before it reports the failure as is. */
  static final Duration VM_GONE_GRACE = Duration.ofSeconds(2);

  void vmExited(Integer code) {
    if (!closed.get()) {
      boot.keepConsoleLog = true;
      String ended = io.micropod.internal.state.ConsoleStates.read(boot.paths.consoleLog()).endReason();
      if (ended != null) {
        log.info("pod {}: ended by itself ({}); see {}", boot.id, ended, boot.paths.consoleLog());
      } else {
        log.warn("pod {}: the VM exited unexpectedly (code {}); see {}", boot.id, code, boot.paths.consoleLog());
      }
      boot.agentClient().shutdownNow();
    }
  }

  /** Whether close() will keep the console log (the VM exited by itself); for tests. */
  boolean keepsConsoleLog() {
    return boot.keepConsoleLog;
  }

  /** The agent's first GetInfo answer (benchmarks read its boot timings). */
  GuestInfo bootInfo() {
    return boot.agent.get().info();
  }

  /** The agent client (benchmarks ping it). */
  AgentClient agent() {
    return boot.agentClient();
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
    // ExecSpec holds the one rule for an argv
    List<String> checked = ExecSpec.builder(argv).build().command();
    return reportedExec(() -> {
      AgentProcess process = ContainerSteps.process(
          boot.prepared.get().plan().withExec(checked, Map.of(), Optional.empty(), Optional.empty()), false);
      return call(() -> boot.agentClient().exec(boot.id, process, null, null, null));
    });
  }

  @Override
  public String logs() {
    return call(() -> new String(boot.agentClient().readLogs(boot.id), StandardCharsets.UTF_8));
  }

  @Override
  public int waitFor() {
    Integer known = exitCode;
    if (known != null) {
      return known;
    }
    int code = call(() -> boot.agentClient().waitContainer(boot.id, null)).orElseThrow();
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
    OptionalInt r = call(() -> boot.agentClient().waitContainer(boot.id, t));
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
   * {@link AgentException} that says so, with the VMM's exit code, the console log's
   * path and its last lines. Waits up to {@link #VM_GONE_GRACE} for the VMM to finish exiting.
   */
  private MicroPodException vmGone(MicroPodException e) {
    if (!(e instanceof AgentException a) || a.status() != AgentStatus.UNAVAILABLE) {
      return e;
    }
    Integer code;
    try {
      code = boot.vmProcess().onExit().get(VM_GONE_GRACE.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException ie) {
      Thread.currentThread().interrupt();
      return e;
    } catch (ExecutionException | TimeoutException notGone) {
      return e;
    }
    return new AgentException(boot.vmExitedMessage(code, "during " + a.rpc() + ": its guest agent or kernel"
        + " died (the guest powers off when the agent exits). Console log: " + boot.paths.consoleLog()) + "\n--- console and VMM output (last lines) ---\n"
        + boot.consoleTail(), e, boot.id, a.phase().orElse(null), AgentStatus.UNAVAILABLE, a.rpc());
  }

  private void checkOpen() {
    checkNotClosed();
    if (boot.paused) {
      throw new IllegalStateException("pod " + boot.id + " is paused: resume() it first");
    }
  }

  private void checkNotClosed() {
    if (closed.get()) {
      throw new IllegalStateException("pod " + boot.id + " is closed");
    }
  }

  @Override
  public synchronized void pause() {
    checkNotClosed();
    if (boot.paused) {
      return;
    }
    try {
      boot.vmProcess().pause();
    } catch (java.io.IOException e) {
      throw new MicroPodException("pod " + boot.id + ": cannot pause its VM: " + e.getMessage(), e, boot.id, null);
    }
    boot.paused = true;
    boot.updateRecord(r -> r.withStatus(PodRecord.PAUSED));
    log.debug("pod {}: paused", boot.id);
  }

  @Override
  public synchronized void resume() {
    checkNotClosed();
    if (!boot.paused) {
      return;
    }
    try {
      boot.vmProcess().resume();
    } catch (java.io.IOException e) {
      throw new MicroPodException("pod " + boot.id + ": cannot resume its VM: " + e.getMessage(), e, boot.id, null);
    }
    boot.paused = false;
    boot.updateRecord(r -> r.withStatus(PodRecord.RUNNING));
    log.debug("pod {}: resumed", boot.id);
  }

  @Override
  public synchronized io.micropod.PodSnapshot snapshot(String name) {
    checkNotClosed();
    Snapshots.checkName(name);
    long started = System.nanoTime();
    Listeners.phaseStart(boot.spec.listener(), boot.id, Phase.SNAPSHOT);
    try {
      io.micropod.PodSnapshot s = Snapshots.take(boot, name);
      Listeners.phaseEnd(boot.spec.listener(), boot.id, Phase.SNAPSHOT, Duration.ofNanos(System.nanoTime() - started));
      return s;
    } catch (RuntimeException e) {
      Listeners.phaseFailed(boot.spec.listener(), boot.id, Phase.SNAPSHOT, e);
      throw e;
    }
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    long started = System.nanoTime();
    Listeners.phaseStart(boot.spec.listener(), boot.id, Phase.STOP);
    if (boot.paused) {
      try {
        boot.vmProcess().resume(); // so that its agent can shut the container down
        boot.paused = false;
      } catch (java.io.IOException | RuntimeException e) {
        log.debug("pod {}: cannot resume it before closing: {}", boot.id, e.toString());
      }
    }
    try {
      boot.updateRecord(r -> r.withStatus(PodRecord.STOPPING));
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
  void stopForJvmExit() {
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
  public ExecResult exec(ExecSpec spec) {
    Objects.requireNonNull(spec, "spec");
    return reportedExec(() -> {
      checkOpen();
      AgentProcess process = Lifecycle.process(boot, spec);
      byte[] stdin = spec.stdin().orElse(null);
      return call(() -> boot.agentClient().exec(boot.id, process, spec.tty().orElse(null), stdin,
          spec.timeout().orElse(null)));
    });
  }

  @Override
  public ExecProcess execStreaming(ExecSpec spec) {
    Objects.requireNonNull(spec, "spec");
    long started = System.nanoTime();
    ExecProcess p;
    try {
      checkOpen();
      AgentProcess process = Lifecycle.process(boot, spec);
      p = boot.agentClient().execStreaming(boot.id, process, spec.tty().orElse(null),
          spec.timeout().orElse(null));
    } catch (RuntimeException e) {
      Listeners.execFailed(boot.spec.listener(), boot.id, Duration.ofNanos(System.nanoTime() - started), e);
      throw e;
    }
    AgentClient.whenEnded(p, (r, e) -> {
      Duration took = Duration.ofNanos(System.nanoTime() - started);
      if (r != null) {
        Listeners.execEnd(boot.spec.listener(), boot.id, r.exitCode(), took);
      } else {
        Listeners.execFailed(boot.spec.listener(), boot.id, took, e);
      }
    });
    return p;
  }

  @Override
  public ExecProcess attach() {
    checkOpen();
    MicroPodSpec spec = boot.spec;
    PreparedImage prepared = boot.prepared.orNull();
    AgentProcess main = prepared != null
        ? ContainerSteps.process(prepared.plan(), spec.tty().isPresent())
        : new AgentProcess(spec.command(), List.of(), "", "", false);
    return boot.agentClient().attachMain(boot.id, main, spec.tty().orElse(null), spec.stdinOpen());
  }

  @Override
  public LogFollower followLogs(Consumer<LogLine> consumer) {
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
      boot.agentClient().signal(boot.id, signal, Lifecycle.CALL_DEADLINE);
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
  public ExitStatus waitForExit() {
    ExitStatus r = call(() -> boot.agentClient().waitStatus(boot.id, null)).orElseThrow();
    exitCode = r.exitCode();
    return r;
  }

  @Override
  public void copyIn(Path hostPath, String containerPath) {
    ContainerFile file = ContainerFile.fromHost(hostPath, containerPath);
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
    if (Files.exists(hostPath, LinkOption.NOFOLLOW_LINKS)) {
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
  public void copyArchiveIn(java.io.InputStream tar, String containerDir) {
    Objects.requireNonNull(tar, "tar");
    Objects.requireNonNull(containerDir, "containerDir");
    if (!containerDir.startsWith("/")) {
      throw new IllegalArgumentException("containerDir is not absolute: " + containerDir);
    }
    checkOpen();
    call(() -> {
      Lifecycle.copyArchiveIn(boot, tar, containerDir);
      return null;
    });
  }

  @Override
  public void copyArchiveOut(String containerPath, java.io.OutputStream tar) {
    Objects.requireNonNull(containerPath, "containerPath");
    Objects.requireNonNull(tar, "tar");
    if (!containerPath.startsWith("/")) {
      throw new IllegalArgumentException("containerPath is not absolute: " + containerPath);
    }
    checkOpen();
    call(() -> {
      Lifecycle.copyArchiveOut(boot, containerPath, tar);
      return null;
    });
  }

  @Override
  public PodStats stats() {
    return call(() -> boot.agentClient().stats(boot.id, Lifecycle.CALL_DEADLINE));
  }

  /** How long {@link #health()} and {@link #restartCount()} wait for the agent. */
  static final Duration STATE_DEADLINE = Duration.ofSeconds(10);

  @Override
  public java.util.Optional<io.micropod.HealthState> health() {
    return java.util.Optional.ofNullable(containerState().health());
  }

  @Override
  public int restartCount() {
    return containerState().restartCount();
  }

  private io.micropod.internal.agent.Supervising.State containerState() {
    if (closed.get()) {
      throw new IllegalStateException("pod " + boot.id + " is closed");
    }
    return boot.agentClient().containerState(boot.id, STATE_DEADLINE);
  }

  @Override
  public synchronized void updateEgress(io.micropod.EgressPolicy policy) {
    Objects.requireNonNull(policy, "policy");
    if (boot.spec.networkMode() != io.micropod.NetworkMode.NAT) {
      throw new UnsupportedOperationException("pod " + boot.id + " has no NAT (networkMode "
          + boot.spec.networkMode() + "): nothing leaves it, so it has no egress rules to change");
    }
    if (!NetworkSteps.egressGuarded(boot)) {
      throw new UnsupportedOperationException("pod " + boot.id + " runs on the " + boot.runtime.driver().name()
          + " driver, which cannot enforce egress rules (docs/firecracker.md); use the qemu driver");
    }
    checkOpen();
    try {
      io.micropod.internal.net.EgressFiles.write(boot.paths.socketDir(), policy);
    } catch (java.io.IOException e) {
      throw new MicroPodException("pod " + boot.id + ": cannot write its egress rules into "
          + boot.paths.socketDir() + " (" + e + "); the previous rules stay", e, boot.id, null);
    }
    boot.updateRecord(r -> r.details() == null ? r
        : r.withDetails(r.details().withEgress(io.micropod.internal.state.PodRecord.Egress.of(policy))));
    log.info("pod {}: egress rules now {}", boot.id, policy);
  }

  @Override
  public int mappedPort(int containerPort) {
    Map<Integer, Integer> published = PortSteps.publishedPorts(boot);
    Integer host = published.get(containerPort);
    if (host == null) {
      throw new IllegalArgumentException("container port " + containerPort + " is not published; "
          + "published: " + published.keySet() + " (add it with MicroPodSpec.Builder.port(..))");
    }
    return host;
  }

  @Override
  public String host() {
    return "127.0.0.1";
  }
  /** Runs a blocking exec, reporting its exit or its failure to the spec's listener. */
  private ExecResult reportedExec(Supplier<ExecResult> exec) {
    long started = System.nanoTime();
    ExecResult r;
    try {
      r = exec.get();
    } catch (RuntimeException e) {
      Listeners.execFailed(boot.spec.listener(), boot.id, Duration.ofNanos(System.nanoTime() - started), e);
      throw e;
    }
    Listeners.execEnd(boot.spec.listener(), boot.id, r.exitCode(), Duration.ofNanos(System.nanoTime() - started));
    return r;
  }
}
