package io.micropod.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.testkit.engine.EventConditions.abortedWithReason;
import static org.junit.platform.testkit.engine.EventConditions.container;
import static org.junit.platform.testkit.engine.EventConditions.event;
import static org.junit.platform.testkit.engine.EventConditions.finishedWithFailure;
import static org.junit.platform.testkit.engine.EventConditions.test;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.instanceOf;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.message;

import io.micropod.HostUnsupportedException;
import io.micropod.testkit.examples.ConfigurationExamples;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Events;
import org.opentest4j.TestAbortedException;

/**
 * Runs the example classes of {@link ConfigurationExamples} with the JUnit Platform TestKit and
 * checks what a user sees: no VM boots here.
 */
class ExtensionConfigurationTest {

  private static Events run(Class<?> testClass) {
    return EngineTestKit.engine("junit-jupiter").selectors(selectClass(testClass)).execute().allEvents();
  }

  @Test
  void aHostWithoutVmmFailsTheClassWithTheReasonByDefault() {
    Events events = run(ConfigurationExamples.FailsWithoutVmm.class);

    events.assertThatEvents().haveExactly(1, event(container(ConfigurationExamples.FailsWithoutVmm.class),
        finishedWithFailure(instanceOf(HostUnsupportedException.class),
            message(m -> m.startsWith("this host cannot run MicroPod pods")
                && m.contains("qemu-system-x86_64 not found (or not executable) at /nonexistent/qemu-system-x86_64")))));
    assertThat(events.filter(e -> e.getType().name().equals("STARTED")
        && e.getTestDescriptor().isTest()).count()).isZero();
  }

  @Test
  void skipIfUnsupportedAbortsTheClassWithTheReason() {
    Events events = run(ConfigurationExamples.SkipsWithoutVmm.class);

    events.assertThatEvents().haveExactly(1, event(container(ConfigurationExamples.SkipsWithoutVmm.class),
        abortedWithReason(instanceOf(TestAbortedException.class),
            message(m -> m.startsWith("skipped (@MicroPodContainer(skipIfUnsupported = true) on "
                + "SkipsWithoutVmm.pod): this host cannot run MicroPod pods")
                && m.contains("/nonexistent/qemu-system-x86_64")))));
    events.assertThatEvents().noneMatch(e -> e.getTestDescriptor().isTest()
        && e.getType().name().equals("FINISHED"));
  }

  @Test
  void skipIfUnsupportedOnAnInstanceFieldAbortsEachTest() {
    Events tests = EngineTestKit.engine("junit-jupiter")
        .selectors(selectClass(ConfigurationExamples.SkipsEachTestWithoutVmm.class)).execute().testEvents();

    tests.assertStatistics(s -> s.started(2).aborted(2).failed(0).succeeded(0));
    tests.assertThatEvents().haveExactly(2, event(test(),
        abortedWithReason(message(m -> m.contains("this host cannot run MicroPod pods")))));
  }

  @Test
  void aNullFieldSaysHowToInitializeIt() {
    run(ConfigurationExamples.NullField.class).assertThatEvents().haveExactly(1, event(
        container(ConfigurationExamples.NullField.class),
        finishedWithFailure(instanceOf(ExtensionConfigurationException.class),
            message("@MicroPodContainer field NullField.pod is null: initialize it, e.g. with "
                + "ManagedPod.of(MicroPod.builder().image(..))"))));
  }

  @Test
  void aFieldOfAnotherTypeNamesTheTypesThatWork() {
    run(ConfigurationExamples.WrongType.class).assertThatEvents().haveExactly(1, event(
        container(ConfigurationExamples.WrongType.class),
        finishedWithFailure(instanceOf(ExtensionConfigurationException.class),
            message("@MicroPodContainer field WrongType.pod has type java.lang.String: use "
                + "ManagedPod, MicroPodSpec or MicroPodSpec.Builder"))));
  }

  @Test
  void aMicroPodParameterWithoutPodSaysWhatToDeclare() {
    run(ConfigurationExamples.NoPodForParameter.class).assertThatEvents().haveExactly(1, event(test(),
        finishedWithFailure(message(m -> m.contains("no @MicroPodContainer pod is visible to test(")
            && m.contains("annotate a static or instance field holding a MicroPodSpec")))));
  }

  @Test
  void snapshotModeOnAHostWithoutVmmFailsEachTestWithTheReason() {
    Events tests = EngineTestKit.engine("junit-jupiter")
        .selectors(selectClass(ConfigurationExamples.SnapshotModeWithoutVmm.class)).execute().testEvents();

    tests.assertStatistics(s -> s.started(2).failed(2).succeeded(0));
    tests.assertThatEvents().haveExactly(2, event(test(),
        finishedWithFailure(instanceOf(HostUnsupportedException.class),
            message(m -> m.contains("/nonexistent/qemu-system-x86_64")))));
  }

  @Test
  void snapshotModeWithSessionScopeSaysToChooseOne() {
    run(ConfigurationExamples.SnapshotModeAndSession.class).assertThatEvents().haveExactly(1, event(
        container(ConfigurationExamples.SnapshotModeAndSession.class),
        finishedWithFailure(instanceOf(ExtensionConfigurationException.class),
            message("@MicroPodContainer field SnapshotModeAndSession.pod has both scope = SESSION (one "
                + "pod shared by the run) and snapshot = true (a pod per test or class restored from a "
                + "snapshot): choose one"))));
  }
}
