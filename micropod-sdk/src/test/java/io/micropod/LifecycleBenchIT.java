package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.internal.BenchProbes;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Figures for the lifecycle issue's closing note, not run in CI (minutes under TCG): run with
 * {@code -Dit.test=LifecycleBenchIT -Dmicropod.bench=true}.
 */
@EnabledIfSystemProperty(named = "micropod.bench", matches = "true")
class LifecycleBenchIT {
  private static final int N = Integer.getInteger("micropod.bench.n", 100);

  @Test
  void execRoundTripPingAndStdoutThroughput() {
    try (MicroPod pod = MicroPod.builder().image(TestImages.busybox()).command("sleep", "3600").start()) {
      long[] ping = new long[N];
      for (int i = 0; i < N; i++) {
        ping[i] = BenchProbes.ping(pod).toNanos();
      }
      long[] exec = new long[N];
      for (int i = 0; i < N; i++) {
        long t0 = System.nanoTime();
        assertThat(pod.exec("true").exitCode()).isZero();
        exec[i] = System.nanoTime() - t0;
      }
      long t0 = System.nanoTime();
      ExecResult big = pod.exec("head", "-c", "104857600", "/dev/zero");
      double secs = (System.nanoTime() - t0) / 1e9;
      assertThat(big.stdout().length()).isEqualTo(104857600);
      System.out.printf("GetInfo ping median %.2f ms, exec `true` median %.1f ms (n=%d); "
              + "exec stdout 100 MiB in %.1f s = %.1f MB/s%n",
          median(ping) / 1e6, median(exec) / 1e6, N, secs, 104857600 / secs / 1e6);
    }
  }

  private static double median(long[] v) {
    long[] s = v.clone();
    Arrays.sort(s);
    return s[s.length / 2];
  }
}
