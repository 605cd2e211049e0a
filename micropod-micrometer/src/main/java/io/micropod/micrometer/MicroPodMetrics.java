package io.micropod.micrometer;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micropod.MicroPod;
import io.micropod.MicroPodSpec;
import io.micropod.PodStats;
import io.micropod.event.MicroPodListener;
import io.micropod.event.Phase;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.ToDoubleFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Binds MicroPod to a Micrometer {@link MeterRegistry}: pods running, start time by phase, execs,
 * image pulls, and each monitored pod's CPU, memory and I/O. The SDK itself knows nothing of
 * Micrometer: this binder learns what happens from the pods' typed events (its
 * {@link #listener()}) and samples {@link MicroPod#stats()} when the registry is read.
 *
 * <pre>{@code
 * MicroPodMetrics metrics = new MicroPodMetrics();
 * metrics.bindTo(registry);
 * try (MicroPod pod = metrics.start(MicroPod.builder().image("oci:/images/busybox").build())) {
 *   pod.exec("true");   // micropod.exec{outcome="success"}
 * }                     // the pod's gauges are removed when it closes
 * }</pre>
 *
 * <h2>Meters</h2>
 * Every meter carries the tags given to the constructor. Timers publish a histogram with fixed
 * buckets (Prometheus: {@code _bucket} series): 5 ms, 10 ms, 25 ms, 50 ms, 100 ms, 250 ms, 500 ms,
 * 1 s, 2.5 s, 5 s, 10 s, 30 s, 1 min, 2 min; for pulls 100 ms to 30 min. Add percentiles or
 * other buckets with a {@code MeterFilter}.
 * <ul>
 *   <li>{@value #PODS_RUNNING} (gauge): pods started with this binder's listener whose
 *       {@code start()} succeeded and whose {@code close()} has not begun.
 *   <li>{@value #POD_START} (timer, tag {@code phase}: {@code image_pull}, {@code rootfs_prepare},
 *       {@code vm_boot}, {@code agent_connect}, {@code container_start}): how long each
 *       {@link Phase} of a successful phase took.
 *   <li>{@value #POD_STOP} (timer): how long {@code close()} took.
 *   <li>{@value #PHASE_FAILURES} (counter, tag {@code phase}, {@code stop} included): phases that
 *       failed.
 *   <li>{@value #EXEC} (timer, tag {@code outcome}: {@code success} for exit 0,
 *       {@code nonzero_exit}, {@code failed} when the exec call threw): execs and their duration.
 *   <li>{@value #PULL} (timer): the {@code image_pull} phase of pod starts that downloaded bytes.
 *   <li>{@value #PULL_BYTES} (counter, bytes): image bytes downloaded, by pod starts and by
 *       {@code MicroPodRuntime.pullImage(.., listener())}.
 *   <li>Per monitored pod, tags {@code pod} (its id) and {@code pod.name} (its name, or empty),
 *       sampled from {@link MicroPod#stats()} at most once a second however many meters are read:
 *       {@value #POD_CPU} (function counter, seconds), {@value #POD_MEMORY},
 *       {@value #POD_MEMORY_LIMIT} (gauges, bytes; limit 0 = none), {@value #POD_IO_READ},
 *       {@value #POD_IO_WRITE} (function counters, bytes), {@value #POD_OOM_KILLS} (function
 *       counter), {@value #POD_VM_MEMORY_AVAILABLE}, {@value #POD_VM_MEMORY_TOTAL} (gauges,
 *       bytes), {@value #POD_VM_LOAD1} (gauge), {@value #POD_NET_RECEIVED},
 *       {@value #POD_NET_TRANSMITTED} (function counters, bytes), {@value #POD_NET_RECEIVED_PACKETS},
 *       {@value #POD_NET_TRANSMITTED_PACKETS} (function counters, packets): the pod's network
 *       traffic over its guest's interfaces but {@code lo}, since the VM booted (published ports
 *       travel over the agent channel and are not counted). Removed when the pod's
 *       {@code close()} begins.
 *       While a sample fails (the pod is closing) gauges read NaN and counters their last value.
 * </ul>
 * <ul>
 *   <li>{@value #EGRESS_DENIALS} (counter, tag {@code protocol}: {@code tcp}, {@code udp},
 *       {@code dns}, or {@code *} for denials the network guard's rate limit reported only as a
 *       number): outbound connections and DNS queries that pods' egress rules (or the NAT's
 *       protection of the host) refused.
 * </ul>
 * See {@code docs/metrics.md}.
 *
 * <h2>Threads and lifecycle</h2>
 * Thread-safe; one binder serves any number of pods from any threads. Bind it to one registry
 * (to feed several, bind it to a {@code CompositeMeterRegistry}). Events that arrive before
 * {@link #bindTo} are not counted. {@link #close()} removes every meter it registered and stops
 * counting; it does not close pods.
 */
public final class MicroPodMetrics implements MeterBinder, AutoCloseable {
  /** Gauge: pods running. */
  public static final String PODS_RUNNING = "micropod.pods.running";
  /** Timer, tag {@code phase}: the phases of successful pod starts. */
  public static final String POD_START = "micropod.pod.start";
  /** Timer: {@code close()} of pods. */
  public static final String POD_STOP = "micropod.pod.stop";
  /** Counter, tag {@code phase}: phases that failed. */
  public static final String PHASE_FAILURES = "micropod.pod.phase.failures";
  /** Timer, tag {@code outcome}: execs. */
  public static final String EXEC = "micropod.exec";
  /** Timer: image pulls of pod starts that downloaded something. */
  public static final String PULL = "micropod.image.pull";
  /** Counter, tag {@code protocol}: refused outbound connections and DNS queries of pods. */
  public static final String EGRESS_DENIALS = "micropod.egress.denials";
  /** Counter, bytes: image bytes downloaded. */
  public static final String PULL_BYTES = "micropod.image.pull.bytes";
  /** Function counter, seconds: a pod's container CPU time. */
  public static final String POD_CPU = "micropod.pod.cpu.usage";
  /** Gauge, bytes: a pod's container memory. */
  public static final String POD_MEMORY = "micropod.pod.memory.usage";
  /** Gauge, bytes: a pod's container memory limit; 0 when unlimited. */
  public static final String POD_MEMORY_LIMIT = "micropod.pod.memory.limit";
  /** Function counter, bytes: what a pod's container read from block devices. */
  public static final String POD_IO_READ = "micropod.pod.io.read";
  /** Function counter, bytes: what a pod's container wrote to block devices. */
  public static final String POD_IO_WRITE = "micropod.pod.io.write";
  /** Function counter: processes of a pod's container the OOM killer killed. */
  public static final String POD_OOM_KILLS = "micropod.pod.oom.kills";
  /** Gauge, bytes: a pod's guest VM memory available. */
  public static final String POD_VM_MEMORY_AVAILABLE = "micropod.pod.vm.memory.available";
  /** Gauge, bytes: a pod's guest VM memory in all. */
  public static final String POD_VM_MEMORY_TOTAL = "micropod.pod.vm.memory.total";
  /** Gauge: a pod's guest VM 1-minute load average. */
  public static final String POD_VM_LOAD1 = "micropod.pod.vm.load1";
  /** Function counter, bytes: what a pod received over the network. */
  public static final String POD_NET_RECEIVED = "micropod.pod.network.received";
  /** Function counter, packets: packets a pod received over the network. */
  public static final String POD_NET_RECEIVED_PACKETS = "micropod.pod.network.received.packets";
  /** Function counter, bytes: what a pod sent over the network. */
  public static final String POD_NET_TRANSMITTED = "micropod.pod.network.transmitted";
  /** Function counter, packets: packets a pod sent over the network. */
  public static final String POD_NET_TRANSMITTED_PACKETS = "micropod.pod.network.transmitted.packets";

  private static final Logger log = LoggerFactory.getLogger(MicroPodMetrics.class);
  /** One stats() call serves every meter of a pod read within this long (one scrape). */
  static final long SAMPLE_MAX_AGE_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final Tags tags;
  private final long sampleMaxAgeNanos;
  private final Listener listener = new Listener(MicroPodListener.NONE);
  /** Pods whose start succeeded and whose close has not begun, by id. */
  private final ConcurrentMap<String, PodMeters> running = new ConcurrentHashMap<>();
  /** Bytes counted so far per pull in flight, by pod id (or image reference for pullImage). */
  private final ConcurrentMap<String, AtomicLong> downloads = new ConcurrentHashMap<>();
  /** Pods in their image_pull phase: their download entry lives until the phase ends. */
  private final Set<String> podPulls = ConcurrentHashMap.newKeySet();
  /** Every meter registered, for close(). */
  private final Set<Meter> meters = ConcurrentHashMap.newKeySet();
  private volatile MeterRegistry registry;
  private volatile Counter pullBytes;
  private volatile boolean closed;

  /** A binder whose meters carry no extra tags. */
  public MicroPodMetrics() {
    this(Tags.empty());
  }

  /**
   * A binder whose meters all carry {@code tags} (e.g. the application's name).
   *
   * @param tags extra tags for every meter; not null
   */
  public MicroPodMetrics(Iterable<Tag> tags) {
    this(tags, SAMPLE_MAX_AGE_NANOS);
  }

  /** For tests: {@code sampleMaxAgeNanos} 0 samples on every read. */
  MicroPodMetrics(Iterable<Tag> tags, long sampleMaxAgeNanos) {
    this.tags = Tags.of(Objects.requireNonNull(tags, "tags"));
    this.sampleMaxAgeNanos = sampleMaxAgeNanos;
  }

  /**
   * Registers the meters that exist from the start ({@value #PODS_RUNNING},
   * {@value #PULL_BYTES}) and records every later event into {@code registry}.
   *
   * @param registry the registry; not null
   * @throws IllegalStateException when already bound to another registry, or closed
   */
  @Override
  public synchronized void bindTo(MeterRegistry registry) {
    Objects.requireNonNull(registry, "registry");
    if (this.registry == registry) {
      return;
    }
    if (this.registry != null) {
      throw new IllegalStateException("this MicroPodMetrics is bound to " + this.registry
          + " already: bind it to a CompositeMeterRegistry to feed several");
    }
    if (closed) {
      throw new IllegalStateException("this MicroPodMetrics was closed: make a new one");
    }
    meters.add(Gauge.builder(PODS_RUNNING, running, Map::size)
        .description("Pods started and not yet closing")
        .tags(tags)
        .register(registry));
    Counter bytes = Counter.builder(PULL_BYTES)
        .description("Image bytes downloaded")
        .baseUnit("bytes")
        .tags(tags)
        .register(registry);
    meters.add(bytes);
    this.pullBytes = bytes;
    this.registry = registry;
  }

  /**
   * This binder's listener: give it to {@link MicroPodSpec.Builder#listener} (or to
   * {@code MicroPodRuntime.pullImage}) so that it hears the pod's events.
   *
   * @return the listener, the same instance every call
   */
  public MicroPodListener listener() {
    return listener;
  }

  /**
   * A listener that feeds this binder and then passes every event on to {@code next}, for a pod
   * that has a listener of its own. What {@code next} throws is the SDK's to log, as for any
   * listener.
   *
   * @param next the listener that also hears every event; not null
   * @return a new listener
   */
  public MicroPodListener listener(MicroPodListener next) {
    Objects.requireNonNull(next, "next");
    if (next == MicroPodListener.NONE) {
      return listener;
    }
    // already feeds this binder (a spec built from a pod it started): wrapping it would count twice
    return next instanceof Listener l && l.feeds(this) ? next : new Listener(next);
  }

  /**
   * Starts a pod whose events this binder hears (its own listener, if any, still hears them)
   * and {@linkplain #monitor monitors} it.
   *
   * @param spec what to run; not null
   * @return the running pod; the caller closes it
   * @throws IllegalStateException when this binder is not bound to a registry
   */
  public MicroPod start(MicroPodSpec spec) {
    Objects.requireNonNull(spec, "spec");
    requireBound();
    MicroPod pod = MicroPod.start(spec.newBuilder().listener(listener(spec.listener())).build());
    try {
      return monitor(pod);
    } catch (RuntimeException e) {
      pod.close();
      throw e;
    }
  }

  /**
   * Registers {@code pod}'s stats meters (tags {@code pod}, {@code pod.name}), sampled when the
   * registry is read; they are removed when the pod's {@code close()} begins. Does nothing for a
   * pod already closed or already monitored.
   *
   * @param pod a pod started with this binder's {@link #listener()}; not null
   * @return {@code pod}
   * @throws IllegalArgumentException when {@code pod} was started without this binder's listener
   *     (its meters would never be removed)
   * @throws IllegalStateException when this binder is not bound to a registry
   */
  public MicroPod monitor(MicroPod pod) {
    Objects.requireNonNull(pod, "pod");
    MeterRegistry r = requireBound();
    if (!(pod.spec().listener() instanceof Listener l) || !l.feeds(this)) {
      throw new IllegalArgumentException("pod " + pod.id() + " was started without this MicroPodMetrics'"
          + " listener, so its meters would outlive it: start it with metrics.start(spec) or"
          + " MicroPod.builder().listener(metrics.listener())");
    }
    running.computeIfPresent(pod.id(), (id, m) -> m.register(pod, r, sampleMaxAgeNanos));
    return pod;
  }

  /** Removes every meter this binder registered; later events are not counted. Idempotent. */
  @Override
  public synchronized void close() {
    closed = true;
    MeterRegistry r = registry;
    registry = null;
    pullBytes = null;
    if (r != null) {
      for (Meter m : meters) {
        r.remove(m);
      }
      for (PodMeters m : running.values()) {
        m.remove(r);
      }
    }
    meters.clear();
    running.clear();
    downloads.clear();
    podPulls.clear();
  }

  private MeterRegistry requireBound() {
    MeterRegistry r = registry;
    if (r == null) {
      throw new IllegalStateException("this MicroPodMetrics is not bound to a registry (or was closed):"
          + " call bindTo(registry) first");
    }
    return r;
  }

  private static String tagValue(Phase phase) {
    return phase.name().toLowerCase(Locale.ROOT);
  }

  /** Histogram buckets (upper bounds) of the start, stop and exec timers: 5 ms to 2 min. */
  static final Duration[] BUCKETS = seconds(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120);
  /** Histogram buckets of the pull timer: 100 ms to 30 min. */
  static final Duration[] PULL_BUCKETS = seconds(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800);

  private static Duration[] seconds(double... s) {
    Duration[] d = new Duration[s.length];
    for (int i = 0; i < s.length; i++) {
      d[i] = Duration.ofNanos(Math.round(s[i] * 1e9));
    }
    return d;
  }

  private Timer timer(MeterRegistry r, String name, String description, Duration[] buckets, Tag... extra) {
    // fixed buckets, not publishPercentileHistogram(): ~15 series per timer instead of ~85
    Timer t = Timer.builder(name)
        .description(description)
        .tags(tags)
        .tags(Tags.of(extra))
        .serviceLevelObjectives(buckets)
        .register(r);
    meters.add(t);
    return t;
  }

  // ---- events ----------------------------------------------------------------------------------

  void phaseStart(String podId, Phase phase) {
    if (phase == Phase.STOP) {
      PodMeters m = running.remove(podId);
      MeterRegistry r = registry;
      if (m != null && r != null) {
        m.remove(r);
      }
    } else if (phase == Phase.IMAGE_PULL) {
      podPulls.add(podId);
      downloads.put(podId, new AtomicLong());
    }
  }

  void phaseEnd(String podId, Phase phase, Duration took) {
    if (phase == Phase.IMAGE_PULL) {
      podPulls.remove(podId);
      AtomicLong downloaded = downloads.remove(podId);
      MeterRegistry r = registry;
      if (downloaded != null && downloaded.get() > 0 && r != null) {
        timer(r, PULL, "Image pulls of pod starts that downloaded bytes", PULL_BUCKETS).record(took);
      }
    } else if (phase == Phase.CONTAINER_START) {
      running.put(podId, new PodMeters(podId, tags));
    }
    MeterRegistry r = registry;
    if (r == null) {
      return;
    }
    if (phase == Phase.STOP) {
      timer(r, POD_STOP, "Time close() took", BUCKETS).record(took);
    } else {
      timer(r, POD_START, "Time each phase of a successful pod start took", BUCKETS,
          Tag.of("phase", tagValue(phase))).record(took);
    }
  }

  void phaseFailed(String podId, Phase phase) {
    if (phase == Phase.IMAGE_PULL) {
      podPulls.remove(podId);
      downloads.remove(podId);
    }
    MeterRegistry r = registry;
    if (r != null) {
      Counter c = Counter.builder(PHASE_FAILURES)
          .description("Pod start and stop phases that failed")
          .tags(tags)
          .tag("phase", tagValue(phase))
          .register(r);
      meters.add(c);
      c.increment();
    }
  }

  void progress(String key, long done, long total) {
    if (done == 0) {
      // every pull reports (0, total) first, from the thread that starts it
      downloads.put(key, new AtomicLong());
      return;
    }
    AtomicLong counted = downloads.get(key);
    if (counted == null) {
      return; // a report that arrived after its pull ended
    }
    long before = counted.getAndAccumulate(done, Math::max);
    Counter c = pullBytes;
    if (done > before && c != null) {
      c.increment(done - before);
    }
    if (done >= total && !podPulls.contains(key)) {
      downloads.remove(key, counted); // a pullImage: no phase end will clear it
    }
  }

  void exec(String outcome, Duration took) {
    MeterRegistry r = registry;
    if (r != null) {
      timer(r, EXEC, "Execs in pods", BUCKETS, Tag.of("outcome", outcome)).record(took);
    }
  }

  void egressDenied(String protocol, long count) {
    MeterRegistry r = registry;
    if (r != null) {
      Counter c = Counter.builder(EGRESS_DENIALS)
          .description("Outbound connections and DNS queries of pods that egress rules refused")
          .tags(tags)
          .tag("protocol", protocol)
          .register(r);
      meters.add(c);
      c.increment(count);
    }
  }

  /** Feeds the binder, then {@code next}; the binder's part never throws. */
  private final class Listener implements MicroPodListener {
    private final MicroPodListener next;

    Listener(MicroPodListener next) {
      this.next = next;
    }

    boolean feeds(MicroPodMetrics m) {
      return MicroPodMetrics.this == m;
    }

    @Override
    public void phaseStart(String podId, Phase phase) {
      safely(() -> MicroPodMetrics.this.phaseStart(podId, phase), podId);
      next.phaseStart(podId, phase);
    }

    @Override
    public void phaseEnd(String podId, Phase phase, Duration took) {
      safely(() -> MicroPodMetrics.this.phaseEnd(podId, phase, took), podId);
      next.phaseEnd(podId, phase, took);
    }

    @Override
    public void phaseFailed(String podId, Phase phase, Throwable cause) {
      safely(() -> MicroPodMetrics.this.phaseFailed(podId, phase), podId);
      next.phaseFailed(podId, phase, cause);
    }

    @Override
    public void progress(String podId, Phase phase, long done, long total) {
      safely(() -> MicroPodMetrics.this.progress(podId, done, total), podId);
      next.progress(podId, phase, done, total);
    }

    @Override
    public void execEnd(String podId, int exitCode, Duration took) {
      safely(() -> exec(exitCode == 0 ? "success" : "nonzero_exit", took), podId);
      next.execEnd(podId, exitCode, took);
    }

    @Override
    public void execFailed(String podId, Duration took, Throwable cause) {
      safely(() -> exec("failed", took), podId);
      next.execFailed(podId, took, cause);
    }

    @Override
    public void healthChanged(String podId, io.micropod.HealthState health) {
      next.healthChanged(podId, health);
    }

    @Override
    public void containerRestarted(String podId, int restartCount, int exitCode) {
      next.containerRestarted(podId, restartCount, exitCode);
    }

    @Override
    public void podEnded(String podId, String reason) {
      next.podEnded(podId, reason);
    }

    @Override
    public void egressDenied(String podId, String protocol, String destination, int port, long count) {
      safely(() -> MicroPodMetrics.this.egressDenied(protocol, count), podId);
      next.egressDenied(podId, protocol, destination, port, count);
    }

    private void safely(Runnable r, String podId) {
      if (closed) {
        return;
      }
      try {
        r.run();
      } catch (RuntimeException e) {
        // a metrics fault must not change what the pod does
        log.warn("pod {}: recording metrics failed", podId, e);
      }
    }

    @Override
    public String toString() {
      return "MicroPodMetrics.listener" + (next == MicroPodListener.NONE ? "" : "(then " + next + ")");
    }
  }

  /** The stats meters of one running pod; none until it is monitored. */
  private static final class PodMeters {
    private final String podId;
    private final Tags tags;
    private final List<Meter> registered = new ArrayList<>();

    PodMeters(String podId, Tags tags) {
      this.podId = podId;
      this.tags = tags;
    }

    /** Runs inside running.computeIfPresent: atomic with the pod's removal at close. */
    PodMeters register(MicroPod pod, MeterRegistry r, long sampleMaxAgeNanos) {
      if (!registered.isEmpty()) {
        return this;
      }
      StatsSampler s = new StatsSampler(pod, sampleMaxAgeNanos);
      Tags podTags = tags.and("pod", podId, "pod.name", pod.spec().name().orElse(""));
      registered.add(FunctionCounter.builder(POD_CPU, s, x -> x.counter(PodStats::cpuUsageMicros) / 1e6)
          .description("CPU time the pod's container used").baseUnit("seconds").tags(podTags).register(r));
      registered.add(gauge(r, POD_MEMORY, "Memory the pod's container uses now", s,
          st -> st.memoryUsageBytes(), podTags));
      registered.add(gauge(r, POD_MEMORY_LIMIT, "The pod's container memory limit; 0 when none", s,
          st -> st.memoryLimitBytes(), podTags));
      registered.add(FunctionCounter.builder(POD_IO_READ, s, x -> x.counter(PodStats::ioReadBytes))
          .description("Bytes the pod's container read from block devices").baseUnit("bytes").tags(podTags)
          .register(r));
      registered.add(FunctionCounter.builder(POD_IO_WRITE, s, x -> x.counter(PodStats::ioWriteBytes))
          .description("Bytes the pod's container wrote to block devices").baseUnit("bytes").tags(podTags)
          .register(r));
      registered.add(FunctionCounter.builder(POD_OOM_KILLS, s, x -> x.counter(PodStats::oomKills))
          .description("Processes of the pod's container the OOM killer killed").tags(podTags).register(r));
      registered.add(gauge(r, POD_VM_MEMORY_AVAILABLE, "Memory available in the pod's VM", s,
          st -> st.vmMemoryAvailableBytes(), podTags));
      registered.add(gauge(r, POD_VM_MEMORY_TOTAL, "Memory of the pod's VM", s,
          st -> st.vmMemoryTotalBytes(), podTags));
      registered.add(Gauge.builder(POD_VM_LOAD1, s, x -> x.gauge(PodStats::vmLoad1))
          .description("1-minute load average of the pod's VM").tags(podTags).register(r));
      registered.add(counter(r, POD_NET_RECEIVED, "Bytes the pod received over the network", s,
          PodStats::netRxBytes, "bytes", podTags));
      registered.add(counter(r, POD_NET_RECEIVED_PACKETS, "Packets the pod received over the network", s,
          PodStats::netRxPackets, "packets", podTags));
      registered.add(counter(r, POD_NET_TRANSMITTED, "Bytes the pod sent over the network", s,
          PodStats::netTxBytes, "bytes", podTags));
      registered.add(counter(r, POD_NET_TRANSMITTED_PACKETS, "Packets the pod sent over the network", s,
          PodStats::netTxPackets, "packets", podTags));
      return this;
    }

    private static FunctionCounter counter(MeterRegistry r, String name, String description,
        StatsSampler s, ToDoubleFunction<PodStats> f, String unit, Tags podTags) {
      return FunctionCounter.builder(name, s, x -> x.counter(f)).description(description).baseUnit(unit)
          .tags(podTags).register(r);
    }

    private static Gauge gauge(MeterRegistry r, String name, String description, StatsSampler s,
        ToDoubleFunction<PodStats> f, Tags podTags) {
      return Gauge.builder(name, s, x -> x.gauge(f)).description(description).baseUnit("bytes")
          .tags(podTags).register(r);
    }

    void remove(MeterRegistry r) {
      for (Meter m : registered) {
        r.remove(m);
      }
    }
  }

  /** Samples a pod's stats at most once per maxAgeNanos, whichever meter asks. */
  private static final class StatsSampler {
    private final MicroPod pod;
    private final long maxAgeNanos;
    private long sampledAt;
    private boolean sampled;
    private PodStats now;       // null while the last sample failed
    private PodStats lastGood;  // for counters, which must not fall to NaN

    StatsSampler(MicroPod pod, long maxAgeNanos) {
      this.pod = pod;
      this.maxAgeNanos = maxAgeNanos;
    }

    synchronized PodStats sample() {
      long t = System.nanoTime();
      if (!sampled || t - sampledAt >= maxAgeNanos) {
        sampled = true;
        sampledAt = t;
        try {
          now = pod.stats();
          lastGood = now;
        } catch (RuntimeException e) {
          // the pod is closing or its agent is busy: this scrape shows no value for it
          log.debug("pod {}: stats failed: {}", pod.id(), e.toString());
          now = null;
        }
      }
      return now;
    }

    double gauge(ToDoubleFunction<PodStats> f) {
      PodStats s = sample();
      return s == null ? Double.NaN : f.applyAsDouble(s);
    }

    synchronized double counter(ToDoubleFunction<PodStats> f) {
      sample();
      return lastGood == null ? 0 : f.applyAsDouble(lastGood);
    }
  }
}
