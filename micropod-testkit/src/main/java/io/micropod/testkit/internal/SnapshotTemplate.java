package io.micropod.testkit.internal;

import io.micropod.MicroPod;
import io.micropod.MicroPodSpec;
import io.micropod.PodSnapshot;
import io.micropod.testkit.WaitStrategy;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Function;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The snapshot behind {@code @MicroPodContainer(snapshot = true)} fields of one spec: on first use
 * a pod of the spec (made snapshottable) is started, its wait strategies run, it is snapshotted
 * and closed; every later use gets the spec to restore a pod from. Made once per test run: it
 * lives in the root extension store, which closes it (removing the snapshot) when the run ends.
 *
 * <p>Thread-safe: {@link #restoreSpec()} is serialized, so parallel workers that need it at the
 * same time wait for the one that makes it. A failure is remembered and thrown to every later
 * user, as a session pod's is: the spec is not booted again per test.
 */
public final class SnapshotTemplate implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SnapshotTemplate.class);
  private static final SecureRandom RANDOM = new SecureRandom();

  private final MicroPodSpec spec;
  private final List<WaitStrategy> waits;
  private final String firstUser;
  private final Function<MicroPodSpec, MicroPod> starter;
  private final Consumer<PodSnapshot> remover;
  private PodSnapshot snapshot; // guarded by this
  private RuntimeException failure; // guarded by this
  private boolean closed; // guarded by this

  /**
   * @param spec the spec of the field; its pods are restored from the snapshot of a pod of it
   * @param waits the wait strategies that must pass before the snapshot is taken
   * @param firstUser the field that needs it first, for messages
   * @param starter starts a pod (MicroPod::start; a fake in unit tests)
   * @param remover removes the snapshot when the run ends
   */
  public SnapshotTemplate(MicroPodSpec spec, List<WaitStrategy> waits, String firstUser,
      Function<MicroPodSpec, MicroPod> starter, Consumer<PodSnapshot> remover) {
    this.spec = Objects.requireNonNull(spec, "spec");
    this.waits = List.copyOf(waits);
    this.firstUser = Objects.requireNonNull(firstUser, "firstUser");
    this.starter = Objects.requireNonNull(starter, "starter");
    this.remover = Objects.requireNonNull(remover, "remover");
  }

  /** The real one: pods started with {@link MicroPod#start}, the snapshot removed from the spec's runtime. */
  static SnapshotTemplate of(MicroPodSpec spec, List<WaitStrategy> waits, String firstUser) {
    return new SnapshotTemplate(spec, waits, firstUser, s -> {
      removeStale(spec.runtime());
      return MicroPod.start(s);
    }, s -> spec.runtime().removeSnapshot(s.name()));
  }

  /**
   * A new snapshot's name: {@code testkit-<pid>-<start>-<random>}, this JVM's pid and start time
   * (epoch seconds), so that a later run can tell that its maker is gone ({@link #isStale}).
   */
  public static String newName() {
    ProcessHandle self = ProcessHandle.current();
    long start = self.info().startInstant().map(java.time.Instant::getEpochSecond).orElse(0L);
    return "testkit-" + self.pid() + "-" + start + "-" + HexFormat.of().formatHex(randomBytes());
  }

  private static final java.util.regex.Pattern OWNED = java.util.regex.Pattern.compile(
      "testkit-(\\d+)-(\\d+)-[0-9a-f]{12}");

  /**
   * Whether {@code name} is a snapshot this class made in a JVM that is gone (killed before its
   * run could remove it), by the pid and start time in its name, the rule the pod reaper follows
   * for a pod's owner. Names of another form are never stale: they are not ours to remove.
   *
   * @param alive whether the process of a pid and start time (epoch seconds) still runs
   */
  public static boolean isStale(String name, java.util.function.BiPredicate<Long, Long> alive) {
    java.util.regex.Matcher m = OWNED.matcher(name);
    return m.matches() && !alive.test(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)));
  }

  /** Whether process {@code pid} runs and started at {@code start} (epoch seconds; unknown counts as yes). */
  static boolean running(long pid, long start) {
    return ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
        .map(h -> h.info().startInstant().map(i -> i.getEpochSecond() == start).orElse(true))
        .orElse(false);
  }

  /** Removes the snapshots of killed test JVMs (each a few hundred MiB that nothing else removes). */
  static void removeStale(io.micropod.MicroPodRuntime runtime) {
    for (PodSnapshot s : runtime.snapshots()) {
      if (isStale(s.name(), SnapshotTemplate::running)) {
        try {
          runtime.removeSnapshot(s.name());
          log.info("removed snapshot {}: the test JVM that made it is gone", s.name());
        } catch (RuntimeException e) {
          log.warn("cannot remove snapshot {} of a test JVM that is gone: {}", s.name(), e.toString());
        }
      }
    }
  }

  /**
   * The spec to start one restored pod from: the field's spec restored from the snapshot, made
   * now when this is the first call.
   *
   * @return the spec; each {@link MicroPod#start} of it is a new pod with its own id
   * @throws RuntimeException what booting, waiting or snapshotting threw, also to later callers
   */
  public synchronized MicroPodSpec restoreSpec() {
    if (closed) {
      throw new IllegalStateException("the test run ended; its snapshots are removed");
    }
    if (failure != null) {
      throw failure;
    }
    if (snapshot == null) {
      try {
        snapshot = take();
      } catch (RuntimeException e) {
        failure = e;
        throw e;
      }
    }
    return spec.newBuilder().fromSnapshot(snapshot).build();
  }

  private PodSnapshot take() {
    MicroPodSpec snapshottable;
    try {
      snapshottable = spec.snapshottable() ? spec : spec.newBuilder().snapshottable(true).build();
    } catch (IllegalStateException e) {
      throw new ExtensionConfigurationException(
          "@MicroPodContainer(snapshot = true) on " + firstUser + ": " + e.getMessage(), e);
    }
    String name = newName();
    try (MicroPod template = starter.apply(snapshottable)) {
      for (WaitStrategy w : waits) {
        w.waitUntilReady(template);
      }
      PodSnapshot taken = template.snapshot(name);
      log.debug("snapshot {} of pod {} for {}: restored pods start from it", taken.name(),
          template.id(), firstUser);
      return taken;
    }
  }

  private static byte[] randomBytes() {
    byte[] b = new byte[6];
    RANDOM.nextBytes(b);
    return b;
  }

  /** Removes the snapshot (pods restored from it run on: they hold their own copy). Idempotent. */
  @Override
  public synchronized void close() {
    closed = true;
    PodSnapshot s = snapshot;
    snapshot = null;
    if (s != null) {
      remover.accept(s);
      log.debug("snapshot {} for {} removed", s.name(), firstUser);
    }
  }

  @Override
  public String toString() {
    return "SnapshotTemplate{" + firstUser + ", spec=" + spec + "}";
  }
}
