package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The network part without root: when the tests run as root, a second JVM runs
 * {@link RootlessNetworkMain} as {@code nobody} ({@code setpriv --reuid=65534 --regid=65534
 * --clear-groups}), so QEMU with its {@code user} and {@code stream} netdevs, the Ethernet switch
 * and the rest of the pod run unprivileged (virtiofsd through {@code unshare --map-root-user},
 * as the SDK does for every non-root user), including host directory mounts (read-only bind in
 * virtiofsd's user namespace; files the container's root writes belong to the user). Not as root: the same JVM runs as the current user.
 * Two boots.
 */
class RootlessNetworkIT {

  @Test
  void aNetworkOfPodsWorksForAnUnprivilegedUser() throws IOException, InterruptedException {
    boolean root = "0".equals(new String(new ProcessBuilder("id", "-u").start().getInputStream()
        .readAllBytes(), StandardCharsets.US_ASCII).trim());
    Path work = Files.createTempDirectory(Path.of("/tmp"), "micropod-rootless-",
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
    try {
      List<String> cp = new ArrayList<>();
      int i = 0;
      for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
        Path from = Path.of(entry);
        if (!Files.exists(from)) {
          continue;
        }
        Path to = work.resolve("cp").resolve((i++) + "-" + from.getFileName());
        copyTree(from, to);
        cp.add(to.toString());
      }
      Path home = work.resolve("home");
      Files.createDirectories(home);
      Path guest = TestImages.home().resolve("guest");
      Path version;
      try (var s = Files.list(guest)) {
        version = s.filter(Files::isDirectory).findFirst().orElseThrow();
      }
      // The unprivileged user cannot read root's MicroPod home (0700): give it world-readable
      // copies of the guest image and of the test image.
      Path guestCopy = work.resolve("guest");
      copyTree(version.resolve("vmlinux"), guestCopy.resolve("vmlinux"));
      copyTree(version.resolve("initramfs.cpio"), guestCopy.resolve("initramfs.cpio"));
      // the guest's read-only system image goes beside the initramfs (docs/guest-image.md)
      copyTree(version.resolve("system.img"), guestCopy.resolve("system.img"));
      // The host helpers (virtiofsd's seccomp wrapper, QEMU's network guard) beside the copied
      // initramfs, where the SDK looks for those of a guest image given by MICROPOD_AGENT_ROOTFS.
      for (String helper : List.of("micropod-fsguard", "libmicropod-netguard.so")) {
        Path copy = guestCopy.resolve("host").resolve(helper);
        copyTree(version.resolve("host").resolve(helper), copy);
        copy.toFile().setExecutable(true, false);
      }
      Path layoutCopy = work.resolve("busybox");
      copyTree(Path.of(TestImages.busybox().substring("oci:".length())), layoutCopy);
      List<String> cmd = new ArrayList<>();
      if (root) {
        run(List.of("chown", "-R", "65534:65534", home.toString()));
        cmd.addAll(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"));
      }
      cmd.addAll(List.of(ProcessHandle.current().info().command().orElse("java"),
          "-cp", String.join(File.pathSeparator, cp), "-Duser.home=" + home,
          RootlessNetworkMain.class.getName(), home.toString(), "oci:" + layoutCopy));
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
      pb.environment().remove("MICROPOD_HOME");
      pb.environment().remove("MICROPOD_CONFIG_DIR");
      pb.environment().put("MICROPOD_KERNEL_PATH", guestCopy.resolve("vmlinux").toString());
      pb.environment().put("MICROPOD_AGENT_ROOTFS", guestCopy.resolve("initramfs.cpio").toString());
      Process p = pb.start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      boolean exited = p.waitFor(10, TimeUnit.MINUTES);
      System.out.println(out);

      assertThat(exited).isTrue();
      assertThat(out).contains("CHECK web rootless web", "CHECK host rootless host",
          "CHECK mount-read rootless mount", "CHECK mount-ro-write refused");
      assertThat(out).containsPattern("CHECK mount-rw-owner " + (root ? "65534" : "\\d+") + " exit 0");
      // a guest uid the user namespace does not map creates files too (micropod-fsguard keeps
      // virtiofsd's identity: setresuid is a no-op), owned by the user
      assertThat(out).containsPattern("CHECK mount-rw-other-uid exit 0 owner " + (root ? "65534" : "\\d+"));
      assertThat(out).doesNotContain("CHECK uid 0\n").doesNotContain("CHECK qemu-user root");
      assertThat(out).containsPattern("CHECK qemu-user \\S+");
      if (root) {
        assertThat(out).contains("CHECK uid 65534");
      }
      assertThat(p.exitValue()).as(out).isZero();
    } finally {
      run(List.of("rm", "-rf", work.toString()));
    }
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (var s = Files.walk(from)) {
      for (Path f : s.toList()) {
        Path t = to.resolve(from.relativize(f).toString());
        if (Files.isDirectory(f)) {
          Files.createDirectories(t);
        } else {
          Files.createDirectories(t.getParent());
          Files.copy(f, t);
        }
        t.toFile().setReadable(true, false);
        if (Files.isDirectory(t)) {
          t.toFile().setExecutable(true, false);
        }
      }
    }
  }

  private static void run(List<String> cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).inheritIO().start();
    p.waitFor(60, TimeUnit.SECONDS);
  }
}
