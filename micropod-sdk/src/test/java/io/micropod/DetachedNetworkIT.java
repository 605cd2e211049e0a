package io.micropod;

import static io.micropod.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Detached pods on a network outlive the JVM that created the network and started them (exit
 * and SIGKILL): they keep reaching each other by alias, a later process joins and reaches them,
 * and once they are stopped the network's holder process exits and leaves nothing.
 */
class DetachedNetworkIT {

  /** Live processes whose command line names network {@code name}'s holder. */
  private static List<String> holders(String name) {
    return ProcessHandle.allProcesses().filter(ProcessHandle::isAlive)
        .flatMap(p -> p.info().commandLine().stream().map(c -> p.pid() + ": " + c))
        .filter(c -> c.contains("-Dmicropod.network-holder=" + name + " ")).toList();
  }

  private static String fetch(MicroPod pod, String url) {
    Instant deadline = Instant.now().plus(Duration.ofSeconds(60));
    ExecResult r;
    do {
      r = pod.exec("timeout", "5", "wget", "-q", "-O-", url);
    } while (r.exitCode() != 0 && Instant.now().isBefore(deadline));
    return r.stdout() + r.stderr();
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void detachedPodsKeepTheirNetworkAfterTheStartingJvmExitedAndALaterPodJoinsIt() throws Exception {
    survive("exit");
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void detachedPodsKeepTheirNetworkAfterTheStartingJvmWasSigkilled() throws Exception {
    survive("block");
  }

  private static void survive(String how) throws Exception {
    String name = "dnet-" + how + "-" + ProcessHandle.current().pid();
    MicroPodRuntime runtime = MicroPodRuntime.defaultRuntime();
    String db = null;
    String app = null;
    Path socketDir = null;
    MicroPod appPod = null;
    try (ChildJvm child = ChildJvm.start("net-detached", name, how)) {
      db = child.await("DB ", Duration.ofMinutes(4));
      app = child.await("APP ", Duration.ofMinutes(4));
      assertThat(child.await("REACHED ", Duration.ofMinutes(2))).isEqualTo("hello from db");
      Path record = TestImages.home().resolve("networks").resolve(name + ".json");
      socketDir = Path.of(new com.fasterxml.jackson.databind.ObjectMapper().readTree(record.toFile())
          .path("switchDirectory").asText());
      if (how.equals("exit")) {
        assertThat(child.waitFor(Duration.ofMinutes(1))).isZero();
      } else {
        child.process().destroyForcibly(); // SIGKILL: no shutdown hook runs
        assertThat(child.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
      }
      String dbId = db;
      String appId = app;
      assertThat(runtime.networks()).filteredOn(i -> i.name().equals(name)).singleElement()
          .satisfies(i -> assertThat(i.members()).containsExactlyInAnyOrder(dbId, appId));
      assertThat(holders(name)).hasSize(1);

      appPod = runtime.attach(app);
      assertThat(fetch(appPod, "http://db:8080/")).isEqualTo("hello from db\n");
      if (how.equals("exit")) {
        // a later process (this one) joins by name and reaches the survivors
        try (Network net = runtime.network(name);
             MicroPod late = MicroPod.builder().image(TestImages.busybox()).memoryMib(256).network(net)
                 .networkAliases("late").command("sleep", "3600").start()) {
          assertThat(fetch(late, "http://db:8080/")).isEqualTo("hello from db\n");
          assertThat(net.members()).containsExactlyInAnyOrder(dbId, appId, late.id());
        }
      }
      runtime.attach(db).close(); // closing an attached handle stops the pod
      appPod.close();
      eventually(Duration.ofSeconds(60), "the network goes once its pods are stopped",
          () -> runtime.networks().stream().noneMatch(i -> i.name().equals(name)));
      eventually(Duration.ofSeconds(30), "its holder exits", () -> holders(name).isEmpty());
      assertThat(record).doesNotExist();
      assertThat(socketDir).doesNotExist();
    } finally {
      if (appPod != null) {
        appPod.close();
      }
      for (String id : new String[] {db, app}) {
        if (id != null) {
          if (!Leaks.of(id).isEmpty()) {
            runtime.list(); // sweeps what a stopped pod may leave
          }
          if (!Leaks.of(id).isEmpty()) {
            stopQuietly(runtime, id); // a failed run leaves no detached pod behind
          }
          eventually(Duration.ofSeconds(30), "nothing of pod " + id + " is left", () -> Leaks.of(id).isEmpty());
        }
      }
    }
  }

  private static void stopQuietly(MicroPodRuntime runtime, String id) {
    try {
      runtime.attach(id).close();
    } catch (MicroPodException e) {
      // already stopped
    }
  }
}
