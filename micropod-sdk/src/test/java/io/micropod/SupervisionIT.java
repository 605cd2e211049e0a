package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.event.MicroPodListener;
import io.micropod.internal.registry.TestImage;
import io.micropod.internal.state.ConsoleStates;
import io.micropod.internal.state.StateDirectory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 15 on real VMs: the guest agent restarts a failing main process as its policy says, probes
 * the container's health, and ends a pod past its max lifetime or idle timeout, also a detached
 * pod whose JVM is gone. Events, {@link MicroPodRuntime#list()} and the console tell what happened.
 */
class SupervisionIT {
  static final Duration TIMEOUT = Duration.ofSeconds(90);

  /** Records the listener's supervision events as text. */
  static final class Recorder implements MicroPodListener {
    final List<String> events = new CopyOnWriteArrayList<>();

    @Override
    public void healthChanged(String podId, HealthState health) {
      events.add("health " + health.status().label());
    }

    @Override
    public void containerRestarted(String podId, int restartCount, int exitCode) {
      events.add("restarted " + restartCount + " exit " + exitCode);
    }

    @Override
    public void podEnded(String podId, String reason) {
      events.add("ended " + reason);
    }
  }

  @Test
  void onFailureRestartsAFailingContainerTwiceThenItStaysExitedWithItsLastStatus() {
    Recorder recorder = new Recorder();
    try (MicroPod pod = MicroPod.builder().image(TestImages.busybox())
        .restart(RestartPolicy.parse("on-failure:2")).listener(recorder)
        .command("sh", "-c", "echo run; exit 1").start()) {
      assertThat(pod.waitFor()).isEqualTo(1);
      assertThat(pod.logs().lines().filter("run"::equals)).hasSize(3);
      assertThat(pod.restartCount()).isEqualTo(2);
      assertThat(pod.waitFor(Duration.ofMillis(100))).hasValue(1);
      poll("the restarts and the last exit in list()", () -> info(pod).restartCount() == 2
          && info(pod).lastExitCode().orElse(-1) == 1);
      poll("two restart events", () -> recorder.events.size() >= 2);
      assertThat(recorder.events).containsExactly("restarted 1 exit 1", "restarted 2 exit 1");
      assertThat(pod.health()).isEmpty();
    }
  }

  @Test
  void anUnhealthyContainerIsReportedThenHealthyAndAnIdlePodEndsByItself() throws Exception {
    Recorder recorder = new Recorder();
    MicroPod pod = MicroPod.builder().image(TestImages.busybox()).listener(recorder)
        .healthcheck(HealthCheck.builder().shell("echo probing; [ -f /tmp/ok ]")
            .interval(Duration.ofMillis(500)).timeout(Duration.ofSeconds(20)).retries(2).build())
        // waited out whole after the exec below; the probes before it take ~2 s (health probes are
        // not activity): 10 s leaves room on a loaded host
        .idleTimeout(Duration.ofSeconds(10))
        .command("sleep", "3600").start();
    try {
      poll("unhealthy", () -> pod.health().map(h -> h.status() == HealthState.Status.UNHEALTHY).orElse(false));
      HealthState sick = pod.health().orElseThrow();
      assertThat(sick.failingStreak()).isGreaterThanOrEqualTo(2);
      assertThat(sick.lastOutput()).contains("probing");
      poll("unhealthy in list()", () -> info(pod).health()
          .map(h -> h.status() == HealthState.Status.UNHEALTHY).orElse(false));

      assertThat(pod.exec("touch", "/tmp/ok").exitCode()).isZero();
      poll("healthy", () -> pod.health().map(h -> h.status() == HealthState.Status.HEALTHY).orElse(false));
      assertThat(pod.health().orElseThrow().failingStreak()).isZero();
      poll("healthy in list()", () -> info(pod).health()
          .map(h -> h.status() == HealthState.Status.HEALTHY).orElse(false));

      // nothing more from here: health probes (every 500 ms) and status reads are not activity
      long vmm = info(pod).vmmPid().orElseThrow();
      poll("the idle pod's VM to power off", () -> ProcessHandle.of(vmm).map(p -> !p.isAlive()).orElse(true));
      poll("the podEnded event", () -> recorder.events.contains("ended idle-timeout"));
      assertThat(recorder.events).containsSubsequence("health unhealthy", "health healthy", "ended idle-timeout");
      assertThat(runtimeList().stream().filter(i -> i.id().equals(pod.id())))
          .allSatisfy(i -> assertThat(i.endReason()).contains("idle-timeout"));
    } finally {
      pod.close();
    }
    assertThat(runtimeList()).noneMatch(i -> i.id().equals(pod.id()));
    assertThat(Leaks.of(pod.id())).isEmpty();
  }

  @Test
  void aDetachedPodPastItsMaxLifetimeIsGoneWithNothingLeftAfterItsJvmExited() throws Exception {
    String id;
    // 10 s from the container's start (the agent arms it), waited out whole: the child JVM's exit
    // and the first list() below come well within it
    try (ChildJvm first = ChildJvm.start("start-detached-lifetime", "10")) {
      id = first.await("POD ", Duration.ofMinutes(4));
      assertThat(first.waitFor(Duration.ofSeconds(30))).isZero();
    }
    MicroPodRuntime runtime = MicroPodRuntime.defaultRuntime();
    StateDirectory state = new StateDirectory(runtime.configDir());
    Path consoleLog = runtime.configDir().resolve("logs").resolve(id + ".log");
    try {
      assertThat(runtime.list()).anyMatch(i -> i.id().equals(id));
      poll("the pod gone from list()", () -> runtime.list().stream().noneMatch(i -> i.id().equals(id)));
      assertThat(state.read(id)).isEmpty();
      assertThat(Leaks.of(id)).isEmpty();
      assertThat(ConsoleStates.read(consoleLog).endReason())
          .as("the kept console log says why it ended").isEqualTo("max-lifetime");
    } finally {
      state.read(id).ifPresent(r -> r.processes()
          .forEach(p -> io.micropod.internal.state.ProcStat.killIfSame(p.pid(), p.startTime())));
      Files.deleteIfExists(consoleLog);
    }
  }

  /** The busybox test image with {@code healthcheckJson} as its config's {@code Healthcheck}. */
  private static String imageWithHealthcheck(Path dir, String name, String healthcheckJson) throws Exception {
    return "oci:" + TestImage.withHealthcheck(Path.of(TestImages.busybox().substring("oci:".length())),
        healthcheckJson, dir.resolve(name));
  }

  @Test
  void anImagesHealthcheckRunsWithoutOneOnTheSpecStartingThenUnhealthyThenHealthy(@TempDir Path dir)
      throws Exception {
    // durations in nanoseconds, as Docker writes them: 500 ms, 20 s, 4 s; failures in the start
    // period do not count, so the pod is STARTING at first although /tmp/ok is absent
    String image = imageWithHealthcheck(dir, "healthcheck", "{\"Test\":[\"CMD-SHELL\",\"echo probing; test -f /tmp/ok\"],"
        + "\"Interval\":500000000,\"Timeout\":20000000000,\"StartPeriod\":4000000000,\"Retries\":2}");
    Recorder recorder = new Recorder();
    try (MicroPod pod = MicroPod.builder().image(image).listener(recorder).command("sleep", "3600").start()) {
      assertThat(pod.health()).as("the image's check applies").get()
          .extracting(HealthState::status).isEqualTo(HealthState.Status.STARTING);

      poll("unhealthy", () -> pod.health().map(h -> h.status() == HealthState.Status.UNHEALTHY).orElse(false));
      assertThat(pod.health().orElseThrow().failingStreak()).isGreaterThanOrEqualTo(2);
      assertThat(pod.health().orElseThrow().lastOutput()).contains("probing");
      poll("unhealthy in list()", () -> info(pod).health()
          .map(h -> h.status() == HealthState.Status.UNHEALTHY).orElse(false));

      assertThat(pod.exec("touch", "/tmp/ok").exitCode()).isZero();
      poll("healthy", () -> pod.health().map(h -> h.status() == HealthState.Status.HEALTHY).orElse(false));
      poll("healthy in list()", () -> info(pod).health()
          .map(h -> h.status() == HealthState.Status.HEALTHY).orElse(false));
      poll("the healthy event", () -> recorder.events.contains("health healthy"));
      assertThat(recorder.events).containsSubsequence("health unhealthy", "health healthy");

      // what inspect shows is the check that runs, as docker inspect's Config.Healthcheck
      assertThat(info(pod).config().orElseThrow().healthcheck()).as("PodInfo.config().healthcheck() of a pod running the image's check")
          .contains(HealthCheck.builder().command("/bin/sh", "-c", "echo probing; test -f /tmp/ok")
              .interval(Duration.ofMillis(500)).timeout(Duration.ofSeconds(20)).startPeriod(Duration.ofSeconds(4))
              .retries(2).build());
    }
  }

  @Test
  void theSpecsHealthcheckReplacesTheImagesAndAnImagesNoneHasNoHealth(@TempDir Path dir) throws Exception {
    String failing = imageWithHealthcheck(dir, "failing", "{\"Test\":[\"CMD\",\"false\"],\"Interval\":500000000,"
        + "\"Retries\":1}");
    try (MicroPod pod = MicroPod.builder().image(failing).command("sleep", "3600")
        .healthcheck(HealthCheck.builder().command("true").interval(Duration.ofMillis(500)).build()).start()) {
      poll("healthy by the spec's check", () -> pod.health()
          .map(h -> h.status() == HealthState.Status.HEALTHY).orElse(false));
      assertThat(info(pod).config().orElseThrow().healthcheck().orElseThrow().command()).containsExactly("true");
    }
    String none = imageWithHealthcheck(dir, "none", "{\"Test\":[\"NONE\"]}");
    try (MicroPod pod = MicroPod.builder().image(none).command("sleep", "3600").start()) {
      assertThat(pod.health()).as("HEALTHCHECK NONE: no check").isEmpty();
      assertThat(info(pod).health()).isEmpty();
      assertThat(info(pod).config().orElseThrow().healthcheck()).isEmpty();
    }
  }

  private static List<PodInfo> runtimeList() {
    return MicroPodRuntime.defaultRuntime().list();
  }

  private static PodInfo info(MicroPod pod) {
    return runtimeList().stream().filter(i -> i.id().equals(pod.id())).findFirst().orElseThrow();
  }

  private static void poll(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("timed out after " + TIMEOUT + " waiting for " + what);
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
    }
  }
}
