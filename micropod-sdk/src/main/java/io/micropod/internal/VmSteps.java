package io.micropod.internal;

import static io.micropod.internal.RealMicroPod.SOCKET_TIMEOUT;

import io.micropod.AgentTimeoutException;
import io.micropod.MicroPodException;
import io.micropod.VmStartException;
import io.micropod.event.Phase;
import io.micropod.internal.agent.AgentClient;
import io.micropod.internal.agent.GuestInfo;
import io.micropod.internal.base.Durations;
import io.micropod.internal.state.ConsoleLogs;
import io.micropod.internal.state.PodRecord;
import io.micropod.internal.vm.ManagedProcess;
import io.micropod.internal.vm.Accel;
import io.micropod.internal.vm.GuestNetworkConfig;
import io.micropod.internal.vm.VmConfig;
import io.micropod.internal.vm.VmProcess;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The VM steps: {@code virtiofs.start} (the pod's directories, console log and image share),
 * {@code vmm.spawn} and {@code agent.connect}.
 */
final class VmSteps {
  private static final Logger log = LoggerFactory.getLogger(VmSteps.class);

  /** {@code rwx------}: the pod's directories are its owner's alone. */
  private static final FileAttribute<Set<PosixFilePermission>> OWNER_ONLY =
      PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));

  private VmSteps() {}

  /**
   * {@code virtiofs.start}: the guest console's log, the pod's record, its private directories
   * (logs; sockets), then the image share.
   */
  static void shareRootfs(Boot b, CleanupStack cleanup) throws IOException, InterruptedException {
    Path podDir = b.runtime.config().home().resolve("pods").resolve(b.id);
    Path socketDir = socketBase().resolve("micropod-" + b.id);
    createConsoleLog(b, cleanup);
    writeRecord(b, cleanup, podDir, socketDir);
    createPodDir(b, cleanup, podDir);
    createSocketDir(b, cleanup, socketDir);
    b.vmConfig = new VmConfig(b.id, b.spec.memoryMib(), b.spec.cpus(), b.host, podDir, socketDir,
        b.runtime.config().debug(), GuestNetworkConfig.NONE, b.spec.detached(),
        b.consoleLog, List.of());
    if (b.spec.snapshottable()) {
      b.vmConfig = b.vmConfig.withSnapshotting(SnapshotSteps.snapshotting(b, socketDir));
    }
    b.rootfsShare = b.runtime.driver().shareRootfs(b.vmConfig, b.rootfs, Instant.now().plus(SOCKET_TIMEOUT));
    PodResources.rootfsShare(b, cleanup);
    b.updateRecord(r -> r.withVirtiofsd(PodRecord.Proc.of(b.rootfsShare.pid())));
  }

  /**
   * {@code <config>/logs/<id>.log}: removed on close, kept when the start failed, the VM exited by
   * itself or with MICROPOD_DEBUG=1 ({@link PodResources#keepsConsoleLog}).
   */
  private static void createConsoleLog(Boot b, CleanupStack cleanup) throws IOException {
    b.consoleLog = b.runtime.consoleLogs().create(b.id);
    PodResources.consoleLog(b, cleanup);
  }

  /** The pod's record in the config directory. */
  private static void writeRecord(Boot b, CleanupStack cleanup, Path podDir, Path socketDir) {
    try {
      PodStates.create(b, podDir, socketDir);
    } catch (UncheckedIOException e) {
      throw ConsoleLogs.unwritable(b.runtime.config().configDir(),
          b.runtime.state().dir(), e);
    }
    if (b.spec.detached()) {
      // they outlive a killed JVM: each is in the record before it runs, so a sweep reaps it
      ManagedProcess.recordSpawns(b.id, (role, pid) ->
          b.updateRecord(r -> r.withSpawned(PodRecord.Proc.of(pid), !role.equals("virtiofsd"))));
      cleanup.push("spawns.forget", () -> ManagedProcess.forgetSpawns(b.id));
    }
    PodResources.record(b, cleanup);
  }

  /** {@code <home>/pods/<id>}: the VMM's and virtiofsd's logs; kept with MICROPOD_DEBUG=1. */
  private static void createPodDir(Boot b, CleanupStack cleanup, Path podDir) throws IOException {
    Files.createDirectories(podDir.getParent());
    Files.createDirectory(podDir, OWNER_ONLY);
    b.podDir = podDir;
    PodResources.podDir(b, cleanup);
  }

  /** {@code /tmp/micropod-<id>}: the VMM's and virtiofsd's sockets. */
  private static void createSocketDir(Boot b, CleanupStack cleanup, Path socketDir) throws IOException {
    Files.createDirectory(socketDir, OWNER_ONLY);
    b.socketDir = socketDir;
    PodResources.socketDir(b, cleanup);
  }

  static void spawnVmm(Boot b, CleanupStack cleanup) throws IOException, InterruptedException {
    VmConfig config = b.vmConfig;
    b.spawnNanos = System.nanoTime();
    b.deadline = Instant.now().plus(b.spec.startupTimeout());
    b.vm = b.runtime.driver().spawn(config, b.rootfsShare, Instant.now().plus(SOCKET_TIMEOUT));
    PodResources.vmm(b, cleanup);
    b.updateRecord(r -> r.withVmm(PodRecord.Proc.of(b.vm.pid())));
    PodStates.restrictSockets(config.socketDir());
  }

  private static Path socketBase() {
    Path tmp = Path.of("/tmp");
    return Files.isDirectory(tmp) ? tmp : Path.of(System.getProperty("java.io.tmpdir"));
  }

  static void connectAgent(Boot b, CleanupStack cleanup) throws InterruptedException {
    Path socket = b.vm.agentSocket();
    AgentClient agent = b.runtime.connectAgent(b.id, socket);
    b.agent = agent;
    PodResources.agent(b, agent, cleanup);
    Duration budget = b.remaining();
    CompletableFuture<GuestInfo> info = agent.getInfoAsync(budget);
    try {
      KernelStallWatch.await(CompletableFuture.anyOf(info, b.vm.onExit()),
          System.nanoTime() + budget.toNanos() + TimeUnit.SECONDS.toNanos(1), b.vm, b.spawnNanos,
          b.host.accel() == Accel.TCG, b.id);
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
          || failure instanceof CancellationException) {
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
    GuestInfo g = b.info;
    log.debug("pod {}: agent {} answered {} ms after the VM's spawn ({}; kernel {}; {}; guest uptime at"
            + " /init {} ms, agent main {} ms, agent ready {} ms, answer {} ms)", b.id, g.agentVersion(),
        (b.agentReadyNanos - b.spawnNanos) / 1_000_000, socket, g.kernelRelease(),
        g.runtimeVersion(), g.initStartedMs(), g.agentMainMs(), g.agentReadyMs(), g.nowMs());
  }

  /** The VMM's exit code; it may take a moment after the process ended to be reported. */
  static String exitCodeOf(VmProcess vm) {
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
    } catch (CompletionException e) {
      return e.getCause();
    } catch (CancellationException e) {
      return e;
    }
  }
}
