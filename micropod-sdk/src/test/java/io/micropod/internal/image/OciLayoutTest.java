package io.micropod.internal.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micropod.ImageException;
import io.micropod.ImageRef;
import io.micropod.internal.image.LayerUnpackerTest.Tar;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OciLayoutTest {

  /** Writes OCI image layouts the way skopeo does. */
  static final class Layout {
    final Path dir;
    private final List<String> indexEntries = new ArrayList<>();

    Layout(Path dir) {
      this.dir = dir;
      try {
        Files.createDirectories(dir.resolve("blobs/sha256"));
        Files.writeString(dir.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    String blob(byte[] bytes) {
      String digest = OciLayout.digest("sha256", bytes);
      try {
        Files.write(OciLayout.blobPath(dir, digest), bytes);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return digest;
    }

    String blob(String json) {
      return blob(json.getBytes(StandardCharsets.UTF_8));
    }

    static String descriptor(String mediaType, String digest, long size, String extra) {
      return "{\"mediaType\":\"" + mediaType + "\",\"digest\":\"" + digest + "\",\"size\":" + size
          + (extra == null ? "" : "," + extra) + "}";
    }

    /** Writes a config and a manifest of gzip layers; returns the manifest's descriptor. */
    String image(String config, byte[]... gzLayers) {
      String configDigest = blob(config);
      StringBuilder layers = new StringBuilder();
      for (byte[] l : gzLayers) {
        if (layers.length() > 0) {
          layers.append(',');
        }
        layers.append(descriptor("application/vnd.oci.image.layer.v1.tar+gzip", blob(l), l.length, null));
      }
      String manifest = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
          + "\"config\":" + descriptor("application/vnd.oci.image.config.v1+json", configDigest,
              config.getBytes(StandardCharsets.UTF_8).length, null)
          + ",\"layers\":[" + layers + "]}";
      byte[] m = manifest.getBytes(StandardCharsets.UTF_8);
      return descriptor("application/vnd.oci.image.manifest.v1+json", blob(m), m.length, null);
    }

    Layout tag(String descriptor, String tag) {
      String withTag = tag == null ? descriptor
          : descriptor.substring(0, descriptor.length() - 1)
              + ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"" + tag + "\"}}";
      indexEntries.add(withTag);
      try {
        Files.writeString(dir.resolve("index.json"),
            "{\"schemaVersion\":2,\"manifests\":[" + String.join(",", indexEntries) + "]}");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return this;
    }
  }

  static final String CONFIG = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{"
      + "\"Env\":[\"PATH=/bin\",\"LANG=C\"],\"Entrypoint\":[\"/bin/entry\"],\"Cmd\":[\"sh\"],"
      + "\"WorkingDir\":\"/work\",\"User\":\"1000\"}}";

  @TempDir Path tmp;

  @Test
  void resolvesTheManifestTaggedByRefNameWithConfigAndLayers() {
    Layout layout = new Layout(tmp.resolve("layout"));
    byte[] l1 = new Tar().file("bin/a", "a").gzipped();
    byte[] l2 = new Tar().file("bin/b", "b").gzipped();
    layout.tag(layout.image("{\"config\":{\"Cmd\":[\"other\"]}}", l1), "old");
    String latest = layout.image(CONFIG, l1, l2);
    layout.tag(latest, "latest");

    ResolvedImage image = OciLayout.resolve(ImageRef.parse("oci:" + layout.dir));

    assertThat(latest).contains(image.manifestDigest());
    assertThat(image.config().env()).containsExactly("PATH=/bin", "LANG=C");
    assertThat(image.config().entrypoint()).containsExactly("/bin/entry");
    assertThat(image.config().cmd()).containsExactly("sh");
    assertThat(image.config().workingDir()).isEqualTo("/work");
    assertThat(image.config().user()).isEqualTo("1000");
    assertThat(image.config().architecture()).isEqualTo("amd64");
    assertThat(image.layers()).hasSize(2);
    assertThat(image.layers().get(0).blob()).hasBinaryContent(l1);
    assertThat(image.layers().get(1).mediaType()).isEqualTo("application/vnd.oci.image.layer.v1.tar+gzip");

    ResolvedImage old = OciLayout.resolve(ImageRef.parse("oci:" + layout.dir + ":old"));
    assertThat(old.config().cmd()).containsExactly("other");
    assertThat(old.layers()).hasSize(1);
  }

  @Test
  void missingTagListsTheTagsThere() {
    Layout layout = new Layout(tmp.resolve("layout"));
    layout.tag(layout.image(CONFIG), "v1").tag(layout.image(CONFIG), "v2");

    assertThatThrownBy(() -> OciLayout.resolve(ImageRef.parse("oci:" + layout.dir + ":v3")))
        .isInstanceOf(ImageException.class)
        .hasMessageContaining("no manifest tagged \"v3\"")
        .hasMessageContaining("[v1, v2]")
        .satisfies(e -> assertThat(((ImageException) e).ref()).isEqualTo("oci:" + layout.dir + ":v3"));
  }

  @Test
  void singleUntaggedManifestIsLatest() {
    Layout layout = new Layout(tmp.resolve("layout"));
    layout.tag(layout.image(CONFIG), null);

    assertThat(OciLayout.resolve(ImageRef.parse("oci:" + layout.dir)).config().cmd()).containsExactly("sh");
  }

  @Test
  void descendsThroughAnImageIndexToLinuxAmd64() {
    Layout layout = new Layout(tmp.resolve("layout"));
    String arm = layout.image("{\"architecture\":\"arm64\",\"config\":{\"Cmd\":[\"arm\"]}}");
    String amd = layout.image(CONFIG);
    String index = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
        + arm.substring(0, arm.length() - 1) + ",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}},"
        + amd.substring(0, amd.length() - 1) + ",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";
    byte[] ib = index.getBytes(StandardCharsets.UTF_8);
    layout.tag(Layout.descriptor("application/vnd.oci.image.index.v1+json", layout.blob(ib), ib.length, null), "multi");

    ResolvedImage image = OciLayout.resolve(ImageRef.parse("oci:" + layout.dir + ":multi"));

    assertThat(image.config().cmd()).containsExactly("sh");
    assertThat(amd).contains(image.manifestDigest());
  }

  @Test
  void corruptedBlobIsNamed() throws IOException {
    Layout layout = new Layout(tmp.resolve("layout"));
    String desc = layout.image(CONFIG);
    layout.tag(desc, "latest");
    String digest = desc.replaceAll(".*\"digest\":\"(sha256:[0-9a-f]+)\".*", "$1");
    Files.writeString(OciLayout.blobPath(layout.dir, digest), "{\"tampered\":true}");

    assertThatThrownBy(() -> OciLayout.resolve(ImageRef.parse("oci:" + layout.dir)))
        .isInstanceOf(ImageException.class)
        .hasMessageContaining("does not match its digest " + digest);
  }

  @Test
  void missingDirectoryAndMissingOciLayoutFileSayWhatToDo() throws IOException {
    assertThatThrownBy(() -> OciLayout.resolve(ImageRef.parse("oci:" + tmp.resolve("nope"))))
        .isInstanceOf(ImageException.class)
        .hasMessageContaining("does not exist").hasMessageContaining("skopeo copy");
    Files.createDirectory(tmp.resolve("empty"));
    assertThatThrownBy(() -> OciLayout.resolve(ImageRef.parse("oci:" + tmp.resolve("empty"))))
        .isInstanceOf(ImageException.class)
        .hasMessageContaining("oci-layout is missing");
  }

  @Test
  void storeUnpacksVerifiedLayersInOrderIntoTheManifestsDirectory() throws Exception {
    Layout layout = new Layout(tmp.resolve("layout"));
    layout.tag(layout.image(CONFIG,
        new Tar().file("etc/passwd", "root:x:0:0::/root:/bin/sh\n").file("old", "o").gzipped(),
        new Tar().whiteout("", "old").file("new", "n").gzipped()), "latest");
    ResolvedImage image = OciLayout.resolve(ImageRef.parse("oci:" + layout.dir));
    RootfsStore store = new RootfsStore(tmp.resolve("home"), false);

    Path tree = store.prepare(image);

    assertThat(tree).isEqualTo(tmp.resolve("home/store/rootfs").resolve(image.manifestHex()));
    assertThat(tree.resolve("etc/passwd")).exists();
    assertThat(tree.resolve("old")).doesNotExist();
    assertThat(tree.resolve("new")).hasContent("n");
    assertThat(store.prepare(image)).isEqualTo(tree);
    try (Stream<Path> s = Files.list(tmp.resolve("home/store/rootfs"))) {
      assertThat(s).containsExactly(tree);
    }
  }

  @Test
  void storeRejectsALayerWhoseBytesDoNotMatchItsDigestAndLeavesNothing() throws Exception {
    Layout layout = new Layout(tmp.resolve("layout"));
    byte[] layer = new Tar().file("a", "a").bytes();
    String desc = layout.image(CONFIG, layer);
    layout.tag(desc, "latest");
    ResolvedImage image = OciLayout.resolve(ImageRef.parse("oci:" + layout.dir));
    byte[] tampered = new Tar().file("b", "b").bytes();
    Files.write(image.layers().get(0).blob(), java.util.Arrays.copyOf(tampered, layer.length));
    RootfsStore store = new RootfsStore(tmp.resolve("home"), false);

    assertThatThrownBy(() -> store.prepare(image))
        .isInstanceOf(ImageException.class).hasMessageContaining("does not match its digest");
    try (Stream<Path> s = Files.list(tmp.resolve("home/store/rootfs"))) {
      assertThat(s).isEmpty();
    }
  }

  @Test
  void storeRemovesThePartialTreeOfAHostileImage() throws Exception {
    Layout layout = new Layout(tmp.resolve("layout"));
    layout.tag(layout.image(CONFIG, new Tar().file("ok", "1").file("../../escape", "x").gzipped()), "latest");
    ResolvedImage image = OciLayout.resolve(ImageRef.parse("oci:" + layout.dir));
    RootfsStore store = new RootfsStore(tmp.resolve("home"), false);

    assertThatThrownBy(() -> store.prepare(image))
        .isInstanceOf(ImageException.class).hasMessageContaining("../../escape");
    try (Stream<Path> s = Files.list(tmp.resolve("home/store/rootfs"))) {
      assertThat(s).isEmpty();
    }
    assertThat(tmp.resolve("escape")).doesNotExist();
  }

  @Test
  void concurrentPreparesOfOneImageUnpackItOnce() throws Exception {
    Layout layout = new Layout(tmp.resolve("layout"));
    Tar big = new Tar();
    for (int i = 0; i < 200; i++) {
      big.file("files/f" + i, "content " + i);
    }
    layout.tag(layout.image(CONFIG, big.gzipped()), "latest");
    ResolvedImage image = OciLayout.resolve(ImageRef.parse("oci:" + layout.dir));
    Path home = tmp.resolve("home");
    // Two stores stand for two runtimes (or two JVMs) sharing one home.
    List<RootfsStore> stores = List.of(new RootfsStore(home, false), new RootfsStore(home, false));
    ExecutorService pool = Executors.newFixedThreadPool(4);
    CountDownLatch go = new CountDownLatch(1);
    try {
      List<Future<Path>> results = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        RootfsStore store = stores.get(i % 2);
        Callable<Path> task = () -> {
          go.await();
          return store.prepare(image);
        };
        results.add(pool.submit(task));
      }
      go.countDown();
      for (Future<Path> r : results) {
        assertThat(r.get()).isEqualTo(home.resolve("store/rootfs").resolve(image.manifestHex()));
      }
    } finally {
      pool.shutdownNow();
    }
    try (Stream<Path> s = Files.list(home.resolve("store/rootfs"))) {
      assertThat(s).hasSize(1);
    }
    try (Stream<Path> s = Files.list(home.resolve("store/rootfs").resolve(image.manifestHex()).resolve("files"))) {
      assertThat(s).hasSize(200);
    }
  }
}
