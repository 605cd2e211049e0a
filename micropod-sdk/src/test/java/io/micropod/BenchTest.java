package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class BenchTest {
  private static final String MEMINFO = "MemTotal:       24589056 kB\nMemFree:         1234567 kB\n"
      + "MemAvailable:    3145728 kB\nBuffers:          100000 kB\n";

  @Test
  void memAvailableIsReadFromMeminfoInKib() {
    assertThat(Bench.memAvailableKib(MEMINFO)).isEqualTo(3_145_728L);
  }

  @Test
  void meminfoWithoutMemAvailableIsRefused() {
    assertThatThrownBy(() -> Bench.memAvailableKib("MemTotal: 1 kB\n")).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("MemAvailable");
  }

  @Test
  void p6StartsAnotherPodWhileUnderTheMaxAndAboveTheFloor() {
    assertThat(Bench.p6StopReason(10, 64, 3L << 20, 2048)).isNull();
  }

  @Test
  void p6StopsAtTheMax() {
    assertThat(Bench.p6StopReason(64, 64, 20L << 20, 2048)).isEqualTo("reached --p6-max 64");
  }

  @Test
  void p6StopsWhenTheHostsMemAvailableFallsBelowTheFloorAndSaysBoth() {
    assertThat(Bench.p6StopReason(40, 64, 2047L * 1024, 2048))
        .isEqualTo("host MemAvailable 2047 MiB < --p6-floor-mib 2048");
    assertThat(Bench.p6StopReason(40, 64, 2048L * 1024, 2048)).isNull();
  }

  @Test
  void p6StopsWhenItsTimeBudgetIsSpentAndNeverWithoutOne() {
    assertThat(Bench.p6StopReason(30, 64, 10L << 20, 2048, 1200, 1200)).isEqualTo("--p6-budget-s 1200 spent (1200 s)");
    assertThat(Bench.p6StopReason(30, 64, 10L << 20, 2048, 1199, 1200)).isNull();
    assertThat(Bench.p6StopReason(30, 64, 10L << 20, 2048, 99_999, 0)).isNull();
    assertThat(Bench.p6StopReason(64, 64, 10L << 20, 2048, 99_999, 10)).isEqualTo("reached --p6-max 64");
  }
}
