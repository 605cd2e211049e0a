package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * One real pod (QEMU, guest agent, runc) shared by the tests of this class: boots cost seconds.
 * Subclasses run every test again on a pod made by their {@link #newPod()} (BlockRootfsPodIT).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RunningPodIT {

  MicroPod pod;
  /** The runtime of {@link #newPodOnOwnRuntime}, closed after the pod; null for the default one. */
  private MicroPodRuntime ownRuntime;

  @BeforeAll
  void startPod() {
    pod = newPod();
  }

  MicroPod newPod() {
    return podSpec().start();
  }

  /** The pod every test here expects, on the default runtime unless {@code runtime(..)} is set. */
  static MicroPodSpec.Builder podSpec() {
    return MicroPod.builder()
        .image(TestImages.busybox())
        .command("sleep", "3600")
        .env("GREETING", "hello from env")
        .workingDir("/tmp");
  }

  /**
   * Starts {@link #podSpec()} on a runtime of its own whose environment is this process's with
   * {@code overrides} (subclasses that run the same tests under other settings).
   */
  MicroPod newPodOnOwnRuntime(Map<String, String> overrides) {
    Map<String, String> env = new HashMap<>(System.getenv());
    env.putAll(overrides);
    ownRuntime = MicroPodRuntime.builder().home(TestImages.home()).environment(env).build();
    return podSpec().runtime(ownRuntime).start();
  }

  @AfterAll
  void closePod() {
    try {
      if (pod != null) {
        pod.close();
        assertThat(Leaks.of(pod.id())).isEmpty();
      }
    } finally {
      if (ownRuntime != null) {
        ownRuntime.close();
      }
    }
  }

  /**
   * The OCI runtime the guest should run this class's pod with: {@code MICROPOD_OCI_RUNTIME}, else
   * the guest image's default, crun.
   */
  String expectedRuntime() {
    String chosen = System.getenv("MICROPOD_OCI_RUNTIME");
    return chosen == null || chosen.isBlank() ? "crun" : chosen.strip();
  }

  @Test
  void theGuestRunsTheChosenOciRuntimeAndReportsIt() {
    assertThat(io.micropod.internal.BenchProbes.runtimeVersion(pod)).startsWith(expectedRuntime() + " version ");
  }

  @Test
  void execReturnsStdoutAndExitCode() {
    ExecResult result = pod.exec("echo", "hi");

    assertThat(result.exitCode()).isZero();
    assertThat(result.stdout()).isEqualTo("hi\n");
    assertThat(result.stderr()).isEmpty();
  }

  @Test
  void execReportsStderrAndNonZeroExitCode() {
    ExecResult result = pod.exec("sh", "-c", "echo out; echo bad >&2; exit 7");

    assertThat(result.exitCode()).isEqualTo(7);
    assertThat(result.stdout()).isEqualTo("out\n");
    assertThat(result.stderr()).isEqualTo("bad\n");
  }

  @Test
  void execSeesTheContainersEnvAndWorkingDir() {
    ExecResult result = pod.exec("sh", "-c", "echo \"$GREETING\"; pwd");

    assertThat(result.stdout()).isEqualTo("hello from env\n/tmp\n");
  }

  @Test
  void execOfAMissingExecutableExitsWith127() {
    ExecResult result = pod.exec("/no/such/binary");

    assertThat(result.exitCode()).isEqualTo(127);
    assertThat(result.stderr()).contains("/no/such/binary");
  }

  @Test
  void containerRunsInsideAVirtualMachineWithItsOwnKernel() throws IOException {
    String hostKernel = Files.readString(Path.of("/proc/sys/kernel/osrelease")).trim();

    String guestKernel = pod.exec("uname", "-r").stdout().trim();

    assertThat(guestKernel).endsWith("-cloud-amd64").isNotEqualTo(hostKernel);
    assertThat(pod.exec("cat", "/proc/1/cmdline").stdout()).startsWith("sleep");
  }

  @Test
  void writesInTheContainerDoNotChangeTheCachedImage() throws IOException {
    ExecResult write = pod.exec("sh", "-c",
        "echo changed > /etc/passwd && echo new > /bin/added && rm /bin/ls && cat /etc/passwd");
    assertThat(write.exitCode()).as(write.toString()).isZero();
    assertThat(write.stdout()).isEqualTo("changed\n");

    List<Path> trees = unpackedImageTrees();
    assertThat(trees).isNotEmpty();
    for (Path tree : trees) {
      assertThat(Files.readString(tree.resolve("etc/passwd"))).doesNotContain("changed");
      assertThat(tree.resolve("bin/added")).doesNotExist();
      assertThat(tree.resolve("bin/ls")).exists();
    }
  }

  private static List<Path> unpackedImageTrees() throws IOException {
    Path store = TestImages.home().resolve("store").resolve("rootfs");
    try (Stream<Path> dirs = Files.list(store)) {
      return dirs.filter(d -> Files.isRegularFile(d.resolve("etc/passwd"))).toList();
    }
  }
}
