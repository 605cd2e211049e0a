package io.micropod.testkit.examples;

import io.micropod.MicroPod;
import io.micropod.MicroPodSpec;
import io.micropod.event.MicroPodListener;
import io.micropod.event.Phase;
import io.micropod.testkit.ManagedPod;
import io.micropod.testkit.MicroPodContainer;
import io.micropod.testkit.MicroPodContainer.Scope;
import io.micropod.testkit.TestImages;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Two test classes sharing one session pod through equal specs; LifecycleIT runs them. */
public final class SessionExamples {
  /** "<class> <pod id>" per test, "stopped <id>" per closed pod, in order. */
  public static final List<String> log = Collections.synchronizedList(new ArrayList<>());

  static final MicroPodListener STOPS = new MicroPodListener() {
    @Override
    public void phaseEnd(String podId, Phase phase, Duration took) {
      if (phase == Phase.STOP) {
        log.add("stopped " + podId);
      }
    }
  };

  /** A new but equal spec on each call: sessions share pods by spec equality. */
  static MicroPodSpec database() {
    return MicroPod.builder().image(TestImages.busybox()).command("sleep", "600")
        .listener(STOPS).build();
  }

  private SessionExamples() {}

  // tag::session[]
  public static class First {
    @MicroPodContainer(scope = Scope.SESSION)
    static final MicroPodSpec db = database();

    @Test
    void usesTheSessionPod(MicroPod pod) {
      pod.exec("true");
      log.add("First " + pod.id());
    }
  }
  // end::session[]

  public static class Second {
    @MicroPodContainer(scope = Scope.SESSION)
    final ManagedPod db = ManagedPod.of(database());

    @Test
    void usesTheSamePod() {
      db.exec("true");
      log.add("Second " + db.id());
    }
  }
}
