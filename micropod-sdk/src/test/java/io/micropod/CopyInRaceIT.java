package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code copyIn} against a running container that races it (CVE-2018-15664's symlink-exchange
 * attack on {@code docker cp}): the container swaps the destination's parent directory
 * {@code /work/d} with a symlink {@code /work/e} to a guest path, atomically and in a tight loop
 * ({@code sysprobe swap}), while the agent writes a directory of files into {@code /work/d}. The
 * agent resolves every path inside the container root, but then opens it by name: a swap between
 * the two sends the write wherever the symlink points in the guest. The witness: the symlink
 * points at the guest's own mount point of a read-write host directory (outside the container's
 * root, and not the container's {@code /out}, where the files would be in their own right), so
 * an escaped file appears in that host directory.
 */
@Timeout(600)
class CopyInRaceIT {
  private static final int FILES = 100;
  private static final int COPIES = 16;

  @Test
  void aContainerSwappingTheDestinationsParentForASymlinkCannotRedirectCopyInOutOfItsRoot(
      @TempDir Path tmp) throws Exception {
    Path witness = Files.createDirectories(tmp.resolve("witness"));
    Path source = Files.createDirectories(tmp.resolve("src").resolve("x"));
    for (int i = 0; i < FILES; i++) {
      Files.writeString(source.resolve("f" + i), "copied " + i + "\n");
    }
    // the guest's mount point of the pod's first host mount (HostMounts: <mounts>/<tag>)
    String guestPath = "/run/micropod/mounts/"
        + io.micropod.internal.vm.QemuCommandLine.mountTag(0);
    try (MicroPod pod = MicroPod.builder().image(NetTestImages.busyboxWithUdp())
        .networkMode(NetworkMode.NONE)
        .mount(Mount.readWrite(witness, "/out"))
        .command("sh", "-c", "mkdir -p /work/d && ln -s " + guestPath + " /work/e"
            + " && exec /bin/sysprobe swap /work/d /work/e")
        .start()) {
      Instant deadline = Instant.now().plus(Duration.ofMinutes(5));
      int copies = 0;
      while (copies < COPIES && escaped(witness).isEmpty() && Instant.now().isBefore(deadline)) {
        try {
          pod.copyIn(source, "/work/d/x");
        } catch (MicroPodException e) {
          // a copy may fail when the destination is a symlink at the moment it is resolved;
          // what matters is where the files that were written went
        }
        copies++;
        assertThat(pod.exec("sh", "-c", "pidof sysprobe").exitCode())
            .as("the swapping loop still runs").isZero();
      }
      assertThat(escaped(witness)).as("files the agent wrote outside the container root, into "
          + guestPath + " of the guest, after %d copies", copies).isEmpty();
      assertThat(pod.exec("sh", "-c", "ls /work/d/x /work/e/x 2>/dev/null | grep -c '^f'")
          .stdout().strip()).as("the copies landed inside the container").isNotEqualTo("0");
    }
  }

  private static List<Path> escaped(Path witness) throws java.io.IOException {
    try (Stream<Path> s = Files.walk(witness)) {
      return s.filter(p -> !p.equals(witness)).toList();
    }
  }
}
