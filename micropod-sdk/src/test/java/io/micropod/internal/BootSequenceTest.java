package io.micropod.internal;

import static io.micropod.event.Phase.AGENT_CONNECT;
import static io.micropod.event.Phase.CONTAINER_START;
import static io.micropod.event.Phase.IMAGE_PULL;
import static io.micropod.event.Phase.ROOTFS_PREPARE;
import static io.micropod.event.Phase.VM_BOOT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.micropod.ImageException;
import io.micropod.MicroPodException;
import io.micropod.VmStartException;
import io.micropod.event.MicroPodListener;
import io.micropod.event.Phase;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class BootSequenceTest {

  /** Records what happened, in order: listener events and step/cleanup actions. */
  static final class Recorder implements MicroPodListener {
    final List<String> log = new ArrayList<>();

    @Override
    public void phaseStart(String podId, Phase phase) {
      log.add("start " + phase);
    }

    @Override
    public void phaseEnd(String podId, Phase phase, Duration took) {
      log.add("end " + phase);
    }

    @Override
    public void phaseFailed(String podId, Phase phase, Throwable cause) {
      log.add("failed " + phase + " " + cause.getClass().getSimpleName());
    }
  }

  private final Recorder recorder = new Recorder();

  @AfterEach
  void clearInterrupt() {
    Thread.interrupted();
  }

  private BootStep<List<String>> step(String id, Phase phase) {
    return BootStep.of(id, phase, (ctx, cleanup) -> {
      ctx.add("run " + id);
      cleanup.push(id, () -> ctx.add("undo " + id));
    });
  }

  private BootStep<List<String>> failing(String id, Phase phase, Exception e) {
    return BootStep.of(id, phase, (ctx, cleanup) -> {
      ctx.add("run " + id);
      throw e;
    });
  }

  @Test
  void runsStepsInOrderAndReportsEachPhaseOnce() {
    BootSequence<List<String>> seq = new BootSequence<>("pod1", recorder, List.of(
        step("image.resolve", IMAGE_PULL),
        step("rootfs.prepare", ROOTFS_PREPARE),
        step("virtiofs.start", ROOTFS_PREPARE),
        step("vmm.spawn", VM_BOOT),
        step("agent.connect", AGENT_CONNECT),
        step("container.create", CONTAINER_START),
        step("container.start", CONTAINER_START)));
    List<String> ctx = new ArrayList<>();
    CleanupStack cleanup = new CleanupStack("pod1");

    Map<String, Duration> took = seq.run(ctx, cleanup);

    assertThat(ctx).containsExactly("run image.resolve", "run rootfs.prepare", "run virtiofs.start",
        "run vmm.spawn", "run agent.connect", "run container.create", "run container.start");
    assertThat(recorder.log).containsExactly(
        "start IMAGE_PULL", "end IMAGE_PULL",
        "start ROOTFS_PREPARE", "end ROOTFS_PREPARE",
        "start VM_BOOT", "end VM_BOOT",
        "start AGENT_CONNECT", "end AGENT_CONNECT",
        "start CONTAINER_START", "end CONTAINER_START");
    assertThat(took).containsOnlyKeys("image.resolve", "rootfs.prepare", "virtiofs.start",
        "vmm.spawn", "agent.connect", "container.create", "container.start");
    assertThat(cleanup.size()).isEqualTo(7);
  }

  @Test
  void failedStepUndoesEverythingBeforeItInReverseAndRethrowsTheDomainException() {
    VmStartException boom = new VmStartException("qemu died", null, "pod1", VM_BOOT, "vmm.spawn", "");
    BootSequence<List<String>> seq = new BootSequence<>("pod1", recorder, List.of(
        step("image.resolve", IMAGE_PULL),
        step("rootfs.prepare", ROOTFS_PREPARE),
        step("virtiofs.start", ROOTFS_PREPARE),
        failing("vmm.spawn", VM_BOOT, boom),
        step("agent.connect", AGENT_CONNECT)));
    List<String> ctx = new ArrayList<>();
    CleanupStack cleanup = new CleanupStack("pod1");

    assertThatThrownBy(() -> seq.run(ctx, cleanup)).isSameAs(boom);

    assertThat(ctx).containsExactly("run image.resolve", "run rootfs.prepare", "run virtiofs.start",
        "run vmm.spawn", "undo virtiofs.start", "undo rootfs.prepare", "undo image.resolve");
    assertThat(recorder.log).containsExactly(
        "start IMAGE_PULL", "end IMAGE_PULL",
        "start ROOTFS_PREPARE", "end ROOTFS_PREPARE",
        "start VM_BOOT", "failed VM_BOOT VmStartException");
    assertThat(cleanup.size()).isZero();
  }

  @Test
  void cleanupFailuresAreSuppressedAndTheRestStillRuns() {
    ImageException boom = new ImageException("oci:/x:latest", "bad layer");
    BootSequence<List<String>> seq = new BootSequence<>("pod1", recorder, List.of(
        step("one", IMAGE_PULL),
        BootStep.of("two", IMAGE_PULL, (ctx, cleanup) -> cleanup.push("two", () -> {
          throw new IOException("cannot delete");
        })),
        step("three", ROOTFS_PREPARE),
        failing("four", ROOTFS_PREPARE, boom)));
    List<String> ctx = new ArrayList<>();

    Throwable thrown = catchThrowable(() -> seq.run(ctx, new CleanupStack("pod1")));

    assertThat(thrown).isSameAs(boom);
    assertThat(thrown.getSuppressed()).singleElement().isInstanceOf(IOException.class);
    assertThat(ctx).containsSubsequence("undo three", "undo one");
  }

  @Test
  void executionExceptionsAreUnwrapped() {
    ImageException cause = new ImageException("oci:/x:latest", "missing blob");
    BootSequence<List<String>> seq = new BootSequence<>("pod1", recorder, List.of(
        failing("image.resolve", IMAGE_PULL, new ExecutionException(cause))));

    assertThatThrownBy(() -> seq.run(new ArrayList<>(), new CleanupStack("pod1"))).isSameAs(cause);
  }

  @Test
  void completionExceptionsAreUnwrappedToo() {
    ImageException cause = new ImageException("oci:/x:latest", "missing blob");
    BootSequence<List<String>> seq = new BootSequence<>("pod1", recorder, List.of(
        BootStep.of("image.resolve", IMAGE_PULL,
            (ctx, cleanup) -> CompletableFuture.failedFuture(cause).join())));

    assertThatThrownBy(() -> seq.run(new ArrayList<>(), new CleanupStack("pod1"))).isSameAs(cause);
  }

  @Test
  void otherExceptionsAreWrappedNamingTheStepPodAndPhase() {
    BootSequence<List<String>> seq = new BootSequence<>("pod1", recorder, List.of(
        failing("virtiofs.start", ROOTFS_PREPARE, new IOException("disk full"))));

    assertThatThrownBy(() -> seq.run(new ArrayList<>(), new CleanupStack("pod1")))
        .isExactlyInstanceOf(MicroPodException.class)
        .hasMessageContaining("virtiofs.start").hasMessageContaining("pod1").hasMessageContaining("disk full")
        .satisfies(e -> {
          assertThat(((MicroPodException) e).podId()).isEqualTo("pod1");
          assertThat(((MicroPodException) e).phase()).hasValue(ROOTFS_PREPARE);
        });
  }

  @Test
  void interruptIsRestoredAfterUnwinding() {
    List<String> ctx = new ArrayList<>();
    BootSequence<List<String>> seq = new BootSequence<>("pod1", recorder, List.of(
        step("vmm.spawn", VM_BOOT),
        failing("agent.connect", AGENT_CONNECT, new InterruptedException())));

    Throwable thrown = catchThrowable(() -> seq.run(ctx, new CleanupStack("pod1")));

    assertThat(thrown).isInstanceOf(MicroPodException.class).hasMessageContaining("interrupted");
    assertThat(Thread.currentThread().isInterrupted()).isTrue();
    assertThat(ctx).endsWith("undo vmm.spawn");
  }

  @Test
  void listenerExceptionsAreSwallowed() {
    MicroPodListener throwing = new MicroPodListener() {
      @Override
      public void phaseStart(String podId, Phase phase) {
        throw new IllegalStateException("listener bug");
      }

      @Override
      public void phaseEnd(String podId, Phase phase, Duration took) {
        throw new IllegalStateException("listener bug");
      }
    };
    List<String> ctx = new ArrayList<>();

    new BootSequence<>("pod1", throwing, List.of(step("a", IMAGE_PULL), step("b", VM_BOOT)))
        .run(ctx, new CleanupStack("pod1"));

    assertThat(ctx).containsExactly("run a", "run b");
  }

  @Test
  void errorsAlsoUnwind() {
    List<String> ctx = new ArrayList<>();
    BootSequence<List<String>> seq = new BootSequence<>("pod1", recorder, List.of(
        step("a", IMAGE_PULL),
        BootStep.of("b", VM_BOOT, (c, cleanup) -> {
          throw new OutOfMemoryError("test");
        })));

    assertThatThrownBy(() -> seq.run(ctx, new CleanupStack("pod1"))).isInstanceOf(OutOfMemoryError.class);
    assertThat(ctx).containsExactly("run a", "undo a");
  }

  @Test
  void realPodStepsHaveTheDocumentedIdsAndPhases() {
    assertThat(PodStarter.steps()).extracting(BootStep::id).containsExactly(
        "image.resolve", "rootfs.prepare", "console.log.create", "state.write", "poddir.create",
        "sockdir.create", "virtiofs.start", "mounts.share", "ports.bind", "network.attach",
        "vmm.spawn", "agent.connect", "agent.relay", "container.create", "container.copy", "container.start",
        "ports.start", "network.announce");
    assertThat(PodStarter.steps()).extracting(BootStep::phase).containsExactly(
        IMAGE_PULL, ROOTFS_PREPARE, ROOTFS_PREPARE, ROOTFS_PREPARE, ROOTFS_PREPARE, ROOTFS_PREPARE,
        ROOTFS_PREPARE, ROOTFS_PREPARE, VM_BOOT, VM_BOOT, VM_BOOT, AGENT_CONNECT,
        AGENT_CONNECT, CONTAINER_START, CONTAINER_START, CONTAINER_START, CONTAINER_START, CONTAINER_START);
  }

  @Test
  void aStepResultReadBeforeItsStepRanNamesThatStep() {
    StepResult<String> result = new StepResult<>("vmm.spawn");

    assertThat(result.orNull()).isNull();
    assertThatThrownBy(result::get).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("step vmm.spawn has not run");
  }

  @Test
  void aStepResultIsSetOnce() {
    StepResult<String> result = new StepResult<>("vmm.spawn");
    result.set("vm");

    assertThat(result.get()).isEqualTo("vm");
    assertThatThrownBy(() -> result.set("another")).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("vmm.spawn").hasMessageContaining("twice");
    assertThat(result.get()).isEqualTo("vm");
  }

  @Test
  void cleanupStackRunsEachCleanupOnceNewestFirst() {
    List<String> done = new ArrayList<>();
    CleanupStack stack = new CleanupStack("pod1");
    stack.push("a", () -> done.add("a"));
    stack.push("b", () -> done.add("b"));
    stack.push("c", () -> {
      throw new IllegalStateException("c failed");
    });

    List<Throwable> failures = stack.runAll();
    List<Throwable> again = stack.runAll();

    assertThat(done).containsExactly("b", "a");
    assertThat(failures).singleElement().satisfies(t -> assertThat(t).hasMessage("c failed"));
    assertThat(again).isEmpty();
  }
}
