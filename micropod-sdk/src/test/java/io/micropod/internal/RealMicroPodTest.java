package io.micropod.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.internal.agent.GuestInfo;
import io.micropod.internal.image.ProcessPlan;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class RealMicroPodTest {

  private static GuestInfo info(long initMs, long readyMs) {
    return new GuestInfo("", "", "", initMs, initMs + 100, readyMs, 0);
  }

  @Test
  void vmBootUsesTheGuestClockAtTheAnswerWhenReported() {
    // host: answer 7200 ms after spawn; guest: answer built at uptime 6500 ms, so the kernel
    // started 700 ms after spawn; /init started at uptime 1300 ms.
    GuestInfo info = new GuestInfo("", "", "", 1300, 0, 5000, 6500);

    assertThat(PodStarter.vmBoot(info, Duration.ofMillis(7200))).isEqualTo(Duration.ofMillis(2000));
  }

  @Test
  void vmBootAddsTheTimeBeforeTheKernelToTheGuestUptimeAtInit() {
    // host: agent answered 5300 ms after spawn; guest: agent ready at uptime 5000 ms, so the
    // kernel started ~300 ms after spawn; /init started at uptime 1800 ms.
    assertThat(PodStarter.vmBoot(info(1800, 5000), Duration.ofMillis(5300)))
        .isEqualTo(Duration.ofMillis(2100));
  }

  @Test
  void vmBootIsTheGuestUptimeWhenTheAgentReportsNoReadyTime() {
    assertThat(PodStarter.vmBoot(info(1800, 0), Duration.ofMillis(5300))).isEqualTo(Duration.ofMillis(1800));
  }

  @Test
  void vmBootIsZeroWhenTheGuestReportsNothingAndNeverExceedsAgentReady() {
    assertThat(PodStarter.vmBoot(new GuestInfo("", "", "", 0, 0, 0, 0), Duration.ofMillis(5300)))
        .isZero();
    assertThat(PodStarter.vmBoot(info(9000, 9500), Duration.ofMillis(4000))).isEqualTo(Duration.ofMillis(4000));
  }

  @Test
  void processSpecCarriesThePlan() {
    ProcessPlan plan = new ProcessPlan(List.of("sleep", "1"), List.of("PATH=/bin", "A=b"), "/tmp", "1000:1000");

    var spec = ContainerSteps.process(
        plan.withExec(List.of("echo", "hi"), java.util.Map.of(), java.util.Optional.empty(), java.util.Optional.empty()), false);

    assertThat(spec.args()).containsExactly("echo", "hi");
    assertThat(spec.env()).containsExactly("PATH=/bin", "A=b");
    assertThat(spec.cwd()).isEqualTo("/tmp");
    assertThat(spec.user()).isEqualTo("1000:1000");
    assertThat(spec.terminal()).isFalse();
  }
}
