package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class ValuesTest {

  @Test
  void bootTimingsPrintOnOneReadableLine() {
    BootTimings t = BootTimings.of(Duration.ofMillis(12), Duration.ofMillis(2100),
        Duration.ofMillis(5300), Duration.ofMillis(1100), Duration.ofMillis(6640));

    assertThat(t).hasToString("image 12 ms, vm boot 2.1 s, agent ready 5.3 s, container start 1.1 s, total 6.6 s");
  }

  @Test
  void execResultIsAValue() {
    ExecResult r = ExecResult.of(7, "out\n", "");

    assertThat(r).isEqualTo(ExecResult.of(7, "out\n", "")).hasSameHashCodeAs(ExecResult.of(7, "out\n", ""));
    assertThat(r.toString()).contains("exitCode=7").contains("out\\n");
  }

  @Test
  void hostUnsupportedListsEveryMissingThing() {
    HostUnsupportedException e = new HostUnsupportedException(List.of("qemu", "kernel"));

    assertThat(e.missing()).containsExactly("qemu", "kernel");
    assertThat(e).hasMessageContaining("- qemu").hasMessageContaining("- kernel");
    assertThat(e).isInstanceOf(MicroPodException.class);
    assertThat(e.podId()).isNull();
    assertThat(e.phase()).isEmpty();
  }

  @Test
  void vmStartExceptionCarriesStepAndConsoleTail() {
    VmStartException e = new VmStartException("QEMU exited", null, "abc", io.micropod.event.Phase.VM_BOOT,
        "vmm.spawn", "Kernel panic");

    assertThat(e.stepId()).isEqualTo("vmm.spawn");
    assertThat(e.consoleTail()).isEqualTo("Kernel panic");
    assertThat(e).hasMessageContaining("QEMU exited").hasMessageContaining("Kernel panic");
    assertThat(e.podId()).isEqualTo("abc");
    assertThat(e.phase()).hasValue(io.micropod.event.Phase.VM_BOOT);
  }
}
