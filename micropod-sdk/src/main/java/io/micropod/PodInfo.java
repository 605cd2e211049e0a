package io.micropod;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * What {@link MicroPodRuntime#list()} says about one live pod, as recorded in
 * {@code <config>/pods/<id>.json}. An immutable snapshot: the pod may have changed since.
 */
public final class PodInfo {
  /** Where a pod is in its life. */
  public enum Status {
    /** {@code start()} is running: the VM boots or the container starts. */
    STARTING,
    /** The container was started (its main process may have exited since). */
    RUNNING,
    /** Its owner is closing it. */
    STOPPING
  }

  private final String id;
  private final String name;
  private final String image;
  private final String driver;
  private final Status status;
  private final boolean detached;
  private final long ownerPid;
  private final long vmmPid;
  private final Map<Integer, Integer> ports;
  private final Instant createdAt;
  private final Instant startedAt;

  /** For the SDK; not meant to be called by applications. */
  public PodInfo(String id, String name, String image, String driver, Status status, boolean detached,
      long ownerPid, long vmmPid, Map<Integer, Integer> ports, Instant createdAt, Instant startedAt) {
    this.id = Objects.requireNonNull(id, "id");
    this.name = name;
    this.image = Objects.requireNonNull(image, "image");
    this.driver = Objects.requireNonNull(driver, "driver");
    this.status = Objects.requireNonNull(status, "status");
    this.detached = detached;
    this.ownerPid = ownerPid;
    this.vmmPid = vmmPid;
    this.ports = Map.copyOf(ports);
    this.createdAt = Objects.requireNonNull(createdAt, "createdAt");
    this.startedAt = startedAt;
  }

  /** The pod's id. */
  public String id() {
    return id;
  }

  /** Its name, when the spec gave one. */
  public Optional<String> name() {
    return Optional.ofNullable(name);
  }

  /** The image reference as given to the spec. */
  public String image() {
    return image;
  }

  /** The VMM driver, e.g. {@code qemu}. */
  public String driver() {
    return driver;
  }

  public Status status() {
    return status;
  }

  /** Whether the pod outlives its JVM; see {@link MicroPodSpec#detached()}. */
  public boolean detached() {
    return detached;
  }

  /** The pid of the JVM that owns the pod (started it, or attached to it last). */
  public long ownerPid() {
    return ownerPid;
  }

  /** The VMM's pid, once spawned. */
  public OptionalLong vmmPid() {
    return vmmPid > 0 ? OptionalLong.of(vmmPid) : OptionalLong.empty();
  }

  /** Container port to host port; empty when nothing is mapped. Unmodifiable. */
  public Map<Integer, Integer> ports() {
    return ports;
  }

  public Instant createdAt() {
    return createdAt;
  }

  /** When its container started. */
  public Optional<Instant> startedAt() {
    return Optional.ofNullable(startedAt);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PodInfo p && id.equals(p.id) && Objects.equals(name, p.name) && image.equals(p.image)
        && driver.equals(p.driver) && status == p.status && detached == p.detached && ownerPid == p.ownerPid
        && vmmPid == p.vmmPid && ports.equals(p.ports) && createdAt.equals(p.createdAt)
        && Objects.equals(startedAt, p.startedAt);
  }

  @Override
  public int hashCode() {
    return Objects.hash(id, name, image, status, ownerPid, vmmPid, createdAt, startedAt);
  }

  @Override
  public String toString() {
    return "PodInfo{id=" + id + (name != null ? ", name=" + name : "") + ", image=" + image + ", driver="
        + driver + ", status=" + status + (detached ? ", detached" : "") + ", ownerPid=" + ownerPid
        + (vmmPid > 0 ? ", vmmPid=" + vmmPid : "") + ", createdAt=" + createdAt + "}";
  }
}
