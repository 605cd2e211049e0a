package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * runc, kept as the alternative OCI runtime: every container test of {@link RunningPodIT} runs
 * again (inherited) on a pod whose guest runs runc ({@code MICROPOD_OCI_RUNTIME=runc}, kernel
 * command line {@code micropod.runtime=runc}) instead of the default crun.
 */
class RuncPodIT extends RunningPodIT {

  @Override
  MicroPod newPod() {
    return newPodOnOwnRuntime(Map.of("MICROPOD_OCI_RUNTIME", "runc", "MICROPOD_VMM", "qemu"));
  }

  @Override
  String expectedRuntime() {
    return "runc";
  }

  @Test
  void theHostAsksForRuncOnTheKernelCommandLine() {
    assertThat(pod.exec("cat", "/proc/cmdline").stdout()).contains(" micropod.runtime=runc");
  }
}
