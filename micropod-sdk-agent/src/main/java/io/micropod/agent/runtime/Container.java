package io.micropod.agent.runtime;

import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/**
 * One container: its directories, process, output and state. Mutable state is guarded by the
 * instance's monitor; {@link ContainerManager} drives the transitions.
 *
 * <pre>
 * CREATED -> STARTING -> RUNNING -> STOPPED
 *                    \-------------> STOPPED (the runtime failed to start it)
 * STOPPED -> RESTARTING -> CREATED -> STARTING ... (its restart policy said so)
 * any -> REMOVING (then gone)
 * </pre>
 */
final class Container {
  enum State {
    CREATED,
    STARTING,
    RUNNING,
    STOPPED,
    REMOVING,
    /** The main process exited and its restart policy restarts it after a back-off. */
    RESTARTING;

    String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  final String id;
  final ProcessConfig process;
  final Path dir;
  final Path upper;
  final Path work;
  final Path rootfs;
  final Path bundle;
  final OutputLog log;
  /** Completes when runc has exited and its output was read (or 2 s passed). */
  final CompletableFuture<ExitStatus> exit = new CompletableFuture<>();

  /** parent cgroup's oom_kill count when the container started. */
  volatile long oomBaseline;
  volatile boolean oomKilled;
  /** How the container's own process gets its stdio; set by create. */
  volatile MainStdio stdio = MainStdio.NONE;
  /** The stdin of the container's own process once it started with {@link #stdio} open or a terminal. */
  volatile ProcessInput input;

  /** What the agent does on its own: restarts and health probes (never null). */
  volatile Supervision supervision = Supervision.NONE;
  /** Guarded by this: restarts done, the last exit, whether a stop was asked for. */
  int restarts;
  ExitStatus lastExit;
  boolean stopRequested;
  /** Guarded by this: the next back-off, ms, and when the current run started (nanoTime). */
  long backoffMillis = Supervision.FIRST_BACKOFF_MILLIS;
  long runStartedNanos;
  /** Guarded by this: bumped at every start, so that a probe of an earlier run stops. */
  int run;
  /** Guarded by this: health of the current run (proto HealthStatus numbers). */
  Supervision.Health health = Supervision.Health.NONE;
  int failingStreak;
  String lastHealthOutput = "";
  /** Whether a restart was pending when removal began (then no exit is coming). */
  volatile boolean restartPendingAtRemoval;

  private State state = State.CREATED;
  private Process runc;
  private CompletableFuture<Void> removal;

  Container(String id, ProcessConfig process, Path containersDir, int logBytes) {
    this.id = id;
    this.process = process;
    this.dir = containersDir.resolve(id);
    this.upper = dir.resolve("upper");
    this.work = dir.resolve("work");
    this.rootfs = dir.resolve("rootfs");
    this.bundle = dir.resolve("bundle");
    this.log = new OutputLog(logBytes);
  }

  Path configFile() {
    return bundle.resolve("config.json");
  }

  Path runtimeLog() {
    return bundle.resolve("runc.log");
  }

  /** Where micropod-tty receives the pty master of a process with a terminal. */
  Path consoleSocket() {
    return bundle.resolve("console.sock");
  }

  Path pidFile() {
    return bundle.resolve("pid");
  }

  synchronized State state() {
    return state;
  }

  synchronized void state(State next) {
    if (state != State.REMOVING) {
      state = next;
    }
  }

  /** Moves CREATED to STARTING, or throws FAILED_PRECONDITION. */
  synchronized void beginStart() {
    if (state != State.CREATED) {
      throw ContainerException.precondition(
          "container " + id + " is " + state.label() + ", not created");
    }
    state = State.STARTING;
  }

  /** Moves RESTARTING to STARTING unless a stop came meanwhile; false when it did not. */
  synchronized boolean beginRestart() {
    if (state != State.RESTARTING || stopRequested) {
      return false;
    }
    state = State.STARTING;
    return true;
  }

  synchronized void runtimeProcess(Process p) {
    this.runc = p;
  }

  synchronized Process runtimeProcess() {
    return runc;
  }

  /**
   * Starts removal: returns a new future the caller must complete, or null when a removal is
   * already under way (then {@link #removal()} is the one to wait for).
   */
  synchronized CompletableFuture<Void> beginRemoval() {
    if (removal != null) {
      return null;
    }
    state = State.REMOVING;
    removal = new CompletableFuture<>();
    return removal;
  }

  synchronized CompletableFuture<Void> removal() {
    return removal;
  }

  /** After a failed removal: allow another try. */
  synchronized void removalFailed(State previous) {
    removal = null;
    state = previous;
  }
}
