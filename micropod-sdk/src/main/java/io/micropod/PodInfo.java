package io.micropod;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
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
    STOPPING,
    /** Its guest is paused ({@link MicroPod#pause()}). */
    PAUSED
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
  private final HealthState health;
  private final int restartCount;
  private final Integer lastExitCode;
  private final String endReason;

  /**
   * For the SDK; not meant to be called by applications.
   *
   * @param id the pod's id
   * @param name its name, or null
   * @param image the image reference as given
   * @param driver the VMM driver's name
   * @param status where the pod is in its life
   * @param detached whether it outlives its JVM
   * @param ownerPid the owning JVM's pid
   * @param vmmPid the VMM's pid, or 0 or less when not spawned yet
   * @param ports container port to host port; copied
   * @param createdAt when the pod was recorded
   * @param startedAt when its container started, or null
   */
  public PodInfo(String id, String name, String image, String driver, Status status, boolean detached,
      long ownerPid, long vmmPid, Map<Integer, Integer> ports, Instant createdAt, Instant startedAt) {
    this(id, name, image, driver, status, detached, ownerPid, vmmPid, ports, createdAt, startedAt,
        null, 0, null, null);
  }

  /**
   * For the SDK; not meant to be called by applications. As the other constructor, with what the
   * guest agent last reported about the container's supervision.
   *
   * @param id the pod's id
   * @param name its name, or null
   * @param image the image reference as given
   * @param driver the VMM driver's name
   * @param status where the pod is in its life
   * @param detached whether it outlives its JVM
   * @param ownerPid the owning JVM's pid
   * @param vmmPid the VMM's pid, or 0 or less when not spawned yet
   * @param ports container port to host port; copied
   * @param createdAt when the pod was recorded
   * @param startedAt when its container started, or null
   * @param health the container's health, or null without a health check
   * @param restartCount restarts of the main process so far
   * @param lastExitCode the main process's last exit status, or null while it has not exited
   * @param endReason why the pod ended by itself ({@code max-lifetime}, {@code idle-timeout}), or null
   */
  public PodInfo(String id, String name, String image, String driver, Status status, boolean detached,
      long ownerPid, long vmmPid, Map<Integer, Integer> ports, Instant createdAt, Instant startedAt,
      HealthState health, int restartCount, Integer lastExitCode, String endReason) {
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
    this.health = health;
    this.restartCount = restartCount;
    this.lastExitCode = lastExitCode;
    this.endReason = endReason;
  }

  /**
   * The container's health as its health check last found it ({@link HealthState#lastOutput()} is
   * empty here: ask {@link MicroPod#health()} for it).
   *
   * @return the health, or empty when the container has no health check
   */
  public Optional<HealthState> health() {
    return Optional.ofNullable(health);
  }

  /** {@return how often the guest agent restarted the main process ({@link MicroPodSpec#restart()})} */
  public int restartCount() {
    return restartCount;
  }

  /**
   * The main process's last exit status, as the guest agent reported it.
   *
   * @return the status, or empty while it has not exited (or no restart policy or health check
   *     made the agent report it)
   */
  public OptionalInt lastExitCode() {
    return lastExitCode == null ? OptionalInt.empty() : OptionalInt.of(lastExitCode);
  }

  /**
   * Why the pod ended by itself: {@code max-lifetime} or {@code idle-timeout}
   * ({@link MicroPodSpec#maxLifetime()}, {@link MicroPodSpec#idleTimeout()}).
   *
   * @return the reason, or empty while the pod lives
   */
  public Optional<String> endReason() {
    return Optional.ofNullable(endReason);
  }

  /** {@return the pod's id} */
  public String id() {
    return id;
  }

  /**
   * Its name, when the spec gave one.
   *
   * @return the name, or empty when the spec gave none
   */
  public Optional<String> name() {
    return Optional.ofNullable(name);
  }

  /** {@return the image reference as given to the spec} */
  public String image() {
    return image;
  }

  /** {@return the VMM driver, e.g. {@code qemu}} */
  public String driver() {
    return driver;
  }

  /** {@return where the pod is in its life, as recorded} */
  public Status status() {
    return status;
  }

  /**
   * Whether the pod outlives its JVM; see {@link MicroPodSpec#detached()}.
   *
   * @return {@code true} for a detached pod
   */
  public boolean detached() {
    return detached;
  }

  /**
   * The pid of the JVM that owns the pod (started it, or attached to it last).
   *
   * @return the owner's process id
   */
  public long ownerPid() {
    return ownerPid;
  }

  /**
   * The VMM's pid, once spawned.
   *
   * @return the pid, or empty before the VMM was spawned
   */
  public OptionalLong vmmPid() {
    return vmmPid > 0 ? OptionalLong.of(vmmPid) : OptionalLong.empty();
  }

  /**
   * Container port to host port; empty when nothing is mapped. Unmodifiable.
   *
   * @return the published ports, container port to host port
   */
  public Map<Integer, Integer> ports() {
    return ports;
  }

  /** {@return when the pod was created, early in its {@code start()}} */
  public Instant createdAt() {
    return createdAt;
  }

  /**
   * When its container started.
   *
   * @return the time, or empty while the pod is still starting
   */
  public Optional<Instant> startedAt() {
    return Optional.ofNullable(startedAt);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PodInfo p && id.equals(p.id) && Objects.equals(name, p.name) && image.equals(p.image)
        && driver.equals(p.driver) && status == p.status && detached == p.detached && ownerPid == p.ownerPid
        && vmmPid == p.vmmPid && ports.equals(p.ports) && createdAt.equals(p.createdAt)
        && Objects.equals(startedAt, p.startedAt) && Objects.equals(health, p.health)
        && restartCount == p.restartCount && Objects.equals(lastExitCode, p.lastExitCode)
        && Objects.equals(endReason, p.endReason);
  }

  @Override
  public int hashCode() {
    return Objects.hash(id, name, image, status, ownerPid, vmmPid, createdAt, startedAt);
  }

  @Override
  public String toString() {
    return "PodInfo{id=" + id + (name != null ? ", name=" + name : "") + ", image=" + image + ", driver="
        + driver + ", status=" + status + (detached ? ", detached" : "") + ", ownerPid=" + ownerPid
        + (vmmPid > 0 ? ", vmmPid=" + vmmPid : "") + ", createdAt=" + createdAt
        + (health != null ? ", health=" + health.status().label() : "")
        + (restartCount > 0 ? ", restartCount=" + restartCount : "")
        + (endReason != null ? ", endReason=" + endReason : "") + "}";
  }
}
