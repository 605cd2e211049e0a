package io.micropod.internal.image;

import io.micropod.internal.files.FileLocks;
import io.micropod.internal.files.FileTrees;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micropod.ImageException;
import io.micropod.ImageRef;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Reads image archives: {@code oci-archive:} (a tar of an OCI image layout, as
 * {@code skopeo copy ... oci-archive:} writes) and {@code docker-archive:} (what
 * {@code docker save} writes: {@code manifest.json}, a config and {@code layer.tar} files).
 * An archive is extracted once, with the same path safety as layers, into
 * {@code <home>/store/archives/<key>/} (key: the archive's path, size and mtime), then read like
 * a layout. A docker archive's image is keyed by the digest of an OCI manifest synthesised from
 * its config and layer digests, so equal archives share one unpacked tree. Thread-safe.
 */
final class ImageArchives {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path dir;

  ImageArchives(Path home) {
    this.dir = home.resolve("store").resolve("archives");
  }

  ResolvedImage resolve(ImageRef ref, String platform) throws IOException, InterruptedException {
    Path archive = ref.archive().orElseThrow();
    String name = ref.toString();
    if (!Files.isRegularFile(archive)) {
      throw new ImageException(name, "image archive " + archive + " does not exist or is not a file");
    }
    Path extracted = extract(name, archive);
    if (ref.archiveKind().orElseThrow().equals(ImageRef.OCI_ARCHIVE)) {
      if (!Files.isRegularFile(extracted.resolve("oci-layout"))) {
        throw new ImageException(name, archive + " is not an OCI archive (no oci-layout file in it)"
            + (Files.isRegularFile(extracted.resolve("manifest.json")) ? "; it looks like a docker archive: use docker-archive:" + archive : ""));
      }
      String tag = ref.tag().orElseGet(() -> soleTag(name, extracted));
      ResolvedImage r = OciLayout.resolve(ImageRef.ociLayout(extracted, tag), platform);
      return new ResolvedImage(ref, r.manifestDigest(), r.config(), r.layers(), r.created());
    }
    return dockerArchive(ref, extracted);
  }

  private static String soleTag(String name, Path layout) {
    try {
      JsonNode index = JSON.readTree(layout.resolve("index.json").toFile());
      JsonNode manifests = index.path("manifests");
      if (manifests.size() != 1) {
        throw new ImageException(name, "the archive holds " + manifests.size()
            + " images: name one, e.g. oci-archive:<file>:<name>");
      }
      return manifests.get(0).path("annotations").path(OciLayout.REF_NAME).asText(ImageRef.DEFAULT_TAG);
    } catch (IOException e) {
      throw new ImageException(name, "cannot read index.json of the archive: " + e.getMessage(), e);
    }
  }

  private ResolvedImage dockerArchive(ImageRef ref, Path root) throws IOException {
    String name = ref.toString();
    Path manifestFile = root.resolve("manifest.json");
    if (!Files.isRegularFile(manifestFile)) {
      throw new ImageException(name, ref.archive().orElseThrow() + " is not a docker archive (no manifest.json)"
          + (Files.isRegularFile(root.resolve("oci-layout")) ? "; it looks like an OCI archive: use oci-archive:" : ""));
    }
    JsonNode list = JSON.readTree(manifestFile.toFile());
    JsonNode chosen = null;
    List<String> tags = new ArrayList<>();
    for (JsonNode e : list) {
      for (JsonNode t : e.path("RepoTags")) {
        tags.add(t.asText());
        if (ref.tag().isPresent() && matches(t.asText(), ref.tag().get())) {
          chosen = e;
        }
      }
    }
    if (ref.tag().isEmpty()) {
      if (list.size() != 1) {
        throw new ImageException(name, "the docker archive holds " + list.size() + " images " + tags
            + ": name one, e.g. docker-archive:<file>:<name:tag>");
      }
      chosen = list.get(0);
    } else if (chosen == null) {
      throw new ImageException(name, "the docker archive has no image tagged \"" + ref.tag().get() + "\"; it has " + tags);
    }
    Path configFile = inside(name, root, chosen.path("Config").asText(""));
    byte[] configBytes = Files.readAllBytes(configFile);
    String configDigest = OciLayout.digest("sha256", configBytes);
    JsonNode config = JSON.readTree(configBytes);
    List<Layer> layers = new ArrayList<>();
    ObjectNode manifest = JSON.createObjectNode();
    manifest.put("schemaVersion", 2);
    manifest.put("mediaType", "application/vnd.oci.image.manifest.v1+json");
    manifest.putObject("config").put("mediaType", "application/vnd.oci.image.config.v1+json")
        .put("digest", configDigest).put("size", configBytes.length);
    ArrayNode ml = manifest.putArray("layers");
    for (JsonNode l : chosen.path("Layers")) {
      Path file = inside(name, root, l.asText(""));
      String digest = sha256(file);
      long size = Files.size(file);
      layers.add(new Layer(digest, "application/vnd.oci.image.layer.v1.tar", size, file));
      ml.addObject().put("mediaType", "application/vnd.oci.image.layer.v1.tar").put("digest", digest).put("size", size);
    }
    String manifestDigest = OciLayout.digest("sha256", JSON.writeValueAsString(manifest).getBytes(StandardCharsets.UTF_8));
    return new ResolvedImage(ref, manifestDigest, OciLayout.parseConfig(config), layers, config.path("created").asText(""));
  }

  private static boolean matches(String repoTag, String wanted) {
    if (repoTag.equals(wanted)) {
      return true;
    }
    try {
      return ImageRef.parse(repoTag).equals(ImageRef.parse(wanted));
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** {@code rel} resolved under {@code root}, following symlinks only inside it. */
  private static Path inside(String name, Path root, String rel) throws IOException {
    if (rel.isEmpty() || rel.startsWith("/") || rel.contains("\0")) {
      throw new ImageException(name, "the docker archive's manifest.json names an invalid file \"" + rel + "\"");
    }
    Path realRoot = root.toRealPath();
    Path p;
    try {
      p = root.resolve(rel).toRealPath();
    } catch (IOException e) {
      throw new ImageException(name, "the docker archive lacks " + rel + " named in its manifest.json", e);
    }
    if (!p.startsWith(realRoot) || !Files.isRegularFile(p)) {
      throw new ImageException(name, "the docker archive's manifest.json names \"" + rel
          + "\", which is not a file inside the archive; refusing it (hostile or broken archive)");
    }
    return p;
  }

  /** {@code sha256:<hex>} of the file's bytes. */
  public static String sha256(Path file) throws IOException {
    MessageDigest md = OciLayout.messageDigest("sha256");
    try (InputStream in = Files.newInputStream(file)) {
      byte[] buf = new byte[65536];
      int n;
      while ((n = in.read(buf)) > 0) {
        md.update(buf, 0, n);
      }
    }
    return "sha256:" + HexFormat.of().formatHex(md.digest());
  }

  private Path extract(String name, Path archive) throws IOException, InterruptedException {
    String keySource = archive + "\n" + Files.size(archive) + "\n" + Files.getLastModifiedTime(archive).toMillis();
    String key = HexFormat.of().formatHex(OciLayout.messageDigest("sha256")
        .digest(keySource.getBytes(StandardCharsets.UTF_8)));
    Path target = dir.resolve(key);
    if (Files.isDirectory(target)) {
      return target;
    }
    Files.createDirectories(dir);
    try (FileLocks.Held lock = FileLocks.lock(dir.resolve(".lock-" + key))) {
      if (Files.isDirectory(target)) {
        return target;
      }
      Path tmp = Files.createTempDirectory(dir, ".tmp-");
      boolean done = false;
      try {
        LayerUnpacker unpacker = new LayerUnpacker(tmp, name, false);
        try (InputStream in = Files.newInputStream(archive)) {
          unpacker.apply(in, "archive " + archive.getFileName());
        }
        unpacker.finish();
        try {
          Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException | FileAlreadyExistsException e) {
          throw new IOException("cannot move " + tmp + " to " + target + ": " + e, e);
        }
        done = true;
      } finally {
        if (!done) {
          FileTrees.deleteTree(tmp);
        }
      }
    }
    return target;
  }

  /** Deletes every extracted archive (they are extracted again when used). */
  void clear() throws IOException {
    if (!Files.isDirectory(dir)) {
      return;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      for (Path p : ds) {
        FileTrees.deleteTree(p);
      }
    }
  }
}
