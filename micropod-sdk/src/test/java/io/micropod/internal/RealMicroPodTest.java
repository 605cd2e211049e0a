package io.micropod.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.agent.v1.GetInfoResponse;
import io.micropod.agent.v1.GuestBootTimings;
import io.micropod.internal.image.ProcessPlan;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class RealMicroPodTest {

  private static GetInfoResponse info(long initMs, long readyMs) {
    return GetInfoResponse.newBuilder().setBootTimings(GuestBootTimings.newBuilder()
        .setInitStartedMs(initMs).setAgentMainMs(initMs + 100).setAgentReadyMs(readyMs)).build();
  }

  @Test
  void vmBootUsesTheGuestClockAtTheAnswerWhenReported() {
    // host: answer 7200 ms after spawn; guest: answer built at uptime 6500 ms, so the kernel
    // started 700 ms after spawn; /init started at uptime 1300 ms.
    GetInfoResponse info = GetInfoResponse.newBuilder().setBootTimings(GuestBootTimings.newBuilder()
        .setInitStartedMs(1300).setAgentReadyMs(5000).setNowMs(6500)).build();

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
    assertThat(PodStarter.vmBoot(GetInfoResponse.getDefaultInstance(), Duration.ofMillis(5300)))
        .isZero();
    assertThat(PodStarter.vmBoot(info(9000, 9500), Duration.ofMillis(4000))).isEqualTo(Duration.ofMillis(4000));
  }

  @Test
  void processSpecCarriesThePlan() {
    ProcessPlan plan = new ProcessPlan(List.of("sleep", "1"), List.of("PATH=/bin", "A=b"), "/tmp", "1000:1000");

    var spec = ContainerSteps.processSpec(plan, List.of("echo", "hi"));

    assertThat(spec.getArgsList()).containsExactly("echo", "hi");
    assertThat(spec.getEnvList()).containsExactly("PATH=/bin", "A=b");
    assertThat(spec.getCwd()).isEqualTo("/tmp");
    assertThat(spec.getUser()).isEqualTo("1000:1000");
    assertThat(spec.getTerminal()).isFalse();
  }
}
