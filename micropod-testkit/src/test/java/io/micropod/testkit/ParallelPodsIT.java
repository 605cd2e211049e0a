package io.micropod.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.MicroPod;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

/**
 * Three tests with a pod each, run at the same time (the build turns on
 * {@code junit.jupiter.execution.parallel.enabled} with 3 threads; the methods, not the class,
 * are CONCURRENT, so that other test classes do not run beside them). A barrier proves the three
 * pods run at once; each must have its own id, hostname, sockets and files.
 */
class ParallelPodsIT {
  private static final int TESTS = 3;
  private static final CyclicBarrier allRunning = new CyclicBarrier(TESTS);
  private static final Set<String> ids = ConcurrentHashMap.newKeySet();

  @MicroPodContainer
  final ManagedPod pod = ManagedPod.of(MicroPod.builder()
      .image(TestImages.busybox())
      .command("sleep", "600"));

  @Test
  @Execution(ExecutionMode.CONCURRENT)
  void first() throws Exception {
    usesItsOwnPodWhileTheOthersRun();
  }

  @Test
  @Execution(ExecutionMode.CONCURRENT)
  void second() throws Exception {
    usesItsOwnPodWhileTheOthersRun();
  }

  @Test
  @Execution(ExecutionMode.CONCURRENT)
  void third() throws Exception {
    usesItsOwnPodWhileTheOthersRun();
  }

  private void usesItsOwnPodWhileTheOthersRun() throws Exception {
    String id = pod.id();
    assertThat(ids.add(id)).as("pod id %s already used by another test", id).isTrue();
    assertThat(Path.of("/tmp", "micropod-" + id)).isDirectory();
    pod.exec("sh", "-c", "echo " + id + " > /tmp/owner");

    // Generous: three TCG boots at once on a small, shared host.
    allRunning.await(240, TimeUnit.SECONDS);

    assertThat(pod.exec("hostname").stdout()).isEqualTo(id + "\n");
    assertThat(pod.exec("cat", "/tmp/owner").stdout()).isEqualTo(id + "\n");
  }

  @AfterAll
  static void threeDistinctPods() {
    assertThat(ids).hasSize(TESTS);
    // the method stores closed the pods before the class ends
    assertThat(ids).noneMatch(TestImages::leftovers);
  }
}
