package io.micropod.internal.vm.firecracker;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.internal.vm.GuestNetworkConfig;
import org.junit.jupiter.api.Test;

class FirecrackerBootArgsTest {

  @Test
  void anOciRuntimeChoiceBecomesTheMicropodRuntimeKey() {
    assertThat(FirecrackerDriver.bootArgs(false, GuestNetworkConfig.NONE, "runc"))
        .startsWith(FirecrackerDriver.bootArgs(false) + " micropod.runtime=runc");
    assertThat(FirecrackerDriver.bootArgs(false, GuestNetworkConfig.NONE, ""))
        .isEqualTo(FirecrackerDriver.bootArgs(false, GuestNetworkConfig.NONE))
        .doesNotContain("micropod.runtime");
  }
}
