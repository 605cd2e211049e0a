package io.micropod;

import java.nio.file.Path;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * A warm-start template ({@link MicroPodSpec.Builder#warmStart(boolean)}, docs/snapshots.md): a
 * snapshot of a booted guest with no container yet, one per pod configuration, kept under the
 * runtime's home ({@code <home>/templates/<id>/}). List, find and remove templates with
 * {@link MicroPodRuntime#templates()}, {@link MicroPodRuntime#template(String)},
 * {@link MicroPodRuntime#removeTemplate(String)} and {@link MicroPodRuntime#pruneTemplates()}; the
 * next warm start of a removed template's configuration boots cold and makes it again. Immutable;
 * a value read from the template's manifest and its files when listed.
 *
 * <p>A template whose manifest cannot be read is still listed, with {@link #problem()} saying why,
 * an empty {@link #image()} and zero {@link #memoryMib()} and {@link #cpus()}: remove it.
 */
public final class PodTemplate {
  private final String id;
  private final Path path;
  private final String image;
  private final String imageDigest;
  private final int memoryMib;
  private final int cpus;
  private final NetworkMode networkMode;
  private final String vmm;
  private final String sdkVersion;
  private final String guestVersion;
  private final long sizeBytes;
  private final Instant createdAt;
  private final Instant lastUsedAt;
  private final String problem;

  /**
   * For the SDK; not meant to be called by applications.
   *
   * @param id the template's id (32 hex digits, a hash of its configuration)
   * @param path its directory
   * @param image the image reference of its configuration, as given; empty when unknown
   * @param imageDigest the image's manifest digest, or null when not recorded
   * @param memoryMib the guest's memory, MiB; 0 when unknown
   * @param cpus the guest's vCPUs; 0 when unknown
   * @param networkMode the network mode, or null when not recorded
   * @param vmm the VMM driver that made it ({@code qemu}); empty when unknown
   * @param sdkVersion the SDK version that made it; empty when unknown
   * @param guestVersion the guest image it needs; empty when unknown
   * @param sizeBytes the bytes its files hold on disk (allocated blocks)
   * @param createdAt when it was made
   * @param lastUsedAt when a pod last started from it, or null when none has
   * @param problem why it cannot be used, or null when it reads whole
   */
  public PodTemplate(String id, Path path, String image, String imageDigest, int memoryMib, int cpus,
      NetworkMode networkMode, String vmm, String sdkVersion, String guestVersion, long sizeBytes,
      Instant createdAt, Instant lastUsedAt, String problem) {
    this.id = Objects.requireNonNull(id, "id");
    this.path = Objects.requireNonNull(path, "path");
    this.image = Objects.requireNonNull(image, "image");
    this.imageDigest = imageDigest;
    this.memoryMib = memoryMib;
    this.cpus = cpus;
    this.networkMode = networkMode;
    this.vmm = Objects.requireNonNull(vmm, "vmm");
    this.sdkVersion = Objects.requireNonNull(sdkVersion, "sdkVersion");
    this.guestVersion = Objects.requireNonNull(guestVersion, "guestVersion");
    this.sizeBytes = sizeBytes;
    this.createdAt = Objects.requireNonNull(createdAt, "createdAt");
    this.lastUsedAt = lastUsedAt;
    this.problem = problem;
  }

  /** {@return the id: 32 hex digits, what {@link MicroPodRuntime#removeTemplate(String)} takes} */
  public String id() {
    return id;
  }

  /** {@return its directory, {@code <home>/templates/<id>}} */
  public Path path() {
    return path;
  }

  /** {@return the image reference of the pods it starts, as their specs gave it; empty when unknown} */
  public String image() {
    return image;
  }

  /** {@return the digest of the image's manifest when it was made; empty for templates made before it was recorded} */
  public Optional<String> imageDigest() {
    return Optional.ofNullable(imageDigest);
  }

  /** {@return the guest's memory in MiB (0 when unknown); only pods of this memory start from it} */
  public int memoryMib() {
    return memoryMib;
  }

  /** {@return the guest's vCPUs (0 when unknown); only pods with this many start from it} */
  public int cpus() {
    return cpus;
  }

  /** {@return the network mode of the pods it starts; empty for templates made before it was recorded} */
  public Optional<NetworkMode> networkMode() {
    return Optional.ofNullable(networkMode);
  }

  /** {@return the VMM driver that made it ({@code qemu}); empty when unknown} */
  public String vmm() {
    return vmm;
  }

  /** {@return the SDK version that made it: another version never starts from it (remove it)} */
  public String sdkVersion() {
    return sdkVersion;
  }

  /** {@return the guest image (version and inputs hash) it needs: another one never starts from it} */
  public String guestVersion() {
    return guestVersion;
  }

  /**
   * {@return the bytes its files hold on disk, measured when listed: their allocated blocks (the
   * RAM file is sparse, its apparent size is the guest's whole memory), what removing it frees}
   */
  public long sizeBytes() {
    return sizeBytes;
  }

  /** {@return when it was made (for an unreadable template: when its directory last changed)} */
  public Instant createdAt() {
    return createdAt;
  }

  /** {@return when a pod last started from it; empty when none has since it was made} */
  public Optional<Instant> lastUsedAt() {
    return Optional.ofNullable(lastUsedAt);
  }

  /** {@return why it cannot be used (its manifest is missing or broken); empty when it reads whole} */
  public Optional<String> problem() {
    return Optional.ofNullable(problem);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PodTemplate t && id.equals(t.id) && path.equals(t.path) && createdAt.equals(t.createdAt);
  }

  @Override
  public int hashCode() {
    return Objects.hash(id, path, createdAt);
  }

  @Override
  public String toString() {
    return "PodTemplate{id=" + id + ", image=" + image + ", memoryMib=" + memoryMib + ", cpus=" + cpus
        + ", vmm=" + vmm + ", sizeBytes=" + sizeBytes + ", createdAt=" + createdAt
        + (problem != null ? ", problem=" + problem : "") + "}";
  }
}
