package io.micropod.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micropod.MicroPod;
import io.micropod.MicroPodSpec;
import io.micropod.Mount;
import io.micropod.PodSnapshot;
import io.micropod.testkit.internal.SnapshotTemplate;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;

/** The lifecycle of the testkit's snapshot mode, with FakePod for the pod: no VM boots here. */
@Timeout(30)
class SnapshotTemplateTest {
  private static final MicroPodSpec SPEC = MicroPodSpec.builder().image("oci:/images/busybox")
      .command("sleep", "600").build();

  private final List<MicroPodSpec> started = new CopyOnWriteArrayList<>();
  private final List<FakePod> pods = new CopyOnWriteArrayList<>();
  private final List<PodSnapshot> removed = new CopyOnWriteArrayList<>();
  private final List<String> calls = new CopyOnWriteArrayList<>();

  private MicroPod start(MicroPodSpec spec) {
    started.add(spec);
    FakePod pod = new FakePod();
    pod.snapshot = name -> {
      calls.add("snapshot " + name);
      return new PodSnapshot(name, Path.of("/home/snapshots", name), spec.image().toString(),
          pod.id(), Instant.now(), 1, spec.memoryMib(), spec.cpus(), "guest", "sdk");
    };
    pods.add(pod);
    return pod;
  }

  private SnapshotTemplate template(MicroPodSpec spec, WaitStrategy... waits) {
    return new SnapshotTemplate(spec, List.of(waits), "SomeTest.pod", this::start, removed::add);
  }

  @Test
  void theFirstUseBootsASnapshottablePodWaitsSnapshotsItAndClosesIt() {
    SnapshotTemplate template = template(SPEC, new Recording("ready"));

    MicroPodSpec restore = template.restoreSpec();

    assertThat(started).hasSize(1);
    assertThat(started.get(0).snapshottable()).isTrue();
    assertThat(started.get(0).command()).isEqualTo(SPEC.command());
    assertThat(calls).hasSize(2);
    assertThat(calls.get(0)).isEqualTo("wait ready");
    assertThat(calls.get(1)).matches("snapshot testkit-" + ProcessHandle.current().pid() + "-\\d+-[0-9a-f]{12}");
    assertThat(pods.get(0).closed).as("the template pod is closed once snapshotted").isTrue();
    assertThat(restore.fromSnapshot()).hasValue(calls.get(1).substring("snapshot ".length()));
    assertThat(restore.command()).isEqualTo(SPEC.command());
    assertThat(removed).isEmpty();
  }

  @Test
  void aSnapshotIsStaleOnlyWhenTheTestJvmNamedInItIsGone() {
    String mine = SnapshotTemplate.newName();
    assertThat(mine).matches("testkit-\\d+-\\d+-[0-9a-f]{12}").hasSizeLessThanOrEqualTo(63);
    assertThat(SnapshotTemplate.isStale(mine, (pid, start) -> true)).isFalse();
    assertThat(SnapshotTemplate.isStale(mine, (pid, start) -> false)).isTrue();
    assertThat(SnapshotTemplate.isStale("testkit-4242-1700000000-0123456789ab",
        (pid, start) -> pid == 4242 && start == 1700000000L)).isFalse();
    // names of another form (a user's, or an older testkit's without an owner) are never removed
    assertThat(SnapshotTemplate.isStale("testkit-0123456789ab", (pid, start) -> false)).isFalse();
    assertThat(SnapshotTemplate.isStale("app-warm", (pid, start) -> false)).isFalse();
  }

  @Test
  void laterUsesRestoreFromTheSameSnapshotWithoutBootingAgain() {
    SnapshotTemplate template = template(SPEC, new Recording("ready"));

    MicroPodSpec first = template.restoreSpec();
    MicroPodSpec second = template.restoreSpec();

    assertThat(started).hasSize(1);
    assertThat(calls).filteredOn(c -> c.startsWith("wait")).hasSize(1);
    assertThat(second).isEqualTo(first);
  }

  @Test
  void parallelWorkersWaitForTheOneSnapshotBeingMade() throws Exception {
    CountDownLatch allAsked = new CountDownLatch(1);
    SnapshotTemplate template = template(SPEC, new Recording("ready") {
      @Override
      public void waitUntilReady(MicroPod pod) {
        super.waitUntilReady(pod);
        await(allAsked); // the other workers ask while the first is still making it
      }
    });
    int workers = 6;
    ExecutorService pool = Executors.newFixedThreadPool(workers);
    try {
      List<Future<MicroPodSpec>> specs = new ArrayList<>();
      for (int i = 0; i < workers; i++) {
        specs.add(pool.submit(template::restoreSpec));
      }
      allAsked.countDown();
      Set<String> snapshots = ConcurrentHashMap.newKeySet();
      for (Future<MicroPodSpec> f : specs) {
        snapshots.add(f.get(10, TimeUnit.SECONDS).fromSnapshot().orElseThrow());
      }
      assertThat(snapshots).hasSize(1);
      assertThat(started).hasSize(1);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aFailedWaitClosesThePodTakesNoSnapshotAndFailsEveryLaterUseAlike() {
    PodNotReadyException notReady = new PodNotReadyException("never ready", "fakepod00001",
        Duration.ofSeconds(1), "", null, null);
    SnapshotTemplate template = template(SPEC, new Recording("ready") {
      @Override
      public void waitUntilReady(MicroPod pod) {
        throw notReady;
      }
    });

    assertThatThrownBy(template::restoreSpec).isSameAs(notReady);
    assertThatThrownBy(template::restoreSpec).isSameAs(notReady);

    assertThat(started).as("booted once, not once per test").hasSize(1);
    assertThat(pods.get(0).closed).isTrue();
    assertThat(calls).noneMatch(c -> c.startsWith("snapshot"));
    template.close();
    assertThat(removed).isEmpty();
  }

  @Test
  void closeRemovesTheSnapshotOnceAndLaterUsesFail() {
    SnapshotTemplate template = template(SPEC);
    String name = template.restoreSpec().fromSnapshot().orElseThrow();

    template.close();
    template.close();

    assertThat(removed).extracting(PodSnapshot::name).containsExactly(name);
    assertThatThrownBy(template::restoreSpec).isInstanceOf(IllegalStateException.class)
        .hasMessage("the test run ended; its snapshots are removed");
  }

  @Test
  void aSpecThatCannotBeSnapshottedIsAConfigurationErrorNamingTheField() {
    MicroPodSpec withMount = SPEC.newBuilder()
        .mount(Mount.readOnly(Path.of("/tmp"), "/data")).build();
    SnapshotTemplate template = template(withMount);

    assertThatThrownBy(template::restoreSpec).isInstanceOf(ExtensionConfigurationException.class)
        .hasMessageStartingWith("@MicroPodContainer(snapshot = true) on SomeTest.pod: "
            + "a snapshottable pod cannot have host directory mounts");
    assertThat(started).isEmpty();
  }

  private static void await(CountDownLatch latch) {
    try {
      assertThat(latch.await(10, TimeUnit.SECONDS)).isTrue();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** A wait strategy that records that it ran. */
  private class Recording implements WaitStrategy {
    private final String what;

    Recording(String what) {
      this.what = what;
    }

    @Override
    public void waitUntilReady(MicroPod pod) {
      assertThat(pod).isSameAs(pods.get(pods.size() - 1));
      calls.add("wait " + what);
    }

    @Override
    public Duration timeout() {
      return Duration.ofSeconds(1);
    }

    @Override
    public WaitStrategy withTimeout(Duration timeout) {
      return this;
    }
  }

}
