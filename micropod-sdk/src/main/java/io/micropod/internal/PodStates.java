package io.micropod.internal;

import io.micropod.AgentTimeoutException;
import io.micropod.ImageRef;
import io.micropod.MicroPod;
import io.micropod.MicroPodException;
import io.micropod.MicroPodRuntime;
import io.micropod.MicroPodSpec;
import io.micropod.PodBusyException;
import io.micropod.PodInfo;
import io.micropod.PodNotFoundException;
import io.micropod.event.Phase;
import io.micropod.internal.agent.AgentClient;
import io.micropod.internal.agent.AgentRelay;
import io.micropod.internal.agent.GuestInfo;
import io.micropod.internal.base.Durations;
import io.micropod.internal.state.OrphanReaper;
import io.micropod.internal.state.PodRecord;
import io.micropod.internal.state.ProcStat;
import io.micropod.internal.state.StateDirectory;
import io.micropod.internal.vm.FileTail;
import io.micropod.internal.vm.RootfsShare;
import io.micropod.internal.vm.VmProcess;
import io.micropod.internal.vm.VmmSelection;
import io.micropod.internal.vm.firecracker.FirecrackerApi;
import io.micropod.internal.vm.firecracker.FirecrackerDriver;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pods across processes: writes a starting pod's record, lists records as {@link PodInfo}, and
 * attaches to a pod another JVM started. See {@code docs/reliability.md}.
 */
public final class PodStates {
  private static final Logger log = LoggerFactory.getLogger(PodStates.class);
  /** How long {@code attach} waits for the agent's first answer. */
  static final Duration ATTACH_TIMEOUT = Duration.ofSeconds(30);
  /** How long an attach waits for the agent's answer to the HTTP/2 handshake before it connects again. */
  static final Duration HANDSHAKE_SILENCE = Duration.ofSeconds(3);
  /** The image a reaped pod's spec names when its record's cannot be parsed (the undo reads none). */
  private static final String UNREADABLE_IMAGE = "oci:/unreadable-record";

  private PodStates() {}

  /**
   * Writes the first record of a starting pod, after checking under the state lock that no live
   * pod has its name.
   */
  static void create(Boot b) {
    String name = b.spec.name().orElse(null);
    Path socketDir = b.paths.socketDir();
    PreparedImage prepared = b.prepared.orNull();
    PodRecord record = new PodRecord(PodRecord.VERSION, b.id, name, b.spec.image().toString(),
        b.runtime.driver().name(), PodRecord.STARTING, b.spec.detached(), PodRecord.Proc.self(), null, null,
        prepared == null ? "" : prepared.plan().user(), b.paths.podDir().toString(), socketDir.toString(),
        socketDir.resolve("agent.sock").toString(), Map.of(), Instant.now().toString(), null)
        .withConsoleLog(b.paths.consoleLog() == null ? null : b.paths.consoleLog().toString());
    StateDirectory state = b.runtime.state();
    state.locked(() -> {
      if (name != null) {
        checkNameFree(state, name, b.id, Phase.ROOTFS_PREPARE);
      }
      state.writeLocked(record);
      return null;
    });
    b.recordWritten(record);
  }

  /**
   * Throws when a live pod other than {@code podId} has {@code name}; the caller holds the state
   * lock, so that no other pod can take the name before the caller writes it.
   */
  private static void checkNameFree(StateDirectory state, String name, String podId, Phase phase) {
    for (PodRecord r : state.all()) {
      if (name.equals(r.name()) && !r.id().equals(podId) && OrphanReaper.isLive(r)) {
        throw new MicroPodException("the name '" + name + "' is taken by live pod " + r.id()
            + " (owner pid " + (r.owner() == null ? "?" : r.owner().pid()) + "): choose another name,"
            + " or stop that pod first", null, podId, phase);
      }
    }
  }

  /**
   * Gives the live pod {@code idOrName} the name {@code newName} (already validated), under the
   * state lock: names stay unique among live pods. Its owner's later record updates keep the new
   * name ({@link Boot#updateRecord} applies them to the file).
   *
   * @return the pod's id
   * @throws PodNotFoundException when no live pod has that id or name
   * @throws MicroPodException when another live pod has {@code newName}
   */
  public static String rename(RuntimeServices services, String idOrName, String newName) {
    services.sweep();
    StateDirectory state = services.state();
    return state.locked(() -> {
      PodRecord match = liveRecord(state, idOrName);
      checkNameFree(state, newName, match.id(), null);
      state.writeLocked(match.withName(newName));
      return match.id();
    });
  }

  /** Makes the sockets in {@code socketDir} 0600 (their directory is 0700 already). */
  static void restrictSockets(Path socketDir) throws IOException {
    try (DirectoryStream<Path> files = Files.newDirectoryStream(socketDir)) {
      for (Path f : files) {
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
      }
    }
  }

  /** The live pods, after a sweep. */
  public static List<PodInfo> list(RuntimeServices services) {
    services.sweep();
    List<PodInfo> out = new ArrayList<>();
    for (PodRecord r : services.state().all()) {
      if (OrphanReaper.isLive(r)) {
        out.add(info(r));
      }
    }
    return out;
  }

  static PodInfo info(PodRecord r) {
    PodInfo.Status status;
    try {
      status = PodInfo.Status.valueOf(r.status());
    } catch (RuntimeException e) {
      status = PodInfo.Status.STARTING;
    }
    Map<Integer, Integer> ports = new LinkedHashMap<>();
    r.ports().forEach((k, v) -> ports.put(Integer.parseInt(k), v));
    io.micropod.internal.state.ConsoleStates.Observed seen =
        io.micropod.internal.state.ConsoleStates.read(consoleLogOf(r));
    PodInfo base = new PodInfo(r.id(), r.name(), r.image(), r.driver(), status, r.detached(),
        r.owner() == null ? -1 : r.owner().pid(), r.vmm() == null ? -1 : r.vmm().pid(), ports,
        Instant.parse(r.createdAt()), r.startedAt() == null ? null : Instant.parse(r.startedAt()),
        seen.health(), seen.restartCount(),
        seen.lastExitCode().isPresent() ? seen.lastExitCode().getAsInt() : null, seen.endReason());
    // the agent's word only turns a running pod into an exited one: it never hides a start or a stop
    boolean exited = status == PodInfo.Status.RUNNING && seen.exited();
    Instant finished = exited ? seen.at() : null;
    // the guest's clock, and a start recorded after the container ran: an exit never shows before it
    if (finished != null && base.startedAt().isPresent() && finished.isBefore(base.startedAt().get())) {
      finished = base.startedAt().get();
    }
    return new PodInfo(base, exited ? PodInfo.Status.EXITED : status, finished, config(r), bootTimings(r));
  }

  /** The recorded spec of {@code r}; null before its start completed or when unreadable. */
  private static PodInfo.Config config(PodRecord r) {
    PodRecord.Details d = r.details();
    if (d == null) {
      return null;
    }
    try {
      io.micropod.HealthCheck health = d.health() == null ? null : io.micropod.HealthCheck.builder()
          .command(d.health().test()).interval(Duration.ofMillis(d.health().intervalMillis()))
          .timeout(Duration.ofMillis(d.health().timeoutMillis())).retries(d.health().retries())
          .startPeriod(Duration.ofMillis(d.health().startPeriodMillis())).build();
      return new PodInfo.Config(d.entrypoint(), d.command(), d.user(), d.hostname(),
          d.workingDir(), d.labels(), r.mounts(), d.networks(), d.networkAliases(),
          io.micropod.RestartPolicy.parse(d.restart() == null ? "no" : d.restart()), health,
          d.egress() == null ? io.micropod.EgressPolicy.allowAll() : d.egress().toPolicy(),
          d.networkMode() == null ? io.micropod.NetworkMode.NAT : io.micropod.NetworkMode.valueOf(d.networkMode()),
          d.memoryMib(), d.cpus());
    } catch (RuntimeException e) {
      log.debug("pod {}: its recorded spec is unreadable: {}", r.id(), e.toString());
      return null;
    }
  }

  private static io.micropod.BootTimings bootTimings(PodRecord r) {
    if (r.details() == null || r.details().bootMillis().isEmpty()) {
      return null;
    }
    Map<String, Long> ms = r.details().bootMillis();
    java.util.function.Function<String, Duration> d = k -> Duration.ofMillis(Math.max(0, ms.getOrDefault(k, 0L)));
    return io.micropod.BootTimings.of(d.apply("image"), d.apply("vmBoot"), d.apply("agentReady"),
        d.apply("containerStart"), d.apply("total"));
  }

  /**
   * The record of the live pod whose id or name is {@code idOrName}; the caller holds the state
   * lock.
   *
   * @throws PodNotFoundException naming the live pods there are
   */
  private static PodRecord liveRecord(StateDirectory state, String idOrName) {
    PodRecord match = null;
    List<String> known = new ArrayList<>();
    for (PodRecord r : state.all()) {
      if (!OrphanReaper.isLive(r)) {
        continue;
      }
      known.add(r.name() == null ? r.id() : r.id() + " (" + r.name() + ")");
      if (r.id().equals(idOrName) || idOrName.equals(r.name())) {
        match = r;
      }
    }
    if (match == null) {
      throw new PodNotFoundException(idOrName, "no live pod has the id or name '" + idOrName + "' in "
          + state.dir() + (known.isEmpty() ? " (there are none)" : "; live pods: " + known));
    }
    return match;
  }

  /** See {@link MicroPodRuntime#attach(String)}. */
  public static MicroPod attach(MicroPodRuntime runtime, RuntimeServices services, String idOrName) {
    services.sweep();
    StateDirectory state = services.state();
    PodRecord me = null;
    PodRecord found;
    PodRecord.Proc self = PodRecord.Proc.self();
    // take ownership under the lock, so that two attaching JVMs cannot both win
    found = state.locked(() -> {
      PodRecord match = liveRecord(state, idOrName);
      if (match.owner() != null && match.owner().isAlive()) {
        boolean ours = match.owner().equals(self);
        if (!ours && match.socketDir() != null
            && Files.exists(AgentRelay.socketOf(Path.of(match.socketDir())))) {
          return match; // held by a live JVM that relays: visit it, ownership stays there
        }
        throw new PodBusyException(match.id(), match.owner().pid(), "pod " + match.id() + " is held by "
            + (ours ? "this JVM: use the MicroPod handle that started or attached it"
                : "its owner, the live JVM with pid " + match.owner().pid() + ": QEMU's agent channel "
                    + "accepts one client at a time; close the handle there or let that JVM exit "
                    + "(start the pod with detached(true) so that it survives), then attach again"));
      }
      if (match.vmm() == null || match.agentSocket() == null) {
        throw new PodNotFoundException(idOrName, "pod " + match.id() + " is still starting; try again");
      }
      state.writeLocked(match.withOwner(self));
      return match;
    });
    if (found.owner() != null && !found.owner().equals(self) && found.owner().isAlive()) {
      return visit(runtime, services, found);
    }
    me = found.withOwner(self);
    Boot b = boot(runtime, services, me);
    Path socket = Path.of(me.agentSocket());
    ConnectedAgent connected = null;
    try {
      if (b.paused) {
        // a paused guest's agent cannot answer: let it run for the handshake, pause it again below
        b.vmProcess().resume();
      }
      connected = handshake(services, b.id, socket);
      if (b.paused) {
        b.vmProcess().pause();
      }
      b.agent.set(connected);
    } catch (Exception e) {
      if (connected != null) {
        connected.client().close();
      }
      try {
        state.write(found); // give it back, so that a later attach can try again
      } catch (RuntimeException ignored) {
        // the next sweep decides
      }
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
        throw new MicroPodException("interrupted while attaching to pod " + b.id, e, b.id, Phase.AGENT_CONNECT);
      }
      if (e instanceof java.io.IOException) {
        throw new MicroPodException("cannot " + (connected == null ? "resume" : "pause again") + " paused pod "
            + b.id + " through its VMM to attach (" + e.getMessage() + "); see " + b.paths.consoleLog(),
            e, b.id, Phase.AGENT_CONNECT);
      }
      Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
      throw new AgentTimeoutException("the agent of pod " + b.id + " did not answer on " + socket + " within "
          + Durations.human(ATTACH_TIMEOUT) + " (" + cause + "): another process may still be connected"
          + " (QEMU's agent channel accepts one client at a time), or the VM is hung; see "
          + b.paths.consoleLog(), cause, b.id, Phase.AGENT_CONNECT, "GetInfo", ATTACH_TIMEOUT);
    }
    CleanupStack cleanup = new CleanupStack(me.id());
    PodResources.all(b, cleanup);
    PortSteps.startRelay(b);
    log.info("pod {}: attached (started by pid {}, VMM pid {})", b.id,
        found.owner() == null ? "?" : found.owner().pid(), me.vmm().pid());
    return RealMicroPod.attached(b, cleanup);
  }

  /**
   * Connects to the agent of pod {@code id} on {@code socket} and asks {@code GetInfo}, within
   * {@link #ATTACH_TIMEOUT}. A connection whose HTTP/2 handshake goes unanswered for
   * {@link #HANDSHAKE_SILENCE} (then twice, four times that) is dropped and made again: when a
   * host left a paused guest with a request in flight (grpc-java pings after it reads data), the
   * guest answers it as soon as it runs again, to a host that is gone, and from then on QEMU's
   * port passes none of the guest's bytes to the next host, until a host leaves while the guest
   * runs (PauseResumeAcrossProcessesIT). Leaving is what clears it, so the next connection is
   * answered.
   */
  private static ConnectedAgent handshake(RuntimeServices services, String id, Path socket)
      throws InterruptedException, ExecutionException, TimeoutException {
    long deadline = System.nanoTime() + ATTACH_TIMEOUT.toNanos();
    Duration silence = HANDSHAKE_SILENCE;
    while (true) {
      AgentClient agent = services.connectAgent(id, socket);
      try {
        Duration left = Duration.ofNanos(deadline - System.nanoTime());
        if (left.compareTo(silence) > 0 && !agent.awaitConnected(silence)) {
          log.debug("pod {}: the agent did not answer the HTTP/2 handshake on {} within {}: connecting again",
              id, socket, Durations.human(silence));
          agent.close();
          silence = silence.multipliedBy(2);
          continue;
        }
        left = Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
        GuestInfo info = agent.getInfoAsync(left).get(left.toMillis() + 2000, TimeUnit.MILLISECONDS);
        return new ConnectedAgent(agent, info, 0);
      } catch (InterruptedException | ExecutionException | TimeoutException | RuntimeException e) {
        agent.close();
        throw e;
      }
    }
  }

  /**
   * A handle to a pod that another live JVM holds, through that JVM's {@link AgentRelay}: every
   * verb works as for the owner, but the pod stays the owner's. {@code close()} only disconnects
   * (this JVM never owned the VM); {@code stop(..)} stops the container, and the owner removes the
   * VM when it closes its handle (a foreground {@code micropod run} does so as soon as the container
   * exits).
   */
  private static MicroPod visit(MicroPodRuntime runtime, RuntimeServices services, PodRecord r) {
    Boot b = boot(runtime, services, r);
    b.recordWritten(null); // the owner's record: a visitor never writes it
    CleanupStack cleanup = new CleanupStack(r.id());
    Path socket = AgentRelay.socketOf(b.paths.socketDir());
    AgentClient agent = services.connectAgent(b.id, socket);
    cleanup.push("agent.disconnect", agent::close);
    try {
      b.agent.set(new ConnectedAgent(agent,
          agent.getInfoAsync(ATTACH_TIMEOUT).get(ATTACH_TIMEOUT.toMillis() + 2000, TimeUnit.MILLISECONDS), 0));
    } catch (Exception e) {
      agent.close();
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
        throw new MicroPodException("interrupted while attaching to pod " + b.id, e, b.id, Phase.AGENT_CONNECT);
      }
      Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
      throw new PodBusyException(r.id(), r.owner().pid(), "pod " + r.id() + " is held by the live JVM with"
          + " pid " + r.owner().pid() + ", whose relay " + socket + " did not answer (" + cause + "): that JVM"
          + " may be exiting; try again, or end it");
    }
    log.info("pod {}: attached through the relay of its owner, pid {}", b.id, r.owner().pid());
    return RealMicroPod.attached(b, cleanup);
  }

  /**
   * Undoes the pod of {@code r}, whose owner died ({@code state.OrphanReaper} decided, under the
   * state lock, which the caller holds): the resources of its record registered as for an attached
   * pod ({@link PodResources#all}) and undone as {@code close()} undoes them, its console log kept
   * (it tells why the pod ended). Its processes are signalled only while pid and start time match.
   *
   * @return the names of the undos run, in order
   */
  static List<String> reap(RuntimeServices services, PodRecord r) {
    Boot b = boot(reapedSpec(r), services, r);
    b.ownerDied = true;
    List<PodRecord.Proc> running = r.processes().stream().filter(PodRecord.Proc::isAlive).toList();
    CleanupStack undo = new CleanupStack(r.id());
    PodResources.all(b, undo);
    undo.runAll(); // failures are logged; the next sweep tries again what is left
    List<String> killed = running.stream().filter(p -> !p.isAlive()).map(p -> Long.toString(p.pid())).toList();
    String ended = io.micropod.internal.state.ConsoleStates.read(b.paths.consoleLog()).endReason();
    log.info("pod {}: removed what its dead owner (pid {}) left{}{}", r.id(),
        r.owner() == null ? "?" : r.owner().pid(), killed.isEmpty() ? "" : "; killed pids " + killed,
        ended == null ? "" : "; it had ended by itself (" + ended + ")");
    return undo.ran();
  }

  /** The spec of a reaped pod: the undo reads none of it, so a record it cannot parse is reaped too. */
  private static MicroPodSpec reapedSpec(PodRecord r) {
    try {
      return spec(r).build();
    } catch (RuntimeException e) {
      return MicroPodSpec.builder().image(ImageRef.parse(UNREADABLE_IMAGE)).build();
    }
  }

  private static MicroPodSpec.Builder spec(PodRecord r) {
    MicroPodSpec.Builder spec = MicroPodSpec.builder().image(ImageRef.parse(r.image())).detached(r.detached());
    if (r.name() != null) {
      spec.name(r.name());
    }
    PodRecord.Snapshottable v = r.snapshottable();
    if (v != null) {
      spec.snapshottable(true).memoryMib(v.memoryMib()).cpus(v.cpus());
      if (v.hostname() != null) {
        spec.hostname(v.hostname());
      }
    }
    return spec;
  }

  private static Boot boot(MicroPodRuntime runtime, RuntimeServices services, PodRecord r) {
    return boot(spec(r).runtime(runtime).build(), services, r);
  }

  /**
   * A {@link Boot} holding what {@code r} records (paths and processes) as the results of the
   * steps that made them, as a started pod; the agent's is set by whoever connects.
   */
  private static Boot boot(MicroPodSpec spec, RuntimeServices services, PodRecord r) {
    PodPaths paths = new PodPaths(r.podDir() == null ? null : Path.of(r.podDir()),
        r.socketDir() == null ? null : Path.of(r.socketDir()), consoleLogOf(r));
    Boot b = new Boot(r.id(), spec, services, null, paths, List.of());
    b.prepared.set(PreparedImage.recorded(r.user()));
    PodRecord.Snapshottable snapshottable = r.snapshottable();
    Path blockImage = snapshottable == null ? null : Path.of(snapshottable.blockImage());
    b.rootfsShare.set(new RecordedProcess(r.virtiofsd(), "virtiofsd") {
      @Override
      public Path blockImage() {
        return blockImage;
      }
    });
    b.recordedContainerId = snapshottable == null ? null : snapshottable.containerId();
    b.mounts.set(new SharedMounts(r.mountDaemons().stream()
        .map(p -> (RootfsShare) new RecordedProcess(p, "virtiofsd (mount)")).toList(), List.of()));
    // the published ports: QEMU's for a detached pod, the holder's forwarders for a visited one
    Map<Integer, Integer> ports = new LinkedHashMap<>();
    r.ports().forEach((container, host) -> ports.put(Integer.parseInt(container), host));
    b.ports.set(new PublishedPorts(Map.of(), ports));
    b.networks.set(JoinedNetworks.NONE);
    b.vm.set(new SpawnedVm(recordedVm(r, paths), 0, null));
    b.started = true;
    b.recordWritten(r);
    b.paused = PodRecord.PAUSED.equals(r.status());
    return b;
  }

  /** The VMM of an attached pod: its recorded process, paused, resumed and snapshotted through its own sockets. */
  static VmProcess recordedVm(PodRecord r, PodPaths paths) {
    return new RecordedVm(r, paths.podDir(), paths.consoleLog());
  }

  /** The console log of a record; records written before it was recorded: the pod directory's. */
  static Path consoleLogOf(PodRecord r) {
    return r.consoleLog() != null ? Path.of(r.consoleLog())
        : r.podDir() == null ? null : Path.of(r.podDir()).resolve("console.log");
  }

  /** Polls until {@code p} is gone or {@code timeout} passed; true when gone. */
  static boolean awaitGone(PodRecord.Proc p, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (p.isAlive()) {
      if (System.nanoTime() - deadline > 0) {
        return false;
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
    }
    return true;
  }

  /** Stops {@code p}: waits {@code grace}, SIGTERM, 2 s, SIGKILL, 2 s; each signal checked by start time. */
  static void stop(PodRecord.Proc p, Duration grace) {
    if (p == null || awaitGone(p, grace)) {
      return;
    }
    ProcStat.terminateIfSame(p.pid(), p.startTime());
    if (awaitGone(p, Duration.ofSeconds(2))) {
      return;
    }
    ProcStat.killIfSame(p.pid(), p.startTime());
    awaitGone(p, Duration.ofSeconds(2));
  }

  /** A recorded host process that this JVM did not start. */
  private static class RecordedProcess implements RootfsShare {
    final PodRecord.Proc proc;
    final String role;

    RecordedProcess(PodRecord.Proc proc, String role) {
      this.proc = proc;
      this.role = role;
    }

    @Override
    public void stop() {
      PodStates.stop(proc, Duration.ofSeconds(1));
    }

    @Override
    public void kill() {
      if (proc != null) {
        ProcStat.killIfSame(proc.pid(), proc.startTime());
      }
    }

    @Override
    public long pid() {
      return proc == null ? -1 : proc.pid();
    }
  }

  /** The VMM of an attached pod, known by its recorded pid and start time. */
  private static final class RecordedVm extends RecordedProcess implements VmProcess {
    private final Path agentSocket;
    private final Path podDir;
    private final Path consoleLog;
    private final CompletableFuture<Integer> exit;

    /** The pod's socket directory (QMP); null when not recorded. */
    private final Path socketDir;

    /** QMP {@code stop}, or Firecracker's {@code PATCH /vm Paused}, through a connection of its own. */
    @Override
    public void pause() throws java.io.IOException {
      if (VmmSelection.FIRECRACKER.equals(driver)) {
        try (FirecrackerApi api = firecrackerApi()) {
          api.pause();
        }
        return;
      }
      io.micropod.internal.vm.QemuControl.pause(qmpDir());
    }

    /** QMP {@code cont}, or Firecracker's {@code PATCH /vm Resumed}. */
    @Override
    public void resume() throws java.io.IOException {
      if (VmmSelection.FIRECRACKER.equals(driver)) {
        try (FirecrackerApi api = firecrackerApi()) {
          api.resume();
        }
        return;
      }
      io.micropod.internal.vm.QemuControl.resume(qmpDir());
    }

    /**
     * A snapshot through a QMP connection of its own; only for a pod recorded snapshottable. A
     * Firecracker pod is snapshotted only by the process that started it: the snapshot resets the
     * guest's vsock, and only that process's agent relay can end the connections it holds (an
     * {@link IllegalStateException}, as for a pod not snapshottable: `micropod snapshot create`
     * prints its message).
     */
    @Override
    public long snapshot(Path stateFile, Path ramOut) throws java.io.IOException {
      if (guestRam == null) {
        throw new IllegalStateException("pod " + id + " was not started snapshottable");
      }
      if (VmmSelection.FIRECRACKER.equals(driver)) {
        throw new IllegalStateException("pod " + id + " runs on Firecracker: snapshot it from the"
            + " process that started it (MicroPod.snapshot there), whose agent relay reconnects after the"
            + " snapshot resets the guest's vsock");
      }
      return io.micropod.internal.vm.QemuControl.snapshot(qmpDir(), guestRam, stateFile, ramOut);
    }

    private Path qmpDir() {
      if (socketDir == null || !"qemu".equals(driver)) {
        throw new UnsupportedOperationException("this pod's VMM cannot be paused");
      }
      return socketDir;
    }

    /** The API socket of the pod's Firecracker (run directly: the jailer's is in its jail). */
    private FirecrackerApi firecrackerApi() {
      if (socketDir == null) {
        throw new UnsupportedOperationException("pod " + id + " has no recorded socket directory");
      }
      return new FirecrackerApi(socketDir.resolve(FirecrackerDriver.API_SOCKET_NAME));
    }

    private final String driver;

    /** The guest RAM file of a snapshottable pod; null for others. */
    private final Path guestRam;
    private final String id;

    RecordedVm(PodRecord r, Path podDir, Path consoleLog) {
      super(r.vmm(), "vmm");
      this.id = r.id();
      this.guestRam = r.snapshottable() == null ? null : Path.of(r.snapshottable().ramFile());
      this.socketDir = r.socketDir() == null ? null : Path.of(r.socketDir());
      this.driver = r.driver();
      this.agentSocket = r.agentSocket() == null ? null : Path.of(r.agentSocket());
      this.podDir = podDir;
      this.consoleLog = consoleLog;
      this.exit = proc == null ? CompletableFuture.completedFuture(-1)
          : ProcessHandle.of(proc.pid()).map(h -> h.onExit().thenApply(x -> -1))
              .orElse(CompletableFuture.completedFuture(-1));
    }

    @Override
    public Path agentSocket() {
      return agentSocket;
    }

    @Override
    public boolean isAlive() {
      return proc != null && proc.isAlive();
    }

    /** Completes when the VMM exits; its exit code is its parent's to read: reported as -1. */
    @Override
    public CompletableFuture<Integer> onExit() {
      return exit;
    }

    @Override
    public String consoleTail() {
      return FileTail.tails(40, consoleLog.toString(), consoleLog, "qemu.log", podDir.resolve("qemu.log"));
    }

    @Override
    public void stop(Duration grace) {
      PodStates.stop(proc, grace);
    }
  }
}
