package io.micropod.internal.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micropod.ImageException;
import io.micropod.ImageRef;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Reads an OCI image layout ({@code oci-layout}, {@code index.json}, {@code blobs/<alg>/<hex>}):
 * finds the manifest tagged by {@code org.opencontainers.image.ref.name} (descending through an
 * image index to {@code linux/amd64}), verifies the digests of the manifest and config, and
 * returns the config and the layers. Layer blobs are verified while they are unpacked.
 */
public final class OciLayout {
  public static final String REF_NAME = "org.opencontainers.image.ref.name";
  static final String INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json";
  static final String DOCKER_LIST_MEDIA_TYPE =
      "application/vnd.docker.distribution.manifest.list.v2+json";

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern DIGEST = Pattern.compile("(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})");
  private static final long MAX_JSON_BLOB = 16L << 20;

  private OciLayout() {}

  /** Resolves an {@code oci:} reference. */
  public static ResolvedImage resolve(ImageRef ref) {
    return resolve(ref, "linux/amd64");
  }

  /** Resolves an {@code oci:} reference, picking {@code platform} from an index. */
  public static ResolvedImage resolve(ImageRef ref, String platform) {
    Path dir = ref.layoutDir().orElseThrow(() -> new IllegalArgumentException("not an OCI layout: " + ref));
    String tag = ref.tag().orElse(ImageRef.DEFAULT_TAG);
    String name = ref.toString();
    if (!Files.isDirectory(dir)) {
      throw new ImageException(name, "OCI image layout directory does not exist: " + dir
          + " (create one with `skopeo copy <source> oci:" + dir + ":" + tag
          + "`; the busybox test image is installed by `mvn -pl rootfs-builder -am install`)");
    }
    if (!Files.isRegularFile(dir.resolve("oci-layout"))) {
      throw new ImageException(name, "not an OCI image layout: " + dir.resolve("oci-layout")
          + " is missing (expected the output of `skopeo copy ... oci:" + dir + "`)");
    }
    JsonNode index = readJson(name, dir.resolve("index.json"), null);
    JsonNode descriptor = selectByTag(name, dir, index, tag);
    String manifestDigest = digestOf(name, descriptor);
    JsonNode manifest = readBlobJson(name, dir, manifestDigest);
    int depth = 0;
    while (isIndex(descriptor, manifest)) {
      if (++depth > 4) {
        throw new ImageException(name, "image indexes nest too deep in " + dir);
      }
      descriptor = Platforms.select(name, manifest, platform);
      manifestDigest = digestOf(name, descriptor);
      manifest = readBlobJson(name, dir, manifestDigest);
    }
    JsonNode configDescriptor = manifest.path("config");
    if (!configDescriptor.isObject()) {
      throw new ImageException(name, "manifest " + manifestDigest + " has no config descriptor");
    }
    JsonNode config = readBlobJson(name, dir, digestOf(name, configDescriptor));
    List<Layer> layers = new ArrayList<>();
    for (JsonNode l : manifest.path("layers")) {
      String digest = digestOf(name, l);
      Path blob = blobPath(dir, digest);
      if (!Files.isRegularFile(blob)) {
        throw new ImageException(name, "layer blob " + digest + " is missing from " + dir + "/blobs");
      }
      long size = l.path("size").asLong(-1);
      try {
        if (size >= 0 && Files.size(blob) != size) {
          throw new ImageException(name, "layer blob " + digest + " has " + Files.size(blob)
              + " bytes, the manifest says " + size + ": the layout is corrupted; copy it again");
        }
      } catch (IOException e) {
        throw new ImageException(name, "cannot read layer blob " + blob + ": " + e, e);
      }
      layers.add(new Layer(digest, l.path("mediaType").asText(""), size, blob));
    }
    return new ResolvedImage(ref, manifestDigest, parseConfig(config), layers, config.path("created").asText(""));
  }

  static ImageConfig parseConfig(JsonNode config) {
    JsonNode c = config.path("config");
    return new ImageConfig(
        strings(c.path("Env")),
        strings(c.path("Entrypoint")),
        strings(c.path("Cmd")),
        c.path("WorkingDir").asText(""),
        c.path("User").asText(""),
        config.path("os").asText(""),
        config.path("architecture").asText(""),
        healthcheck(c.path("Healthcheck"), strings(c.path("Shell"))));
  }

  /**
   * Docker's {@code config.Healthcheck}: {@code Test} ({@code ["CMD", argv...]},
   * {@code ["CMD-SHELL", line]} or {@code ["NONE"]}), {@code Interval}, {@code Timeout},
   * {@code StartPeriod} in nanoseconds and {@code Retries}; zero or missing values take the
   * defaults. {@code CMD-SHELL} runs as moby does: the config's {@code Shell} (a Dockerfile's
   * {@code SHELL}; {@code /bin/sh -c} without one) followed by every word after
   * {@code CMD-SHELL} (more than one makes the extra words the script's {@code $0}, {@code $1}..).
   * Null when absent, empty or malformed (an image config is untrusted: a bad one is
   * ignored, with Docker's defaults never exceeded in the other direction).
   */
  static io.micropod.HealthCheck healthcheck(JsonNode h, List<String> shell) {
    List<String> test = strings(h.path("Test"));
    if (test.isEmpty()) {
      return null;
    }
    try {
      io.micropod.HealthCheck.Builder b = io.micropod.HealthCheck.builder();
      switch (test.get(0)) {
        case "NONE":
          return io.micropod.HealthCheck.none();
        case "CMD":
          b.command(test.subList(1, test.size()));
          break;
        case "CMD-SHELL":
          if (test.size() < 2 || test.get(1).isBlank()) {
            return null;
          }
          List<String> argv = new ArrayList<>(shell.isEmpty() ? List.of("/bin/sh", "-c") : shell);
          argv.addAll(test.subList(1, test.size()));
          b.command(argv);
          break;
        default:
          return null;
      }
      long interval = h.path("Interval").asLong(0);
      long timeout = h.path("Timeout").asLong(0);
      long startPeriod = h.path("StartPeriod").asLong(0);
      int retries = h.path("Retries").asInt(0);
      if (interval > 0) {
        b.interval(java.time.Duration.ofNanos(Math.max(interval, 1_000_000)));
      }
      if (timeout > 0) {
        b.timeout(java.time.Duration.ofNanos(Math.max(timeout, 1_000_000)));
      }
      if (startPeriod > 0) {
        b.startPeriod(java.time.Duration.ofNanos(startPeriod));
      }
      if (retries > 0) {
        b.retries(retries);
      }
      return b.build();
    } catch (IllegalArgumentException | IllegalStateException e) {
      return null;
    }
  }

  private static List<String> strings(JsonNode array) {
    List<String> out = new ArrayList<>();
    if (array.isArray()) {
      array.forEach(n -> out.add(n.asText()));
    }
    return out;
  }

  private static boolean isIndex(JsonNode descriptor, JsonNode blob) {
    String mt = descriptor.path("mediaType").asText(blob.path("mediaType").asText(""));
    return mt.equals(INDEX_MEDIA_TYPE) || mt.equals(DOCKER_LIST_MEDIA_TYPE)
        || (mt.isEmpty() && blob.has("manifests") && !blob.has("layers"));
  }

  private static JsonNode selectByTag(String name, Path dir, JsonNode index, String tag) {
    JsonNode manifests = index.path("manifests");
    List<String> tags = new ArrayList<>();
    JsonNode untagged = null;
    int count = 0;
    for (JsonNode m : manifests) {
      count++;
      String refName = m.path("annotations").path(REF_NAME).asText(null);
      if (refName == null) {
        untagged = m;
        continue;
      }
      tags.add(refName);
      if (refName.equals(tag) || refName.endsWith(":" + tag)) {
        return m;
      }
    }
    if (count == 1 && untagged != null && tag.equals(ImageRef.DEFAULT_TAG)) {
      return untagged;
    }
    throw new ImageException(name, "no manifest tagged \"" + tag + "\" in " + dir.resolve("index.json")
        + (tags.isEmpty() ? " (it has no tagged manifests)" : "; tags there: " + tags));
  }

  private static String digestOf(String name, JsonNode descriptor) {
    String digest = descriptor.path("digest").asText("");
    if (!DIGEST.matcher(digest).matches()) {
      throw new ImageException(name, "invalid or unsupported digest in descriptor: \"" + digest + "\"");
    }
    return digest;
  }

  /** {@code <dir>/blobs/<alg>/<hex>}; the digest must have been validated. */
  public static Path blobPath(Path dir, String digest) {
    int colon = digest.indexOf(':');
    return dir.resolve("blobs").resolve(digest.substring(0, colon)).resolve(digest.substring(colon + 1));
  }

  private static JsonNode readBlobJson(String name, Path dir, String digest) {
    return readJson(name, blobPath(dir, digest), digest);
  }

  private static JsonNode readJson(String name, Path file, String expectedDigest) {
    byte[] bytes;
    try {
      if (Files.size(file) > MAX_JSON_BLOB) {
        throw new ImageException(name, file + " is larger than " + MAX_JSON_BLOB + " bytes; not a manifest");
      }
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new ImageException(name, (expectedDigest != null ? "blob " + expectedDigest : "file")
          + " is missing: " + file, e);
    } catch (IOException e) {
      throw new ImageException(name, "cannot read " + file + ": " + e, e);
    }
    if (expectedDigest != null) {
      String actual = digest(expectedDigest.substring(0, expectedDigest.indexOf(':')), bytes);
      if (!actual.equals(expectedDigest)) {
        throw new ImageException(name, "blob " + file + " does not match its digest " + expectedDigest
            + " (it hashes to " + actual + "): the layout is corrupted; copy it again");
      }
    }
    try {
      JsonNode node = JSON.readTree(bytes);
      if (node == null || !node.isObject()) {
        throw new ImageException(name, file + " is not a JSON object");
      }
      return node;
    } catch (IOException e) {
      throw new ImageException(name, file + " is not valid JSON: " + e.getMessage(), e);
    }
  }

  static String digest(String algorithm, byte[] bytes) {
    return algorithm + ":" + HexFormat.of().formatHex(messageDigest(algorithm).digest(bytes));
  }

  static MessageDigest messageDigest(String algorithm) {
    try {
      return MessageDigest.getInstance(algorithm.equals("sha512") ? "SHA-512" : "SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Reads a stream fully; for draining what follows the end of a tar archive. */
  static void drain(InputStream in) throws IOException {
    byte[] buf = new byte[16384];
    while (in.read(buf) >= 0) {
      // discard
    }
  }
}
