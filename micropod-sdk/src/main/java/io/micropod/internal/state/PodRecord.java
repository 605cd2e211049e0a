package io.micropod.internal.state;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import java.util.Map;

/**
 * What {@code <config>/pods/<id>.json} holds: what another process needs to find a pod, talk to
 * it, and clean up after it. Never holds env values or credentials. Immutable; {@code with*}
 * return changed copies.
 *
 * @param version format version, {@link #VERSION}
 * @param name the user's name for the pod, or null
 * @param image the image reference as given
 * @param driver the VMM driver, e.g. {@code qemu}
 * @param status {@code STARTING}, {@code RUNNING} or {@code STOPPING}
 * @param detached whether the pod outlives its owner JVM
 * @param owner the JVM that owns the pod (started or attached it)
 * @param vmm the VMM process, once spawned
 * @param virtiofsd the virtiofsd process, once started
 * @param user the container user exec runs as ("" root, "uid" or "uid:gid")
 * @param podDir the pod's log directory
 * @param socketDir the pod's socket directory
 * @param agentSocket the Unix socket of the agent channel
 * @param ports container port (as a string) to host port of the published ports, once bound
 * @param createdAt ISO-8601 instant the pod was created
 * @param startedAt ISO-8601 instant its container started, or null
 * @param consoleLog the guest console's log file ({@code <config>/logs/<id>.log}), or null
 * @param mounts the host directory mounts as {@code host:container:ro|rw} (none: empty)
 * @param mountDaemons the virtiofsd processes of the mounts, in order, once started
 * @param details what {@code inspect} shows of the spec and the start, once started; null in
 *     records written before it was recorded
 * @param snapshottable what a snapshot of a snapshottable pod needs beyond this record, once its
 *     VMM runs; null for other pods (and in records written before it was recorded)
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.ALWAYS)
public record PodRecord(
    int version,
    String id,
    String name,
    String image,
    String driver,
    String status,
    boolean detached,
    Proc owner,
    Proc vmm,
    Proc virtiofsd,
    String user,
    String podDir,
    String socketDir,
    String agentSocket,
    Map<String, Integer> ports,
    String createdAt,
    String startedAt,
    String consoleLog,
    List<String> mounts,
    List<Proc> mountDaemons,
    Details details,
    Snapshottable snapshottable) {

  public static final int VERSION = 1;
  public static final String STARTING = "STARTING";
  public static final String RUNNING = "RUNNING";
  public static final String STOPPING = "STOPPING";
  public static final String PAUSED = "PAUSED";

  public PodRecord {
    ports = ports == null ? Map.of() : Map.copyOf(ports);
    mounts = mounts == null ? List.of() : List.copyOf(mounts);
    mountDaemons = mountDaemons == null ? List.of()
        : mountDaemons.stream().filter(java.util.Objects::nonNull).toList();
  }

  /** A record without console log path and mounts (the first fields of the format). */
  public PodRecord(int version, String id, String name, String image, String driver, String status,
      boolean detached, Proc owner, Proc vmm, Proc virtiofsd, String user, String podDir,
      String socketDir, String agentSocket, Map<String, Integer> ports, String createdAt,
      String startedAt) {
    this(version, id, name, image, driver, status, detached, owner, vmm, virtiofsd, user, podDir,
        socketDir, agentSocket, ports, createdAt, startedAt, null, List.of(), List.of(), null, null);
  }

  /**
   * A process: its pid and start time (clock ticks since boot, {@code /proc/<pid>/stat} field
   * 22); the pair identifies it even after the pid was recycled.
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Proc(long pid, long startTime) {
    @com.fasterxml.jackson.annotation.JsonIgnore
    public boolean isAlive() {
      return ProcStat.isAlive(pid, startTime);
    }

    /** The process with {@code pid} as it runs now, or null when it is gone. */
    public static Proc of(long pid) {
      var start = ProcStat.startTime(pid);
      return start.isPresent() ? new Proc(pid, start.getAsLong()) : null;
    }

    /** This JVM. */
    public static Proc self() {
      return new Proc(ProcessHandle.current().pid(), ProcStat.self());
    }
  }

  /** {@return this record with {@code n} as the pod's name} (a rename: PodStates.rename) */
  public PodRecord withName(String n) {
    return new PodRecord(version, id, n, image, driver, status, detached, owner, vmm, virtiofsd, user,
        podDir, socketDir, agentSocket, ports, createdAt, startedAt, consoleLog, mounts, mountDaemons, details, snapshottable);
  }

  public PodRecord withStatus(String s) {
    return new PodRecord(version, id, name, image, driver, s, detached, owner, vmm, virtiofsd, user,
        podDir, socketDir, agentSocket, ports, createdAt, startedAt, consoleLog, mounts, mountDaemons, details, snapshottable);
  }

  public PodRecord withVmm(Proc p) {
    return new PodRecord(version, id, name, image, driver, status, detached, owner, p, virtiofsd, user,
        podDir, socketDir, agentSocket, ports, createdAt, startedAt, consoleLog, mounts, mountDaemons, details, snapshottable);
  }

  public PodRecord withVirtiofsd(Proc p) {
    List<Proc> helpers = mountDaemons.stream().filter(d -> p == null || d.pid() != p.pid()).toList();
    return new PodRecord(version, id, name, image, driver, status, detached, owner, vmm, p, user,
        podDir, socketDir, agentSocket, ports, createdAt, startedAt, consoleLog, mounts, helpers, details, snapshottable);
  }

  /**
   * Records a process of a detached pod the moment it was spawned, before it may run (and
   * outlive a killed owner): a VMM in its place, any other helper among {@code mountDaemons}
   * until its step puts it where it belongs ({@link #withVirtiofsd}, {@link #withMounts}). While
   * a pod is {@code STARTING}, {@code mountDaemons} may so hold its image share's virtiofsd.
   */
  public PodRecord withSpawned(Proc p, boolean isVmm) {
    if (p == null) {
      return this; // it exited already: nothing left to reap
    }
    if (isVmm) {
      return withVmm(p);
    }
    if (processes().stream().anyMatch(x -> x.pid() == p.pid())) {
      return this;
    }
    List<Proc> helpers = new java.util.ArrayList<>(mountDaemons);
    helpers.add(p);
    return new PodRecord(version, id, name, image, driver, status, detached, owner, vmm, virtiofsd, user,
        podDir, socketDir, agentSocket, ports, createdAt, startedAt, consoleLog, mounts, helpers, details, snapshottable);
  }

  public PodRecord withOwner(Proc p) {
    return new PodRecord(version, id, name, image, driver, status, detached, p, vmm, virtiofsd, user,
        podDir, socketDir, agentSocket, ports, createdAt, startedAt, consoleLog, mounts, mountDaemons, details, snapshottable);
  }

  public PodRecord withUser(String u) {
    return new PodRecord(version, id, name, image, driver, status, detached, owner, vmm, virtiofsd, u,
        podDir, socketDir, agentSocket, ports, createdAt, startedAt, consoleLog, mounts, mountDaemons, details, snapshottable);
  }

  public PodRecord withStarted(String at) {
    return new PodRecord(version, id, name, image, driver, RUNNING, detached, owner, vmm, virtiofsd, user,
        podDir, socketDir, agentSocket, ports, createdAt, at, consoleLog, mounts, mountDaemons, details, snapshottable);
  }

  public PodRecord withMounts(List<String> m, List<Proc> daemons) {
    return new PodRecord(version, id, name, image, driver, status, detached, owner, vmm, virtiofsd, user,
        podDir, socketDir, agentSocket, ports, createdAt, startedAt, consoleLog, m, daemons, details, snapshottable);
  }

  public PodRecord withPorts(Map<String, Integer> p) {
    return new PodRecord(version, id, name, image, driver, status, detached, owner, vmm, virtiofsd, user,
        podDir, socketDir, agentSocket, p, createdAt, startedAt, consoleLog, mounts, mountDaemons, details, snapshottable);
  }

  public PodRecord withSnapshottable(Snapshottable v) {
    return new PodRecord(version, id, name, image, driver, status, detached, owner, vmm, virtiofsd, user,
        podDir, socketDir, agentSocket, ports, createdAt, startedAt, consoleLog, mounts, mountDaemons, details, v);
  }

  /**
   * The VM configuration of a snapshottable pod that {@code micropod snapshot create} (another
   * process than the one that started the pod) needs to snapshot it, and to check restores
   * against: what the spec and the boot knew.
   *
   * @param memoryMib the guest's memory, MiB
   * @param cpus the guest's vCPUs
   * @param ramFile the guest RAM file QEMU maps ({@code <socket dir>/ram})
   * @param blockImage the read-only block image of the container's image the guest boots from
   * @param containerId the id the guest knows the container by (a restored pod's: the first pod's)
   * @param hostname the hostname the spec set, or null (the container's is the pod id)
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Snapshottable(int memoryMib, int cpus, String ramFile, String blockImage,
      String containerId, String hostname) {}

  public PodRecord withConsoleLog(String path) {
    return new PodRecord(version, id, name, image, driver, status, detached, owner, vmm, virtiofsd, user,
        podDir, socketDir, agentSocket, ports, createdAt, startedAt, path, mounts, mountDaemons, details, snapshottable);
  }

  public PodRecord withDetails(Details d) {
    return new PodRecord(version, id, name, image, driver, status, detached, owner, vmm, virtiofsd, user,
        podDir, socketDir, agentSocket, ports, createdAt, startedAt, consoleLog, mounts, mountDaemons, d, snapshottable);
  }

  /**
   * What {@code inspect} shows of a started pod's spec and start, for any process to read. The
   * environment is never recorded, neither values nor names (SecurityIT: nothing on the host
   * holds them).
   *
   * @param entrypoint the spec's entrypoint, or null for the image's
   * @param command the spec's command (empty: the image's)
   * @param user the spec's user, or null for the image's
   * @param hostname the spec's hostname, or null
   * @param workingDir the spec's working directory, or null for the image's
   * @param labels the spec's labels
   * @param networks the names of the pod networks it joined, in order
   * @param networkAliases its aliases on those networks
   * @param restart the restart policy in Docker's syntax ({@code no}, {@code on-failure:2}, ...)
   * @param health the health check, or null without one
   * @param bootMillis the start's timings in milliseconds: {@code image}, {@code vmBoot},
   *     {@code agentReady}, {@code containerStart}, {@code total}
   * @param egress the pod's current egress rules (changed by {@code updateEgress}), or null for
   *     none (allow all)
   * @param networkMode {@code NAT} or {@code NONE}; null in records written before it was recorded
   * @param memoryMib the guest's memory, MiB; 0 in records written before it was recorded
   * @param cpus the guest's vCPUs; 0 in records written before it was recorded
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Details(List<String> entrypoint, List<String> command, String user,
      String hostname, String workingDir, Map<String, String> labels, List<String> networks,
      List<String> networkAliases, String restart, Health health, Map<String, Long> bootMillis,
      Egress egress, String networkMode, int memoryMib, int cpus) {
    /** Without egress rules, network mode, memory and vCPUs (records written before them read the same way). */
    public Details(List<String> entrypoint, List<String> command, String user,
        String hostname, String workingDir, Map<String, String> labels, List<String> networks,
        List<String> networkAliases, String restart, Health health, Map<String, Long> bootMillis) {
      this(entrypoint, command, user, hostname, workingDir, labels, networks, networkAliases, restart, health,
          bootMillis, null, null, 0, 0);
    }

    /** {@return these details with {@code e} as the egress rules} */
    public Details withEgress(Egress e) {
      return new Details(entrypoint, command, user, hostname, workingDir, labels, networks, networkAliases,
          restart, health, bootMillis, e, networkMode, memoryMib, cpus);
    }

    @com.fasterxml.jackson.annotation.JsonCreator
    public Details {
      entrypoint = entrypoint == null ? null : List.copyOf(entrypoint);
      command = command == null ? List.of() : List.copyOf(command);
      labels = labels == null ? Map.of() : Map.copyOf(labels);
      networks = networks == null ? List.of() : List.copyOf(networks);
      networkAliases = networkAliases == null ? List.of() : List.copyOf(networkAliases);
      bootMillis = bootMillis == null ? Map.of() : Map.copyOf(bootMillis);
    }
  }

  /**
   * Egress rules as {@code inspect} shows them ({@code HostConfig.Egress}).
   *
   * @param defaultAction {@code ALLOW} or {@code DENY}
   * @param allow the allow rules, normalized
   * @param deny the deny rules, normalized
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Egress(String defaultAction, List<String> allow, List<String> deny) {
    public Egress {
      allow = allow == null ? List.of() : List.copyOf(allow);
      deny = deny == null ? List.of() : List.copyOf(deny);
    }

    /** {@return the record of {@code p}, or null when it allows everything} */
    public static Egress of(io.micropod.EgressPolicy p) {
      return p.isAllowAll() ? null : new Egress(p.defaultAction().name(), p.allowed(), p.denied());
    }

    /** {@return the policy recorded} */
    public io.micropod.EgressPolicy toPolicy() {
      return io.micropod.EgressPolicy.builder()
          .defaultAction(io.micropod.EgressPolicy.Action.valueOf(defaultAction))
          .allow(allow.toArray(String[]::new)).deny(deny.toArray(String[]::new)).build();
    }
  }

  /** A health check as {@code inspect} shows it ({@code Config.Healthcheck}); durations in ms. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Health(List<String> test, long intervalMillis, long timeoutMillis, int retries,
      long startPeriodMillis) {
    public Health {
      test = test == null ? List.of() : List.copyOf(test);
    }
  }

  /** The processes the pod runs on the host, VMM first, then virtiofsd, then the mounts' ones. */
  @com.fasterxml.jackson.annotation.JsonIgnore
  public List<Proc> processes() {
    return java.util.stream.Stream.concat(
        java.util.stream.Stream.of(vmm, virtiofsd), mountDaemons.stream())
        .filter(java.util.Objects::nonNull).toList();
  }
}
