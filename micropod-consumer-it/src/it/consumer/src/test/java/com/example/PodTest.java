package com.example;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.micropod.MicroPod;
import io.micropod.testkit.ManagedPod;
import io.micropod.testkit.MicroPodContainer;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PodTest {
  @MicroPodContainer
  static final ManagedPod pod = ManagedPod.of(MicroPod.builder()
      .image(System.getProperty("micropod.it.image")).command("sleep", "600"));

  @Test
  void execRunsInThePod() {
    assertEquals("hi\n", pod.exec("echo", "hi").stdout());
  }
}
