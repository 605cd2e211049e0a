package io.micropod.internal.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;
import org.apache.commons.compress.compressors.zstandard.ZstdCompressorOutputStream;

/** Builds small images in memory (layers, config, manifest, index) for registry tests. */
public final class TestImage {
  private static final ObjectMapper JSON = new ObjectMapper();

  public record Blob(String digest, byte[] bytes, String mediaType) {}

  /** What {@link LocalRegistry#push} needs. */
  public interface Pushable {
    Blob manifest();

    List<Blob> blobs();
  }

  /** One image manifest with its config and layers. */
  public record Image(Blob manifest, Blob config, List<Blob> layers) implements Pushable {
    @Override
    public List<Blob> blobs() {
      List<Blob> out = new ArrayList<>();
      out.add(config);
      out.addAll(layers);
      return out;
    }
  }

  /** An index (or Docker manifest list) and the images it lists. */
  public record Index(Blob manifest, List<Image> images) implements Pushable {
    @Override
    public List<Blob> blobs() {
      List<Blob> out = new ArrayList<>();
      for (Image i : images) {
        out.addAll(i.blobs());
      }
      return out;
    }

    /** Every manifest the registry needs before the index can be pushed. */
    public List<Image> children() {
      return images;
    }
  }

  public static Blob blob(byte[] bytes, String mediaType) {
    return new Blob(digest(bytes), bytes, mediaType);
  }

  public static String digest(byte[] bytes) {
    try {
      return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A tar of regular files (path -> content), directories made as needed by the unpacker. */
  public static byte[] tar(Map<String, String> files) throws IOException {
    ByteArrayOutputStream bos = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bos)) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      for (Map.Entry<String, String> e : files.entrySet()) {
        byte[] data = e.getValue().getBytes(StandardCharsets.UTF_8);
        TarArchiveEntry entry = new TarArchiveEntry(e.getKey());
        entry.setSize(data.length);
        entry.setMode(0644);
        tar.putArchiveEntry(entry);
        tar.write(data);
        tar.closeArchiveEntry();
      }
    }
    return bos.toByteArray();
  }

  public static byte[] gzip(byte[] data) throws IOException {
    ByteArrayOutputStream bos = new ByteArrayOutputStream();
    try (OutputStream out = new GzipCompressorOutputStream(bos)) {
      out.write(data);
    }
    return bos.toByteArray();
  }

  public static byte[] zstd(byte[] data) throws IOException {
    ByteArrayOutputStream bos = new ByteArrayOutputStream();
    try (OutputStream out = new ZstdCompressorOutputStream(bos)) {
      out.write(data);
    }
    return bos.toByteArray();
  }

  /** An OCI image for {@code linux/<arch>} with the given layers (gzip media type unless zstd). */
  public static Image image(String arch, List<byte[]> compressedLayers, boolean docker) throws IOException {
    List<Blob> layers = new ArrayList<>();
    for (byte[] l : compressedLayers) {
      boolean z = l.length >= 4 && (l[0] & 0xff) == 0x28 && (l[1] & 0xff) == 0xb5;
      String mt = docker ? "application/vnd.docker.image.rootfs.diff.tar.gzip"
          : z ? "application/vnd.oci.image.layer.v1.tar+zstd" : "application/vnd.oci.image.layer.v1.tar+gzip";
      layers.add(blob(l, mt));
    }
    ObjectNode config = JSON.createObjectNode();
    config.put("architecture", arch).put("os", "linux").put("created", "2026-01-02T03:04:05Z");
    config.putObject("config").putArray("Cmd").add("/bin/sh");
    ObjectNode rootfs = config.putObject("rootfs");
    rootfs.put("type", "layers");
    ArrayNode diffIds = rootfs.putArray("diff_ids");
    for (byte[] l : compressedLayers) {
      diffIds.add(digest(uncompressed(l)));
    }
    Blob configBlob = blob(JSON.writeValueAsBytes(config),
        docker ? "application/vnd.docker.container.image.v1+json" : "application/vnd.oci.image.config.v1+json");
    ObjectNode m = JSON.createObjectNode();
    m.put("schemaVersion", 2);
    String mt = docker ? RegistryClient.DOCKER_MANIFEST : RegistryClient.OCI_MANIFEST;
    m.put("mediaType", mt);
    m.set("config", descriptor(configBlob));
    ArrayNode ls = m.putArray("layers");
    layers.forEach(l -> ls.add(descriptor(l)));
    return new Image(blob(JSON.writeValueAsBytes(m), mt), configBlob, layers);
  }

  /** The tar inside a gzip, zstd or plain layer. */
  public static byte[] uncompressed(byte[] layer) throws IOException {
    java.io.InputStream in = new java.io.ByteArrayInputStream(layer);
    if (layer.length >= 2 && (layer[0] & 0xff) == 0x1f && (layer[1] & 0xff) == 0x8b) {
      in = new org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream(in, true);
    } else if (layer.length >= 4 && (layer[0] & 0xff) == 0x28 && (layer[1] & 0xff) == 0xb5) {
      in = new org.apache.commons.compress.compressors.zstandard.ZstdCompressorInputStream(in);
    }
    try (java.io.InputStream i = in) {
      return i.readAllBytes();
    }
  }

  /** An index of images, each with its platform {@code os/arch[/variant]}. */
  public static Index index(Map<String, Image> byPlatform, boolean dockerList) throws IOException {
    ObjectNode idx = JSON.createObjectNode();
    idx.put("schemaVersion", 2);
    String mt = dockerList ? RegistryClient.DOCKER_LIST : RegistryClient.OCI_INDEX;
    idx.put("mediaType", mt);
    ArrayNode ms = idx.putArray("manifests");
    for (Map.Entry<String, Image> e : byPlatform.entrySet()) {
      ObjectNode d = descriptor(e.getValue().manifest());
      String[] p = e.getKey().split("/");
      ObjectNode plat = d.putObject("platform");
      plat.put("architecture", p[1]).put("os", p[0]);
      if (p.length > 2) {
        plat.put("variant", p[2]);
      }
      ms.add(d);
    }
    return new Index(blob(JSON.writeValueAsBytes(idx), mt), List.copyOf(byPlatform.values()));
  }

  static ObjectNode descriptor(Blob b) {
    ObjectNode d = JSON.createObjectNode();
    d.put("mediaType", b.mediaType()).put("digest", b.digest()).put("size", b.bytes().length);
    return d;
  }

  /** The image of an OCI layout directory ({@code index.json} with one tagged manifest). */
  public static Image fromLayout(Path layout) throws IOException {
    var index = JSON.readTree(layout.resolve("index.json").toFile());
    String md = index.path("manifests").get(0).path("digest").asText();
    byte[] mBytes = Files.readAllBytes(blobPath(layout, md));
    var m = JSON.readTree(mBytes);
    String mt = m.path("mediaType").asText(RegistryClient.OCI_MANIFEST);
    Blob config = new Blob(m.path("config").path("digest").asText(),
        Files.readAllBytes(blobPath(layout, m.path("config").path("digest").asText())),
        m.path("config").path("mediaType").asText());
    List<Blob> layers = new ArrayList<>();
    for (var l : m.path("layers")) {
      layers.add(new Blob(l.path("digest").asText(), Files.readAllBytes(blobPath(layout, l.path("digest").asText())),
          l.path("mediaType").asText()));
    }
    return new Image(new Blob(md, mBytes, mt), config, layers);
  }

  /**
   * Writes {@code out}: an OCI image layout of the first image of layout {@code base} plus one
   * more gzip layer ({@code layerTar}, a tar), its config changed by {@code editConfig} (after the
   * layer's diff_id was added). Built beside {@code out} and moved into place, so a reader never
   * sees a half-written layout; an existing {@code out} is replaced. A null {@code base} is an
   * empty {@code linux/amd64} image ({@code FROM scratch}).
   */
  public static Path extendLayout(Path base, byte[] layerTar, java.util.function.Consumer<ObjectNode> editConfig,
      Path out) throws IOException {
    Path work = out.resolveSibling(out.getFileName() + ".tmp-" + ProcessHandle.current().pid());
    io.micropod.internal.files.FileTrees.deleteTree(work);
    Path blobs = work.resolve("blobs").resolve("sha256");
    Files.createDirectories(blobs);
    if (base == null) {
      base = scratch(work.resolveSibling(work.getFileName() + "-scratch"));
    }
    try (var s = Files.list(base.resolve("blobs").resolve("sha256"))) {
      for (Path b : s.toList()) {
        Files.copy(b, blobs.resolve(b.getFileName()));
      }
    }
    ByteArrayOutputStream gz = new ByteArrayOutputStream();
    try (OutputStream g = new java.util.zip.GZIPOutputStream(gz)) {
      g.write(layerTar);
    }
    Blob layer = put(blobs, gz.toByteArray());
    ObjectNode index = (ObjectNode) JSON.readTree(base.resolve("index.json").toFile());
    ObjectNode m0 = (ObjectNode) index.get("manifests").get(0);
    ObjectNode manifest = (ObjectNode) JSON.readTree(blobPath(base, m0.get("digest").asText()).toFile());
    ObjectNode config = (ObjectNode) JSON.readTree(blobPath(base, manifest.get("config").get("digest").asText())
        .toFile());
    ((ArrayNode) config.get("rootfs").get("diff_ids")).add(digest(layerTar));
    editConfig.accept(config);
    Blob configBlob = put(blobs, JSON.writeValueAsBytes(config));
    ((ObjectNode) manifest.get("config")).put("digest", configBlob.digest()).put("size", configBlob.bytes().length);
    ((ArrayNode) manifest.get("layers")).addObject().put("mediaType", "application/vnd.oci.image.layer.v1.tar+gzip")
        .put("digest", layer.digest()).put("size", layer.bytes().length);
    Blob manifestBlob = put(blobs, JSON.writeValueAsBytes(manifest));
    m0.put("digest", manifestBlob.digest()).put("size", manifestBlob.bytes().length);
    Files.write(work.resolve("index.json"), JSON.writeValueAsBytes(index));
    Files.copy(base.resolve("oci-layout"), work.resolve("oci-layout"));
    io.micropod.internal.files.FileTrees.deleteTree(out);
    Files.move(work, out, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    if (base.getFileName().toString().endsWith("-scratch")) {
      io.micropod.internal.files.FileTrees.deleteTree(base);
    }
    return out;
  }

  /** A layout at {@code dir} of an image with no layers, for {@link #extendLayout}. */
  private static Path scratch(Path dir) throws IOException {
    io.micropod.internal.files.FileTrees.deleteTree(dir);
    Path blobs = dir.resolve("blobs").resolve("sha256");
    Files.createDirectories(blobs);
    ObjectNode config = JSON.createObjectNode();
    config.put("architecture", "amd64").put("os", "linux").put("created", "1970-01-01T00:00:00Z");
    config.putObject("config");
    config.putObject("rootfs").put("type", "layers").putArray("diff_ids");
    Blob configBlob = put(blobs, JSON.writeValueAsBytes(config));
    ObjectNode m = JSON.createObjectNode();
    m.put("schemaVersion", 2).put("mediaType", RegistryClient.OCI_MANIFEST);
    m.putObject("config").put("mediaType", "application/vnd.oci.image.config.v1+json")
        .put("digest", configBlob.digest()).put("size", configBlob.bytes().length);
    m.putArray("layers");
    Blob manifestBlob = put(blobs, JSON.writeValueAsBytes(m));
    ObjectNode index = JSON.createObjectNode();
    index.put("schemaVersion", 2).put("mediaType", RegistryClient.OCI_INDEX);
    index.putArray("manifests").addObject().put("mediaType", RegistryClient.OCI_MANIFEST)
        .put("digest", manifestBlob.digest()).put("size", manifestBlob.bytes().length)
        .putObject("annotations").put(io.micropod.internal.image.OciLayout.REF_NAME, "latest");
    Files.write(dir.resolve("index.json"), JSON.writeValueAsBytes(index));
    Files.writeString(dir.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
    return dir;
  }

  /**
   * Writes {@code out}: layout {@code base} with {@code healthcheckJson} as its config's
   * {@code Healthcheck}, as Docker writes it ({@code Test}, durations in nanoseconds), on one more
   * layer holding {@code /etc/micropod-image-healthcheck}.
   */
  public static Path withHealthcheck(Path base, String healthcheckJson, Path out) throws IOException {
    JsonNode healthcheck = JSON.readTree(healthcheckJson);
    return extendLayout(base, tar(files("etc/micropod-image-healthcheck", healthcheckJson + "\n")),
        config -> ((ObjectNode) config.get("config")).set("Healthcheck", healthcheck), out);
  }

  private static Blob put(Path blobs, byte[] data) throws IOException {
    Blob b = blob(data, "");
    Files.write(blobs.resolve(b.digest().substring("sha256:".length())), data);
    return b;
  }

  private static Path blobPath(Path layout, String digest) {
    return layout.resolve("blobs").resolve("sha256").resolve(digest.substring(7));
  }

  /** Convenience: an ordered map. */
  public static Map<String, String> files(String... pathThenContent) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < pathThenContent.length; i += 2) {
      m.put(pathThenContent[i], pathThenContent[i + 1]);
    }
    return m;
  }

  private TestImage() {}
}
