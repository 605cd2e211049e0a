package io.micropod.internal.image;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real mkfs.ext4 and debugfs (e2fsprogs): the image holds the tree, is read-only, built once. */
class BlockImagesTest {
  @TempDir
  Path home;

  private Path tree() throws IOException {
    Path tree = Files.createDirectories(home.resolve("store/rootfs/abc123"));
    Files.createDirectories(tree.resolve("etc"));
    Files.writeString(tree.resolve("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
    Files.write(tree.resolve("big"), new byte[3 * 1024 * 1024 + 17]);
    Files.createSymbolicLink(tree.resolve("link"), Path.of("etc/passwd"));
    return tree;
  }

  private static String debugfs(Path image, String request) throws Exception {
    Process p = new ProcessBuilder("debugfs", "-R", request, image.toString()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor();
    return out;
  }

  @Test
  void theImageHoldsTheTreeAndIsReadOnly() throws Exception {
    Path tree = tree();

    Path image = new BlockImages(home, System.getenv("PATH")).prepare(tree);

    assertThat(image).isEqualTo(home.resolve("store/rootfs/abc123.ext4"));
    assertThat(Files.getPosixFilePermissions(image)).containsOnly(PosixFilePermission.OWNER_READ,
        PosixFilePermission.GROUP_READ, PosixFilePermission.OTHERS_READ);
    assertThat(debugfs(image, "cat /etc/passwd")).contains("root:x:0:0:root:/root:/bin/sh");
    assertThat(debugfs(image, "stat /big")).contains("Size: " + (3 * 1024 * 1024 + 17));
    assertThat(debugfs(image, "stat /link")).contains("Type: symlink");
    assertThat(debugfs(image, "stat /")).contains("User:     0   Group:     0");
    try (var s = Files.list(image.getParent())) {
      assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(".tmp-"));
    }
  }

  @Test
  void concurrentPreparesBuildOnceAndAgree() throws Exception {
    Path tree = tree();
    BlockImages a = new BlockImages(home, System.getenv("PATH"));
    BlockImages b = new BlockImages(home, System.getenv("PATH"));
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<Path>> fs = List.of(pool.submit(() -> a.prepare(tree)), pool.submit(() -> b.prepare(tree)),
          pool.submit(() -> a.prepare(tree)), pool.submit(() -> b.prepare(tree)));
      Path first = fs.get(0).get();
      long modified = Files.getLastModifiedTime(first).toMillis();
      for (Future<Path> f : fs) {
        assertThat(f.get()).isEqualTo(first);
      }
      assertThat(a.prepare(tree)).isEqualTo(first);
      assertThat(Files.getLastModifiedTime(first).toMillis()).isEqualTo(modified);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void theSizeCoversBlocksInodesAndAMargin() {
    long size = BlockImages.sizeBytes(new BlockImages.Usage(100L * 1024 * 1024, 1000));

    assertThat(size).isGreaterThan(110L * 1024 * 1024).isLessThan(120L * 1024 * 1024);
    assertThat(size % (1024 * 1024)).isZero();
  }
}
