package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * runc, kept as the alternative OCI runtime: every container test of {@link RunningPodIT} runs
 * again (inherited) on a pod whose guest runs runc ({@code MICROPOD_OCI_RUNTIME=runc}, kernel
 * command line {@code micropod.runtime=runc}) instead of the default crun.
 */
class RuncPodIT extends RunningPodIT {

  private MicroPodRuntime runtime;

  @Override
  MicroPod newPod() {
    Map<String, String> env = new HashMap<>(System.getenv());
    env.put("MICROPOD_OCI_RUNTIME", "runc");
    env.put("MICROPOD_VMM", "qemu");
    runtime = MicroPodRuntime.builder().home(TestImages.home()).environment(env).build();
    return MicroPod.builder()
        .runtime(runtime)
        .image(TestImages.busybox())
        .command("sleep", "3600")
        .env("GREETING", "hello from env")
        .workingDir("/tmp")
        .start();
  }

  @Override
  String expectedRuntime() {
    return "runc";
  }

  @Override
  void closePod() {
    try {
      super.closePod();
    } finally {
      if (runtime != null) {
        runtime.close();
      }
    }
  }

  @Test
  void theHostAsksForRuncOnTheKernelCommandLine() {
    assertThat(pod.exec("cat", "/proc/cmdline").stdout()).contains(" micropod.runtime=runc");
  }
}
