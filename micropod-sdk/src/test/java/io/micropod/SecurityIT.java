package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.internal.state.PodRecord;
import io.micropod.internal.state.StateDirectory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Per-pod directories 0700, sockets 0600, and env values never written anywhere on the host. */
class SecurityIT {
  private static final Set<PosixFilePermission> OWNER_RWX = PosixFilePermissions.fromString("rwx------");
  private static final Set<PosixFilePermission> OWNER_RW = PosixFilePermissions.fromString("rw-------");

  @Test
  void podDirectoriesAreOwnerOnlyAndEnvValuesStayOffTheHost() throws Exception {
    String marker = "s3cr3t-" + Long.toHexString(System.nanoTime());
    try (MicroPod pod = MicroPod.builder().image(TestImages.busybox()).env("SECRET_TOKEN", marker)
        .command("sh", "-c", "echo started; exec sleep 3600").start()) {
      StateDirectory state = new StateDirectory(MicroPodRuntime.defaultRuntime().configDir());
      PodRecord r = state.read(pod.id()).orElseThrow();
      Path podDir = Path.of(r.podDir());
      Path socketDir = Path.of(r.socketDir());

      assertThat(Files.getPosixFilePermissions(podDir)).isEqualTo(OWNER_RWX);
      assertThat(Files.getPosixFilePermissions(socketDir)).isEqualTo(OWNER_RWX);
      assertThat(Files.getPosixFilePermissions(state.dir())).isEqualTo(OWNER_RWX);
      for (Path sock : List.of(socketDir.resolve("agent.sock"), socketDir.resolve("virtiofs.sock"))) {
        assertThat(Files.getPosixFilePermissions(sock)).as("%s", sock).isEqualTo(OWNER_RW);
      }
      assertThat(Files.getPosixFilePermissions(state.fileOf(pod.id()))).isEqualTo(OWNER_RW);

      // the container sees it; nothing on the host holds it
      assertThat(pod.exec("sh", "-c", "echo $SECRET_TOKEN").stdout()).contains(marker);
      assertThat(Files.readString(state.fileOf(pod.id()))).doesNotContain(marker).doesNotContain("SECRET_TOKEN");
      try (var files = Files.walk(podDir)) {
        for (Path f : files.filter(Files::isRegularFile).toList()) {
          assertThat(Files.readString(f)).as("%s", f).doesNotContain(marker);
        }
      }
      assertThat(pod.spec().toString()).doesNotContain(marker);
      for (Long pid : List.of(r.vmm().pid(), r.virtiofsd().pid())) {
        assertThat(Files.readString(Path.of("/proc", pid.toString(), "cmdline"))).doesNotContain(marker);
      }
    }
  }

  @Test
  void sdkDebugLogsAndExceptionsNeverShowEnvValues() throws Exception {
    String marker = "s3cr3t-" + Long.toHexString(System.nanoTime());
    try (ChildJvm jvm = ChildJvm.start(Map.of(),
        List.of("-Dorg.slf4j.simpleLogger.defaultLogLevel=debug"), "secrets", marker)) {
      jvm.await("DONE", Duration.ofMinutes(6));
      String out = jvm.output();
      assertThat(out).contains("EXEC has-secret").contains("FAILED ContainerStartException")
          .contains("DEBUG"); // it did log at DEBUG
      assertThat(out).doesNotContain(marker);
    }
  }
}
