package io.micropod.testkit.examples;

import io.micropod.MicroPod;
import io.micropod.MicroPodRuntime;
import io.micropod.MicroPodSpec;
import io.micropod.testkit.MicroPodContainer;
import java.nio.file.Path;
import io.micropod.testkit.internal.MicroPodExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Test classes that ExtensionConfigurationTest runs with the JUnit Platform TestKit: none of them
 * boots a VM. Not run on their own (the build excludes this package).
 */
public final class ConfigurationExamples {
  private ConfigurationExamples() {}

  /** A runtime whose QEMU does not exist: what a host without a VMM looks like to the SDK. */
  static final MicroPodRuntime NO_VMM = MicroPodRuntime.builder()
      .qemuBinary(Path.of("/nonexistent/qemu-system-x86_64")).build();

  static MicroPodSpec.Builder specOnHostWithoutVmm() {
    return MicroPod.builder().runtime(NO_VMM).image("oci:/nonexistent/busybox").command("true");
  }

  /** The default: a host that cannot run pods fails the tests, with the reason. */
  public static class FailsWithoutVmm {
    @MicroPodContainer
    static final MicroPodSpec.Builder pod = specOnHostWithoutVmm();

    @Test
    void needsPod(MicroPod pod) {}
  }

  /** Opt-in: skip instead, with the reason. */
  public static class SkipsWithoutVmm {
    @MicroPodContainer(skipIfUnsupported = true)
    static final MicroPodSpec pod = specOnHostWithoutVmm().build();

    @Test
    void needsPod(MicroPod pod) {}
  }

  /** Opt-in on an instance field: each test is skipped. */
  public static class SkipsEachTestWithoutVmm {
    @MicroPodContainer(skipIfUnsupported = true)
    final MicroPodSpec pod = specOnHostWithoutVmm().build();

    @Test
    void first() {}

    @Test
    void second() {}
  }

  /** Snapshot mode on a host without VMM: the one failed boot fails every test with the reason. */
  public static class SnapshotModeWithoutVmm {
    @MicroPodContainer(snapshot = true)
    final MicroPodSpec pod = specOnHostWithoutVmm().build();

    @Test
    void first() {}

    @Test
    void second() {}
  }

  public static class SnapshotModeAndSession {
    @MicroPodContainer(snapshot = true, scope = MicroPodContainer.Scope.SESSION)
    static final MicroPodSpec pod = specOnHostWithoutVmm().build();

    @Test
    void test() {}
  }

  public static class NullField {
    @MicroPodContainer
    static MicroPodSpec pod;

    @Test
    void test() {}
  }

  public static class WrongType {
    @MicroPodContainer
    static final String pod = "alpine";

    @Test
    void test() {}
  }

  @ExtendWith(MicroPodExtension.class)
  public static class NoPodForParameter {
    @Test
    void test(MicroPod pod) {}
  }
}
