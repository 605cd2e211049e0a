package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micropod.internal.state.PodRecord;
import io.micropod.internal.state.StateDirectory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * State across processes with real JVMs: a first JVM starts a detached pod and exits; this JVM
 * (the second) lists it, attaches, reads its logs, execs in it and stops it.
 */
class CrossProcessIT {

  @Test
  void secondJvmListsAttachesExecsReadsLogsAndStopsADetachedPod() throws Exception {
    String name = "xproc-" + ProcessHandle.current().pid();
    String id = ChildJvm.startDetached(name);
    MicroPodRuntime runtime = MicroPodRuntime.defaultRuntime();
    try {
      // the record: 0600, atomic, with what another process needs
      Path recordFile = new StateDirectory(runtime.configDir()).fileOf(id);
      assertThat(Files.getPosixFilePermissions(recordFile)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
      PodRecord record = new StateDirectory(runtime.configDir()).read(id).orElseThrow();
      assertThat(record.vmm().isAlive()).isTrue();
      assertThat(record.virtiofsd().isAlive()).isTrue();
      assertThat(record.owner().isAlive()).isFalse(); // the first JVM exited: the pod survived it

      assertThat(runtime.list()).anySatisfy(info -> {
        assertThat(info.id()).isEqualTo(id);
        assertThat(info.name()).contains(name);
        assertThat(info.status()).isEqualTo(PodInfo.Status.RUNNING);
        assertThat(info.detached()).isTrue();
        assertThat(info.vmmPid()).hasValue(record.vmm().pid());
      });

      try (MicroPod pod = runtime.attach(name)) {
        assertThat(pod.id()).isEqualTo(id);
        assertThat(pod.logs()).contains("hello-from-first-jvm");
        ExecResult r = pod.exec("sh", "-c", "echo attached; pwd");
        assertThat(r.exitCode()).isZero();
        assertThat(r.stdout()).startsWith("attached\n");
        assertThat(pod.waitFor(Duration.ofMillis(100))).isEmpty();
        // the owner is now this JVM: a second attach is refused at once
        assertThatThrownBy(() -> runtime.attach(id)).isInstanceOf(PodBusyException.class)
            .hasMessageContaining("this JVM");
      }
      assertThat(runtime.list()).noneMatch(i -> i.id().equals(id));
      assertThat(Files.exists(recordFile)).isFalse();
      assertThat(Leaks.of(id)).isEmpty();
    } finally {
      new StateDirectory(runtime.configDir()).read(id).ifPresent(r -> r.processes()
          .forEach(p -> io.micropod.internal.state.ProcStat.killIfSame(p.pid(), p.startTime())));
    }
  }

  @Test
  void attachToAnUnknownPodFailsWithPodNotFound() {
    assertThatThrownBy(() -> MicroPodRuntime.defaultRuntime().attach("no-such-pod"))
        .isInstanceOf(PodNotFoundException.class)
        .hasMessageContaining("no-such-pod")
        .satisfies(e -> assertThat(((PodNotFoundException) e).idOrName()).isEqualTo("no-such-pod"));
  }
}
