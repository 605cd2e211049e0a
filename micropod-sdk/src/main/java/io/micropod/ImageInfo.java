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

  /**
   * An entry of the local store; {@link MicroPodRuntime#images()} makes these.
   *
   * @param ref the reference as MicroPod normalised it
   * @param digest the platform manifest's digest, {@code sha256:<hex>}
   * @param platform the platform, e.g. {@code linux/amd64}
   * @param sizeBytes the compressed size of config and layers, bytes
   * @param created when the image was built, else when it was first stored
   * @throws NullPointerException when {@code ref}, {@code digest}, {@code platform} or {@code
   *     created} is null
   */
  public ImageInfo(String ref, String digest, String platform, long sizeBytes, Instant created) {
    this.ref = Objects.requireNonNull(ref, "ref");
    this.digest = Objects.requireNonNull(digest, "digest");
    this.platform = Objects.requireNonNull(platform, "platform");
    this.sizeBytes = sizeBytes;
    this.created = Objects.requireNonNull(created, "created");
  }

  /**
   * The reference as MicroPod normalised it, e.g. {@code docker.io/library/alpine:3.20}.
   *
   * @return the normalised reference, e.g. {@code docker.io/library/alpine:3.20}
   */
  public String ref() {
    return ref;
  }

  /**
   * The digest of the image manifest (the platform's, not the index's), {@code sha256:<hex>}.
   *
   * @return the manifest digest, {@code sha256:} and 64 hex digits
   */
  public String digest() {
    return digest;
  }

  /**
   * The platform the manifest was selected for, e.g. {@code linux/amd64}.
   *
   * @return the platform, {@code os/architecture}
   */
  public String platform() {
    return platform;
  }

  /**
   * The compressed size of the config and layers, bytes (what a pull downloads).
   *
   * @return the size in bytes
   */
  public long sizeBytes() {
    return sizeBytes;
  }

  /**
   * When the image was built (its config's {@code created}), else when it was first stored.
   *
   * @return when the image was created or first stored
   */
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
