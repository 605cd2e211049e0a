package io.micropod;

import java.time.Instant;
import java.util.Objects;

/**
 * One image in the local store, as {@link MicroPodRuntime#images()} lists it. Immutable.
 */
public final class ImageInfo {
  private final String ref;
  private final String digest;
  private final String platform;
  private final long sizeBytes;
  private final Instant created;

  public ImageInfo(String ref, String digest, String platform, long sizeBytes, Instant created) {
    this.ref = Objects.requireNonNull(ref, "ref");
    this.digest = Objects.requireNonNull(digest, "digest");
    this.platform = Objects.requireNonNull(platform, "platform");
    this.sizeBytes = sizeBytes;
    this.created = Objects.requireNonNull(created, "created");
  }

  /** The reference as MicroPod normalised it, e.g. {@code docker.io/library/alpine:3.20}. */
  public String ref() {
    return ref;
  }

  /** The digest of the image manifest (the platform's, not the index's), {@code sha256:<hex>}. */
  public String digest() {
    return digest;
  }

  /** The platform the manifest was selected for, e.g. {@code linux/amd64}. */
  public String platform() {
    return platform;
  }

  /** The compressed size of the config and layers, bytes (what a pull downloads). */
  public long sizeBytes() {
    return sizeBytes;
  }

  /** When the image was built (its config's {@code created}), else when it was first stored. */
  public Instant created() {
    return created;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof ImageInfo)) {
      return false;
    }
    ImageInfo i = (ImageInfo) o;
    return ref.equals(i.ref) && digest.equals(i.digest) && platform.equals(i.platform)
        && sizeBytes == i.sizeBytes && created.equals(i.created);
  }

  @Override
  public int hashCode() {
    return Objects.hash(ref, digest, platform, sizeBytes, created);
  }

  @Override
  public String toString() {
    return "ImageInfo{" + ref + ", " + digest + ", " + platform + ", " + sizeBytes + " bytes, created "
        + created + "}";
  }
}
