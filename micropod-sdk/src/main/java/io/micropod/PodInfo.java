package io.micropod;

import java.time.Instant;
import java.util.List;
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
    /** The container was started; its main process runs, or waits to be restarted. */
    RUNNING,
    /** Its owner is closing it. */
    STOPPING,
    /** Its guest is paused ({@link MicroPod#pause()}). */
    PAUSED,
    /**
     * Its container's main process exited and its restart policy does not restart it
     * ({@link PodInfo#lastExitCode()}, {@link PodInfo#finishedAt()}); a detached pod's VM keeps
     * running, and its logs readable, until the pod is closed or removed. As the guest agent
     * reported it on the console: the guest may lie about its own container.
     */
    EXITED
  }

  /**
   * What a started pod was asked to run, as recorded for other processes: the spec without its
   * environment (neither values nor names are recorded: they may be secrets). Immutable.
   */
  public static final class Config {
    private final List<String> entrypoint;
    private final List<String> command;
    private final String user;
    private final String hostname;
    private final String workingDir;
    private final Map<String, String> labels;
    private final List<String> mounts;
    private final List<String> networks;
    private final List<String> networkAliases;
    private final RestartPolicy restart;
    private final HealthCheck healthcheck;
    private final EgressPolicy egress;
    private final NetworkMode networkMode;
    private final int memoryMib;
    private final int cpus;

    /**
     * For the SDK; not meant to be called by applications.
     *
     * @param entrypoint the entrypoint, or null for the image's
     * @param command the command (empty: the image's)
     * @param user the user, or null for the image's
     * @param hostname the hostname, or null
     * @param workingDir the working directory, or null for the image's
     * @param labels the labels
     * @param mounts the host directory mounts as {@code host:container:ro|rw}
     * @param networks the names of the pod networks joined
     * @param networkAliases the aliases on those networks
     * @param restart the restart policy
     * @param healthcheck the health check, or null without one
     * @param egress the current egress rules
     * @param networkMode the network mode
     * @param memoryMib the guest's memory in MiB, or 0 when not recorded
     * @param cpus the guest's vCPUs, or 0 when not recorded
     */
    public Config(List<String> entrypoint, List<String> command, String user,
        String hostname, String workingDir, Map<String, String> labels, List<String> mounts,
        List<String> networks, List<String> networkAliases, RestartPolicy restart, HealthCheck healthcheck,
        EgressPolicy egress, NetworkMode networkMode, int memoryMib, int cpus) {
      this.networkMode = Objects.requireNonNull(networkMode, "networkMode");
      this.memoryMib = memoryMib;
      this.cpus = cpus;
      this.egress = Objects.requireNonNull(egress, "egress");
      this.entrypoint = entrypoint == null ? null : List.copyOf(entrypoint);
      this.command = List.copyOf(command);
      this.user = user;
      this.hostname = hostname;
      this.workingDir = workingDir;
      this.labels = Map.copyOf(labels);
      this.mounts = List.copyOf(mounts);
      this.networks = List.copyOf(networks);
      this.networkAliases = List.copyOf(networkAliases);
      this.restart = Objects.requireNonNull(restart, "restart");
      this.healthcheck = healthcheck;
    }

    /**
     * The network mode ({@link MicroPodSpec#networkMode()}).
     *
     * @return {@link NetworkMode#NONE} for a pod with only loopback, else {@link NetworkMode#NAT}
     *     (also for a pod started by an SDK that did not record it)
     */
    public NetworkMode networkMode() {
      return networkMode;
    }

    /**
     * The guest's memory.
     *
     * @return MiB ({@link MicroPodSpec#memoryMib()}); empty for a pod started by an SDK that did not
     *     record it
     */
    public OptionalInt memoryMib() {
      return memoryMib > 0 ? OptionalInt.of(memoryMib) : OptionalInt.empty();
    }

    /**
     * The guest's vCPUs.
     *
     * @return the count ({@link MicroPodSpec#cpus()}); empty for a pod started by an SDK that did not
     *     record it
     */
    public OptionalInt cpus() {
      return cpus > 0 ? OptionalInt.of(cpus) : OptionalInt.empty();
    }

    /** {@return the entrypoint, or empty for the image's} */
    public Optional<List<String>> entrypoint() {
      return Optional.ofNullable(entrypoint);
    }

    /** {@return the command; empty for the image's} */
    public List<String> command() {
      return command;
    }

    /** {@return the user, or empty for the image's} */
    public Optional<String> user() {
      return Optional.ofNullable(user);
    }

    /** {@return the hostname, or empty when the spec set none} */
    public Optional<String> hostname() {
      return Optional.ofNullable(hostname);
    }

    /** {@return the working directory, or empty for the image's} */
    public Optional<String> workingDir() {
      return Optional.ofNullable(workingDir);
    }

    /** {@return the labels; unmodifiable} */
    public Map<String, String> labels() {
      return labels;
    }

    /** {@return the host directory mounts as {@code host:container:ro|rw}} */
    public List<String> mounts() {
      return mounts;
    }

    /** {@return the names of the pod networks it joined} */
    public List<String> networks() {
      return networks;
    }

    /** {@return its aliases on its pod networks} */
    public List<String> networkAliases() {
      return networkAliases;
    }

    /** {@return the restart policy} */
    public RestartPolicy restart() {
      return restart;
    }

    /** {@return the health check, or empty without one} */
    public Optional<HealthCheck> healthcheck() {
      return Optional.ofNullable(healthcheck);
    }

    /** {@return the pod's current egress rules (as last changed by {@code MicroPod.updateEgress})} */
    public EgressPolicy egress() {
      return egress;
    }
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
  private final Instant finishedAt;
  private final Config config;
  private final BootTimings bootTimings;

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
    this.finishedAt = null;
    this.config = null;
    this.bootTimings = null;
  }

  /**
   * For the SDK; not meant to be called by applications. As the other constructors, with when the
   * main process exited, what the pod was asked to run and how long its start took.
   *
   * @param base the pod's other fields
   * @param status where the pod is in its life
   * @param finishedAt when its main process exited for good, or null
   * @param config what it runs, or null when not recorded
   * @param bootTimings how long its start took, or null when not recorded
   */
  public PodInfo(PodInfo base, Status status, Instant finishedAt, Config config, BootTimings bootTimings) {
    this.id = base.id;
    this.name = base.name;
    this.image = base.image;
    this.driver = base.driver;
    this.status = Objects.requireNonNull(status, "status");
    this.detached = base.detached;
    this.ownerPid = base.ownerPid;
    this.vmmPid = base.vmmPid;
    this.ports = base.ports;
    this.createdAt = base.createdAt;
    this.startedAt = base.startedAt;
    this.health = base.health;
    this.restartCount = base.restartCount;
    this.lastExitCode = base.lastExitCode;
    this.endReason = base.endReason;
    this.finishedAt = finishedAt;
    this.config = config;
    this.bootTimings = bootTimings;
  }

  /**
   * When the main process exited for good ({@link Status#EXITED}), by the guest's clock.
   *
   * @return the time, or empty while it runs (or when the agent did not say)
   */
  public Optional<Instant> finishedAt() {
    return Optional.ofNullable(finishedAt);
  }

  /**
   * What the pod was asked to run, without the environment's values.
   *
   * @return the recorded spec, or empty while the pod is starting (or for pods started by older
   *     versions)
   */
  public Optional<Config> config() {
    return Optional.ofNullable(config);
  }

  /**
   * How long the pod's start took, as its starting JVM measured it.
   *
   * @return the timings, or empty while the pod is starting (or for pods started by older versions)
   */
  public Optional<BootTimings> bootTimings() {
    return Optional.ofNullable(bootTimings);
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
   * @return the status, or empty while it has not exited
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
        && Objects.equals(endReason, p.endReason) && Objects.equals(finishedAt, p.finishedAt);
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
