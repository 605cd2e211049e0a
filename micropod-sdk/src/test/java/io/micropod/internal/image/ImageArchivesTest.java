package io.micropod.internal.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micropod.ImageException;
import io.micropod.ImageRef;
import io.micropod.PullPolicy;
import io.micropod.internal.registry.DockerCredentials;
import io.micropod.internal.registry.RegistryClient;
import io.micropod.internal.registry.TestImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code oci-archive:} and {@code docker-archive:} sources, built in the test. */
class ImageArchivesTest {
  @TempDir Path tmp;

  private ImageService service() {
    return new ImageService(tmp.resolve("home"), new RegistryClient(RegistryClient.defaultHttpClient(),
        new DockerCredentials(Map.of(), tmp), Set.of()));
  }

  private ResolvedImage resolve(String ref) throws Exception {
    return service().resolve(ImageRef.parse(ref), "linux/amd64", PullPolicy.IF_MISSING, ImageService.Progress.NONE, "t-");
  }

  /** A tar of (name -> bytes, or "->target" for a symlink). */
  private static byte[] tar(Map<String, Object> entries) throws IOException {
    ByteArrayOutputStream bos = new ByteArrayOutputStream();
    try (TarArchiveOutputStream t = new TarArchiveOutputStream(bos)) {
      t.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      for (Map.Entry<String, Object> e : entries.entrySet()) {
        if (e.getValue() instanceof String s && s.startsWith("->")) {
          TarArchiveEntry te = new TarArchiveEntry(e.getKey(), TarConstants.LF_SYMLINK);
          te.setLinkName(s.substring(2));
          t.putArchiveEntry(te);
        } else {
          byte[] b = e.getValue() instanceof byte[] bytes ? bytes : ((String) e.getValue()).getBytes(StandardCharsets.UTF_8);
          TarArchiveEntry te = new TarArchiveEntry(e.getKey());
          te.setSize(b.length);
          te.setMode(0644);
          t.putArchiveEntry(te);
          t.write(b);
        }
        t.closeArchiveEntry();
      }
    }
    return bos.toByteArray();
  }

  @Test
  void ociArchiveResolvesLikeItsLayout() throws Exception {
    TestImage.Image image = TestImage.image("amd64",
        List.of(TestImage.gzip(TestImage.tar(TestImage.files("hello", "from oci-archive")))), false);
    Map<String, Object> entries = new java.util.LinkedHashMap<>();
    entries.put("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
    entries.put("index.json", "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" + RegistryClient.OCI_MANIFEST
        + "\",\"digest\":\"" + image.manifest().digest() + "\",\"size\":" + image.manifest().bytes().length
        + ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"v1\"}}]}");
    for (TestImage.Blob b : List.of(image.manifest(), image.config(), image.layers().get(0))) {
      entries.put("blobs/sha256/" + b.digest().substring(7), b.bytes());
    }
    Path archive = tmp.resolve("img.tar");
    Files.write(archive, tar(entries));

    ResolvedImage sole = resolve("oci-archive:" + archive);
    ResolvedImage named = resolve("oci-archive:" + archive + ":v1");

    assertThat(sole.manifestDigest()).isEqualTo(image.manifest().digest());
    assertThat(named.manifestDigest()).isEqualTo(image.manifest().digest());
    assertThat(sole.ref().toString()).isEqualTo("oci-archive:" + archive);
    Path tree = new RootfsStore(tmp.resolve("home"), false).prepare(sole);
    assertThat(tree.resolve("hello")).hasContent("from oci-archive");
    assertThatThrownBy(() -> resolve("oci-archive:" + archive + ":v2"))
        .isInstanceOf(ImageException.class).hasMessageContaining("no manifest tagged \"v2\"");
  }

  private Path dockerArchive(String layersJson, Map<String, Object> extra) throws IOException {
    Map<String, Object> entries = new java.util.LinkedHashMap<>();
    entries.put("manifest.json", "[{\"Config\":\"cfg.json\",\"RepoTags\":[\"app:1\"],\"Layers\":" + layersJson + "}]");
    entries.put("cfg.json", "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"/bin/sh\"]},"
        + "\"created\":\"2026-01-01T00:00:00Z\"}");
    entries.putAll(extra);
    Path archive = tmp.resolve("docker-" + Integer.toHexString(entries.hashCode()) + ".tar");
    Files.write(archive, tar(entries));
    return archive;
  }

  @Test
  void dockerSaveArchiveWithASymlinkedLayerUnpacks() throws Exception {
    Map<String, Object> extra = new java.util.LinkedHashMap<>();
    extra.put("l1/layer.tar", TestImage.tar(TestImage.files("a", "1", "b", "2")));
    extra.put("l2/layer.tar", TestImage.tar(TestImage.files(".wh.a", "", "c", "3")));
    extra.put("l3/layer.tar", "->../l1/layer.tar"); // older docker save: a repeated layer is a symlink
    Path archive = dockerArchive("[\"l1/layer.tar\",\"l2/layer.tar\",\"l3/layer.tar\"]", extra);

    ResolvedImage image = resolve("docker-archive:" + archive);
    ResolvedImage named = resolve("docker-archive:" + archive + ":app:1");

    assertThat(image.manifestDigest()).isEqualTo(named.manifestDigest());
    assertThat(image.layers()).hasSize(3);
    assertThat(image.config().cmd()).containsExactly("/bin/sh");
    Path tree = new RootfsStore(tmp.resolve("home"), false).prepare(image);
    assertThat(tree.resolve("a")).hasContent("1"); // restored by the repeated bottom layer
    assertThat(tree.resolve("c")).hasContent("3");
    assertThatThrownBy(() -> resolve("docker-archive:" + archive + ":other:2"))
        .isInstanceOf(ImageException.class).hasMessageContaining("[app:1]");
  }

  @Test
  void hostileDockerArchivesAreRefused() throws Exception {
    Files.writeString(tmp.resolve("secret"), "s");
    Path traversal = dockerArchive("[\"../../secret\"]", Map.of());
    Path viaSymlink = dockerArchive("[\"evil/layer.tar\"]", Map.of("evil/layer.tar", "->" + tmp.resolve("secret")));
    Path hostileTar = tmp.resolve("hostile.tar");
    Files.write(hostileTar, tar(Map.of("../escape", "x")));

    assertThatThrownBy(() -> resolve("docker-archive:" + traversal))
        .isInstanceOf(ImageException.class).hasMessageContaining("../../secret");
    assertThatThrownBy(() -> resolve("docker-archive:" + viaSymlink))
        .isInstanceOf(ImageException.class).hasMessageContaining("evil/layer.tar");
    assertThatThrownBy(() -> resolve("docker-archive:" + hostileTar))
        .isInstanceOf(ImageException.class).hasMessageContaining("'..'");
    assertThat(tmp.resolve("home/store/escape")).doesNotExist();
    assertThat(tmp.resolve("home/store/archives/escape")).doesNotExist();
  }

  @Test
  void aMissingArchiveOrTheWrongKindSaysSo() throws Exception {
    Path oci = dockerArchive("[]", Map.of());

    assertThatThrownBy(() -> resolve("docker-archive:" + tmp.resolve("nope.tar")))
        .isInstanceOf(ImageException.class).hasMessageContaining("does not exist");
    assertThatThrownBy(() -> resolve("oci-archive:" + oci))
        .isInstanceOf(ImageException.class).hasMessageContaining("use docker-archive:");
  }
}
