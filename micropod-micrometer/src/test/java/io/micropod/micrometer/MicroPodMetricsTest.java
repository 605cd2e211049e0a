package io.micropod.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.micropod.MicroPod;
import io.micropod.MicroPodSpec;
import io.micropod.PodStats;
import io.micropod.event.MicroPodListener;
import io.micropod.event.Phase;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The binder fed the events a pod start, its execs and its close send, in the order and from the
 * methods the SDK calls (MicroPodMetricsIT checks the same against a real pod). Where a pod handle
 * is needed, a stand-in answers id(), spec() and stats() only: what is tested is the sampling.
 */
@Timeout(value = 1, unit = TimeUnit.MINUTES)
class MicroPodMetricsTest {
  private static final String POD = "0123456789ab";
  private static final Phase[] START =
      {Phase.IMAGE_PULL, Phase.ROOTFS_PREPARE, Phase.VM_BOOT, Phase.AGENT_CONNECT, Phase.CONTAINER_START};

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final MicroPodMetrics metrics = new MicroPodMetrics(Tags.of("app", "test"));
  private MicroPodListener events;

  @BeforeEach
  void bind() {
    metrics.bindTo(registry);
    events = metrics.listener();
  }

  private void start(String podId) {
    for (Phase p : START) {
      events.phaseStart(podId, p);
      events.phaseEnd(podId, p, Duration.ofMillis(10 + p.ordinal()));
    }
  }

  private void stop(String podId) {
    events.phaseStart(podId, Phase.STOP);
    events.phaseEnd(podId, Phase.STOP, Duration.ofMillis(50));
  }

  private double running() {
    return registry.get(MicroPodMetrics.PODS_RUNNING).gauge().value();
  }

  @Test
  void eachStartPhaseIsTimedUnderItsPhaseTagWithAHistogram() {
    start(POD);
    start("ba9876543210");

    for (Phase p : START) {
      Timer t = registry.get(MicroPodMetrics.POD_START)
          .tags("phase", p.name().toLowerCase(), "app", "test").timer();
      assertThat(t.count()).as("%s", p).isEqualTo(2);
      assertThat(t.totalTime(TimeUnit.MILLISECONDS)).as("%s", p).isEqualTo(2 * (10 + p.ordinal()));
      assertThat(t.takeSnapshot().histogramCounts()).as("%s buckets", p).hasSize(MicroPodMetrics.BUCKETS.length)
          .filteredOn(b -> b.bucket(TimeUnit.MILLISECONDS) == 25).singleElement()
          .satisfies(b -> assertThat(b.count()).isEqualTo(2));
    }
  }

  @Test
  void prometheusShowsTheStartTimesAsAHistogramPerPhase() {
    PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    MicroPodMetrics m = new MicroPodMetrics();
    m.bindTo(prometheus);
    events = m.listener();
    start(POD);

    String text = prometheus.scrape();

    for (Phase p : START) {
      String phase = p.name().toLowerCase();
      assertThat(text).contains("micropod_pod_start_seconds_count{phase=\"" + phase + "\"} 1")
          .containsPattern("micropod_pod_start_seconds_bucket\\{phase=\"" + phase + "\",le=\"[0-9.]+\"\\} 1")
          .contains("micropod_pod_start_seconds_bucket{phase=\"" + phase + "\",le=\"+Inf\"} 1");
    }
    assertThat(text).contains("micropod_pods_running 1.0");
  }

  @Test
  void aPodCountsAsRunningFromItsStartUntilItsCloseBegins() {
    assertThat(running()).isZero();
    start(POD);
    assertThat(running()).isEqualTo(1);

    events.phaseStart(POD, Phase.STOP);
    assertThat(running()).isZero();
    events.phaseEnd(POD, Phase.STOP, Duration.ofMillis(70));
    assertThat(registry.get(MicroPodMetrics.POD_STOP).timer().count()).isEqualTo(1);
  }

  @Test
  void aFailedStartIsCountedByPhaseAndNeverRuns() {
    events.phaseStart(POD, Phase.IMAGE_PULL);
    events.phaseEnd(POD, Phase.IMAGE_PULL, Duration.ofMillis(5));
    events.phaseStart(POD, Phase.VM_BOOT);
    events.phaseFailed(POD, Phase.VM_BOOT, new IllegalStateException("boom"));

    assertThat(registry.get(MicroPodMetrics.PHASE_FAILURES).tag("phase", "vm_boot").counter().count())
        .isEqualTo(1);
    assertThat(registry.find(MicroPodMetrics.POD_START).tag("phase", "vm_boot").timer()).isNull();
    assertThat(running()).isZero();
  }

  @Test
  void execsAreTimedByOutcome() {
    start(POD);
    events.execEnd(POD, 0, Duration.ofMillis(3));
    events.execEnd(POD, 0, Duration.ofMillis(4));
    events.execEnd(POD, 2, Duration.ofMillis(5));
    events.execFailed(POD, Duration.ofMillis(6), new IllegalStateException("pod closed"));

    assertThat(registry.get(MicroPodMetrics.EXEC).tag("outcome", "success").timer().count()).isEqualTo(2);
    assertThat(registry.get(MicroPodMetrics.EXEC).tag("outcome", "nonzero_exit").timer().count()).isEqualTo(1);
    assertThat(registry.get(MicroPodMetrics.EXEC).tag("outcome", "failed").timer().count()).isEqualTo(1);
  }

  @Test
  void egressDenialsAreCountedByProtocolIncludingThoseOnlyCounted() {
    start(POD);
    events.egressDenied(POD, "tcp", "198.51.100.7", 443, 1);
    events.egressDenied(POD, "tcp", "198.51.100.8", 443, 1);
    events.egressDenied(POD, "dns", "bad.example.org", 53, 1);
    events.egressDenied(POD, "*", "*", 0, 977);

    assertThat(registry.get(MicroPodMetrics.EGRESS_DENIALS).tag("protocol", "tcp").counter().count()).isEqualTo(2);
    assertThat(registry.get(MicroPodMetrics.EGRESS_DENIALS).tag("protocol", "dns").counter().count()).isEqualTo(1);
    assertThat(registry.get(MicroPodMetrics.EGRESS_DENIALS).tag("protocol", "*").counter().count()).isEqualTo(977);
  }

  @Test
  void pulledBytesCountOnceWhateverOrderTheDownloadThreadsReportIn() {
    events.phaseStart(POD, Phase.IMAGE_PULL);
    events.progress(POD, Phase.IMAGE_PULL, 0, 1000);
    events.progress(POD, Phase.IMAGE_PULL, 400, 1000);
    events.progress(POD, Phase.IMAGE_PULL, 300, 1000);   // overtaken by the 400 report
    events.progress(POD, Phase.IMAGE_PULL, 1000, 1000);
    events.phaseEnd(POD, Phase.IMAGE_PULL, Duration.ofSeconds(2));
    events.progress(POD, Phase.IMAGE_PULL, 900, 1000);   // after the phase ended: ignored

    assertThat(registry.get(MicroPodMetrics.PULL_BYTES).counter().count()).isEqualTo(1000);
    assertThat(registry.get(MicroPodMetrics.PULL).timer().count()).isEqualTo(1);
    assertThat(registry.get(MicroPodMetrics.PULL).timer().totalTime(TimeUnit.SECONDS)).isEqualTo(2);
  }

  @Test
  void aStartWhoseImageWasInTheStoreRecordsNoPull() {
    start(POD);   // IMAGE_PULL with no progress: nothing downloaded

    assertThat(registry.find(MicroPodMetrics.PULL).timer()).isNull();
    assertThat(registry.get(MicroPodMetrics.PULL_BYTES).counter().count()).isZero();
  }

  @Test
  void pullImageReportsCountTheirBytesUnderTheReferenceAndForgetIt() {
    String ref = "127.0.0.1:5000/busybox:latest";
    events.progress(ref, Phase.IMAGE_PULL, 0, 500);
    events.progress(ref, Phase.IMAGE_PULL, 500, 500);
    events.progress(ref, Phase.IMAGE_PULL, 200, 500);   // late: its pull is done
    events.progress(ref, Phase.IMAGE_PULL, 0, 300);     // the next pull of the same reference
    events.progress(ref, Phase.IMAGE_PULL, 300, 300);

    assertThat(registry.get(MicroPodMetrics.PULL_BYTES).counter().count()).isEqualTo(800);
  }

  @Test
  void monitoredPodStatsAreSampledOncePerReadAndRemovedWhenItsCloseBegins() {
    AtomicInteger calls = new AtomicInteger();
    MicroPod pod = stubPod(POD, "web", metrics.listener(), () -> {
      calls.incrementAndGet();
      return new PodStats(2_500_000, 64L << 20, 128L << 20, 4096, 8192, 512L << 20, 400L << 20, 0.5, 1,
          1200, 10, 3400, 12);
    });
    start(POD);
    metrics.monitor(pod);

    Tags podTags = Tags.of("pod", POD, "pod.name", "web", "app", "test");
    assertThat(registry.get(MicroPodMetrics.POD_CPU).tags(podTags).functionCounter().count()).isEqualTo(2.5);
    assertThat(registry.get(MicroPodMetrics.POD_MEMORY).tags(podTags).gauge().value()).isEqualTo(64 << 20);
    assertThat(registry.get(MicroPodMetrics.POD_MEMORY_LIMIT).tags(podTags).gauge().value()).isEqualTo(128 << 20);
    assertThat(registry.get(MicroPodMetrics.POD_IO_READ).tags(podTags).functionCounter().count()).isEqualTo(4096);
    assertThat(registry.get(MicroPodMetrics.POD_IO_WRITE).tags(podTags).functionCounter().count()).isEqualTo(8192);
    assertThat(registry.get(MicroPodMetrics.POD_OOM_KILLS).tags(podTags).functionCounter().count()).isEqualTo(1);
    assertThat(registry.get(MicroPodMetrics.POD_VM_MEMORY_TOTAL).tags(podTags).gauge().value()).isEqualTo(512 << 20);
    assertThat(registry.get(MicroPodMetrics.POD_VM_MEMORY_AVAILABLE).tags(podTags).gauge().value())
        .isEqualTo(400 << 20);
    assertThat(registry.get(MicroPodMetrics.POD_VM_LOAD1).tags(podTags).gauge().value()).isEqualTo(0.5);
    assertThat(registry.get(MicroPodMetrics.POD_NET_RECEIVED).tags(podTags).functionCounter().count()).isEqualTo(1200);
    assertThat(registry.get(MicroPodMetrics.POD_NET_RECEIVED_PACKETS).tags(podTags).functionCounter().count())
        .isEqualTo(10);
    assertThat(registry.get(MicroPodMetrics.POD_NET_TRANSMITTED).tags(podTags).functionCounter().count())
        .isEqualTo(3400);
    assertThat(registry.get(MicroPodMetrics.POD_NET_TRANSMITTED_PACKETS).tags(podTags).functionCounter().count())
        .isEqualTo(12);
    assertThat(registry.get(MicroPodMetrics.POD_NET_RECEIVED).tags(podTags).functionCounter().getId().getBaseUnit())
        .isEqualTo("bytes");
    // thirteen meters read within a second: one stats() call
    assertThat(calls).hasValue(1);

    stop(POD);
    assertThat(registry.find(MicroPodMetrics.POD_MEMORY).tag("pod", POD).meters()).isEmpty();
    assertThat(registry.getMeters()).noneMatch(m -> POD.equals(m.getId().getTag("pod")));
  }

  @Test
  void whileStatsFailGaugesReadNaNAndCountersKeepTheirLastValue() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    MicroPodMetrics metrics = new MicroPodMetrics(Tags.empty(), 0);   // a fresh sample on every read
    metrics.bindTo(registry);
    MicroPodListener events = metrics.listener();
    AtomicReference<RuntimeException> failure = new AtomicReference<>();
    MicroPod pod = stubPod(POD, null, metrics.listener(), () -> {
      if (failure.get() != null) {
        throw failure.get();
      }
      return new PodStats(1_000_000, 1024, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    });
    for (Phase p : START) {
      events.phaseEnd(POD, p, Duration.ofMillis(1));
    }
    metrics.monitor(pod);
    assertThat(registry.get(MicroPodMetrics.POD_CPU).tag("pod.name", "").functionCounter().count()).isEqualTo(1);
    assertThat(registry.get(MicroPodMetrics.POD_MEMORY).gauge().value()).isEqualTo(1024);

    failure.set(new IllegalStateException("pod " + POD + " was closed"));

    assertThat(registry.get(MicroPodMetrics.POD_MEMORY).gauge().value()).isNaN();
    assertThat(registry.get(MicroPodMetrics.POD_CPU).functionCounter().count()).isEqualTo(1);
  }

  @Test
  void monitorRefusesAPodStartedWithoutThisBindersListener() {
    MicroPod other = stubPod(POD, null, MicroPodListener.NONE, () -> null);
    MicroPod ofAnotherBinder = stubPod(POD, null, new MicroPodMetrics().listener(), () -> null);

    assertThatThrownBy(() -> metrics.monitor(other)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(POD).hasMessageContaining("metrics.start(spec)");
    assertThatThrownBy(() -> metrics.monitor(ofAnotherBinder)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aPodAlreadyClosedGetsNoStatsMeters() {
    MicroPod pod = stubPod(POD, null, metrics.listener(), () -> {
      throw new AssertionError("a closed pod is not sampled");
    });
    start(POD);
    stop(POD);

    metrics.monitor(pod);

    assertThat(registry.find(MicroPodMetrics.POD_MEMORY).meters()).isEmpty();
  }

  /** Every event of {@link MicroPodListener}, also those added later, reaches the user's listener. */
  @Test
  void aChainedListenerIsPassedEveryKindOfEvent() throws Exception {
    List<String> heard = new ArrayList<>();
    MicroPodListener mine = (MicroPodListener) Proxy.newProxyInstance(getClass().getClassLoader(),
        new Class<?>[] {MicroPodListener.class}, (proxy, method, args) -> {
          if (method.getDeclaringClass() == Object.class) {
            return method.getName().equals("equals") ? proxy == args[0]
                : method.getName().equals("hashCode") ? System.identityHashCode(proxy) : "mine";
          }
          heard.add(method.getName());
          return null;
        });
    MicroPodListener both = metrics.listener(mine);
    List<String> events = new ArrayList<>();
    for (java.lang.reflect.Method m : MicroPodListener.class.getMethods()) {
      if (java.lang.reflect.Modifier.isStatic(m.getModifiers())) {
        continue;
      }
      Object[] args = new Object[m.getParameterCount()];
      Class<?>[] types = m.getParameterTypes();
      for (int i = 0; i < args.length; i++) {
        args[i] = types[i] == String.class ? POD : types[i] == int.class ? 1 : types[i] == long.class ? 1L
            : types[i] == Duration.class ? Duration.ofMillis(1) : types[i] == Phase.class ? Phase.STOP
            : types[i].isEnum() ? types[i].getEnumConstants()[0] : null;
      }
      m.invoke(both, args);
      events.add(m.getName());
    }

    assertThat(events).contains("healthChanged", "containerRestarted", "podEnded", "egressDenied");
    assertThat(heard).containsExactlyInAnyOrderElementsOf(events);
  }

  @Test
  void aChainedListenerHearsEveryEventAfterTheBinder() {
    List<String> heard = new ArrayList<>();
    MicroPodListener mine = new MicroPodListener() {
      @Override public void phaseStart(String podId, Phase phase) {
        heard.add("start " + phase + " running=" + running());
      }

      @Override public void phaseEnd(String podId, Phase phase, Duration took) {
        heard.add("end " + phase);
      }

      @Override public void phaseFailed(String podId, Phase phase, Throwable cause) {
        heard.add("failed " + phase);
      }

      @Override public void progress(String podId, Phase phase, long done, long total) {
        heard.add("progress " + done);
      }

      @Override public void execEnd(String podId, int exitCode, Duration took) {
        heard.add("exec " + exitCode);
      }

      @Override public void execFailed(String podId, Duration took, Throwable cause) {
        heard.add("exec failed");
      }
    };
    MicroPodListener both = metrics.listener(mine);
    both.phaseStart(POD, Phase.CONTAINER_START);
    both.phaseEnd(POD, Phase.CONTAINER_START, Duration.ofMillis(1));
    both.progress(POD, Phase.IMAGE_PULL, 0, 10);
    both.execEnd(POD, 1, Duration.ofMillis(1));
    both.execFailed(POD, Duration.ofMillis(1), new IllegalStateException());
    both.phaseStart(POD, Phase.STOP);
    both.phaseFailed(POD, Phase.STOP, new IllegalStateException());

    assertThat(heard).containsExactly("start CONTAINER_START running=0.0", "end CONTAINER_START", "progress 0",
        "exec 1", "exec failed", "start STOP running=0.0", "failed STOP");
    assertThat(registry.get(MicroPodMetrics.EXEC).tag("outcome", "nonzero_exit").timer().count()).isEqualTo(1);
    assertThat(metrics.listener(MicroPodListener.NONE)).isSameAs(metrics.listener());
    // a spec of a pod started through the binder carries its listener already: not wrapped again
    assertThat(metrics.listener(both)).isSameAs(both);
    assertThat(metrics.listener(metrics.listener())).isSameAs(metrics.listener());
  }

  @Test
  void bindingToASecondRegistryFailsAndSaysWhatToDo() {
    metrics.bindTo(registry);   // the same one again: nothing happens

    assertThatThrownBy(() -> metrics.bindTo(new SimpleMeterRegistry()))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("CompositeMeterRegistry");
  }

  @Test
  void eventsBeforeBindingAreNotCountedAndNeverThrow() {
    MicroPodMetrics unbound = new MicroPodMetrics();
    MicroPodListener l = unbound.listener();
    l.phaseStart(POD, Phase.IMAGE_PULL);
    l.phaseEnd(POD, Phase.IMAGE_PULL, Duration.ofMillis(1));
    l.execEnd(POD, 0, Duration.ofMillis(1));
    l.phaseFailed(POD, Phase.VM_BOOT, new IllegalStateException());

    assertThatThrownBy(() -> unbound.start(MicroPodSpec.builder().image("oci:/nowhere").build()))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("bindTo(registry)");
  }

  @Test
  void closeRemovesEveryMeterAndStopsCounting() {
    MicroPod pod = stubPod(POD, null, metrics.listener(), () -> new PodStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
    start(POD);
    metrics.monitor(pod);
    events.execEnd(POD, 0, Duration.ofMillis(1));
    events.phaseFailed("ffffffffffff", Phase.VM_BOOT, new IllegalStateException());
    assertThat(registry.getMeters()).extracting(m -> m.getId().getName()).contains(
        MicroPodMetrics.PODS_RUNNING, MicroPodMetrics.POD_START, MicroPodMetrics.EXEC,
        MicroPodMetrics.PHASE_FAILURES, MicroPodMetrics.POD_MEMORY, MicroPodMetrics.PULL_BYTES);

    metrics.close();
    metrics.close();
    events.execEnd(POD, 0, Duration.ofMillis(1));

    assertThat(registry.getMeters()).extracting(Meter::getId).isEmpty();
    assertThatThrownBy(() -> metrics.bindTo(registry)).isInstanceOf(IllegalStateException.class);
  }

  /** A pod handle that answers id(), spec() and stats(); anything else fails the test. */
  private static MicroPod stubPod(String id, String name, MicroPodListener listener,
      java.util.function.Supplier<PodStats> stats) {
    MicroPodSpec.Builder b = MicroPodSpec.builder().image("oci:/images/busybox").listener(listener);
    if (name != null) {
      b.name(name);
    }
    MicroPodSpec spec = b.build();
    return (MicroPod) Proxy.newProxyInstance(MicroPod.class.getClassLoader(), new Class<?>[] {MicroPod.class},
        (proxy, method, args) -> switch (method.getName()) {
          case "id" -> id;
          case "spec" -> spec;
          case "stats" -> stats.get();
          case "toString" -> "stub pod " + id;
          case "hashCode" -> System.identityHashCode(proxy);
          case "equals" -> proxy == args[0];
          default -> throw new AssertionError("unexpected call " + method);
        });
  }
}
