package io.micropod.testkit;

import io.micropod.BootTimings;
import io.micropod.ExecProcess;
import io.micropod.ExecResult;
import io.micropod.ExecSpec;
import io.micropod.ExitStatus;
import io.micropod.LogLine;
import io.micropod.MicroPod;
import io.micropod.MicroPodSpec;
import io.micropod.PodStats;
import io.micropod.testkit.internal.ManagedPodAccess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.function.Consumer;

/**
 * A pod for tests: a spec and its {@linkplain #waitingFor wait strategies}, started later by the
 * {@link MicroPodContainer} extension (or by {@link #start()}), and from then on the running
 * {@link MicroPod} itself: every {@code MicroPod} method goes to the pod started last.
 *
 * <pre>{@code
 * @MicroPodContainer
 * static final ManagedPod web = ManagedPod.of(MicroPod.builder()
 *         .image("oci:/images/busybox")
 *         .command("httpd", "-f", "-p", "8080", "-h", "/etc"))
 *     .waitingFor(Wait.forHttp("/passwd").forPort(8080));
 * }</pre>
 *
 * <h2>Lifecycle</h2>
 * Created unstarted; {@link #start()} starts a pod from the spec and runs the wait strategies in
 * order (when one fails, the pod is closed and the failure thrown); {@link #close()} closes it.
 * It may be started again after {@code close()}, which starts a new pod with a new
 * {@link #id()}. Before {@code start()} and after {@code close()}, the {@code MicroPod} methods
 * other than {@link #spec()}, {@link #close()} and {@link #toString()} throw
 * {@link IllegalStateException}.
 *
 * <h2>Threads</h2>
 * Thread-safe: {@code start()} and {@code close()} are serialized; the {@code MicroPod} methods
 * may run concurrently, as on any pod.
 */
public final class ManagedPod implements MicroPod {
  static {
    ManagedPodAccess.set(new ManagedPodAccess() {
      @Override
      public void attach(ManagedPod managed, MicroPod shared) {
        managed.attach(shared);
      }

      @Override
      public void startRestored(ManagedPod managed, MicroPodSpec restore) {
        managed.startRestored(restore);
      }
    });
  }

  private final MicroPodSpec spec;
  private final List<WaitStrategy> waits;
  private final Object lock = new Object();
  private volatile MicroPod pod; // written under lock
  private boolean owned; // guarded by lock: whether close() closes pod

  private ManagedPod(MicroPodSpec spec, List<WaitStrategy> waits) {
    this.spec = Objects.requireNonNull(spec, "spec");
    this.waits = List.copyOf(waits);
  }

  /**
   * An unstarted pod of {@code spec}, without wait strategies.
   *
   * @param spec what to start
   * @return the unstarted pod
   */
  public static ManagedPod of(MicroPodSpec spec) {
    return new ManagedPod(spec, List.of());
  }

  /**
   * An unstarted pod of {@code builder.build()}.
   *
   * @param builder what to start; built now
   * @return the unstarted pod
   * @throws IllegalStateException when the builder has no image
   */
  public static ManagedPod of(MicroPodSpec.Builder builder) {
    return of(Objects.requireNonNull(builder, "builder").build());
  }

  /**
   * A copy that also runs {@code strategies} (after those it already has, in order) once its pod
   * started, before {@link #start()} returns.
   *
   * @param strategies the strategies to add
   * @return the copy; this object is unchanged
   */
  public ManagedPod waitingFor(WaitStrategy... strategies) {
    List<WaitStrategy> all = new ArrayList<>(waits);
    for (WaitStrategy s : Arrays.asList(Objects.requireNonNull(strategies, "strategies"))) {
      all.add(Objects.requireNonNull(s, "strategy"));
    }
    return new ManagedPod(spec, all);
  }

  /** {@return the wait strategies, in the order they run} */
  public List<WaitStrategy> waitStrategies() {
    return waits;
  }

  /**
   * Starts a pod from the spec and waits until every wait strategy says it is ready. Does nothing
   * when a pod is already running.
   *
   * @throws io.micropod.MicroPodException (a subtype) when the pod cannot start, as
   *     {@link MicroPod#start(MicroPodSpec)} does
   * @throws PodNotReadyException when a wait strategy gives up; the pod is closed
   */
  public void start() {
    synchronized (lock) {
      if (pod != null) {
        return;
      }
      MicroPod started = MicroPod.start(spec);
      try {
        for (WaitStrategy w : waits) {
          w.waitUntilReady(started);
        }
      } catch (RuntimeException | Error e) {
        started.close();
        throw e;
      }
      owned = true;
      pod = started;
    }
  }

  /**
   * Starts a pod restored from a snapshot of this object's spec (the extension's snapshot mode):
   * the wait strategies passed before the snapshot was taken, so they do not run again.
   */
  private void startRestored(MicroPodSpec restore) {
    synchronized (lock) {
      if (pod != null) {
        return;
      }
      pod = MicroPod.start(restore);
      owned = true;
    }
  }

  /** Uses a pod this object does not own (a session-scoped pod): close() leaves it running. */
  private void attach(MicroPod shared) {
    synchronized (lock) {
      if (pod == shared) {
        return;
      }
      if (pod != null) {
        throw new IllegalStateException("already started: " + this);
      }
      for (WaitStrategy w : waits) {
        w.waitUntilReady(shared);
      }
      owned = false;
      pod = shared;
    }
  }

  /** {@return whether a pod is started and not closed} */
  public boolean isRunning() {
    return pod != null;
  }

  private MicroPod running() {
    MicroPod p = pod;
    if (p == null) {
      throw new IllegalStateException("ManagedPod of " + spec.image() + " is not started: annotate "
          + "its field with @MicroPodContainer, or call start()");
    }
    return p;
  }

  /** The id of the running pod. */
  @Override
  public String id() {
    return running().id();
  }

  /** The spec this object starts pods from (also before {@link #start()}). */
  @Override
  public MicroPodSpec spec() {
    return spec;
  }

  @Override
  public ExecResult exec(String... argv) {
    return running().exec(argv);
  }

  @Override
  public ExecResult exec(List<String> argv) {
    return running().exec(argv);
  }

  @Override
  public String logs() {
    return running().logs();
  }

  @Override
  public int waitFor() {
    return running().waitFor();
  }

  @Override
  public OptionalInt waitFor(Duration timeout) {
    return running().waitFor(timeout);
  }

  @Override
  public BootTimings bootTimings() {
    return running().bootTimings();
  }

  @Override
  public ExecResult exec(ExecSpec execSpec) {
    return running().exec(execSpec);
  }

  @Override
  public ExecProcess execStreaming(ExecSpec execSpec) {
    return running().execStreaming(execSpec);
  }

  @Override
  public LogFollower followLogs(Consumer<LogLine> consumer) {
    return running().followLogs(consumer);
  }

  @Override
  public void signal(int signal) {
    running().signal(signal);
  }

  @Override
  public int stop(Duration timeout) {
    return running().stop(timeout);
  }

  @Override
  public ExitStatus waitForExit() {
    return running().waitForExit();
  }

  @Override
  public void copyIn(Path hostPath, String containerPath) {
    running().copyIn(hostPath, containerPath);
  }

  @Override
  public void copyOut(String containerPath, Path hostPath) {
    running().copyOut(containerPath, hostPath);
  }

  @Override
  public void copyArchiveIn(java.io.InputStream tar, String containerDir) {
    running().copyArchiveIn(tar, containerDir);
  }

  @Override
  public void copyArchiveOut(String containerPath, java.io.OutputStream tar) {
    running().copyArchiveOut(containerPath, tar);
  }

  @Override
  public ExecProcess attach() {
    return running().attach();
  }

  @Override
  public PodStats stats() {
    return running().stats();
  }

  @Override
  public java.util.Optional<io.micropod.HealthState> health() {
    return running().health();
  }

  @Override
  public int restartCount() {
    return running().restartCount();
  }

  @Override
  public int mappedPort(int containerPort) {
    return running().mappedPort(containerPort);
  }

  @Override
  public String host() {
    return running().host();
  }

  @Override
  public void pause() {
    running().pause();
  }

  @Override
  public void resume() {
    running().resume();
  }

  @Override
  public io.micropod.PodSnapshot snapshot(String name) {
    return running().snapshot(name);
  }

  @Override
  public void updateEgress(io.micropod.EgressPolicy policy) {
    running().updateEgress(policy);
  }

  /**
   * Closes the running pod (a session-scoped pod is only let go: its session closes it). Idempotent;
   * never throws. {@link #start()} may start a new one afterwards.
   */
  @Override
  public void close() {
    MicroPod p;
    boolean close;
    synchronized (lock) {
      p = pod;
      close = owned;
      pod = null;
      owned = false;
    }
    if (p != null && close) {
      p.close();
    }
  }

  @Override
  public String toString() {
    MicroPod p = pod;
    return "ManagedPod{image=" + spec.image() + (p == null ? ", not running" : ", pod=" + p.id()) + "}";
  }
}
