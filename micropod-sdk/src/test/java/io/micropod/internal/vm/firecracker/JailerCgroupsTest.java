package io.micropod.internal.vm.firecracker;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Removing a jail's cgroup directories, to the jailer's documented layout
 * ({@code <cgroup_base>/<exec file name>/<id>} in every hierarchy it found in {@code /proc/mounts};
 * Firecracker 1.16 {@code docs/jailer.md}), on FAKE hierarchies: plain directories under a temp
 * root named by a fake {@code /proc/mounts}. A real cgroupfs removes its control files with the
 * directory; no real jailer made these.
 */
class JailerCgroupsTest {
  @TempDir Path tmp;

  private JailerCommand jail(int cgroupVersion) {
    return new JailerCommand(Path.of("/opt/fc/jailer"), "pod-abc123", Path.of("/opt/fc/firecracker"), 1234, 1234,
        tmp.resolve("jailer"), cgroupVersion);
  }

  private Path mounts() throws Exception {
    return Files.writeString(tmp.resolve("mounts"), String.join("\n",
        "sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0",
        "cgroup " + tmp.resolve("cg/cpu") + " cgroup rw,nosuid,nodev,noexec,relatime,cpu 0 0",
        "cgroup " + tmp.resolve("cg/cpu set").toString().replace(" ", "\\040")
            + " cgroup rw,nosuid,nodev,noexec,relatime,cpuset 0 0",
        "cgroup2 " + tmp.resolve("cg/unified") + " cgroup2 rw,nosuid,nodev,noexec,relatime 0 0",
        "tmpfs " + tmp.resolve("cg") + " tmpfs ro,nosuid,nodev,noexec,mode=755 0 0", ""));
  }

  @Test
  void theJailsDirectoriesAreEveryHierarchyOfItsVersionThenTheExecFileNameThenTheId() throws Exception {
    String text = Files.readString(mounts());

    assertThat(JailerCgroups.directories(text, jail(1))).containsExactly(
        tmp.resolve("cg/cpu/firecracker/pod-abc123"), tmp.resolve("cg/cpu set/firecracker/pod-abc123"));
    assertThat(JailerCgroups.directories(text, jail(2))).containsExactly(
        tmp.resolve("cg/unified/firecracker/pod-abc123"));
  }

  @Test
  void whenThePodEndsItsCgroupDirectoriesAreRemovedAndTheSharedParentAndOtherPodsStay() throws Exception {
    Path mounts = mounts();
    List<Path> mine = List.of(tmp.resolve("cg/cpu/firecracker/pod-abc123"),
        tmp.resolve("cg/cpu set/firecracker/pod-abc123"));
    for (Path d : mine) {
      Files.createDirectories(d);
    }
    Path other = Files.createDirectories(tmp.resolve("cg/cpu/firecracker/pod-other"));
    Path unified = Files.createDirectories(tmp.resolve("cg/unified/firecracker/pod-abc123"));

    JailerCgroups.remove(mounts, jail(1));

    assertThat(mine).allSatisfy(d -> assertThat(d).doesNotExist());
    assertThat(tmp.resolve("cg/cpu/firecracker")).as("shared by every jail").isDirectory();
    assertThat(other).as("another pod's").isDirectory();
    assertThat(unified).as("the other version's hierarchy is not the jail's").isDirectory();

    JailerCgroups.remove(mounts, jail(2));

    assertThat(unified).doesNotExist();
    JailerCgroups.remove(mounts, jail(2)); // nothing left: no error
  }

  @Test
  void aSymlinkWhereTheDirectoryWasIsNotFollowedOrRemoved() throws Exception {
    Path mounts = mounts();
    Path target = Files.createDirectories(tmp.resolve("elsewhere"));
    Files.createDirectories(tmp.resolve("cg/cpu/firecracker"));
    Path link = Files.createSymbolicLink(tmp.resolve("cg/cpu/firecracker/pod-abc123"), target);

    JailerCgroups.remove(mounts, jail(1));

    assertThat(link).isSymbolicLink();
    assertThat(target).isDirectory();
  }
}
