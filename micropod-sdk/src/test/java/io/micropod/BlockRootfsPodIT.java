package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The block-rootfs mode (the rootfs of Firecracker) on the real QEMU driver: every container test
 * of {@link RunningPodIT} runs again (inherited) on a pod whose image tree reaches the guest as a
 * read-only ext4 image on virtio-blk ({@code MICROPOD_ROOTFS=blk}, {@code micropod.rootfs=blk})
 * instead of virtio-fs; plus checks that the image file itself is never written.
 */
class BlockRootfsPodIT extends RunningPodIT {

  private Map<Path, String> imagesBefore;

  @Override
  MicroPod newPod() {
    MicroPod started = newPodOnOwnRuntime(Map.of("MICROPOD_ROOTFS", "blk", "MICROPOD_VMM", "qemu"));
    try {
      imagesBefore = blockImages();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return started;
  }

  @Test
  void theImageTreeIsAReadOnlyBlockDeviceInTheGuest() {
    ExecResult mounts = pod.exec("cat", "/proc/mounts");
    ExecResult cmdline = pod.exec("cat", "/proc/cmdline");

    assertThat(cmdline.stdout()).contains("micropod.rootfs=blk").doesNotContain("micropod.rootfs=virtiofs");
    // The container sees its overlay; the guest's view of the lower layer is in the agent's mount
    // namespace, which /proc/1/mounts of the container does not show: the kernel's block devices do.
    assertThat(pod.exec("cat", "/sys/block/vda/ro").stdout().trim()).isEqualTo("1");
    assertThat(mounts.stdout()).contains("overlay");
  }

  @Test
  void theBlockImageIsBuiltOnceAndNeverWritten() throws IOException {
    ExecResult write = pod.exec("sh", "-c", "echo private > /etc/block-write && sync && cat /etc/block-write");
    assertThat(write.stdout()).isEqualTo("private\n");

    Map<Path, String> after = blockImages();
    assertThat(imagesBefore).isNotEmpty();
    assertThat(after).containsOnlyKeys(imagesBefore.keySet());
    for (Map.Entry<Path, String> e : imagesBefore.entrySet()) {
      assertThat(after.get(e.getKey())).as("sha256 of %s", e.getKey()).isEqualTo(e.getValue());
    }
    for (Path image : after.keySet()) {
      assertThat(Files.getPosixFilePermissions(image)).noneMatch(p -> p.name().contains("WRITE"));
    }
  }

  /** The block images of the store and their sha256. */
  private static Map<Path, String> blockImages() throws IOException {
    Path store = TestImages.home().resolve("store").resolve("rootfs");
    Map<Path, String> m = new HashMap<>();
    if (!Files.isDirectory(store)) {
      return m;
    }
    List<Path> images;
    try (Stream<Path> s = Files.list(store)) {
      images = s.filter(p -> p.getFileName().toString().endsWith(".ext4")
          && !p.getFileName().toString().startsWith(".tmp-")).toList();
    }
    for (Path p : images) {
      m.put(p, sha256(p));
    }
    return m;
  }

  private static String sha256(Path p) throws IOException {
    try (InputStream in = Files.newInputStream(p)) {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      byte[] buf = new byte[1 << 16];
      for (int n; (n = in.read(buf)) > 0; ) {
        md.update(buf, 0, n);
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
