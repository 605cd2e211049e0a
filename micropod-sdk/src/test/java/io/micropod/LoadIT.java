package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.internal.state.StateDirectory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * start/exec/stop cycles, several pods at a time, zero failures and zero leaks. CI runs 8 cycles
 * 2 at a time; {@code -Dmicropod.load.cycles=50 -Dmicropod.load.parallel=4} is the full run
 * (docs/reliability.md).
 */
class LoadIT {

  @Test
  void startExecStopCyclesLeaveNothingBehind() throws Exception {
    int cycles = Integer.getInteger("micropod.load.cycles", 8);
    int parallel = Integer.getInteger("micropod.load.parallel", 2);
    StateDirectory state = new StateDirectory(MicroPodRuntime.defaultRuntime().configDir());
    MicroPodRuntime.defaultRuntime().list(); // sweep what earlier runs left, before counting
    Snapshot before = Snapshot.take(state);
    List<String> ids = Collections.synchronizedList(new ArrayList<>());
    long t0 = System.nanoTime();
    ExecutorService pool = Executors.newFixedThreadPool(parallel);
    List<Future<?>> results = new ArrayList<>();
    for (int i = 0; i < cycles; i++) {
      int n = i;
      results.add(pool.submit(() -> {
        try (MicroPod pod = MicroPod.builder().image(TestImages.busybox()).command("sleep", "3600").start()) {
          ids.add(pod.id());
          ExecResult r = pod.exec("echo", "cycle-" + n);
          assertThat(r.exitCode()).isZero();
          assertThat(r.stdout()).isEqualTo("cycle-" + n + "\n");
        }
        return null;
      }));
    }
    List<Throwable> failures = new ArrayList<>();
    for (Future<?> f : results) {
      try {
        f.get();
      } catch (java.util.concurrent.ExecutionException e) {
        failures.add(e.getCause());
      }
    }
    pool.shutdown();
    long secs = (System.nanoTime() - t0) / 1_000_000_000L;
    System.out.printf("LoadIT: %d cycles, %d at a time, %d failures, %d s%n", cycles, parallel, failures.size(), secs);
    assertThat(failures).isEmpty();
    assertThat(ids).hasSize(cycles);
    for (String id : ids) {
      assertThat(Leaks.of(id)).as("leaks of pod %s", id).isEmpty();
    }
    assertThat(Snapshot.take(state)).isEqualTo(before);
  }

  /** Our records, our pod directories and our VM processes (by our home or config in the cmdline). */
  record Snapshot(List<String> records, List<String> podDirs, List<String> sockets, long vmProcesses) {
    static Snapshot take(StateDirectory state) throws Exception {
      List<String> records = list(state.dir(), "*.json");
      List<String> podDirs = list(TestImages.home().resolve("pods"), "*");
      List<String> sockets = new ArrayList<>();
      for (String id : records) {
        if (Files.exists(Path.of("/tmp", "micropod-" + id.replace(".json", "")))) {
          sockets.add(id);
        }
      }
      String home = TestImages.home().toString();
      long vms = ProcessHandle.allProcesses().filter(ProcessHandle::isAlive)
          .filter(p -> p.info().commandLine().map(c -> (c.contains("qemu-system") || c.contains("virtiofsd"))
              && c.contains(home)).orElse(false)).count();
      return new Snapshot(records, podDirs, sockets, vms);
    }

    private static List<String> list(Path dir, String glob) throws Exception {
      List<String> out = new ArrayList<>();
      if (Files.isDirectory(dir)) {
        try (var s = Files.newDirectoryStream(dir, glob)) {
          s.forEach(p -> out.add(p.getFileName().toString()));
        }
      }
      Collections.sort(out);
      return out;
    }
  }
}
