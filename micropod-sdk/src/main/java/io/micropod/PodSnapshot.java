package io.micropod;

import java.nio.file.Path;
import java.time.Instant;
import java.util.Objects;

/**
 * A pod's memory, devices and container state, kept under the runtime's home
 * ({@code <home>/snapshots/<name>/}) by {@link MicroPod#snapshot(String)}; it outlives the JVM.
 * Start pods from it with {@link MicroPodSpec.Builder#fromSnapshot(PodSnapshot)}; list, find and
 * remove snapshots with {@link MicroPodRuntime#snapshots()}, {@link MicroPodRuntime#snapshot(String)}
 * and {@link MicroPodRuntime#removeSnapshot(String)}. Immutable; a value read from the snapshot's
 * manifest. See docs/snapshots.md.
 */
public final class PodSnapshot {
  private final String name;
  private final Path path;
  private final String image;
  private final String sourcePodId;
  private final Instant createdAt;
  private final long sizeBytes;
  private final int memoryMib;
  private final int cpus;
  private final String guestVersion;
  private final String sdkVersion;

  /**
   * For the SDK; not meant to be called by applications.
   *
   * @param name the snapshot's name
   * @param path its directory
   * @param image the image reference of the pod it was taken of
   * @param sourcePodId the id of that pod
   * @param createdAt when it was taken
   * @param sizeBytes the bytes it holds on disk (device state plus the RAM pages in use)
   * @param memoryMib the guest's memory, MiB
   * @param cpus the guest's vCPUs
   * @param guestVersion the guest image (version and inputs hash) it needs
   * @param sdkVersion the SDK version that took it
   */
  public PodSnapshot(String name, Path path, String image, String sourcePodId, Instant createdAt,
      long sizeBytes, int memoryMib, int cpus, String guestVersion, String sdkVersion) {
    this.name = Objects.requireNonNull(name, "name");
    this.path = Objects.requireNonNull(path, "path");
    this.image = Objects.requireNonNull(image, "image");
    this.sourcePodId = Objects.requireNonNull(sourcePodId, "sourcePodId");
    this.createdAt = Objects.requireNonNull(createdAt, "createdAt");
    this.sizeBytes = sizeBytes;
    this.memoryMib = memoryMib;
    this.cpus = cpus;
    this.guestVersion = Objects.requireNonNull(guestVersion, "guestVersion");
    this.sdkVersion = Objects.requireNonNull(sdkVersion, "sdkVersion");
  }

  /** {@return the snapshot's name, unique in its runtime's home} */
  public String name() {
    return name;
  }

  /** {@return its directory, {@code <home>/snapshots/<name>}} */
  public Path path() {
    return path;
  }

  /** {@return the image reference of the pod it was taken of, as given} */
  public String image() {
    return image;
  }

  /** {@return the id of the pod it was taken of} */
  public String sourcePodId() {
    return sourcePodId;
  }

  /** {@return when it was taken} */
  public Instant createdAt() {
    return createdAt;
  }

  /** {@return the bytes it holds on disk: the device state plus the guest RAM pages in use (the RAM file is sparse)} */
  public long sizeBytes() {
    return sizeBytes;
  }

  /** {@return the guest's memory in MiB; a restored pod has the same} */
  public int memoryMib() {
    return memoryMib;
  }

  /** {@return the guest's vCPUs; a restored pod has the same} */
  public int cpus() {
    return cpus;
  }

  /** {@return the guest image it needs (its version and inputs hash): a restore with another one is refused} */
  public String guestVersion() {
    return guestVersion;
  }

  /** {@return the SDK version that took it: a restore by another version is refused} */
  public String sdkVersion() {
    return sdkVersion;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PodSnapshot s && name.equals(s.name) && path.equals(s.path)
        && createdAt.equals(s.createdAt);
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, path, createdAt);
  }

  @Override
  public String toString() {
    return "PodSnapshot{name=" + name + ", image=" + image + ", from=" + sourcePodId + ", createdAt="
        + createdAt + ", sizeBytes=" + sizeBytes + ", memoryMib=" + memoryMib + "}";
  }
}
