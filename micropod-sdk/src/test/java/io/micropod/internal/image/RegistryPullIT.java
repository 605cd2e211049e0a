package io.micropod.internal.image;

import io.micropod.internal.files.FileTrees;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micropod.ImageException;
import io.micropod.ImageNotFoundException;
import io.micropod.ImageRef;
import io.micropod.PullPolicy;
import io.micropod.internal.registry.DockerCredentials;
import io.micropod.internal.registry.FaultProxy;
import io.micropod.internal.registry.LocalRegistry;
import io.micropod.internal.registry.RegistryClient;
import io.micropod.internal.registry.TestImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pulls from a real registry (Debian's docker-registry on 127.0.0.1) through the image service;
 * no VM. Faults come from a TCP proxy between client and registry.
 */
class RegistryPullIT {
  static LocalRegistry registry;
  static TestImage.Image amd64;
  static TestImage.Image arm64;
  static TestImage.Image layered;
  static TestImage.Image big;
  static TestImage.Index list;

  @TempDir Path home;

  @BeforeAll
  static void startRegistry() throws Exception {
    registry = LocalRegistry.start();
    amd64 = TestImage.image("amd64", List.of(TestImage.gzip(TestImage.tar(TestImage.files("arch", "amd64")))), false);
    arm64 = TestImage.image("arm64", List.of(TestImage.gzip(TestImage.tar(TestImage.files("arch", "arm64")))), false);
    Map<String, TestImage.Image> platforms = new LinkedHashMap<>();
    platforms.put("linux/arm64/v8", arm64);
    platforms.put("linux/amd64", amd64);
    registry.push("multi", "latest", TestImage.index(platforms, false));
    TestImage.Image dockerAmd64 = TestImage.image("amd64",
        List.of(TestImage.gzip(TestImage.tar(TestImage.files("arch", "docker-amd64")))), true);
    TestImage.Image dockerArm64 = TestImage.image("arm64",
        List.of(TestImage.gzip(TestImage.tar(TestImage.files("arch", "docker-arm64")))), true);
    Map<String, TestImage.Image> dockerPlatforms = new LinkedHashMap<>();
    dockerPlatforms.put("linux/arm64", dockerArm64);
    dockerPlatforms.put("linux/amd64", dockerAmd64);
    list = TestImage.index(dockerPlatforms, true);
    registry.push("list", "latest", list);

    // three layers: a base (gzip), then deletes and an opaque directory (zstd), then plain tar
    byte[] base = TestImage.gzip(TestImage.tar(TestImage.files(
        "etc/os", "base", "etc/gone", "x", "opt/app/old1", "1", "opt/app/old2", "2", "keep/a", "a")));
    byte[] upper = TestImage.zstd(TestImage.tar(TestImage.files(
        "etc/.wh.gone", "", "opt/app/.wh..wh..opq", "", "opt/app/new", "n", "etc/os", "upper")));
    byte[] top = TestImage.tar(TestImage.files("keep/.wh.a", "", "keep/b", "b"));
    layered = TestImage.image("amd64", List.of(base, upper, top), false);
    registry.push("layered", "1", layered);

    byte[] noise = new byte[300_000];
    new Random(42).nextBytes(noise);
    Map<String, String> bigFiles = new LinkedHashMap<>();
    bigFiles.put("noise", new String(noise, java.nio.charset.StandardCharsets.ISO_8859_1));
    big = TestImage.image("amd64", List.of(TestImage.gzip(TestImage.tar(bigFiles)),
        TestImage.gzip(TestImage.tar(TestImage.files("small", "s")))), false);
    registry.push("big", "latest", big);
  }

  @AfterAll
  static void stopRegistry() throws IOException {
    if (registry != null) {
      registry.close();
    }
  }

  private ImageService service() {
    return new ImageService(home, new RegistryClient(RegistryClient.defaultHttpClient(),
        new DockerCredentials(Map.of(), home.resolve("user")), Set.of(), Duration.ofMillis(20)));
  }

  private ResolvedImage pull(ImageService s, String ref, String platform) throws Exception {
    return s.resolve(ImageRef.parse(ref), platform, PullPolicy.IF_MISSING, ImageService.Progress.NONE, "test-pull-");
  }

  private static String content(ResolvedImage image) throws IOException {
    return new String(readTarFile(image.layers().get(0).blob()), java.nio.charset.StandardCharsets.ISO_8859_1);
  }

  private static byte[] readTarFile(Path gzLayer) throws IOException {
    Path tmp = Files.createTempDirectory("layer-");
    try {
      LayerUnpacker u = new LayerUnpacker(tmp, "t", false);
      try (var in = Files.newInputStream(gzLayer)) {
        u.apply(in, "l");
      }
      return Files.readAllBytes(tmp.resolve("arch"));
    } finally {
      FileTrees.deleteTree(tmp);
    }
  }

  @Test
  void anOciIndexPicksAmd64ByDefaultAndArm64WhenAsked() throws Exception {
    ImageService s = service();

    ResolvedImage a = pull(s, registry.host() + "/multi:latest", "linux/amd64");
    ResolvedImage b = pull(s, registry.host() + "/multi:latest", "linux/arm64");

    assertThat(a.manifestDigest()).isEqualTo(amd64.manifest().digest());
    assertThat(a.config().architecture()).isEqualTo("amd64");
    assertThat(content(a)).isEqualTo("amd64");
    assertThat(b.manifestDigest()).isEqualTo(arm64.manifest().digest());
    assertThat(content(b)).isEqualTo("arm64");
    assertThatThrownBy(() -> pull(s, registry.host() + "/multi:latest", "linux/s390x"))
        .isInstanceOf(ImageException.class).hasMessageContaining("no manifest for linux/s390x");
  }

  @Test
  void aDockerManifestListPicksAmd64() throws Exception {
    ResolvedImage a = pull(service(), registry.host() + "/list:latest", "linux/amd64");

    assertThat(a.manifestDigest()).isEqualTo(list.children().get(1).manifest().digest());
    assertThat(content(a)).isEqualTo("docker-amd64");
  }

  @Test
  void pullsByDigestAndVerifiesIt() throws Exception {
    String ref = registry.host() + "/layered@" + layered.manifest().digest();

    ResolvedImage image = pull(service(), ref, "linux/amd64");

    assertThat(image.manifestDigest()).isEqualTo(layered.manifest().digest());
    assertThat(image.layers()).extracting(Layer::digest)
        .containsExactlyElementsOf(layered.layers().stream().map(TestImage.Blob::digest).toList());
    for (Layer l : image.layers()) {
      assertThat(l.blob()).isEqualTo(home.resolve("store/blobs/sha256/" + l.digest().substring(7)));
      assertThat(TestImage.digest(Files.readAllBytes(l.blob()))).isEqualTo(l.digest());
    }
  }

  @Test
  void aMultiLayerImageWithWhiteoutsOpaqueDirsAndZstdUnpacksToExactlyTheExpectedTree() throws Exception {
    ResolvedImage image = pull(service(), registry.host() + "/layered:1", "linux/amd64");

    Path tree = new RootfsStore(home, false).prepare(image);

    Set<String> listing = new TreeSet<>();
    try (Stream<Path> s = Files.walk(tree)) {
      s.filter(p -> !p.equals(tree)).forEach(p -> listing.add(tree.relativize(p) + (Files.isDirectory(p) ? "/" : "")));
    }
    assertThat(listing).containsExactly("etc/", "etc/os", "keep/", "keep/b", "opt/", "opt/app/", "opt/app/new");
    assertThat(Files.readString(tree.resolve("etc/os"))).isEqualTo("upper");
  }

  @Test
  void aMissingTagOrRepositoryIsImageNotFound() {
    String missingTag = registry.host() + "/layered:nope";
    String missingRepo = registry.host() + "/no/such/repo:1";

    assertThatThrownBy(() -> pull(service(), missingTag, "linux/amd64"))
        .isInstanceOfSatisfying(ImageNotFoundException.class, e -> assertThat(e.ref()).isEqualTo(missingTag))
        .hasMessageContaining("manifest nope").hasMessageContaining("MANIFEST_UNKNOWN");
    assertThatThrownBy(() -> pull(service(), missingRepo, "linux/amd64"))
        .isInstanceOf(ImageNotFoundException.class).hasMessageContaining("no/such/repo");
  }

  @Test
  void aConnectionResetMidBlobIsRetriedAndResumed() throws Exception {
    String layer = big.layers().get(0).digest();
    try (FaultProxy proxy = FaultProxy.cutting(registry.port(), "/blobs/" + layer, 100_000, 1)) {
      long before = registry.blobGets("big", layer);

      ResolvedImage image = pull(service(), proxy.host() + "/big:latest", "linux/amd64");

      assertThat(proxy.matched()).isEqualTo(2);
      assertThat(registry.blobGets("big", layer)).isEqualTo(before + 2);
      assertThat(registry.log()).contains("\"GET /v2/big/blobs/" + layer + " HTTP/1.1\" 206");
      assertThat(TestImage.digest(Files.readAllBytes(image.layers().get(0).blob()))).isEqualTo(layer);
    }
  }

  @Test
  void aCorruptBlobIsRejectedAndNotKept() throws Exception {
    String layer = big.layers().get(0).digest();
    try (FaultProxy proxy = FaultProxy.corrupting(registry.port(), "/blobs/" + layer)) {
      ImageService s = service();

      assertThatThrownBy(() -> pull(s, proxy.host() + "/big:latest", "linux/amd64"))
          .isInstanceOf(ImageException.class)
          .hasMessageContaining("does not match its digest").hasMessageContaining(layer);
      assertThat(s.blobs().has(layer)).isFalse();
      try (Stream<Path> files = Files.list(home.resolve("store/blobs/sha256"))) {
        assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains(layer.substring(7)));
      }
      assertThat(s.list()).isEmpty();
    }
  }

  @Test
  void twoThreadsPullingOneImageDownloadEachBlobOnce() throws Exception {
    ImageService s = service();
    List<Long> before = new ArrayList<>();
    for (TestImage.Blob b : big.blobs()) {
      before.add(registry.blobGets("big", b.digest()));
    }
    CountDownLatch go = new CountDownLatch(1);
    List<CompletableFuture<ResolvedImage>> pulls = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      pulls.add(CompletableFuture.supplyAsync(() -> {
        try {
          go.await();
          return pull(s, registry.host() + "/big:latest", "linux/amd64");
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      }));
    }
    go.countDown();

    assertThat(pulls.get(0).get().manifestDigest()).isEqualTo(pulls.get(1).get().manifestDigest());
    for (int i = 0; i < big.blobs().size(); i++) {
      assertThat(registry.blobGets("big", big.blobs().get(i).digest()))
          .as("downloads of %s", big.blobs().get(i).digest()).isEqualTo(before.get(i) + 1);
    }
  }

  @Test
  void twoJvmsPullingOneImageIntoOneHomeDownloadEachBlobOnce() throws Exception {
    TestImage.Image image = TestImage.image("amd64", List.of(
        TestImage.gzip(TestImage.tar(TestImage.files("jvm", "two-" + System.nanoTime())))), false);
    registry.push("twojvms", "latest", image);
    String ref = registry.host() + "/twojvms:latest";
    Path ready = home.resolve("child.ready");
    Path go = home.resolve("go");
    Process child = new ProcessBuilder(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), PullMain.class.getName(),
        home.toString(), ref, ready.toString(), go.toString())
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    try {
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (!Files.exists(ready)) {
        assertThat(System.nanoTime()).as("the child JVM got ready in time").isLessThan(deadline);
        assertThat(child.isAlive()).as("the child JVM runs").isTrue();
        child.waitFor(20, java.util.concurrent.TimeUnit.MILLISECONDS); // poll
      }
      Files.createFile(go);

      ResolvedImage mine = pull(service(), ref, "linux/amd64");
      Path tree = new RootfsStore(home, false).prepare(mine);

      assertThat(child.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
      assertThat(child.exitValue()).isZero();
      assertThat(new String(child.getInputStream().readAllBytes()).trim()).isEqualTo(mine.manifestDigest());
      for (TestImage.Blob b : image.blobs()) {
        assertThat(registry.blobGets("twojvms", b.digest())).as("downloads of %s", b.digest()).isEqualTo(1);
      }
      assertThat(tree.resolve("jvm")).exists();
      try (Stream<Path> s = Files.list(home.resolve("store/rootfs"))) {
        assertThat(s.map(p -> p.getFileName().toString())).containsExactly(mine.manifestHex());
      }
    } finally {
      child.destroyForcibly().waitFor();
    }
  }

  @Test
  void pullPoliciesDecideWhetherTheRegistryIsAsked() throws Exception {
    ImageService s = service();
    ImageRef ref = ImageRef.parse(registry.host() + "/layered:1");

    assertThatThrownBy(() -> s.resolve(ref, "linux/amd64", PullPolicy.NEVER, ImageService.Progress.NONE, "t-"))
        .isInstanceOf(ImageException.class).hasMessageContaining("pull policy is NEVER");

    AtomicLong done = new AtomicLong();
    AtomicLong total = new AtomicLong();
    s.resolve(ref, "linux/amd64", PullPolicy.IF_MISSING, (d, t) -> {
      done.set(d);
      total.set(t);
    }, "t-");
    long expected = layered.config().bytes().length
        + layered.layers().stream().mapToLong(b -> b.bytes().length).sum();
    assertThat(total.get()).isEqualTo(expected);
    assertThat(done.get()).isEqualTo(expected);

    long manifestGets = manifestGets("layered", "1");
    s.resolve(ref, "linux/amd64", PullPolicy.IF_MISSING, ImageService.Progress.NONE, "t-");
    s.resolve(ref, "linux/amd64", PullPolicy.NEVER, ImageService.Progress.NONE, "t-");
    assertThat(manifestGets("layered", "1")).isEqualTo(manifestGets);
    s.resolve(ref, "linux/amd64", PullPolicy.ALWAYS, ImageService.Progress.NONE, "t-");
    assertThat(manifestGets("layered", "1")).isEqualTo(manifestGets + 1);
  }

  @Test
  void listRemoveAndPrune() throws Exception {
    ImageService s = service();
    ResolvedImage a = pull(s, registry.host() + "/layered:1", "linux/amd64");
    pull(s, registry.host() + "/multi:latest", "linux/amd64");
    Path tree = new RootfsStore(home, false).prepare(a);

    assertThat(s.list()).extracting(i -> i.ref()).containsExactly(
        registry.host() + "/layered:1", registry.host() + "/multi:latest");
    assertThat(s.list().get(0).digest()).isEqualTo(layered.manifest().digest());
    assertThat(s.list().get(0).created()).isEqualTo(java.time.Instant.parse("2026-01-02T03:04:05Z"));
    long size = layered.config().bytes().length + layered.layers().stream().mapToLong(b -> b.bytes().length).sum();
    assertThat(s.list().get(0).sizeBytes()).isEqualTo(size);

    assertThat(s.remove(registry.host() + "/layered:1")).isTrue();
    assertThat(s.remove(registry.host() + "/layered:1")).isFalse();
    assertThat(tree).doesNotExist();
    assertThat(s.blobs().has(layered.layers().get(0).digest())).isTrue();

    long freed = s.prune();

    assertThat(freed).isEqualTo(size + layered.manifest().bytes().length);
    assertThat(s.blobs().has(layered.config().digest())).isFalse();
    assertThat(s.blobs().has(amd64.config().digest())).isTrue();
    assertThat(s.blobs().has(layered.layers().get(0).digest())).isFalse();
    assertThat(s.blobs().has(amd64.layers().get(0).digest())).isTrue();
    assertThat(s.list()).extracting(i -> i.ref()).containsExactly(registry.host() + "/multi:latest");
  }

  private static long manifestGets(String repo, String tag) throws IOException {
    String needle = "\"GET /v2/" + repo + "/manifests/" + tag + " HTTP/1.1\" 200";
    return registry.log().lines().filter(l -> l.contains(needle)).count();
  }
}
