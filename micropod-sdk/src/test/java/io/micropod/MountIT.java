package io.micropod;

import io.micropod.internal.files.FileTrees;
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
      FileTrees.deleteTree(work);
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

  /**
   * Guest root (and a guest user) try to plant what a host must never get from a container:
   * device nodes, FIFOs, setuid/setgid files and directories, files owned by another uid. virtiofsd
   * runs under micropod-fsguard, so every one of these lands, if at all, as a plain file, directory
   * or symlink owned by the SDK's user without 06000 bits.
   */
  @Test
  void aContainerCannotPlantDevicesFifosSetuidFilesOrOtherOwnersInAReadWriteMount() throws Exception {
    pod.exec("mkdir", "/out/attack");
    pod.exec("chmod", "777", "/out/attack");
    List<List<String>> attacks = List.of(
        List.of("mknod", "/out/attack/null", "c", "1", "3"),
        List.of("mknod", "/out/attack/blk", "b", "7", "0"),
        List.of("mkfifo", "/out/attack/fifo"),
        List.of("sh", "-c", "touch /out/attack/f; chmod 4755 /out/attack/f; chmod 2755 /out/attack/f;"
            + " chmod u+s,g+s /out/attack/f"),
        List.of("install", "-m", "4755", "/bin/busybox", "/out/attack/suid-busybox"),
        List.of("mkdir", "-m", "2777", "/out/attack/sgid-dir"),
        List.of("sh", "-c", "mkdir /out/attack/d2 && chmod g+s /out/attack/d2"),
        List.of("sh", "-c", "touch /out/attack/owned && chown 1234:1234 /out/attack/owned"),
        List.of("sh", "-c", "echo x > /out/attack/root-made && chown 0:0 /out/attack/root-made"));
    for (List<String> attack : attacks) {
      pod.exec(attack);
    }
    ExecResult asUser = pod.exec(ExecSpec.builder("sh", "-c",
        "echo by 1000 > /out/attack/by-1000.txt && mkdir /out/attack/dir-1000 && mkfifo /out/attack/fifo-1000;"
            + " touch /out/attack/g-1000 && chmod 2755 /out/attack/g-1000").user("1000:1000").build());
    int uid = Integer.parseInt(new String(new ProcessBuilder("id", "-u").start().getInputStream().readAllBytes(),
        StandardCharsets.US_ASCII).trim());

    List<String> found = new java.util.ArrayList<>();
    List<String> violations = new java.util.ArrayList<>();
    try (var files = Files.walk(readWriteDir.resolve("attack"))) {
      for (Path f : files.toList()) {
        var a = Files.readAttributes(f, java.nio.file.attribute.BasicFileAttributes.class,
            java.nio.file.LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) Files.getAttribute(f, "unix:mode", java.nio.file.LinkOption.NOFOLLOW_LINKS);
        int owner = (Integer) Files.getAttribute(f, "unix:uid", java.nio.file.LinkOption.NOFOLLOW_LINKS);
        found.add(readWriteDir.relativize(f) + " " + Integer.toOctalString(mode) + " uid " + owner);
        if (!(a.isRegularFile() || a.isDirectory() || a.isSymbolicLink())) {
          violations.add(f + " is not a plain file, directory or symlink (mode " + Integer.toOctalString(mode) + ")");
        }
        if ((mode & 06000) != 0) {
          violations.add(f + " is setuid/setgid (mode " + Integer.toOctalString(mode) + ")");
        }
        if (owner != uid) {
          violations.add(f + " belongs to uid " + owner + ", not the SDK's user " + uid);
        }
      }
    }
    assertThat(violations).as("what the container planted on the host").isEmpty();
    // what the guest was allowed to make is there, and a guest user's write works (it got EINVAL
    // from virtiofsd's setresuid in a user namespace before)
    assertThat(found).as(found.toString()).anyMatch(l -> l.startsWith("attack/f "))
        .anyMatch(l -> l.startsWith("attack/owned ")).anyMatch(l -> l.startsWith("attack/by-1000.txt "));
    assertThat(readWriteDir.resolve("attack/by-1000.txt")).hasContent("by 1000");
    assertThat(asUser.stderr()).isNotEmpty();
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
}
