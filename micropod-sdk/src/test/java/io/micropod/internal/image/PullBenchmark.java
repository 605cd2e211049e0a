package io.micropod.internal.image;

import io.micropod.internal.files.FileTrees;
import io.micropod.ImageRef;
import io.micropod.PullPolicy;
import io.micropod.internal.registry.DockerCredentials;
import io.micropod.internal.registry.LocalRegistry;
import io.micropod.internal.registry.RegistryClient;
import io.micropod.internal.registry.TestImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * Benchmark (not a test): pull + unpack of a ~60 MB, 3-layer image from a local docker-registry
 * with MicroPod, against {@code skopeo copy} + {@code umoci unpack --rootless} of the same image;
 * each from an empty store, several runs, medians. Run with {@code bin/bench-pull [runs]}.
 */
public final class PullBenchmark {
  private PullBenchmark() {}

  public static void main(String[] args) throws Exception {
    int runs = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    Path work = Files.createTempDirectory("micropod-bench-");
    try (LocalRegistry registry = LocalRegistry.start()) {
      Random rnd = new Random(7);
      List<byte[]> layers = new ArrayList<>();
      long raw = 0;
      for (int l = 0; l < 3; l++) {
        byte[] tar = layer(rnd, l, 20 << 20);
        raw += tar.length;
        layers.add(TestImage.gzip(tar));
      }
      TestImage.Image image = TestImage.image("amd64", layers, false);
      long compressed = layers.stream().mapToLong(b -> b.length).sum();
      registry.push("bench", "latest", image);
      System.out.printf("image: 3 layers, %.1f MB compressed, %.1f MB uncompressed%n", compressed / 1e6, raw / 1e6);
      String ref = registry.host() + "/bench:latest";
      List<Long> ours = new ArrayList<>();
      List<Long> theirs = new ArrayList<>();
      for (int i = 0; i < runs; i++) {
        Path home = Files.createTempDirectory(work, "home-");
        long t0 = System.nanoTime();
        ImageService s = new ImageService(home, new RegistryClient(RegistryClient.defaultHttpClient(),
            new DockerCredentials(Map.of(), home), Set.of()));
        ResolvedImage r = s.resolve(ImageRef.parse(ref), "linux/amd64", PullPolicy.ALWAYS,
            ImageService.Progress.NONE, "bench-");
        new RootfsStore(home, false).prepare(r);
        ours.add((System.nanoTime() - t0) / 1_000_000);
        FileTrees.deleteTree(home);

        Path dir = Files.createTempDirectory(work, "skopeo-");
        long t1 = System.nanoTime();
        run("skopeo", "copy", "--quiet", "--src-tls-verify=false", "docker://" + ref, "oci:" + dir.resolve("layout") + ":latest");
        run("umoci", "unpack", "--rootless", "--image", dir.resolve("layout") + ":latest", dir.resolve("bundle").toString());
        theirs.add((System.nanoTime() - t1) / 1_000_000);
        FileTrees.deleteTree(dir);
        System.out.printf("run %d: micropod %d ms, skopeo+umoci %d ms%n", i + 1, ours.get(i), theirs.get(i));
      }
      long a = median(ours);
      long b = median(theirs);
      System.out.printf("median of %d: micropod %d ms, skopeo copy + umoci unpack %d ms, ratio %.2f%n",
          runs, a, b, (double) a / b);
    } finally {
      FileTrees.deleteTree(work);
    }
  }

  /** A layer of ~size bytes: text-like files (compressible about 3:1, like real images). */
  private static byte[] layer(Random rnd, int index, int size) throws IOException {
    ByteArrayOutputStream bos = new ByteArrayOutputStream(size + (1 << 20));
    String alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 \n{}();=.,_-ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bos)) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      int written = 0;
      int n = 0;
      while (written < size) {
        int len = 2_000 + rnd.nextInt(200_000);
        byte[] data = new byte[len];
        for (int i = 0; i < len; i++) {
          data[i] = (byte) alphabet.charAt(rnd.nextInt(alphabet.length()));
        }
        TarArchiveEntry e = new TarArchiveEntry("l" + index + "/d" + (n % 16) + "/f" + n);
        e.setSize(len);
        e.setMode(0644);
        tar.putArchiveEntry(e);
        tar.write(data);
        tar.closeArchiveEntry();
        written += len;
        n++;
      }
    }
    return bos.toByteArray();
  }

  private static void run(String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (p.waitFor() != 0) {
      throw new IOException(String.join(" ", cmd) + " failed: " + out);
    }
  }

  private static long median(List<Long> xs) {
    List<Long> s = new ArrayList<>(xs);
    Collections.sort(s);
    return s.get(s.size() / 2);
  }
}
