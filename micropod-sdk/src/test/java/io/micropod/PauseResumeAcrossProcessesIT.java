package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code micropod pause} from one process, {@code micropod resume} from the next, several times on
 * one detached pod (docs/internals: the agent channel's sessions). The first process's
 * disconnect and the second's connect both happen while the guest is paused, so the guest's
 * relay does not see the port's EOF between them: the second process's HTTP/2 preface must still
 * begin a fresh connection to the agent, not land in the first one's (whose server rejects it
 * as a frame of length 0x505249, "PRI", and answers with a GOAWAY).
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class PauseResumeAcrossProcessesIT {
  private static final Duration CHILD = Duration.ofMinutes(2);
  /** What the agent's server logs when a host's preface lands inside an older HTTP/2 session. */
  static final String PREFACE_IN_OLD_SESSION = "Frame length: 5263945";

  @Test
  void eachProcessThatResumesAPausedPodGetsAFreshAgentConnection() throws Exception {
    String name = "pauseres-" + ProcessHandle.current().pid();
    String id = ChildJvm.startDetached(name);
    MicroPodRuntime runtime = MicroPodRuntime.defaultRuntime();
    Path console = runtime.configDir().resolve("logs").resolve(id + ".log");
    List<String> attachMs = new ArrayList<>();
    try {
      for (int round = 1; round <= 3; round++) {
        try (ChildJvm pause = ChildJvm.start("pause-of", id)) {
          pause.await("PAUSED ", CHILD);
          assertThat(pause.waitFor(CHILD)).as(pause.output()).isZero();
        }
        try (ChildJvm resume = ChildJvm.start("resume-and-exec", id, "round-" + round)) {
          assertThat(resume.await("EXEC ", CHILD)).as(resume.output()).isEqualTo("round-" + round);
          attachMs.add(resume.await("ATTACH_MS ", CHILD));
          assertThat(resume.waitFor(CHILD)).as(resume.output()).isZero();
        }
      }
      System.out.println("PauseResumeAcrossProcessesIT: attach of a paused pod (ms): " + attachMs);
      assertThat(Files.readString(console))
          .as("the guest's console (%s): a preface read inside an older session", console)
          .doesNotContain(PREFACE_IN_OLD_SESSION);
    } finally {
      try (MicroPod pod = runtime.attach(id)) {
        pod.resume();
      }
    }
    assertThat(Leaks.of(id)).isEmpty();
  }
}
