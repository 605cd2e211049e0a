package io.micropod.agent.runtime;

import io.micropod.agent.base.Log;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The containers of this guest and what can be done to them, with a real OCI runtime.
 *
 * <p>Methods that return a {@link CompletableFuture} never block; the others may block for a
 * bounded time (they run {@code mount}, {@code runc kill}, ...) and must not be called on a
 * Netty event loop. Errors the host should see are {@link ContainerException}s. Thread-safe.
 */
public final class ContainerManager {
  /** How often StartContainer looks for runc's pid file. */
  static final long PID_POLL_MILLIS = 10;
  /** How long a start may take before StartContainer gives up waiting (not the container). */
  static final Duration START_TIMEOUT = Duration.ofSeconds(120);
  /** After the process exited, how long to wait for the rest of its output. */
  static final Duration OUTPUT_GRACE = Duration.ofSeconds(2);
  /** How long RemoveContainer waits for a killed container to exit. */
  static final Duration KILL_WAIT = Duration.ofSeconds(10);

  private final Path containersDir;
  private final Runc runc;
  private final Mounter mounter;
  private final ScheduledExecutorService timer;
  private final Executor work;
  private final int logBytes;
  private final long nofileLimit;
  private final ConcurrentHashMap<String, Container> containers = new ConcurrentHashMap<>();
  private final AtomicInteger execSeq = new AtomicInteger();
  /** Exec helpers by "<runtime id>/<uid>:<gid>" (see {@link ExecHelper}). */
  private final ConcurrentHashMap<String, HelperSlot> helpers = new ConcurrentHashMap<>();
  private final Cgroups cgroups = new Cgroups(Path.of("/sys/fs/cgroup"), Path.of("/proc"));
  private final Freezer freezer = new Freezer(cgroups.parent(), FREEZE_TIMEOUT);
  private final IdentityHelper identity;
  /** A host name {@link #restored} accepts (RFC 1123 label). */
  private static final java.util.regex.Pattern HOSTNAME =
      java.util.regex.Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?");
  /** How long a copy waits for the container's processes to freeze. */
  static final java.time.Duration FREEZE_TIMEOUT = java.time.Duration.ofSeconds(10);

  /**
   * @param containersDir where per-container directories are made
   * @param timer one thread for polls and timeouts (never blocked)
   * @param work runs continuations that may block briefly
   * @param logBytes bound of each container's {@link OutputLog}
   * @param nofileLimit RLIMIT_NOFILE of container processes
   */
  public ContainerManager(
      Path containersDir,
      Runc runc,
      Mounter mounter,
      ScheduledExecutorService timer,
      Executor work,
      int logBytes,
      long nofileLimit) {
    this.containersDir = containersDir;
    this.runc = runc;
    this.mounter = mounter;
    this.timer = timer;
    this.work = work;
    this.logBytes = logBytes;
    this.nofileLimit = nofileLimit;
    this.identity = new IdentityHelper(timer);
  }

  private Container get(String id) {
    ContainerId.validate(id);
    Container c = containers.get(id);
    if (c == null) {
      throw ContainerException.notFound(id);
    }
    return c;
  }

  /**
   * Makes container {@code from} known as {@code to} (a pod restored from a snapshot has a new id;
   * the OCI runtime keeps the container's first id, which only this agent sees).
   *
   * @throws ContainerException when {@code from} does not exist or {@code to} does
   */
  public void rename(String from, String to) {
    ContainerId.validate(to);
    Container c = get(from);
    if (from.equals(to)) {
      return;
    }
    if (containers.putIfAbsent(to, c) != null) {
      throw alreadyExists(to);
    }
    containers.remove(from, c);
  }

  /**
   * Before a snapshot is taken: starts what a restored guest needs running, so that its {@link
   * #restored} spawns no process ({@link IdentityHelper}). Idempotent; a failure only makes
   * restores slower.
   */
  public void prepareSnapshot() {
    identity.prepare();
    HOSTNAME.matcher("warm-up").matches();
  }

  /**
   * After a restore from a snapshot: reseeds the kernel's random generator with the host's
   * {@code entropy}, sets the clock to {@code unixTimeNanos}, gives the container its new
   * {@code hostname} (empty: keep) in its UTS namespace, then {@link #rename renames} it. The
   * first three through the guest image's {@code micropod-tty} ({@link IdentityHelper}). An empty
   * {@code from} is a guest snapshotted before any container existed (a warm start's template): only
   * the entropy and the clock are applied; the container the host creates next gets its own host name.
   *
   * @throws ContainerException when a step fails, with the helper's message
   */
  public void restored(String from, String to, String hostname, byte[] entropy, long unixTimeNanos) {
    Container c = from.isEmpty() ? null : get(from);
    if (entropy.length < 32 || entropy.length > 512) {
      throw ContainerException.invalid("entropy must be 32 to 512 bytes: " + entropy.length);
    }
    if (c == null) {
      identity.apply(unixTimeNanos, 0, "", entropy);
      return;
    }
    int pid = 0;
    if (!hostname.isEmpty()) {
      if (!HOSTNAME.matcher(hostname).matches()) {
        throw ContainerException.invalid("not a host name: " + hostname);
      }
      Integer p = readPid(c);
      if (p == null) {
        throw ContainerException.precondition("container " + from + " has no running process");
      }
      pid = p;
    }
    identity.apply(unixTimeNanos, pid, hostname, entropy);
    rename(from, to);
  }

  /** Ids of the containers that exist now. */
  public List<String> ids() {
    return new ArrayList<>(containers.keySet());
  }

  // ---- create ---------------------------------------------------------------------------------

  /**
   * Makes {@code <containersDir>/<id>/{upper,work,rootfs,bundle}}, mounts the overlay of
   * {@code imageRootfs} on {@code rootfs} and writes {@code bundle/config.json}. Blocks.
   *
   * @return the bundle directory
   */
  public Path create(String id, String imageRootfs, ProcessRequest request, String hostname) {
    return create(id, imageRootfs, request, hostname, OciSpec.Resources.NONE, NetworkFiles.NONE);
  }

  /**
   * Like {@link #create(String, String, ProcessRequest, String)}, with cgroup limits, a managed
   * {@code /etc/hosts} and {@code /etc/resolv.conf} (see {@link NetworkFiles}).
   */
  public Path create(String id, String imageRootfs, ProcessRequest request, String hostname,
      OciSpec.Resources resources, NetworkFiles network) {
    return create(id, imageRootfs, request, hostname, resources, network, HostMounts.NONE);
  }

  /**
   * Like {@link #create(String, String, ProcessRequest, String, OciSpec.Resources, NetworkFiles)},
   * with host directory mounts (virtio-fs devices mounted under {@code <containersDir>/../mounts}).
   */
  public Path create(String id, String imageRootfs, ProcessRequest request, String hostname,
      OciSpec.Resources resources, NetworkFiles network, HostMounts hostMounts) {
    return create(id, imageRootfs, request, hostname, resources, network, hostMounts, true);
  }

  /**
   * Like {@link #create(String, String, ProcessRequest, String, OciSpec.Resources, NetworkFiles,
   * HostMounts)}; {@code seccomp} {@code false} starts the container (and its execs) without the
   * default seccomp profile.
   */
  public Path create(String id, String imageRootfs, ProcessRequest request, String hostname,
      OciSpec.Resources resources, NetworkFiles network, HostMounts hostMounts, boolean seccomp) {
    return create(id, imageRootfs, request, hostname, resources, network, hostMounts, seccomp,
        MainStdio.NONE);
  }

  /**
   * Like {@link #create(String, String, ProcessRequest, String, OciSpec.Resources, NetworkFiles,
   * HostMounts, boolean)}; the container's own process gets {@code stdio} (a terminal, an open
   * stdin for {@link #attach}).
   */
  public Path create(String id, String imageRootfs, ProcessRequest request, String hostname,
      OciSpec.Resources resources, NetworkFiles network, HostMounts hostMounts, boolean seccomp,
      MainStdio stdio) {
    ContainerId.validate(id);
    if (resources.memoryLimitBytes() < 0 || resources.cpuMillis() < 0) {
      throw ContainerException.invalid("negative limit: " + resources);
    }
    if (resources.memoryLimitBytes() > 0 && resources.memoryLimitBytes() < 4L << 20) {
      throw ContainerException.invalid(
          "memory limit below 4 MiB: " + resources.memoryLimitBytes() + " bytes");
    }
    ProcessConfig process = request.validate();
    String host = hostname == null || hostname.isEmpty() ? id : hostname;
    if (host.length() > 64) {
      throw ContainerException.invalid("hostname longer than 64 characters: " + host);
    }
    Path lower = checkImageRootfs(imageRootfs);
    Container c = new Container(id, process, containersDir, logBytes);
    c.stdio = stdio;
    if (containers.putIfAbsent(id, c) != null) {
      throw alreadyExists(id);
    }
    boolean madeDir = false;
    boolean mounted = false;
    try {
      Files.createDirectories(containersDir);
      Files.createDirectory(c.dir, PosixFilePermissions.asFileAttribute(
          PosixFilePermissions.fromString("rwx------")));
      madeDir = true;
      Files.createDirectory(c.upper);
      Files.createDirectory(c.work);
      Files.createDirectory(c.rootfs);
      Files.createDirectory(c.bundle);
      mounter.mountOverlay(lower, c.upper, c.work, c.rootfs);
      mounted = true;
      com.fasterxml.jackson.databind.node.ObjectNode config =
          OciSpec.config(id, process, c.rootfs, host, nofileLimit, resources, seccomp);
      if (stdio.tty()) {
        OciSpec.terminal((com.fasterxml.jackson.databind.node.ObjectNode) config.get("process"),
            stdio.rows(), stdio.columns());
      }
      Files.write(c.configFile(), OciSpec.toBytes(hostMounts.apply(
          network.apply(config, c.dir),
          containersDir.resolveSibling("mounts"), mounter)));
      Log.debug("container " + id + " created, bundle " + c.bundle);
      return c.bundle;
    } catch (FileAlreadyExistsException e) {
      containers.remove(id, c);
      throw madeDir
          ? ContainerException.internal("cannot create " + e.getFile(), e)
          : alreadyExists(id);
    } catch (IOException | RuntimeException e) {
      containers.remove(id, c);
      undoCreate(c, madeDir, mounted);
      if (e instanceof ContainerException) {
        throw (ContainerException) e;
      }
      throw ContainerException.internal(
          "cannot create container " + id + ": " + e.getMessage(), e);
    }
  }

  private void undoCreate(Container c, boolean madeDir, boolean mounted) {
    try {
      if (mounted) {
        mounter.unmount(c.rootfs);
      }
      if (madeDir) {
        FileTree.delete(c.dir);
      }
    } catch (IOException e) {
      Log.warn("cleanup of container " + c.id + " after a failed create", e);
    }
  }

  private static ContainerException alreadyExists(String id) {
    return new ContainerException(
        ContainerException.Reason.ALREADY_EXISTS, "container " + id + " already exists");
  }

  private static Path checkImageRootfs(String imageRootfs) {
    if (imageRootfs == null || !imageRootfs.startsWith("/")) {
      throw ContainerException.invalid("image_rootfs must be an absolute path: " + imageRootfs);
    }
    if (imageRootfs.indexOf(',') >= 0 || imageRootfs.indexOf(':') >= 0) {
      throw ContainerException.invalid(
          "image_rootfs must not contain ',' or ':' (overlay options): " + imageRootfs);
    }
    Path lower = Path.of(imageRootfs);
    if (!Files.isDirectory(lower)) {
      throw ContainerException.precondition("image_rootfs is not a directory: " + imageRootfs);
    }
    return lower;
  }

  /**
   * Replaces the content of the container's managed {@code /etc/hosts} in place. Blocks briefly.
   * FAILED_PRECONDITION when it was created without one.
   */
  public void updateHosts(String id, String hosts) {
    Container c = get(id);
    if (hosts == null || hosts.isEmpty() || hosts.indexOf('\0') >= 0) {
      throw ContainerException.invalid("hosts must be non-empty text without NUL");
    }
    try {
      if (!NetworkFiles.rewriteHosts(c.dir, hosts)) {
        throw ContainerException.precondition(
            "container " + id + " was created without a managed /etc/hosts");
      }
    } catch (IOException e) {
      throw ContainerException.internal("cannot rewrite the hosts file of " + id + ": " + e.getMessage(), e);
    }
    Log.debug("container " + id + ": /etc/hosts rewritten");
  }

  // ---- start ----------------------------------------------------------------------------------

  /**
   * Runs the container with {@code runc run} in the foreground; its stdout and stderr feed the
   * container's {@link OutputLog} from the first byte. The future completes with the pid once
   * runc has written its pid file, with 0 when runc exited first without an error, and fails
   * with FAILED_PRECONDITION carrying runc's message when runc reported an error (the start
   * failed; runc's state is then deleted and the container is STOPPED, still to be removed).
   */
  public CompletableFuture<Integer> start(String id) {
    Container c = get(id);
    c.beginStart();
    return launch(c);
  }

  /** Runs the container, which is STARTING. */
  private CompletableFuture<Integer> launch(Container c) {
    // the exec helpers of an earlier run died with its pid namespace: a new run starts afresh
    closeHelpers(c.id);
    String id = c.id;
    synchronized (c) {
      c.run++;
      c.runStartedNanos = System.nanoTime();
      c.failingStreak = 0;
      c.health = c.supervision.health() == null ? Supervision.Health.NONE : Supervision.Health.STARTING;
    }
    c.oomBaseline = cgroups.parentOomKills();
    MainStdio stdio = c.stdio;
    // with a terminal, runc runs detached and micropod-tty relays the pty (see TtyExec): it
    // exits with the process's status, as a foreground runc does
    ProcessBuilder pb =
        new ProcessBuilder(stdio.tty()
            ? TtyExec.command(c.consoleSocket(), c.pidFile(), stdio.rows(), stdio.columns(),
                runc.ttyRunCommand(id, c.bundle, c.runtimeLog(), c.consoleSocket(), c.pidFile()))
            : runc.runCommand(id, c.bundle, c.runtimeLog(), c.pidFile()));
    if (!stdio.tty() && !stdio.openStdin()) {
      pb.redirectInput(ProcessBuilder.Redirect.from(Paths.DEV_NULL));
    }
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      c.state(Container.State.CREATED);
      throw ContainerException.precondition(
          "cannot run " + (stdio.tty() ? TtyExec.helper() + " (the guest image lacks its TTY helper?)"
              : "the OCI runtime " + runc.binary()) + ": " + e.getMessage());
    }
    if (stdio.tty() || stdio.openStdin()) {
      c.input = new ProcessInput(p.getOutputStream(), stdio.tty(), "container " + id + "'s process");
      if (!stdio.openStdin()) {
        c.input.close(); // like /dev/null: the first read sees EOF
      }
    }
    c.runtimeProcess(p);
    Log.debug("container " + id + ": runtime started");
    OutputSink sink = c.log::append;
    CompletableFuture<Void> output =
        CompletableFuture.allOf(
            StreamPump.start(
                p.getInputStream(), OutputLog.Stream.STDOUT, sink, "micropod-agent-" + id + "-out"),
            StreamPump.start(
                p.getErrorStream(), OutputLog.Stream.STDERR, sink, "micropod-agent-" + id + "-err"));
    CompletableFuture<Integer> started = new CompletableFuture<>();
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    p.onExit().thenRunAsync(() -> runtimeExited(c, p, output, started), work);
    timer.execute(() -> pollStarted(c, p, started, deadline));
    return started;
  }

  private void pollStarted(
      Container c, Process p, CompletableFuture<Integer> started, long deadline) {
    if (started.isDone()) {
      return;
    }
    Integer pid = readPid(c);
    if (pid != null) {
      synchronized (c) {
        if (c.state() == Container.State.STARTING) {
          c.state(Container.State.RUNNING);
        }
      }
      Log.debug("container " + c.id + ": running, pid " + pid);
      started.complete(pid);
      scheduleProbe(c);
      return;
    }
    if (!p.isAlive()) {
      return; // runtimeExited decides
    }
    if (System.nanoTime() - deadline > 0) {
      started.completeExceptionally(
          new ContainerException(
              ContainerException.Reason.DEADLINE_EXCEEDED,
              "the OCI runtime did not start container " + c.id + " within "
                  + START_TIMEOUT.toSeconds() + " s"));
      return;
    }
    timer.schedule(() -> pollStarted(c, p, started, deadline), PID_POLL_MILLIS,
        TimeUnit.MILLISECONDS);
  }

  private void runtimeExited(
      Container c, Process p, CompletableFuture<Void> output, CompletableFuture<Integer> started) {
    int status = p.exitValue();
    boolean startFailed = false;
    synchronized (c) {
      if (!started.isDone()) {
        Integer pid = readPid(c);
        String error = RuncLog.lastError(c.runtimeLog());
        if (error != null) {
          startFailed = true;
          c.state(Container.State.STOPPED);
          started.completeExceptionally(ContainerException.precondition(error));
        } else {
          c.state(Container.State.STOPPED);
          started.complete(pid == null ? 0 : pid);
        }
      } else {
        c.state(Container.State.STOPPED);
      }
    }
    Log.debug("container " + c.id + ": runtime exited with " + status);
    if (startFailed || c.stdio.tty()) {
      // a detached runc (terminal) leaves its state behind, as a foreground one does not
      deleteQuietly(c.id);
    }
    c.oomKilled = cgroups.parentOomKills() > c.oomBaseline;
    if (c.oomKilled) {
      Log.info("container " + c.id + ": killed by the OOM killer (memory limit reached)");
    }
    if (!startFailed && restartLater(c, status)) {
      return;
    }
    // every container, supervised or not: the host lists a detached pod whose main process
    // exited as exited, with its code and time, from this line
    reportState(c);
    afterOutput(output, () -> {
      c.log.close();
      c.exit.complete(ExitStatus.fromStatus(status));
    });
  }

  /** Runs {@code then} once {@code output} is done, or after {@link #OUTPUT_GRACE}. */
  void afterOutput(CompletableFuture<Void> output, Runnable then) {
    CompletableFuture<Void> bounded = new CompletableFuture<>();
    output.whenComplete((v, e) -> bounded.complete(null));
    timer.schedule(() -> bounded.complete(null), OUTPUT_GRACE.toMillis(), TimeUnit.MILLISECONDS);
    bounded.thenRunAsync(then, work);
  }

  private static Integer readPid(Container c) {
    try {
      String text = new String(Files.readAllBytes(c.pidFile()), StandardCharsets.US_ASCII).trim();
      return text.isEmpty() ? null : Integer.valueOf(text);
    } catch (NoSuchFileException e) {
      return null;
    } catch (IOException | NumberFormatException e) {
      return null;
    }
  }

  private void deleteQuietly(String id) {
    try {
      Commands.Result r = runc.deleteForce(id);
      if (!r.ok()) {
        Log.debug("runc delete --force " + id + ": " + r.output());
      }
    } catch (IOException e) {
      Log.debug("runc delete --force " + id + ": " + e.getMessage());
    }
  }

  // ---- wait, signal, logs ---------------------------------------------------------------------

  /** Completes when the container's process has exited and its output was read. */
  public CompletableFuture<ExitStatus> await(String id) {
    return get(id).exit.copy();
  }

  /**
   * Whether the OOM killer killed a process of the container during its run; meaningful once
   * {@link #await} completed.
   */
  public boolean oomKilled(String id) {
    return get(id).oomKilled;
  }

  /** Cgroup figures of container {@code id} and the guest's memory and load. */
  public Cgroups.Stats stats(String id) {
    return cgroups.stats(get(id).id);
  }

  /** The container's root filesystem as the agent sees it (the overlay's mount point). */
  public Path rootfs(String id) {
    Container c = get(id);
    Container.State state = c.state();
    if (state == Container.State.REMOVING) {
      throw ContainerException.precondition("container " + id + " is being removed");
    }
    return c.rootfs;
  }

  /**
   * Freezes every process of the containers until the returned hold is closed: copyIn and
   * copyOut work on a container's files by path, and a running container could otherwise swap a
   * directory on that path for a symlink between the agent's check and its use ({@link Freezer}).
   *
   * @throws IOException when the processes cannot be frozen (nothing stays frozen then)
   */
  public Freezer.Hold freezeForCopy(String id) throws IOException {
    rootfs(id); // NOT_FOUND / being removed first
    return freezer.freeze();
  }

  /** The container's output log. */
  public OutputLog logs(String id) {
    return get(id).log;
  }

  /** {@code runc kill <id> <signal>}; FAILED_PRECONDITION when the container does not run. */
  public void signal(String id, int signal) {
    if (signal < 1 || signal > 64) {
      throw ContainerException.invalid("signal must be 1..64: " + signal);
    }
    Container c = get(id);
    if (STOP_SIGNALS.contains(signal)) {
      synchronized (c) {
        c.stopRequested = true; // as docker stop/kill: the restart policy no longer applies
      }
      awaitLaunched(c);
      if (cancelRestart(c)) {
        return;
      }
    }
    Container.State state = c.state();
    if (state != Container.State.RUNNING && state != Container.State.STARTING) {
      throw ContainerException.precondition("container " + id + " is " + state.label());
    }
    Commands.Result r;
    try {
      r = runc.kill(c.id, signal);
    } catch (IOException e) {
      throw ContainerException.internal("runc kill " + id + " failed: " + e.getMessage(), e);
    }
    if (!r.ok()) {
      if (c.state() != Container.State.RUNNING) {
        throw ContainerException.precondition("container " + id + " is " + c.state().label());
      }
      throw ContainerException.internal("runc kill " + id + " failed: " + r.output(), null);
    }
  }

  // ---- remove ---------------------------------------------------------------------------------

  /**
   * Kills the container if it runs (SIGKILL, waiting up to {@link #KILL_WAIT}), deletes runc's
   * state, unmounts the overlay and deletes the container's directory. Blocks. A second call
   * while a removal runs waits for that one.
   */
  public void remove(String id) {
    Container c = get(id);
    Container.State previous = c.state();
    c.restartPendingAtRemoval = previous == Container.State.RESTARTING;
    CompletableFuture<Void> mine = c.beginRemoval();
    if (mine == null) {
      join(c.removal());
      return;
    }
    try {
      doRemove(c);
      containers.remove(id, c);
      mine.complete(null);
      Log.debug("container " + id + " removed");
    } catch (RuntimeException e) {
      c.removalFailed(previous);
      mine.completeExceptionally(e);
      throw e;
    }
  }

  private void doRemove(Container c) {
    closeHelpers(c.id);
    Process p = c.runtimeProcess();
    if (p != null && p.isAlive()) {
      try {
        runc.kill(c.id, 9);
      } catch (IOException e) {
        Log.debug("runc kill " + c.id + ": " + e.getMessage());
      }
      if (!waitFor(p, KILL_WAIT)) {
        deleteQuietly(c.id);
        p.destroyForcibly();
        waitFor(p, KILL_WAIT);
      }
    }
    if (p != null) {
      deleteQuietly(c.id);
      try {
        // a restart pending when the removal began never completes the exit: no wait then
        c.exit.get(c.restartPendingAtRemoval ? 0 : OUTPUT_GRACE.toMillis() + 1000,
            TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (ExecutionException | TimeoutException e) {
        // the exit is recorded by runtimeExited; nothing more to do here
      }
    }
    try {
      mounter.unmount(c.rootfs);
    } catch (IOException e) {
      throw ContainerException.internal(
          "cannot unmount the overlay of container " + c.id + ": " + e.getMessage(), e);
    }
    try {
      FileTree.delete(c.dir);
    } catch (IOException e) {
      throw ContainerException.internal(
          "cannot delete " + c.dir + ": " + e.getMessage(), e);
    }
    c.log.close();
    c.exit.completeExceptionally(
        ContainerException.precondition(
            "container " + c.id + (p == null ? " was removed before it ran" : " was removed")));
  }

  private static boolean waitFor(Process p, Duration timeout) {
    try {
      return p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private static void join(CompletableFuture<Void> f) {
    try {
      f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw ContainerException.internal("interrupted", e);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof ContainerException) {
        throw (ContainerException) e.getCause();
      }
      throw ContainerException.internal(String.valueOf(e.getCause()), e.getCause());
    }
  }

  /** Removes every container, in parallel; failures are logged. Blocks. */
  public void removeAll() {
    List<CompletableFuture<Void>> all = new ArrayList<>();
    for (String id : ids()) {
      all.add(CompletableFuture.runAsync(() -> remove(id), work)
          .exceptionally(e -> {
            Log.warn("removing container " + id, e);
            return null;
          }));
    }
    CompletableFuture.allOf(all.toArray(new CompletableFuture<?>[0])).join();
  }

  // ---- supervision: restarts and health probes -------------------------------------------------

  /** Signals after which the restart policy no longer applies (Docker's stop and kill). */
  static final java.util.Set<Integer> STOP_SIGNALS = java.util.Set.of(2, 3, 9, 15);

  /**
   * Sets what the agent does on its own for container {@code id}: restarts of its main process
   * and its health probe. Call before {@link #start}.
   */
  public void supervise(String id, Supervision supervision) {
    get(id).supervision = supervision;
  }

  /** What {@code GetContainerState} answers. */
  public record Snapshot(String state, int restarts, ExitStatus lastExit,
      Supervision.Health health, int failingStreak, String lastHealthOutput) {}

  /** The container's supervision state now. */
  public Snapshot snapshot(String id) {
    Container c = get(id);
    synchronized (c) {
      return new Snapshot(c.state().label(), c.restarts, c.lastExit, c.health, c.failingStreak,
          c.lastHealthOutput);
    }
  }

  /**
   * After the main process exited with {@code status}: when its policy says so, schedules its
   * restart after the back-off and returns true (its log stays open and its exit pending).
   */
  private boolean restartLater(Container c, int status) {
    long delay;
    synchronized (c) {
      c.lastExit = ExitStatus.fromStatus(status);
      if (c.state() == Container.State.REMOVING || c.stopRequested
          || !c.supervision.restarts(status, c.restarts)) {
        return false;
      }
      long ran = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - c.runStartedNanos);
      long[] next = Supervision.backoff(c.backoffMillis, ran);
      delay = next[0];
      c.backoffMillis = next[1];
      c.state(Container.State.RESTARTING);
    }
    Log.info("container " + c.id + ": exited with " + status + ", restarting in " + delay + " ms ("
        + c.supervision.restart().name().toLowerCase(java.util.Locale.ROOT) + ")");
    reportState(c);
    timer.schedule(() -> work.execute(() -> restart(c)), delay, TimeUnit.MILLISECONDS);
    return true;
  }

  private void restart(Container c) {
    synchronized (c) {
      if (c.state() != Container.State.RESTARTING || c.stopRequested) {
        return; // stopped or removed meanwhile
      }
      c.restarts++;
    }
    deleteQuietly(c.id); // runc's state of the last run, if it left any
    deleteFiles(c.pidFile(), c.runtimeLog()); // else the new run's start would read the old pid
    try {
      if (!c.beginRestart()) {
        return;
      }
      launch(c).whenComplete((pid, e) -> {
        if (e != null) {
          Log.warn("container " + c.id + ": restart " + c.restarts + " failed", e);
        }
      });
      Log.info("container " + c.id + ": restarted (" + c.restarts + ")");
      reportState(c);
    } catch (RuntimeException e) {
      Log.warn("container " + c.id + ": restart failed", e);
      c.state(Container.State.STOPPED);
      finishExit(c);
    }
  }

  /**
   * While a restart launches its process (STARTING), waits up to {@link #RESTART_LAUNCH_WAIT} for
   * it to run (or fail), so that a stop reaches the new process instead of failing between runs.
   */
  private static void awaitLaunched(Container c) {
    long deadline = System.nanoTime() + RESTART_LAUNCH_WAIT.toNanos();
    while (c.state() == Container.State.STARTING && System.nanoTime() - deadline < 0) {
      java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(PID_POLL_MILLIS));
    }
  }

  /** How long a stop signal waits for a restarting container's process to be launched. */
  static final Duration RESTART_LAUNCH_WAIT = Duration.ofSeconds(10);

  /** A stop while a restart is pending: the container stays exited. True when one was pending. */
  private boolean cancelRestart(Container c) {
    synchronized (c) {
      if (c.state() != Container.State.RESTARTING) {
        return false;
      }
      c.state(Container.State.STOPPED);
    }
    Log.info("container " + c.id + ": stopped while waiting to restart");
    finishExit(c);
    return true;
  }

  /**
   * One console line with the container's supervision state, which the host reads from the
   * pod's console log (also when no JVM is connected: a detached pod): {@code micropod-agent INFO
   * state <id> state=<s> health=<h> streak=<n> restarts=<n> exit=<code or -> at=<epoch ms>}, where
   * {@code at} is the guest clock's time of the report (the host shows it as the exit's time when
   * the state is {@code stopped}). The host's parser
   * ({@code io.micropod.internal.state.ConsoleStates}) reads this exact format.
   */
  static void reportState(Container c) {
    String line;
    synchronized (c) {
      line = "state " + c.id + " state=" + c.state().label()
          + " health=" + c.health.name().toLowerCase(java.util.Locale.ROOT)
          + " streak=" + c.failingStreak + " restarts=" + c.restarts
          + " exit=" + (c.lastExit == null ? "-" : Integer.toString(c.lastExit.exitCode()))
          + " at=" + System.currentTimeMillis();
    }
    Log.info(line);
  }

  private static void finishExit(Container c) {
    ExitStatus last;
    synchronized (c) {
      last = c.lastExit;
    }
    reportState(c);
    c.log.close();
    c.exit.complete(last == null ? new ExitStatus(0, 0) : last);
  }

  private void scheduleProbe(Container c) {
    Supervision.Probe probe = c.supervision.health();
    if (probe == null) {
      return;
    }
    int run;
    synchronized (c) {
      run = c.run;
    }
    timer.schedule(() -> work.execute(() -> probe(c, probe, run)), probe.intervalMillis(),
        TimeUnit.MILLISECONDS);
  }

  private boolean sameRun(Container c, int run) {
    synchronized (c) {
      return c.run == run && c.state() == Container.State.RUNNING;
    }
  }

  /** Runs one probe of run {@code run}, records its result and schedules the next. */
  private void probe(Container c, Supervision.Probe probe, int run) {
    if (!sameRun(c, run)) {
      return;
    }
    StringBuilder output = new StringBuilder();
    OutputSink sink = (stream, data, offset, length) -> {
      synchronized (output) {
        output.append(new String(data, offset, length, StandardCharsets.UTF_8));
        if (output.length() > Supervision.HEALTH_OUTPUT_CHARS) {
          output.delete(0, output.length() - Supervision.HEALTH_OUTPUT_CHARS);
        }
      }
    };
    int code;
    try {
      // as Docker: the main process's user, environment and working directory
      ExecSession session = exec(c.id, new ProcessRequest(probe.args(), List.of(), "",
          c.process.uid() + ":" + c.process.gid(), false), false, sink);
      try {
        code = session.exit().get(probe.timeoutMillis(), TimeUnit.MILLISECONDS).exitCode();
      } catch (TimeoutException e) {
        session.kill();
        code = -1;
        synchronized (output) {
          output.append("health check timed out after " + probe.timeoutMillis() + " ms");
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    } catch (ExecutionException | RuntimeException e) {
      code = -1;
      synchronized (output) {
        output.append(String.valueOf(e instanceof ExecutionException ? e.getCause() : e.getMessage()));
      }
    }
    Supervision.Health before;
    Supervision.Health after;
    synchronized (c) {
      if (c.run != run || c.state() != Container.State.RUNNING) {
        return; // the run ended under the probe: its failure says nothing about health
      }
      before = c.health;
      synchronized (output) {
        c.lastHealthOutput = output.toString();
      }
      long ran = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - c.runStartedNanos);
      if (code == 0) {
        c.failingStreak = 0;
        c.health = Supervision.Health.HEALTHY;
      } else if (ran >= probe.startPeriodMillis() || c.health != Supervision.Health.STARTING) {
        c.failingStreak++;
        if (c.failingStreak >= probe.retries()) {
          c.health = Supervision.Health.UNHEALTHY;
        }
      }
      after = c.health;
    }
    if (before != after) {
      Log.info("container " + c.id + ": health " + after.name().toLowerCase(java.util.Locale.ROOT)
          + " (probe exit " + code + ")");
      reportState(c);
    }
    if (sameRun(c, run)) {
      timer.schedule(() -> work.execute(() -> probe(c, probe, run)), probe.intervalMillis(),
          TimeUnit.MILLISECONDS);
    }
  }

  // ---- exec -----------------------------------------------------------------------------------

  /**
   * Starts {@code runc exec} of {@code request} in running container {@code id}; its output goes
   * to {@code sink}. NOT_FOUND for an unknown container, FAILED_PRECONDITION when it does not
   * run.
   */
  public ExecSession exec(String id, ProcessRequest request, boolean attachStdin, OutputSink sink) {
    return exec(id, request, attachStdin, 0, 0, sink);
  }

  /**
   * Like {@link #exec(String, ProcessRequest, boolean, OutputSink)}; with {@code
   * request.terminal()} the process runs on a pseudo-terminal of {@code rows} x {@code columns}
   * (0: 24 x 80) under {@link TtyExec}'s helper, and its output is all STDOUT.
   */
  public ExecSession exec(
      String id, ProcessRequest request, boolean attachStdin, int rows, int columns, OutputSink sink) {
    Container c = get(id);
    ProcessConfig process = request.validateForExec(c.process);
    boolean tty = request.terminal();
    if (tty) {
      rows = rows == 0 ? TtyExec.DEFAULT_ROWS : rows;
      columns = columns == 0 ? TtyExec.DEFAULT_COLUMNS : columns;
      TtyExec.checkSize(rows, columns);
    }
    if (c.state() != Container.State.RUNNING) {
      throw ContainerException.precondition(
          "container " + id + " is " + c.state().label() + ", not running");
    }
    int seq = execSeq.incrementAndGet();
    if (!tty) {
      long t0 = System.nanoTime();
      ExecHelper.HelperProcess hp = execThroughHelper(c, process, attachStdin);
      if (hp != null) {
        ExecSession session = ExecSession.start(hp, "micropod-agent-" + id + "-exec" + seq, sink,
            this, hp::failure);
        if (Log.isDebug()) {
          session.exit().whenComplete((x, e) -> Log.debug("container " + id + ": exec " + seq
              + " through the helper done " + (System.nanoTime() - t0) / 1000 + " us after the request"));
        }
        return session;
      }
    }
    Path json = c.bundle.resolve("exec-" + seq + ".json");
    Path log = c.bundle.resolve("exec-" + seq + ".log");
    Path socket = c.bundle.resolve("exec-" + seq + ".sock");
    Path pidFile = c.bundle.resolve("exec-" + seq + ".pid");
    try {
      com.fasterxml.jackson.databind.node.ObjectNode spec = OciSpec.process(process, nofileLimit);
      if (tty) {
        OciSpec.terminal(spec, rows, columns);
      }
      Files.write(json, OciSpec.toBytes(spec));
    } catch (IOException e) {
      throw ContainerException.internal("cannot write " + json + ": " + e.getMessage(), e);
    }
    ProcessBuilder pb =
        new ProcessBuilder(
            tty
                ? TtyExec.command(socket, pidFile, rows, columns,
                    runc.ttyExecCommand(c.id, json, log, socket, pidFile))
                : runc.execCommand(c.id, json, log));
    if (!attachStdin && !tty) {
      pb.redirectInput(ProcessBuilder.Redirect.from(Paths.DEV_NULL));
    }
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      deleteFiles(json, log);
      throw ContainerException.precondition(
          "cannot run " + (tty ? TtyExec.helper() + " (the guest image lacks its TTY helper?)"
              : "the OCI runtime " + runc.binary()) + ": " + e.getMessage());
    }
    ExecSession session = ExecSession.start(
        p, "micropod-agent-" + id + "-exec" + seq, sink, this,
        () -> {
          String error = RuncLog.lastError(log);
          deleteFiles(json, log, socket, pidFile);
          return error;
        },
        tty);
    if (tty && !attachStdin) {
      session.closeStdin(); // like /dev/null: the first read sees EOF
    }
    return session;
  }

  // ---- exec helper ----------------------------------------------------------------------------

  /** After this many helper starts or deaths in one run of a container, its execs use the runtime. */
  static final int MAX_HELPER_FAILURES = 3;

  /** The helper of one container and user, and how often it failed. Guarded by itself. */
  private static final class HelperSlot {
    ExecHelper helper;
    int failures;
  }

  /**
   * Runs a non-TTY exec through the container's {@link ExecHelper} for the exec's user, starting
   * the helper on first use; null when the exec must start the OCI runtime instead (no helper
   * binary, the helper failed {@link #MAX_HELPER_FAILURES} times, or it could not take this
   * exec; nothing was started then).
   */
  private ExecHelper.HelperProcess execThroughHelper(
      Container c, ProcessConfig process, boolean attachStdin) {
    Path binary = ExecHelper.binary();
    if (binary == null) {
      return null;
    }
    String key = c.id + "/" + process.uid() + ":" + process.gid();
    HelperSlot slot = helpers.computeIfAbsent(key, k -> new HelperSlot());
    ExecHelper helper;
    synchronized (slot) {
      if (slot.helper != null && !slot.helper.alive()) {
        slot.failures++;
        slot.helper = null;
      }
      if (slot.helper == null) {
        if (slot.failures >= MAX_HELPER_FAILURES) {
          return null;
        }
        try {
          slot.helper = startHelper(c, binary, process.uid(), process.gid());
        } catch (ExecHelper.Unavailable e) {
          slot.failures++;
          Log.info("container " + c.id + ": exec helper unavailable, using the OCI runtime: "
              + e.getMessage());
          return null;
        }
      }
      helper = slot.helper;
    }
    try {
      return (ExecHelper.HelperProcess) helper.exec(process, attachStdin);
    } catch (ExecHelper.Unavailable e) {
      Log.info("container " + c.id + ": exec through the helper failed, using the OCI runtime: "
          + e.getMessage());
      return null;
    }
  }

  private ExecHelper startHelper(Container c, Path binary, int uid, int gid)
      throws ExecHelper.Unavailable {
    String name = "exec-helper-" + uid + "-" + gid;
    Path json = c.bundle.resolve(name + ".json");
    Path log = c.bundle.resolve(name + ".log");
    Path pidFile = c.bundle.resolve(name + ".pid");
    Path errors = c.bundle.resolve(name + ".err");
    // An exec's own process spec for this user: the helper is confined as any exec is, and
    // never changes its identity (so it can do nothing that user could not).
    ProcessConfig helper = new ProcessConfig(List.of("/proc/self/fd/4", "serve"),
        List.of(ProcessConfig.DEFAULT_PATH), "/", uid, gid);
    try {
      deleteFiles(pidFile);
      Files.write(json, OciSpec.toBytes(OciSpec.process(helper, nofileLimit)));
    } catch (IOException e) {
      throw new ExecHelper.Unavailable("cannot write " + json + ": " + e.getMessage());
    }
    List<String> argv = new ArrayList<>(List.of(binary.toString(), "broker", pidFile.toString(), "--"));
    argv.addAll(runc.helperExecCommand(c.id, json, log, pidFile));
    String what = "container " + c.id + "'s exec helper (uid " + uid + ")";
    try {
      return ExecHelper.start(argv, errors, what, ExecHelper.READY_TIMEOUT);
    } catch (ExecHelper.Unavailable e) {
      String error = RuncLog.lastError(log);
      throw error == null ? e : new ExecHelper.Unavailable(e.getMessage() + "; runtime: " + error);
    }
  }

  /** Stops the exec helpers of container {@code runtimeId} (their processes die with them). */
  private void closeHelpers(String runtimeId) {
    String prefix = runtimeId + "/";
    for (String key : List.copyOf(helpers.keySet())) {
      if (key.startsWith(prefix)) {
        HelperSlot slot = helpers.remove(key);
        if (slot != null) {
          synchronized (slot) {
            if (slot.helper != null) {
              slot.helper.close();
              slot.helper = null;
            }
          }
        }
      }
    }
  }

  /**
   * Attaches to container {@code id}'s own process: {@code sink} gets its output from the oldest
   * byte the log holds, then live, on a thread of its own (the sink may block: flow control);
   * the session's exit completes after the last byte was handed over. Its stdin reaches the
   * process when the container was created with {@link MainStdio#openStdin()} (else {@code
   * attachStdin} is INVALID_ARGUMENT), resizes when it has a terminal. Killing the session only stops following:
   * the process keeps running. NOT_FOUND for an unknown container.
   */
  public ExecSession attach(String id, boolean attachStdin, OutputSink sink) {
    Container c = get(id);
    MainStdio stdio = c.stdio;
    if (attachStdin && !stdio.openStdin()) {
      throw ContainerException.invalid("attach_stdin sent but container " + id
          + " was created without open_stdin: its process's stdin is /dev/null");
    }
    CompletableFuture<ExitStatus> exit = new CompletableFuture<>();
    ProcessInput input = c.input;
    java.io.OutputStream none = java.io.OutputStream.nullOutputStream();
    LogPump pump = new LogPump(c, sink, exit);
    ExecSession session = new ExecSession(
        input != null ? input : new ProcessInput(none, stdio.tty(), "container " + id + "'s process"),
        sink, pump::stop, exit);
    Thread t = new Thread(pump, "micropod-agent-" + id + "-attach" + execSeq.incrementAndGet());
    t.setDaemon(true);
    t.start();
    return session;
  }

  /** Hands a container's log to a sink, from the start until it is closed, then its exit. */
  private static final class LogPump implements Runnable {
    private static final int BATCH_BYTES = 64 * 1024;

    private final Container c;
    private final OutputSink sink;
    private final CompletableFuture<ExitStatus> exit;
    private volatile boolean stopped;

    LogPump(Container c, OutputSink sink, CompletableFuture<ExitStatus> exit) {
      this.c = c;
      this.sink = sink;
      this.exit = exit;
    }

    void stop() {
      stopped = true;
      synchronized (this) {
        notifyAll();
      }
    }

    @Override
    public void run() {
      Runnable wake = () -> {
        synchronized (this) {
          notifyAll();
        }
      };
      try (AutoCloseable subscription = c.log.subscribe(wake)) {
        long cursor = 0;
        while (!stopped) {
          OutputLog.Batch batch;
          synchronized (this) {
            batch = c.log.read(cursor, BATCH_BYTES, Long.MAX_VALUE);
            if (batch.chunks().isEmpty() && !batch.finished()) {
              wait(1000); // woken by an append or the close; the timeout is a safety net
              continue;
            }
          }
          for (OutputLog.Chunk chunk : batch.chunks()) {
            sink.write(chunk.stream(), chunk.data(), 0, chunk.data().length);
          }
          cursor = batch.next();
          if (batch.finished()) {
            c.exit.whenComplete((status, failure) -> {
              if (failure != null) {
                exit.completeExceptionally(failure);
              } else {
                exit.complete(status);
              }
            });
            return;
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (Exception e) {
        exit.completeExceptionally(e);
      }
    }
  }

  static void deleteFiles(Path... files) {
    for (Path f : files) {
      try {
        Files.deleteIfExists(f);
      } catch (IOException e) {
        Log.debug("cannot delete " + f + ": " + e.getMessage());
      }
    }
  }
}
