package io.micropod.testkit.examples;

import io.micropod.MicroPod;
import io.micropod.event.MicroPodListener;
import io.micropod.event.Phase;
import io.micropod.testkit.ManagedPod;
import io.micropod.testkit.MicroPodContainer;
import io.micropod.testkit.TestImages;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * A class pod, a pod per test and a nested class; LifecycleIT runs it with the JUnit Platform
 * TestKit and checks which pods each test saw and when each was stopped. Boots 3 pods.
 */
public class LifecycleExample {
  /** "test <name> class=<id> test=<id>" per test, "stopped <id>" per closed pod, in order. */
  public static final List<String> log = Collections.synchronizedList(new ArrayList<>());

  static final MicroPodListener STOPS = new MicroPodListener() {
    @Override
    public void phaseEnd(String podId, Phase phase, Duration took) {
      if (phase == Phase.STOP) {
        log.add("stopped " + podId);
      }
    }
  };

  @MicroPodContainer
  static final ManagedPod classPod = ManagedPod.of(MicroPod.builder()
      .image(TestImages.busybox()).command("sleep", "600").listener(STOPS));

  @MicroPodContainer
  final ManagedPod testPod = ManagedPod.of(MicroPod.builder()
      .image(TestImages.busybox()).command("sleep", "600").listener(STOPS));

  @Test
  void outer() {
    record("outer", testPod);
  }

  void record(String test, ManagedPod perTest) {
    // both pods answer: they run during the test
    classPod.exec("true");
    perTest.exec("true");
    log.add("test " + test + " class=" + classPod.id() + " test=" + perTest.id());
  }

  @Nested
  class Inner {
    @Test
    void inner() {
      record("inner", testPod);
    }
  }
}
