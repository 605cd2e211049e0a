package io.micropod;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Where an image comes from: a local OCI image layout or a registry. Immutable; parse with
 * {@link #parse(String)}.
 *
 * <h2>OCI image layout</h2>
 * {@code oci:<dir>[:<tag>]}, skopeo's syntax: the directory holds {@code oci-layout},
 * {@code index.json} and {@code blobs/}; the tag selects the manifest whose
 * {@code org.opencontainers.image.ref.name} annotation equals it and defaults to {@code latest}.
 * Like skopeo, the first colon after {@code oci:} ends the directory. A relative directory is
 * made absolute against the working directory.
 *
 * <h2>Registry</h2>
 * Docker's rules: {@code alpine} is {@code docker.io/library/alpine:latest};
 * {@code host:5000/a/b@sha256:...} keeps its registry and digest; a tag defaults to
 * {@code latest} only when there is no digest. {@code index.docker.io} is {@code docker.io};
 * MicroPod talks to Docker Hub at {@code registry-1.docker.io}.
 *
 * <h2>Archives</h2>
 * {@code oci-archive:<file.tar>[:<ref name>]} (a tarred OCI image layout) and
 * {@code docker-archive:<file.tar>[:<name:tag>]} (what {@code docker save} writes), skopeo's
 * syntax: the first colon ends the file name. Without a reference the archive must hold one image
 * (a docker archive: the first). A relative file is made absolute against the working directory.
 */
public final class ImageRef {
  /** The registry of references that name none. */
  public static final String DEFAULT_REGISTRY = "docker.io";
  /** The tag of references that name neither a tag nor a digest. */
  public static final String DEFAULT_TAG = "latest";

  private static final String OCI_PREFIX = "oci:";
  /** {@code oci-archive:}: a tar of an OCI image layout. */
  public static final String OCI_ARCHIVE = "oci-archive";
  /** {@code docker-archive:}: what {@code docker save} writes. */
  public static final String DOCKER_ARCHIVE = "docker-archive";
  private static final Pattern PATH_COMPONENT =
      Pattern.compile("[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*");
  private static final Pattern TAG = Pattern.compile("[\\w][\\w.-]{0,127}");
  private static final Pattern DIGEST =
      Pattern.compile("[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}");
  private static final Pattern DOMAIN = Pattern.compile(
      "(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
          + "(?:\\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*"
          + "|\\[[0-9a-fA-F:.]+\\])(?::[0-9]+)?");
  private static final Pattern HEX64 = Pattern.compile("[a-f0-9]{64}");
  private static final Pattern OCI_REF_NAME = Pattern.compile(
      "[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*");

  private final Path layoutDir; // non-null for OCI layouts
  private final String registry; // non-null for registry references
  private final String repository;
  private final String tag;
  private final String digest;
  private final Path archive; // non-null for archives
  private final String archiveKind; // OCI_ARCHIVE or DOCKER_ARCHIVE

  private ImageRef(Path layoutDir, String registry, String repository, String tag, String digest) {
    this(layoutDir, registry, repository, tag, digest, null, null);
  }

  private ImageRef(Path layoutDir, String registry, String repository, String tag, String digest,
      Path archive, String archiveKind) {
    this.archive = archive;
    this.archiveKind = archiveKind;
    this.layoutDir = layoutDir;
    this.registry = registry;
    this.repository = repository;
    this.tag = tag;
    this.digest = digest;
  }

  /**
   * Parses {@code oci:<dir>[:<tag>]} or a registry reference.
   *
   * @param reference e.g. {@code alpine:3.20}, {@code localhost:5000/app@sha256:<hex>},
   *     {@code oci:/images/busybox:latest} or {@code oci-archive:/tmp/app.tar}
   * @return the parsed, normalised reference
   * @throws IllegalArgumentException naming what is wrong with {@code reference}
   */
  public static ImageRef parse(String reference) {
    Objects.requireNonNull(reference, "reference");
    if (reference.isEmpty()) {
      throw new IllegalArgumentException("image reference is empty");
    }
    if (!reference.strip().equals(reference)) {
      throw new IllegalArgumentException(
          "image reference has leading or trailing whitespace: \"" + reference + "\"");
    }
    if (reference.startsWith(OCI_PREFIX)) {
      return parseOci(reference);
    }
    if (reference.startsWith(OCI_ARCHIVE + ":") || reference.startsWith(DOCKER_ARCHIVE + ":")) {
      return parseArchive(reference);
    }
    return parseRegistry(reference);
  }

  private static ImageRef parseArchive(String reference) {
    int colon = reference.indexOf(':');
    String kind = reference.substring(0, colon);
    String rest = reference.substring(colon + 1);
    int next = rest.indexOf(':');
    String file = next < 0 ? rest : rest.substring(0, next);
    String name = next < 0 ? null : rest.substring(next + 1);
    if (file.isEmpty()) {
      throw new IllegalArgumentException(
          kind + " reference has no file: \"" + reference + "\" (use " + kind + ":/path/to/image.tar)");
    }
    if (name != null) {
      if (name.isEmpty()) {
        throw new IllegalArgumentException(
            kind + " reference has an empty image name after ':': \"" + reference + "\"");
      }
      if (!OCI_REF_NAME.matcher(name).matches()) {
        throw new IllegalArgumentException(
            "invalid image name \"" + name + "\" in " + kind + " reference \"" + reference + "\"");
      }
    }
    return new ImageRef(null, null, null, name, null, Path.of(file).toAbsolutePath().normalize(), kind);
  }

  /**
   * A local OCI image layout.
   *
   * @param dir the layout directory (holding {@code oci-layout} and {@code index.json})
   * @param tag the {@code org.opencontainers.image.ref.name} of the manifest, e.g. {@code latest}
   * @return a reference to that layout and tag
   */
  public static ImageRef ociLayout(Path dir, String tag) {
    Objects.requireNonNull(dir, "dir");
    Objects.requireNonNull(tag, "tag");
    if (!OCI_REF_NAME.matcher(tag).matches()) {
      throw new IllegalArgumentException("invalid OCI layout tag: \"" + tag + "\"");
    }
    return new ImageRef(dir.toAbsolutePath().normalize(), null, null, tag, null);
  }

  private static ImageRef parseOci(String reference) {
    String rest = reference.substring(OCI_PREFIX.length());
    int colon = rest.indexOf(':');
    String dir = colon < 0 ? rest : rest.substring(0, colon);
    String tag = colon < 0 ? DEFAULT_TAG : rest.substring(colon + 1);
    if (dir.isEmpty()) {
      throw new IllegalArgumentException(
          "OCI layout reference has no directory: \"" + reference + "\" (use oci:/path/to/layout[:tag])");
    }
    if (tag.isEmpty()) {
      throw new IllegalArgumentException(
          "OCI layout reference has an empty tag after ':': \"" + reference + "\"");
    }
    if (!OCI_REF_NAME.matcher(tag).matches()) {
      throw new IllegalArgumentException(
          "invalid tag \"" + tag + "\" in OCI layout reference \"" + reference + "\"");
    }
    return new ImageRef(Path.of(dir).toAbsolutePath().normalize(), null, null, tag, null);
  }

  private static ImageRef parseRegistry(String reference) {
    String name = reference;
    String digest = null;
    int at = name.indexOf('@');
    if (at >= 0) {
      digest = name.substring(at + 1);
      name = name.substring(0, at);
      if (!DIGEST.matcher(digest).matches()) {
        throw new IllegalArgumentException(
            "invalid digest \"" + digest + "\" in image reference \"" + reference
                + "\" (expected algorithm:hex, e.g. sha256:<64 hex digits>)");
      }
      if (digest.startsWith("sha256:") && !HEX64.matcher(digest.substring(7)).matches()) {
        throw new IllegalArgumentException(
            "invalid sha256 digest in image reference \"" + reference
                + "\" (expected 64 lowercase hex digits)");
      }
    }
    String tag = null;
    int colon = name.lastIndexOf(':');
    if (colon > name.lastIndexOf('/')) {
      tag = name.substring(colon + 1);
      name = name.substring(0, colon);
      if (!TAG.matcher(tag).matches()) {
        throw new IllegalArgumentException(
            "invalid tag \"" + tag + "\" in image reference \"" + reference
                + "\" (letters, digits, _ . -; at most 128; not starting with . or -)");
      }
    }
    if (name.isEmpty()) {
      throw new IllegalArgumentException("image reference has no repository name: \"" + reference + "\"");
    }
    String registry;
    String remainder;
    int slash = name.indexOf('/');
    if (slash < 0) {
      registry = DEFAULT_REGISTRY;
      remainder = name;
    } else {
      String first = name.substring(0, slash);
      boolean isDomain = first.contains(".") || first.contains(":") || first.equals("localhost")
          || !first.toLowerCase(Locale.ROOT).equals(first);
      if (isDomain) {
        if (!DOMAIN.matcher(first).matches()) {
          throw new IllegalArgumentException(
              "invalid registry \"" + first + "\" in image reference \"" + reference + "\"");
        }
        registry = first.equals("index.docker.io") ? DEFAULT_REGISTRY : first;
        remainder = name.substring(slash + 1);
      } else {
        registry = DEFAULT_REGISTRY;
        remainder = name;
      }
    }
    if (registry.equals(DEFAULT_REGISTRY) && remainder.indexOf('/') < 0) {
      remainder = "library/" + remainder;
    }
    if (!remainder.toLowerCase(Locale.ROOT).equals(remainder)) {
      throw new IllegalArgumentException(
          "repository name must be lowercase: \"" + remainder + "\" in \"" + reference + "\"");
    }
    for (String component : remainder.split("/", -1)) {
      if (!PATH_COMPONENT.matcher(component).matches()) {
        throw new IllegalArgumentException(
            "invalid repository name component \"" + component + "\" in image reference \""
                + reference + "\" (lowercase letters and digits, separated by . _ __ or -)");
      }
    }
    if (registry.length() + 1 + remainder.length() > 255) {
      throw new IllegalArgumentException(
          "repository name is longer than 255 characters: \"" + reference + "\"");
    }
    if (slash < 0 && HEX64.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "\"" + reference + "\" looks like an image id, not a reference; use name@sha256:<hex>");
    }
    if (tag == null && digest == null) {
      tag = DEFAULT_TAG;
    }
    return new ImageRef(null, registry, remainder, tag, digest);
  }

  /**
   * {@return whether this names an image archive ({@code oci-archive:} or {@code docker-archive:})}
   */
  public boolean isArchive() {
    return archive != null;
  }

  /** {@return whether this names an image in a registry (neither a layout nor an archive)} */
  public boolean isRegistry() {
    return registry != null;
  }

  /**
   * The absolute archive file of an {@code oci-archive:} or {@code docker-archive:} reference.
   *
   * @return the archive file, or empty when this is not an archive reference
   */
  public Optional<Path> archive() {
    return Optional.ofNullable(archive);
  }

  /**
   * {@link #OCI_ARCHIVE} or {@link #DOCKER_ARCHIVE} for archives.
   *
   * @return the archive kind, or empty when this is not an archive reference
   */
  public Optional<String> archiveKind() {
    return Optional.ofNullable(archiveKind);
  }

  /** {@return whether this names a local OCI image layout (the {@code oci:} form)} */
  public boolean isOciLayout() {
    return layoutDir != null;
  }

  /**
   * The absolute layout directory of an {@code oci:} reference.
   *
   * @return the layout directory, or empty when this is not an {@code oci:} reference
   */
  public Optional<Path> layoutDir() {
    return Optional.ofNullable(layoutDir);
  }

  /**
   * The registry host (and port) of a registry reference, e.g. {@code docker.io}.
   *
   * @return the registry, or empty when this is not a registry reference
   */
  public Optional<String> registry() {
    return Optional.ofNullable(registry);
  }

  /**
   * The repository of a registry reference, e.g. {@code library/alpine}.
   *
   * @return the repository, or empty when this is not a registry reference
   */
  public Optional<String> repository() {
    return Optional.ofNullable(repository);
  }

  /**
   * The tag: always present for OCI layouts ({@code latest} by default); for registry references
   * absent only when a digest was given without a tag; for archives the image name given after
   * the file, if any.
   *
   * @return the tag, or empty as described
   */
  public Optional<String> tag() {
    return Optional.ofNullable(tag);
  }

  /**
   * The digest of a registry reference given as {@code name@algorithm:hex}.
   *
   * @return {@code algorithm:hex}, or empty when no digest was given
   */
  public Optional<String> digest() {
    return Optional.ofNullable(digest);
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof ImageRef)) {
      return false;
    }
    ImageRef r = (ImageRef) o;
    return Objects.equals(layoutDir, r.layoutDir) && Objects.equals(registry, r.registry)
        && Objects.equals(repository, r.repository) && Objects.equals(tag, r.tag)
        && Objects.equals(digest, r.digest) && Objects.equals(archive, r.archive)
        && Objects.equals(archiveKind, r.archiveKind);
  }

  @Override
  public int hashCode() {
    return Objects.hash(layoutDir, registry, repository, tag, digest, archive, archiveKind);
  }

  /**
   * The normalised form: {@code oci:/abs/dir:tag}, {@code oci-archive:/abs/file.tar[:name]}, or {@code registry/repository[:tag][@digest]},
   * e.g. {@code docker.io/library/alpine:3.20}. {@code parse(toString())} returns an equal ref.
   */
  @Override
  public String toString() {
    if (layoutDir != null) {
      return OCI_PREFIX + layoutDir + ":" + tag;
    }
    if (archive != null) {
      return archiveKind + ":" + archive + (tag != null ? ":" + tag : "");
    }
    StringBuilder sb = new StringBuilder(registry).append('/').append(repository);
    if (tag != null) {
      sb.append(':').append(tag);
    }
    if (digest != null) {
      sb.append('@').append(digest);
    }
    return sb.toString();
  }
}
