package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Host directory mounts on a real VM (QEMU, virtiofsd per mount, the guest agent, runc): one pod
 * with a read-only and a read-write mount, shared by the tests. The read-only directory holds
 * symbolic links that point outside it, at a secret next to it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MountIT {
  private static final String SECRET = "secret-" + Long.toHexString(System.nanoTime());

  Path work;
  Path readOnlyDir;
  Path readWriteDir;
  MicroPod pod;

  @BeforeAll
  void startPod() throws IOException {
    work = Files.createTempDirectory(Path.of("/tmp"), "micropod-mountit-",
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
    Path secretDir = Files.createDirectories(work.resolve("secret"));
    Files.writeString(secretDir.resolve("secret.txt"), SECRET);
    readOnlyDir = Files.createDirectories(work.resolve("ro"));
    Files.writeString(readOnlyDir.resolve("hello.txt"), "hello from the host\n");
    Files.createSymbolicLink(readOnlyDir.resolve("abs-escape"), secretDir.resolve("secret.txt"));
    Files.createSymbolicLink(readOnlyDir.resolve("rel-escape"), Path.of("../secret/secret.txt"));
    Files.createSymbolicLink(readOnlyDir.resolve("dir-escape"), secretDir);
    readWriteDir = Files.createDirectories(work.resolve("rw"));
    pod = MicroPod.builder()
        .image(TestImages.busybox())
        .command("sleep", "3600")
        .mount(Mount.readOnly(readOnlyDir, "/data"))
        .mount(Mount.readWrite(readWriteDir, "/out"))
        .start();
  }

  @AfterAll
  void closePod() throws IOException {
    try {
      if (pod != null) {
        Path log = consoleLog(pod.id());
        pod.close();
        assertThat(Leaks.of(pod.id())).isEmpty();
        assertThat(log).as("the console log of a pod closed normally").doesNotExist();
      }
    } finally {
      deleteTree(work);
    }
  }

  static Path consoleLog(String podId) {
    return MicroPodRuntime.defaultRuntime().configDir().resolve("logs").resolve(podId + ".log");
  }

  @Test
  void aFileOfTheHostIsReadInTheContainerAndLaterChangesShowAtOnce() throws IOException {
    assertThat(pod.exec("cat", "/data/hello.txt").stdout()).isEqualTo("hello from the host\n");

    Files.writeString(readOnlyDir.resolve("later.txt"), "written after start\n");

    assertThat(pod.exec("cat", "/data/later.txt").stdout()).isEqualTo("written after start\n");
  }

  @Test
  void writesToAReadOnlyMountFailWithEROFS() {
    ExecResult r = pod.exec("sh", "-c", "echo x > /data/new.txt");

    assertThat(r.exitCode()).isNotZero();
    assertThat(r.stderr()).contains("Read-only file system");
    assertThat(readOnlyDir.resolve("new.txt")).doesNotExist();
    ExecResult rm = pod.exec("rm", "/data/hello.txt");
    assertThat(rm.exitCode()).isNotZero();
    assertThat(rm.stderr()).contains("Read-only file system");
    assertThat(readOnlyDir.resolve("hello.txt")).exists();
    // the container's root cannot lift it: no CAP_SYS_ADMIN
    ExecResult remount = pod.exec("mount", "-o", "remount,rw", "/data");
    assertThat(remount.exitCode()).isNotZero();
  }

  @Test
  void theReadOnlyMountsVirtiofsdServesATreeTheHostKernelRefusesToWrite() throws IOException {
    ProcessHandle roDaemon = virtiofsd("mount0.sock").orElseThrow();
    ProcessHandle rwDaemon = virtiofsd("mount1.sock").orElseThrow();
    // /proc/<pid>/root is the directory virtiofsd chrooted into: the mount as it sees it
    Path roRoot = Path.of("/proc", Long.toString(roDaemon.pid()), "root");
    Path rwRoot = Path.of("/proc", Long.toString(rwDaemon.pid()), "root");

    assertThat(Files.readString(roRoot.resolve("hello.txt"))).isEqualTo("hello from the host\n");
    assertThatThrownBy(() -> Files.writeString(roRoot.resolve("host-side.txt"), "x"))
        .isInstanceOf(FileSystemException.class).hasMessageContaining("Read-only file system");
    Files.writeString(rwRoot.resolve("host-side.txt"), "x");
    Files.delete(readWriteDir.resolve("host-side.txt"));
  }

  private Optional<ProcessHandle> virtiofsd(String socket) {
    String path = "/tmp/micropod-" + pod.id() + "/" + socket;
    return ProcessHandle.allProcesses()
        .filter(p -> p.info().command().map(c -> c.endsWith("virtiofsd")).orElse(false))
        .filter(p -> p.info().commandLine().map(c -> c.contains(path)).orElse(false))
        .findFirst();
  }

  @Test
  void aFileWrittenInTheContainerAppearsOnTheHostOwnedByTheHostUser() throws Exception {
    ExecResult r = pod.exec("sh", "-c", "echo from the container > /out/made.txt && mkdir /out/sub");
    assertThat(r.exitCode()).as(r.stderr()).isZero();

    Path made = readWriteDir.resolve("made.txt");
    assertThat(made).hasContent("from the container");
    int uid = Integer.parseInt(new String(new ProcessBuilder("id", "-u").start().getInputStream().readAllBytes(),
        StandardCharsets.US_ASCII).trim());
    assertThat(Files.getAttribute(made, "unix:uid")).isEqualTo(uid);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(made))).isEqualTo("rw-r--r--");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(readWriteDir.resolve("sub"))))
        .isEqualTo("rwxr-xr-x");
    // and back: the host's change is seen by the container
    Files.writeString(made, "changed on the host\n");
    assertThat(pod.exec("cat", "/out/made.txt").stdout()).isEqualTo("changed on the host\n");
  }

  @Test
  void symbolicLinksThatPointOutsideTheMountNeverReachHostFiles() {
    for (String link : List.of("/data/abs-escape", "/data/rel-escape", "/data/dir-escape/secret.txt")) {
      ExecResult r = pod.exec("cat", link);
      assertThat(r.stdout() + r.stderr()).as(link).doesNotContain(SECRET);
      assertThat(r.exitCode()).as(link).isNotZero();
    }
    ExecResult up = pod.exec("sh", "-c", "ls -a /data/.. /data/../..; cat /data/../secret/secret.txt");
    assertThat(up.stdout() + up.stderr()).doesNotContain(SECRET).doesNotContain("mountit");
  }

  @Test
  void thePodsConsoleLogIsUnderTheConfigDirOwnerOnlyWhileItRuns() throws IOException {
    Path log = consoleLog(pod.id());

    assertThat(log).isRegularFile();
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(log))).isEqualTo("rw-------");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(log.getParent()))).isEqualTo("rwx------");
    assertThat(TestImages.home().resolve("pods").resolve(pod.id()).resolve("console.log")).doesNotExist();
  }

  @Test
  void aHostDirectoryThatVanishedBeforeStartFailsBeforeBootAndLeavesNothing() throws IOException {
    Path dir = Files.createDirectories(work.resolve("vanishing"));
    MicroPodSpec spec = MicroPod.builder().image(TestImages.busybox()).command("true")
        .mount(Mount.readWrite(dir, "/gone")).build();
    Files.delete(dir);
    List<String> podDirsBefore = Leaks.podDirs();

    assertThatThrownBy(() -> MicroPod.start(spec))
        .isInstanceOfSatisfying(MicroPodException.class, e -> {
          assertThat(e).hasMessageContaining(dir.toString()).hasMessageContaining("no longer exists");
          assertThat(Leaks.of(e.podId())).isEmpty();
          assertThat(consoleLog(e.podId())).doesNotExist();
        });
    assertThat(Leaks.podDirs()).isEqualTo(podDirsBefore);
    assertThatThrownBy(() -> Mount.readOnly(work.resolve("never-was"), "/x"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not exist");
  }

  private static void deleteTree(Path root) throws IOException {
    if (root == null || !Files.exists(root)) {
      return;
    }
    try (var s = Files.walk(root)) {
      for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
