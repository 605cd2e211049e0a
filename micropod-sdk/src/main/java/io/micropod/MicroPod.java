package io.micropod;

import io.micropod.internal.RealMicroPod;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A running pod: one container in its own microVM. Start one with {@link #builder()} or
 * {@link #start(MicroPodSpec)}; close it when done, which stops the VM and removes everything
 * the pod created on the host.
 *
 * <pre>{@code
 * try (MicroPod pod = MicroPod.builder()
 *     .image("oci:/images/busybox")
 *     .command("sleep", "3600")
 *     .start()) {
 *   ExecResult r = pod.exec("cat", "/etc/passwd");
 *   System.out.println(r.stdout());
 * }
 * }</pre>
 *
 * <h2>Lifecycle</h2>
 * {@code start()} returns once the container's main process runs; if any step fails, it undoes
 * every step already done (in reverse order) and throws a {@link MicroPodException} subtype.
 * The pod lives until {@link #close()}, also after its main process exited: {@link #exec} needs
 * the main process to be running, {@link #logs()} and {@link #waitFor()} do not.
 *
 * <h2>Threads</h2>
 * Implementations are thread-safe: {@code exec}, {@code logs} and {@code waitFor} may run
 * concurrently from several threads. {@code close()} ends calls still in flight, which then
 * throw {@link IllegalStateException}.
 */
public interface MicroPod extends AutoCloseable {

  /**
   * A new {@link MicroPodSpec.Builder}; its {@code start()} starts a pod.
   *
   * @return a new builder on the default runtime, with every default
   */
  static MicroPodSpec.Builder builder() {
    return MicroPodSpec.builder();
  }

  /**
   * Starts a pod: resolves and unpacks the image, boots the VM, connects to its agent and starts
   * the container. Blocks until the container's main process runs.
   *
   * @param spec what to run; its {@link MicroPodSpec#runtime()} is used
   * @return the running pod; the caller closes it (try-with-resources)
   * @throws HostUnsupportedException when this host lacks QEMU, virtiofsd, the guest image or a
   *     permission
   * @throws ImageException when the image cannot be resolved or unpacked
   * @throws VmStartException when the VM or virtiofsd cannot start or dies while booting
   * @throws AgentTimeoutException when the guest agent does not answer within
   *     {@link MicroPodSpec#startupTimeout()}
   * @throws ContainerStartException when the container's command cannot be started
   * @throws MicroPodException when interrupted (the thread's interrupt flag is set again)
   */
  static MicroPod start(MicroPodSpec spec) {
    Objects.requireNonNull(spec, "spec");
    return RealMicroPod.start(spec, spec.runtime().services());
  }

  /**
   * A short random hex id (12 characters), unique among running pods.
   *
   * @return the pod's id, e.g. {@code 3f9a0c21b7d4}
   */
  String id();

  /** {@return the spec this pod was started from} */
  MicroPodSpec spec();

  /**
   * Runs {@code argv} in the running container, with the container's environment, working
   * directory and user, and waits for it to exit. A non-zero exit code is data, not an exception.
   *
   * @param argv the program and its arguments; not empty
   * @return the exit code and the process's output
   * @throws IllegalArgumentException when {@code argv} is empty
   * @throws IllegalStateException when the pod is closed
   * @throws AgentException when the agent cannot run it (e.g. the container is no longer running)
   */
  ExecResult exec(String... argv);

  /**
   * See {@link #exec(String...)}.
   *
   * @param argv the program and its arguments; not empty
   * @return the exit code and the process's output
   */
  ExecResult exec(List<String> argv);

  /**
   * Everything the container's main process wrote so far, stdout and stderr interleaved in the
   * order they arrived, decoded as UTF-8.
   *
   * @return the output so far; empty when there is none yet
   */
  String logs();

  /**
   * Blocks until the container's main process exits and returns its exit status (its code, or
   * 128 + signal number). Returns at once when it already exited.
   *
   * @return the exit status, 0..255
   * @throws MicroPodException when interrupted (the interrupt flag is set again)
   */
  int waitFor();

  /**
   * Like {@link #waitFor()}, but gives up after {@code timeout}.
   *
   * @param timeout how long to wait at most
   * @return the exit status, or empty when the process still runs at the deadline
   */
  OptionalInt waitFor(Duration timeout);

  /**
   * Where the time of {@code start()} went.
   *
   * @return the timings of this pod's start
   */
  BootTimings bootTimings();

  /**
   * Stops the pod and removes what it created on the host. Idempotent; never throws.
   *
   * <p>In order (the reverse of start): asks the agent to shut the guest down (2 s deadline) and
   * closes the agent channel; waits up to 5 s for the VMM to exit, then terminates it (and kills
   * it if needed); stops virtiofsd (the image tree's and the mounts'); deletes the pod's socket
   * directory, its log directory ({@code $MICROPOD_HOME/pods/<id>}) and its guest console log
   * ({@code <config dir>/logs/<id>.log}); both logs are kept when the environment variable
   * {@code MICROPOD_DEBUG=1} is set, and the console log also when the VM had exited by itself
   * (a failed start keeps it too). Every clean-up runs even when an
   * earlier one failed; failures are logged at WARN and reported to the listener as
   * {@code phaseFailed(id, STOP, e)} where {@code e} carries them as suppressed exceptions.
   * Clean-up failures are not thrown: a caller cannot act on them, and throwing from
   * {@code close()} would hide the exception of a try-with-resources body.
   */
  @Override
  void close();

  // ---- lifecycle API (issue 4) ---------------------------------------------------------------

  /**
   * Runs a process in the running container as {@code spec} says, feeding its stdin when given,
   * and waits for it to exit.
   *
   * @param spec the process, its environment, user, directory, stdin and terminal
   * @return the exit code and the process's output
   * @throws IllegalStateException when the pod is closed
   * @throws ImageException when {@link ExecSpec#user()} names a user the image does not have
   * @throws AgentException when the agent cannot run it (status {@code FAILED_PRECONDITION} when
   *     the container is no longer running)
   * @throws ExecTimeoutException when it still ran at {@link ExecSpec#timeout()}: it was killed
   *     (with its process group), and the exception holds its output until then
   */
  ExecResult exec(ExecSpec spec);

  /**
   * Starts a process like {@link #exec(ExecSpec)} but returns at once: write its stdin through
   * {@link ExecProcess#stdin()} as you go (the spec's {@code stdin} bytes, if any, are ignored),
   * close it for EOF, then {@link ExecProcess#await()}.
   *
   * @param spec the process to start; its {@link ExecSpec#stdin()} is ignored; its {@link
   *     ExecSpec#timeout()} kills it as for {@link #exec(ExecSpec)}, whether or not anyone awaits it
   * @return the running process
   * @throws IllegalStateException when the pod is closed
   */
  ExecProcess execStreaming(ExecSpec spec);

  /**
   * Attaches to the container's main process, as {@code docker attach} does: {@link
   * ExecProcess#stdout()} is its output from the first byte the agent still holds (the last
   * 16 MiB), then live until it exits; {@link ExecProcess#stdin()} reaches it when the spec has
   * {@link MicroPodSpec#stdinOpen()} (closing it sends EOF; without it writes fail); {@link
   * ExecProcess#resize} resizes its {@link MicroPodSpec#tty() terminal}; {@link
   * ExecProcess#await()} returns its exit code and output (at most the exec output bound). Several
   * attachments may be open at once; closing the pod ends them. Detaching (dropping the handle)
   * leaves the process running.
   *
   * @return the main process, attached
   * @throws IllegalStateException when the pod is closed
   */
  default ExecProcess attach() {
    throw new UnsupportedOperationException("attach is not supported by " + getClass().getName());
  }

  /**
   * Streams the main process's output to {@code consumer}, line by line and tagged with its
   * stream: first everything so far, then live until the process exits or the returned handle is
   * closed. The consumer runs on one SDK thread at a time, in order; what it throws is logged and
   * skipped. Closing the handle is idempotent.
   *
   * @param consumer receives each line; should be fast, runs on an SDK thread
   * @return a handle to stop following and to wait for the end; close it when done
   */
  LogFollower followLogs(java.util.function.Consumer<LogLine> consumer);

  /**
   * Sends {@code signal} (1..64, e.g. 15 for SIGTERM) to the container's main process.
   *
   * @param signal the signal number, 1..64
   * @throws IllegalArgumentException when the number is not 1..64
   * @throws AgentException with {@code FAILED_PRECONDITION} when it no longer runs
   */
  void signal(int signal);

  /**
   * Stops the main process as {@code docker stop} does: SIGTERM, then SIGKILL if it still runs
   * after {@code timeout}; returns its exit status. Returns at once when it already exited. The pod
   * (VM) stays up until {@link #close()}; {@link #copyOut}, {@link #logs()} keep working.
   *
   * @param timeout how long the process has after SIGTERM before SIGKILL
   * @return the exit status, 0..255 (137 when it was killed with SIGKILL)
   */
  int stop(Duration timeout);

  /**
   * Like {@link #waitFor()}, with whether the OOM killer ended the container (its memory limit is
   * {@link MicroPodSpec#containerMemoryMib()}).
   *
   * @return the exit code and whether the container was OOM-killed
   */
  ExitStatus waitForExit();

  /**
   * Copies the host file or directory {@code hostPath} to {@code containerPath} (its own path in
   * the container; missing parents are made, an existing file is replaced). Symlinks in the
   * container are resolved inside its root, never out of it. Blocks until done.
   *
   * @param hostPath an existing file or directory on the host
   * @param containerPath the absolute path it gets in the container
   * @throws IllegalArgumentException when {@code hostPath} does not exist or {@code containerPath}
   *     is not absolute
   * @throws AgentException when the agent cannot write it
   */
  void copyIn(java.nio.file.Path hostPath, String containerPath);

  /**
   * Copies the container's file or directory {@code containerPath} (symlinks resolved inside the
   * container's root) to {@code hostPath}, which must not exist; its parent must. Works also after
   * the main process exited.
   *
   * @param containerPath the absolute path of the file or directory in the container
   * @param hostPath where to write the copy on the host; must not exist
   * @throws IllegalArgumentException when {@code hostPath} exists or its parent does not
   * @throws AgentException with {@code NOT_FOUND} when {@code containerPath} does not exist
   */
  void copyOut(String containerPath, java.nio.file.Path hostPath);

  /**
   * Extracts the tar stream {@code tar} into the container's directory {@code containerDir}, as
   * {@code docker cp - CONTAINER:DIR} does: paths and symlinks are resolved inside the container's
   * root, missing parents are made, existing files are replaced. Reads {@code tar} to its end and
   * does not close it. Blocks until done.
   *
   * @param tar a tar stream (ustar/pax/GNU long names)
   * @param containerDir the absolute directory in the container to extract into
   * @throws IllegalArgumentException when {@code containerDir} is not absolute
   * @throws AgentException when the agent cannot extract it (e.g. a malformed archive)
   */
  default void copyArchiveIn(java.io.InputStream tar, String containerDir) {
    throw new UnsupportedOperationException("copyArchiveIn is not supported by " + getClass().getName());
  }

  /**
   * Writes a tar stream of the container's file or directory {@code containerPath} to {@code tar},
   * as {@code docker cp CONTAINER:PATH -} does: its entries' names start with the base name of
   * {@code containerPath}. Works also after the main process exited. Does not close {@code tar}.
   *
   * @param containerPath the absolute path of the file or directory in the container
   * @param tar where the tar stream goes
   * @throws IllegalArgumentException when {@code containerPath} is not absolute
   * @throws AgentException with {@code NOT_FOUND} when {@code containerPath} does not exist
   */
  default void copyArchiveOut(String containerPath, java.io.OutputStream tar) {
    throw new UnsupportedOperationException("copyArchiveOut is not supported by " + getClass().getName());
  }

  /**
   * The container's and the VM's resource use now.
   *
   * @return a snapshot of the current usage
   */
  PodStats stats();

  /**
   * The host port that forwards to {@code containerPort} on {@link #host()}.
   *
   * @param containerPort a port the spec publishes, e.g. with
   *     {@link PortMapping#ofContainerPort(int)}
   * @return the host port, 1..65535
   * @throws IllegalArgumentException when the spec does not publish {@code containerPort}
   */
  int mappedPort(int containerPort);

  /**
   * The host address published ports listen on: {@code "127.0.0.1"}.
   *
   * @return the loopback address, {@code "127.0.0.1"}
   */
  String host();

  // ---- supervision (issue 15) ------------------------------------------------------------------

  /**
   * The container's health now, as the guest agent's probe found it (see
   * {@link MicroPodSpec#healthcheck()}; the image's {@code HEALTHCHECK} when the spec has none).
   *
   * @return the health with the last probe's output, or empty when the container has no health
   *     check
   * @throws IllegalStateException when the pod is closed
   * @throws AgentException when the agent cannot answer (e.g. the VM has powered off)
   */
  default Optional<HealthState> health() {
    throw new UnsupportedOperationException("health() is not implemented by " + getClass().getName());
  }

  /**
   * How often the guest agent restarted the main process ({@link MicroPodSpec#restart()}).
   *
   * @return the restarts so far, 0 when none
   * @throws IllegalStateException when the pod is closed
   * @throws AgentException when the agent cannot answer (e.g. the VM has powered off)
   */
  default int restartCount() {
    throw new UnsupportedOperationException("restartCount() is not implemented by " + getClass().getName());
  }

  /**
   * Pauses the guest: its CPUs stop (QMP {@code stop}; Firecracker: {@code PATCH /vm Paused}), its
   * memory and the VMM stay. While paused,
   * {@code exec}, {@code copyIn}/{@code copyOut}, {@code stats} and the like throw
   * {@link IllegalStateException} (as {@code docker exec} on a paused container errors);
   * {@link #close()} resumes it first. {@code MicroPodRuntime.list()} shows it
   * {@link PodInfo.Status#PAUSED}. Idempotent.
   *
   * @throws UnsupportedOperationException when the pod's VMM driver cannot pause (QEMU and
   *     Firecracker can)
   * @throws IllegalStateException when the pod is closed
   */
  default void pause() {
    throw new UnsupportedOperationException("this pod cannot be paused");
  }

  /**
   * Lets a {@link #pause() paused} guest run again; the container's processes continue. Idempotent.
   *
   * @throws UnsupportedOperationException when the pod's VMM driver cannot pause
   * @throws IllegalStateException when the pod is closed
   */
  default void resume() {
    throw new UnsupportedOperationException("this pod cannot be resumed");
  }

  /**
   * Takes a snapshot of the running pod, kept as {@code <home>/snapshots/<name>} (it outlives the
   * JVM): its memory, devices, container processes and files. The guest is paused while it is
   * written (about the time to copy its RAM in use) and runs on afterwards, unless it was paused.
   * Start pods from it with {@link MicroPodSpec.Builder#fromSnapshot(PodSnapshot)}. Only for a pod
   * started {@link MicroPodSpec#snapshottable()} (QEMU, or Firecracker run without its jailer).
   * Live host mounts and open TCP connections
   * to the host are not carried over; see docs/snapshots.md.
   *
   * @param name 1 to 63 letters, digits, {@code '_'}, {@code '.'}, {@code '-'}; unique in the home
   * @return the snapshot
   * @throws IllegalArgumentException naming {@code name} when it is not such a name
   * @throws IllegalStateException when the pod is not snapshottable or is closed
   * @throws SnapshotException when it cannot be written (a snapshot of that name exists, a full
   *     disk, the VMM refused): the pod runs on and no snapshot of that name is left
   */
  default PodSnapshot snapshot(String name) {
    throw new UnsupportedOperationException("this pod cannot be snapshotted");
  }

  /**
   * Replaces the running pod's egress rules ({@link MicroPodSpec#egress()}): QEMU's network guard
   * applies them to new connections and DNS queries within about 100 ms of this call's return;
   * connections already open stay. {@link #spec()} keeps the rules the pod started with;
   * {@code MicroPodRuntime.list()} and {@code micropod inspect} show the current ones.
   *
   * @param policy the new rules; not null
   * @throws UnsupportedOperationException when the pod's driver cannot enforce egress rules
   *     (Firecracker) or the pod has no NAT ({@link NetworkMode#NONE}: nothing leaves it anyway)
   * @throws IllegalStateException when the pod is closed
   */
  default void updateEgress(EgressPolicy policy) {
    throw new UnsupportedOperationException("this pod cannot change its egress rules");
  }

  /** A live {@link #followLogs} subscription. */
  interface LogFollower extends AutoCloseable {
    /** Stops following; idempotent. */
    @Override
    void close();

    /**
     * Waits until every line up to the process's exit was delivered.
     *
     * @param timeout how long to wait at most
     * @return false when {@code timeout} passed first
     */
    boolean awaitEnd(Duration timeout);
  }
}
