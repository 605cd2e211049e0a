package io.micropod;

import io.micropod.event.MicroPodListener;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * What to run: an image, the command and its environment, and the VM's size. Immutable and
 * thread-safe; build one with {@link #builder()} (or {@link MicroPod#builder()}) and derive
 * variants with {@link #newBuilder()}. A spec can start any number of pods.
 *
 * <pre>{@code
 * MicroPodSpec spec = MicroPodSpec.builder()
 *     .image("oci:/images/busybox")
 *     .command("sh", "-c", "echo hello")
 *     .memoryMib(512)
 *     .build();
 * try (MicroPod pod = MicroPod.start(spec)) {
 *   pod.waitFor();
 * }
 * }</pre>
 *
 * <h2>Defaults</h2>
 * No command (the image's {@code Entrypoint} + {@code Cmd}), no extra environment, the image's
 * working directory, 512 MiB, 1 vCPU, a 120 s start-up timeout, {@link MicroPodListener#NONE},
 * {@link MicroPodRuntime#defaultRuntime()}, {@link PullPolicy#IF_MISSING}, the platform
 * {@code linux/amd64} (the guest's). No entrypoint override, the image's user, the
 * pod id as hostname, no labels, no name, no published ports, no files copied in, no mounts, and a container
 * memory limit of the guest memory minus {@value #AGENT_RESERVE_MIB} MiB for the guest's kernel
 * and agent (at least half the guest memory), and the {@link SeccompProfile#DEFAULT default
 * seccomp profile}.
 */
public final class MicroPodSpec {
  /** Default guest memory, MiB. */
  public static final int DEFAULT_MEMORY_MIB = 512;
  /**
   * Smallest guest memory the guest image boots and runs a container in at full speed, MiB
   * (measured: docs/performance.md). The JRE, agent and OCI runtimes are read from the shared
   * read-only system image, so only the kernel (~35 MiB), a 4 MB initramfs, the agent's JVM and
   * the page cache of what it reads need guest RAM. At 128 MiB a pod still boots but the page
   * cache thrashes (~40 s to start instead of ~7 s); at 96 MiB the guest kills the agent (out of
   * memory).
   */
  public static final int MIN_MEMORY_MIB = 160;
  /** Largest guest memory accepted, MiB. */
  public static final int MAX_MEMORY_MIB = 65536;
  /** Default start-up timeout: generous, because software emulation (TCG) boots in seconds. */
  public static final Duration DEFAULT_STARTUP_TIMEOUT = Duration.ofSeconds(120);
  /** The platform picked from multi-platform images: the guest's. */
  public static final String DEFAULT_PLATFORM = "linux/amd64";
  private static final Pattern PLATFORM =
      Pattern.compile("[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?");

  private final ImageRef image;
  private final List<String> command;
  private final Map<String, String> env;
  private final String workingDir;
  private final int memoryMib;
  private final int cpus;
  private final Duration startupTimeout;
  private final MicroPodListener listener;
  private final MicroPodRuntime runtime; // null: the default runtime
  private final PullPolicy pullPolicy;
  private final String platform;
  private final List<String> entrypoint; // null: the image's
  private final String user;
  private final String hostname;
  private final Map<String, String> labels;
  private final String name;
  private final List<PortMapping> ports;
  private final List<ContainerFile> files;
  private final List<Mount> mounts;
  private final int containerMemoryMib; // 0: default

  /** Guest memory kept out of the container's default limit for the kernel and the agent, MiB. */
  public static final int AGENT_RESERVE_MIB = 160;
  /** The most host directory mounts a pod may have (each is a virtiofsd and a device). */
  public static final int MAX_MOUNTS = 8;
  private final NetworkMode networkMode;
  private final List<Network> networks;
  private final List<String> networkAliases;
  private final List<Integer> exposedHostPorts;

  private final boolean detached;
  private final Duration exitGracePeriod;
  private final SeccompProfile seccomp;
  private final TerminalSize tty; // null: no terminal
  private final boolean stdinOpen;

  // supervision (issue 15): enforced by the guest agent
  private final HealthCheck healthcheck;
  private final RestartPolicy restart;
  private final Duration maxLifetime;
  private final Duration idleTimeout;

  private final boolean snapshottable;
  private final String fromSnapshot; // null: a cold start
  private final Boolean warmStart; // null: the runtime's MICROPOD_WARM_START decides
  private final EgressPolicy egress;

  private MicroPodSpec(Builder b) {
    this.egress = b.egress.build();
    this.healthcheck = b.healthcheck;
    this.restart = b.restart;
    this.maxLifetime = b.maxLifetime;
    this.idleTimeout = b.idleTimeout;
    this.tty = b.tty;
    this.stdinOpen = b.stdinOpen;
    this.snapshottable = b.snapshottable || b.fromSnapshot != null;
    this.fromSnapshot = b.fromSnapshot;
    this.warmStart = b.warmStart;
    this.entrypoint = b.entrypoint == null ? null : List.copyOf(b.entrypoint);
    this.user = b.user;
    this.hostname = b.hostname;
    this.labels = Collections.unmodifiableMap(new LinkedHashMap<>(b.labels));
    this.name = b.name;
    this.ports = List.copyOf(b.ports);
    this.files = List.copyOf(b.files);
    this.mounts = List.copyOf(b.mounts);
    this.containerMemoryMib = b.containerMemoryMib;
    this.pullPolicy = b.pullPolicy;
    this.platform = b.platform;
    this.image = b.image;
    this.command = List.copyOf(b.command);
    this.env = Collections.unmodifiableMap(new LinkedHashMap<>(b.env));
    this.workingDir = b.workingDir;
    this.memoryMib = b.memoryMib;
    this.cpus = b.cpus;
    this.startupTimeout = b.startupTimeout;
    this.listener = b.listener;
    this.runtime = b.runtime;
    this.detached = b.detached;
    this.exitGracePeriod = b.exitGracePeriod;
    this.seccomp = b.seccomp;
    this.networkMode = b.networkMode;
    this.networks = List.copyOf(b.networks);
    this.networkAliases = List.copyOf(b.networkAliases);
    this.exposedHostPorts = List.copyOf(b.exposedHostPorts);
  }

  /**
   * A builder with every default; {@link Builder#image} is required.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * A builder that starts from this spec's values.
   *
   * @return a new builder holding this spec's values; changing it leaves this spec unchanged
   */
  public Builder newBuilder() {
    return new Builder(this);
  }

  /** {@return the image to run} */
  public ImageRef image() {
    return image;
  }

  /**
   * The command (argv) that replaces the image's {@code Cmd}; the image's {@code Entrypoint}, if
   * any, is kept in front of it. Empty: run the image's {@code Entrypoint} + {@code Cmd}.
   *
   * @return the command, unmodifiable; empty (the default) for the image's own
   */
  public List<String> command() {
    return command;
  }

  /**
   * Environment variables added to the image's, in the order they were set; a key the image also
   * sets is overridden. Unmodifiable.
   *
   * @return the variables, key to value; empty by default
   */
  public Map<String, String> env() {
    return env;
  }

  /**
   * The absolute working directory in the container; empty: the image's (or {@code /}).
   *
   * @return the working directory, or empty for the image's
   */
  public Optional<String> workingDir() {
    return Optional.ofNullable(workingDir);
  }

  /** {@return guest memory in MiB; default 512} */
  public int memoryMib() {
    return memoryMib;
  }

  /**
   * Virtual CPUs; default 1 (recommended under software emulation).
   *
   * @return the number of virtual CPUs, at least 1
   */
  public int cpus() {
    return cpus;
  }

  /**
   * How long {@code start()} waits, from the VMM's spawn, for the guest agent to answer and the
   * container to start; default 120 s. Image resolution and unpacking are not counted.
   *
   * @return the start-up timeout, positive
   */
  public Duration startupTimeout() {
    return startupTimeout;
  }

  /** {@return when to contact the registry; default {@link PullPolicy#IF_MISSING}} */
  public PullPolicy pullPolicy() {
    return pullPolicy;
  }

  /**
   * The {@code os/architecture[/variant]} picked from a multi-platform image (OCI index or Docker
   * manifest list); default {@code linux/amd64}. MicroPod's guests are amd64: another platform
   * pulls, but such an image cannot start (unless the caller only pulls it).
   *
   * @return the platform, e.g. {@code linux/amd64}
   */
  public String platform() {
    return platform;
  }

  /**
   * Receives this pod's events; default {@link MicroPodListener#NONE}.
   *
   * @return the listener, never null
   */
  public MicroPodListener listener() {
    return listener;
  }

  /**
   * The runtime whose resources the pod uses; {@link MicroPodRuntime#defaultRuntime()} unless set.
   *
   * @return the runtime, never null
   */
  public MicroPodRuntime runtime() {
    return runtime != null ? runtime : MicroPodRuntime.defaultRuntime();
  }

  /**
   * The entrypoint that replaces the image's {@code Entrypoint}; empty: the image's. When set and
   * no {@link #command()} is given, the image's {@code Cmd} is dropped too (as {@code docker run
   * --entrypoint} does).
   *
   * @return the entrypoint, unmodifiable and not empty, or empty for the image's
   */
  public Optional<List<String>> entrypoint() {
    return Optional.ofNullable(entrypoint);
  }

  /**
   * The user ({@code name}, {@code uid}, {@code uid:gid}, ...) the process runs as; empty: the
   * image's.
   *
   * @return the user, or empty for the image's
   */
  public Optional<String> user() {
    return Optional.ofNullable(user);
  }

  /**
   * The container's hostname; empty: the pod id.
   *
   * @return the hostname, or empty for the pod id
   */
  public Optional<String> hostname() {
    return Optional.ofNullable(hostname);
  }

  /**
   * Free-form metadata of the pod, not seen by the container. Unmodifiable.
   *
   * @return the labels, key to value; empty by default
   */
  public Map<String, String> labels() {
    return labels;
  }

  /**
   * The pod's name: unique among the live pods of a config directory, so that another process
   * can {@link MicroPodRuntime#attach attach} to it by name; empty (the default): none, the pod
   * is found by its id only.
   *
   * @return the name, or empty for none
   */
  public Optional<String> name() {
    return Optional.ofNullable(name);
  }

  /**
   * The published TCP ports, in the order they were added.
   *
   * @return the port mappings, unmodifiable; empty by default
   */
  public List<PortMapping> ports() {
    return ports;
  }

  /**
   * Files and directories copied into the container before it starts, in order.
   *
   * @return the files to copy, unmodifiable; empty by default
   */
  public List<ContainerFile> files() {
    return files;
  }

  /**
   * Host directories mounted into the container (see {@link Mount}), in order; default none.
   *
   * @return the mounts, unmodifiable; empty by default
   */
  public List<Mount> mounts() {
    return mounts;
  }

  /**
   * The container's cgroup memory limit, MiB: when its processes use more, the kernel's OOM
   * killer kills one of them (the main process ends with 137 and {@link ExitStatus#oomKilled()}),
   * and the VM keeps running. Default: {@link #memoryMib()} minus {@value #AGENT_RESERVE_MIB}, at
   * least half of {@link #memoryMib()}.
   *
   * @return the container's memory limit in MiB, at most {@link #memoryMib()}
   */
  public int containerMemoryMib() {
    if (containerMemoryMib > 0) {
      return containerMemoryMib;
    }
    return Math.max(memoryMib - AGENT_RESERVE_MIB, memoryMib / 2);
  }

  /**
   * Outbound networking: {@link NetworkMode#NAT} (the default) or {@link NetworkMode#NONE}.
   *
   * @return the network mode, never null
   */
  public NetworkMode networkMode() {
    return networkMode;
  }

  /**
   * The networks the pod joins, in order; default none. Unmodifiable.
   *
   * @return the networks; empty by default
   */
  public List<Network> networks() {
    return networks;
  }

  /**
   * The pod's extra names on each of its {@link #networks()}; default none. Unmodifiable.
   *
   * @return the aliases; empty by default
   */
  public List<String> networkAliases() {
    return networkAliases;
  }

  /**
   * The host's TCP ports that the pod may reach on the host's 127.0.0.1 through
   * {@code host.micropod.internal} (the NAT gateway, 10.0.2.2); default none. Every other port
   * of the host's loopback, link-local addresses (cloud metadata included) and the host's own
   * addresses are refused to the pod; see docs/networking.md. Ascending, unmodifiable.
   *
   * @return the exposed host ports, ascending; empty by default
   */
  public List<Integer> exposedHostPorts() {
    return exposedHostPorts;
  }

  /**
   * Where the pod may connect to through its NAT: CIDR and DNS-name rules and a default, enforced
   * by QEMU's network guard; default {@link EgressPolicy#allowAll()} (everything but the host's
   * own services). Changeable on the running pod with {@link MicroPod#updateEgress}. The
   * {@code firecracker} driver cannot enforce it: a pod with rules fails to start there. See
   * docs/networking.md#egress-rules.
   *
   * @return the egress policy, never null
   */
  public EgressPolicy egress() {
    return egress;
  }

  /**
   * Whether the pod outlives the JVM that started it; default {@code false}.
   *
   * <p>A pod that is not detached dies with its JVM, however the JVM ends (its VMM and virtiofsd
   * get SIGKILL from the kernel when the JVM dies, SIGKILL included; the next runtime start sweeps
   * its files). A detached pod keeps running, and another JVM finds it with
   * {@link MicroPodRuntime#list()}, {@link MicroPodRuntime#attach attaches} to it, and stops it by
   * closing the attached handle. Closing the handle that started a detached pod stops it too.
   *
   * <p>A detached pod's {@link #ports() published ports} keep serving after its JVM exits: QEMU's
   * user-mode NAT listens on the host's {@code 127.0.0.1} and forwards to the guest's NAT address
   * ({@code 10.0.2.15}), so the container's server must listen on all addresses (not only on its
   * loopback), as with Docker. That needs the {@code qemu} driver and {@link NetworkMode#NAT}
   * ({@code build()} refuses {@code NONE}; the firecracker driver fails the start).
   *
   * <p>A detached pod keeps its {@link #networks() networks} after its JVM exits: the network's
   * owner keeps it a member while its VMM runs. A network that this process created moves, when
   * its first detached pod joins it, into a holder process of the SDK's own (it must not be in
   * use yet then); a network made with {@link MicroPodRuntime#createHeldNetwork} or
   * {@code micropod network create} is held by one from the start. See docs/networking.md.
   *
   * @return {@code true} when the pod outlives its JVM; {@code false} by default
   */
  public boolean detached() {
    return detached;
  }

  /**
   * How long a running pod gets to stop when its JVM shuts down in an orderly way (normal exit,
   * {@code System.exit}, SIGTERM, SIGINT); default {@link Duration#ZERO}.
   *
   * <p>With zero, the JVM's exit kills the VM at once. Otherwise the SDK's shutdown hook sends
   * SIGTERM to the container, waits up to this long for it to exit (then SIGKILL), and only then
   * removes the VM, like {@link MicroPod#stop(Duration)}. All pods stop in parallel, so the JVM's
   * exit takes at most about the longest grace period. Use this instead of stopping pods from a
   * shutdown hook of your own: JVM shutdown hooks run concurrently, so your hook would race the
   * SDK's. Nothing runs on SIGKILL: the VM dies with the JVM. Ignored for {@link #detached()} pods.
   *
   * @return the grace period, zero or positive
   */
  public Duration exitGracePeriod() {
    return exitGracePeriod;
  }

  /**
   * The container's seccomp filter; default {@link SeccompProfile#DEFAULT} (an allow-list
   * modelled on Docker's default profile, {@code EPERM} for the rest). It applies to the
   * container's process and to every {@link MicroPod#exec exec}.
   *
   * @return the seccomp profile, never null
   */
  public SeccompProfile seccomp() {
    return seccomp;
  }

  /**
   * The pseudo-terminal the container's main process runs on (Docker's {@code -t}), or empty
   * (the default) for pipes. With a terminal, the process's stdout and stderr arrive merged as
   * stdout (in {@link MicroPod#logs()} too), and {@link MicroPod#attach()} can resize it; without
   * {@link #stdinOpen()} nothing can be typed on it and it reads EOF at once.
   *
   * @return the terminal's initial size, or empty for no terminal
   */
  public Optional<TerminalSize> tty() {
    return Optional.ofNullable(tty);
  }

  /**
   * Whether the main process's stdin stays open for {@link MicroPod#attach()} (Docker's {@code
   * -i}); default {@code false}: its stdin is {@code /dev/null}.
   *
   * @return {@code true} when the main process reads what {@link MicroPod#attach()} writes
   */
  public boolean stdinOpen() {
    return stdinOpen;
  }

  /**
   * The container's health check; empty (the default) means the image's {@code HEALTHCHECK},
   * if it has one. {@link HealthCheck#none()} disables the image's too.
   *
   * @return the health check given to the builder, or empty
   */
  public Optional<HealthCheck> healthcheck() {
    return Optional.ofNullable(healthcheck);
  }

  /**
   * When the guest agent restarts the container's main process; default {@link RestartPolicy#no()}.
   *
   * @return the restart policy, never null
   */
  public RestartPolicy restart() {
    return restart;
  }

  /**
   * How long the pod may live, counted from its container's creation: then the guest agent
   * removes the container and the VM powers off, and the pod is removed (a detached pod too,
   * even when the JVM that started it is gone: at the next sweep). Empty (the default): no limit.
   *
   * @return the maximum lifetime, or empty
   */
  public Optional<Duration> maxLifetime() {
    return Optional.ofNullable(maxLifetime);
  }

  /**
   * How long the pod may be idle before it ends as with {@link #maxLifetime()}. Idle: no exec, no
   * log reader, no forwarded connection and no established TCP connection in the guest (health
   * probes and status queries do not count). Empty (the default): never.
   *
   * @return the idle timeout, or empty
   */
  public Optional<Duration> idleTimeout() {
    return Optional.ofNullable(idleTimeout);
  }

  /**
   * Whether {@link MicroPod#snapshot} works on the pod (default false). Such a pod boots its image
   * from a read-only block device instead of virtio-fs, keeps its guest RAM in a file (QEMU: in the
   * pod's socket directory; Firecracker writes its memory file at the snapshot) and cannot have
   * host directory {@link #mounts()}: neither a virtio-fs device nor a live host mount can be
   * carried into a snapshot. A pod restored from a snapshot is snapshottable too. Under the
   * firecracker driver run through its jailer (MicroPod as root), starting such a pod (or one
   * {@link #fromSnapshot()}) throws a {@link SnapshotException} before anything starts. See
   * docs/snapshots.md.
   *
   * @return whether the pod can be snapshotted
   */
  public boolean snapshottable() {
    return snapshottable;
  }

  /**
   * The snapshot the pod is restored from ({@link Builder#fromSnapshot}); empty for a cold start.
   * A restored pod's container, its processes and files continue where the snapshot was taken:
   * {@link #image()}, {@link #memoryMib()} and {@link #cpus()} are the snapshot's, and the command,
   * environment, files and mounts of this spec are not used.
   *
   * @return the snapshot's name, or empty
   */
  public Optional<String> fromSnapshot() {
    return Optional.ofNullable(fromSnapshot);
  }

  /**
   * Whether the pod is started warm ({@link Builder#warmStart}); empty (the default) when the
   * spec does not say, and the runtime's environment decides: {@code MICROPOD_WARM_START=1} starts
   * warm every pod that can be, the others cold.
   *
   * @return the spec's choice, or empty
   */
  public Optional<Boolean> warmStart() {
    return Optional.ofNullable(warmStart);
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof MicroPodSpec)) {
      return false;
    }
    MicroPodSpec s = (MicroPodSpec) o;
    return image.equals(s.image) && command.equals(s.command) && env.equals(s.env)
        && Objects.equals(workingDir, s.workingDir) && memoryMib == s.memoryMib && cpus == s.cpus
        && startupTimeout.equals(s.startupTimeout) && listener == s.listener
        && runtime == s.runtime && Objects.equals(entrypoint, s.entrypoint)
        && Objects.equals(user, s.user) && Objects.equals(hostname, s.hostname)
        && labels.equals(s.labels) && Objects.equals(name, s.name) && ports.equals(s.ports)
        && files.equals(s.files) && mounts.equals(s.mounts) && containerMemoryMib == s.containerMemoryMib
        && pullPolicy == s.pullPolicy && platform.equals(s.platform)
        && networkMode == s.networkMode && networks.equals(s.networks)
        && networkAliases.equals(s.networkAliases) && exposedHostPorts.equals(s.exposedHostPorts)
        && detached == s.detached && exitGracePeriod.equals(s.exitGracePeriod)
        && seccomp == s.seccomp && Objects.equals(tty, s.tty) && stdinOpen == s.stdinOpen
        && Objects.equals(healthcheck, s.healthcheck)
        && restart.equals(s.restart) && Objects.equals(maxLifetime, s.maxLifetime)
        && Objects.equals(idleTimeout, s.idleTimeout) && snapshottable == s.snapshottable
        && Objects.equals(fromSnapshot, s.fromSnapshot) && Objects.equals(warmStart, s.warmStart)
        && egress.equals(s.egress);
  }

  @Override
  public int hashCode() {
    return Objects.hash(image, command, env, workingDir, memoryMib, cpus, startupTimeout, pullPolicy, platform);
  }

  /** Names the environment's keys but never its values. */
  @Override
  public String toString() {
    return "MicroPodSpec{image=" + image + ", command=" + command + ", envKeys=" + env.keySet()
        + (workingDir != null ? ", workingDir=" + workingDir : "") + ", memoryMib=" + memoryMib
        + ", cpus=" + cpus + ", startupTimeout=" + startupTimeout
        + (name != null ? ", name=" + name : "") + (ports.isEmpty() ? "" : ", ports=" + ports)
        + (mounts.isEmpty() ? "" : ", mounts=" + mounts)
        + ", pullPolicy=" + pullPolicy + ", platform=" + platform
        + (networkMode != NetworkMode.NAT ? ", networkMode=" + networkMode : "")
        + (networks.isEmpty() ? "" : ", networks=" + networks + ", networkAliases=" + networkAliases)
        + (exposedHostPorts.isEmpty() ? "" : ", exposedHostPorts=" + exposedHostPorts)
        + (egress.isAllowAll() ? "" : ", egress=" + egress)
        + (detached ? ", detached" : "")
        + (exitGracePeriod.isZero() ? "" : ", exitGracePeriod=" + exitGracePeriod)
        + (seccomp != SeccompProfile.DEFAULT ? ", seccomp=" + seccomp : "")
        + (tty != null ? ", tty=" + tty : "") + (stdinOpen ? ", stdinOpen" : "")
        + (healthcheck != null ? ", healthcheck=" + healthcheck : "")
        + (restart.mode() != RestartPolicy.Mode.NO ? ", restart=" + restart : "")
        + (maxLifetime != null ? ", maxLifetime=" + maxLifetime : "")
        + (idleTimeout != null ? ", idleTimeout=" + idleTimeout : "")
        + (fromSnapshot != null ? ", fromSnapshot=" + fromSnapshot : snapshottable ? ", snapshottable" : "")
        + (warmStart != null ? ", warmStart=" + warmStart : "") + "}";
  }

  /**
   * Builds a {@link MicroPodSpec}. Setters validate eagerly and throw
   * {@link IllegalArgumentException} naming the bad value. Not thread-safe.
   */
  public static final class Builder {
    private ImageRef image;
    private List<String> command = new ArrayList<>();
    private final LinkedHashMap<String, String> env = new LinkedHashMap<>();
    private String workingDir;
    private int memoryMib = DEFAULT_MEMORY_MIB;
    private int cpus = 1;
    private Duration startupTimeout = DEFAULT_STARTUP_TIMEOUT;
    private MicroPodListener listener = MicroPodListener.NONE;
    private MicroPodRuntime runtime;
    private PullPolicy pullPolicy = PullPolicy.IF_MISSING;
    private String platform = DEFAULT_PLATFORM;
    private NetworkMode networkMode = NetworkMode.NAT;
    private final List<Network> networks = new ArrayList<>();
    private final List<String> networkAliases = new ArrayList<>();
    private final java.util.TreeSet<Integer> exposedHostPorts = new java.util.TreeSet<>();
    private boolean started;
    private List<String> entrypoint;
    private String user;
    private String hostname;
    private final LinkedHashMap<String, String> labels = new LinkedHashMap<>();
    private String name;
    private final List<PortMapping> ports = new ArrayList<>();
    private final List<ContainerFile> files = new ArrayList<>();
    private final List<Mount> mounts = new ArrayList<>();
    private int containerMemoryMib;
    private boolean detached;
    private Duration exitGracePeriod = Duration.ZERO;
    private SeccompProfile seccomp = SeccompProfile.DEFAULT;
    private HealthCheck healthcheck;
    private RestartPolicy restart = RestartPolicy.no();
    private Duration maxLifetime;
    private Duration idleTimeout;
    private boolean snapshottable;
    private String fromSnapshot;
    private Boolean warmStart;
    private EgressPolicy.Builder egress = EgressPolicy.builder();

    private Builder() {}

    private TerminalSize tty;
    private boolean stdinOpen;

    private Builder(MicroPodSpec spec) {
      this.tty = spec.tty;
      this.stdinOpen = spec.stdinOpen;
      this.healthcheck = spec.healthcheck;
      this.restart = spec.restart;
      this.maxLifetime = spec.maxLifetime;
      this.idleTimeout = spec.idleTimeout;
      this.snapshottable = spec.snapshottable;
      this.fromSnapshot = spec.fromSnapshot;
      this.warmStart = spec.warmStart;
      this.detached = spec.detached;
      this.exitGracePeriod = spec.exitGracePeriod;
      this.seccomp = spec.seccomp;
      this.exposedHostPorts.addAll(spec.exposedHostPorts);
      this.egress = spec.egress.newBuilder();
      this.image = spec.image;
      this.command = new ArrayList<>(spec.command);
      this.env.putAll(spec.env);
      this.workingDir = spec.workingDir;
      this.memoryMib = spec.memoryMib;
      this.cpus = spec.cpus;
      this.startupTimeout = spec.startupTimeout;
      this.listener = spec.listener;
      this.runtime = spec.runtime;
      this.entrypoint = spec.entrypoint == null ? null : new ArrayList<>(spec.entrypoint);
      this.user = spec.user;
      this.hostname = spec.hostname;
      this.labels.putAll(spec.labels);
      this.name = spec.name;
      this.ports.addAll(spec.ports);
      this.files.addAll(spec.files);
      this.mounts.addAll(spec.mounts);
      this.containerMemoryMib = spec.containerMemoryMib;
      this.pullPolicy = spec.pullPolicy;
      this.platform = spec.platform;
      this.networkMode = spec.networkMode;
      this.networks.addAll(spec.networks);
      this.networkAliases.addAll(spec.networkAliases);
    }

    /**
     * See {@link MicroPodSpec#entrypoint()}; at least one element.
     *
     * @param argv the entrypoint and its arguments; not empty, no null element
     * @return this builder
     * @throws IllegalArgumentException naming the bad element when {@code argv} is not such a list
     */
    public Builder entrypoint(String... argv) {
      Objects.requireNonNull(argv, "entrypoint");
      this.entrypoint = Validation.argv(Arrays.asList(argv), "entrypoint", false);
      return this;
    }

    /**
     * See {@link MicroPodSpec#user()}: a name or uid, optionally {@code :group} or {@code :gid}.
     *
     * @param user {@code name|uid[:group|gid]}, e.g. {@code 1000}, {@code nobody} or
     *     {@code 1000:1000}
     * @return this builder
     * @throws IllegalArgumentException when {@code user} does not have that form
     */
    public Builder user(String user) {
      this.user = Validation.user(user);
      return this;
    }

    /**
     * See {@link MicroPodSpec#hostname()}; an RFC 1123 host name of at most 63 characters.
     *
     * @param hostname letters, digits and {@code '-'}, not starting or ending with {@code '-'}
     * @return this builder
     * @throws IllegalArgumentException when {@code hostname} is not such a name
     */
    public Builder hostname(String hostname) {
      Objects.requireNonNull(hostname, "hostname");
      if (!hostname.matches("[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")) {
        throw new IllegalArgumentException("hostname is not a valid host name (letters, digits, '-', "
            + "at most 63): " + hostname);
      }
      this.hostname = hostname;
      return this;
    }

    /**
     * Sets one label; keys are non-empty.
     *
     * @param key the label's key; not empty
     * @param value its value, may be empty; replaces an earlier value of {@code key}
     * @return this builder
     * @throws IllegalArgumentException when {@code key} is empty
     */
    public Builder label(String key, String value) {
      Objects.requireNonNull(key, "label key");
      Objects.requireNonNull(value, () -> "label value of " + key);
      if (key.isEmpty()) {
        throw new IllegalArgumentException("label key is empty");
      }
      labels.put(key, value);
      return this;
    }

    /**
     * See {@link MicroPodSpec#name()}: 1 to 63 of {@code [A-Za-z0-9_.-]}, starting with a letter or
     * digit. {@code start()} fails with {@link IllegalStateException} when a running pod of the
     * same runtime has it.
     *
     * @param name the pod's name
     * @return this builder
     * @throws IllegalArgumentException when {@code name} is not of that form
     */
    public Builder name(String name) {
      this.name = Validation.podName(name);
      return this;
    }

    /**
     * Publishes {@code containerPort} on a random host port; see {@link PortMapping}.
     *
     * @param containerPort the TCP port the container listens on, 1..65535
     * @return this builder
     * @throws IllegalArgumentException when the port is not 1..65535 or already published
     */
    public Builder port(int containerPort) {
      return port(PortMapping.ofContainerPort(containerPort));
    }

    /**
     * Publishes {@code containerPort} on the fixed {@code hostPort}; see {@link PortMapping}.
     *
     * @param hostPort the port on the host's 127.0.0.1, 1..65535
     * @param containerPort the TCP port the container listens on, 1..65535
     * @return this builder
     * @throws IllegalArgumentException when a port is not 1..65535, or either is already published
     *     by this spec
     */
    public Builder port(int hostPort, int containerPort) {
      return port(PortMapping.of(hostPort, containerPort));
    }

    /**
     * Publishes a port.
     *
     * @param mapping the container port and its host port
     * @return this builder
     * @throws IllegalArgumentException when the container port or the fixed host port is already
     *     published by this spec
     */
    public Builder port(PortMapping mapping) {
      Objects.requireNonNull(mapping, "port");
      for (PortMapping p : ports) {
        if (p.containerPort() == mapping.containerPort()) {
          throw new IllegalArgumentException("container port already published: " + mapping.containerPort());
        }
        if (mapping.hostPort() != 0 && p.hostPort() == mapping.hostPort()) {
          throw new IllegalArgumentException("host port already used by this spec: " + mapping.hostPort());
        }
      }
      ports.add(mapping);
      return this;
    }

    /**
     * Copies the host file or directory {@code hostPath} to {@code containerPath} before start.
     *
     * @param hostPath an existing file or directory on the host; read at start
     * @param containerPath the absolute path it gets in the container
     * @return this builder
     * @throws IllegalArgumentException when {@code hostPath} does not exist or
     *     {@code containerPath} is not absolute
     */
    public Builder copyToContainer(Path hostPath, String containerPath) {
      files.add(ContainerFile.fromHost(hostPath, containerPath));
      return this;
    }

    /**
     * Mounts a host directory into the container (see {@link Mount}: virtio-fs, QEMU driver only).
     * At most {@value MicroPodSpec#MAX_MOUNTS}; the host directory must still exist at start.
     *
     * @param mount the host directory and where it goes
     * @return this builder
     * @throws IllegalArgumentException when another mount of this spec has the same container path
     *     or one inside the other, or there are {@value MicroPodSpec#MAX_MOUNTS} already
     */
    public Builder mount(Mount mount) {
      Objects.requireNonNull(mount, "mount");
      if (mounts.size() >= MAX_MOUNTS) {
        throw new IllegalArgumentException("more than " + MAX_MOUNTS + " mounts: " + mount);
      }
      for (Mount m : mounts) {
        String a = m.containerPath() + "/";
        String b = mount.containerPath() + "/";
        if (a.startsWith(b) || b.startsWith(a)) {
          throw new IllegalArgumentException("container path " + mount.containerPath()
              + " overlaps the mount " + m + ": give each mount its own directory");
        }
      }
      mounts.add(mount);
      return this;
    }

    /**
     * Writes {@code content} to {@code containerPath} with {@code mode} (e.g. 0644) before start.
     *
     * @param content the file's bytes; copied
     * @param containerPath the absolute path of the file in the container
     * @param mode the permission bits, 0..0777
     * @return this builder
     * @throws IllegalArgumentException when the mode is not 0..0777 or the path is not absolute
     */
    public Builder copyToContainer(byte[] content, String containerPath, int mode) {
      files.add(ContainerFile.fromBytes(content, containerPath, mode));
      return this;
    }

    /**
     * See {@link MicroPodSpec#containerMemoryMib()}: 4 to the guest memory, MiB; checked against
     * {@link #memoryMib} at {@code build()}.
     *
     * @param mib the limit in MiB, at least 4
     * @return this builder
     * @throws IllegalArgumentException when {@code mib} is less than 4
     */
    public Builder containerMemoryMib(int mib) {
      if (mib < 4) {
        throw new IllegalArgumentException("containerMemoryMib < 4: " + mib);
      }
      this.containerMemoryMib = mib;
      return this;
    }

    /**
     * The image, parsed at once with {@link ImageRef#parse(String)}: a registry reference
     * ({@code alpine:3.20}, {@code host:5000/app@sha256:...}), {@code oci:/path[:tag]},
     * {@code oci-archive:/file.tar} or {@code docker-archive:/file.tar}.
     *
     * @param ref the image reference
     * @return this builder
     * @throws IllegalArgumentException if {@code ref} is not a valid reference
     */
    public Builder image(String ref) {
      this.image = ImageRef.parse(Objects.requireNonNull(ref, "image"));
      return this;
    }

    /**
     * The image.
     *
     * @param ref a parsed image reference
     * @return this builder
     */
    public Builder image(ImageRef ref) {
      this.image = Objects.requireNonNull(ref, "image");
      return this;
    }

    /**
     * The command that replaces the image's {@code Cmd}; no arguments: the image's default.
     *
     * @param argv the program and its arguments; no null element
     * @return this builder
     * @throws IllegalArgumentException naming the bad element
     */
    public Builder command(String... argv) {
      return command(Arrays.asList(Objects.requireNonNull(argv, "command")));
    }

    /**
     * The command that replaces the image's {@code Cmd}; empty: the image's default.
     *
     * @param argv the program and its arguments; copied, no null element
     * @return this builder
     * @throws IllegalArgumentException naming the bad element
     */
    public Builder command(List<String> argv) {
      this.command = Validation.argv(argv, "command", true);
      return this;
    }

    /**
     * Sets one environment variable, replacing an earlier value for {@code key}.
     *
     * @param key the variable's name; not empty, no {@code '='} or NUL
     * @param value its value, may be empty; no NUL
     * @return this builder
     * @throws IllegalArgumentException naming the key when the key or value is not valid
     */
    public Builder env(String key, String value) {
      Validation.env(key, value);
      env.put(key, value);
      return this;
    }

    /**
     * Sets each variable of {@code vars}, in its iteration order.
     *
     * @param vars the variables, as for {@link #env(String, String)}
     * @return this builder
     * @throws IllegalArgumentException naming the first key whose key or value is not valid
     */
    public Builder env(Map<String, String> vars) {
      Objects.requireNonNull(vars, "env");
      vars.forEach(this::env);
      return this;
    }

    /**
     * The absolute working directory in the container.
     *
     * @param absPath an absolute path in the container
     * @return this builder
     * @throws IllegalArgumentException when {@code absPath} is not absolute
     */
    public Builder workingDir(String absPath) {
      this.workingDir = Validation.workingDir(absPath);
      return this;
    }

    /**
     * Guest memory, MiB; {@value MicroPodSpec#MIN_MEMORY_MIB} to 65536, default 512. The container's
     * processes share it with the guest kernel and agent (~110 MiB of it at the minimum).
     *
     * @param memoryMib the guest's memory in MiB
     * @return this builder
     * @throws IllegalArgumentException when {@code memoryMib} is outside
     *     {@value MicroPodSpec#MIN_MEMORY_MIB}..65536
     */
    public Builder memoryMib(int memoryMib) {
      if (memoryMib < MIN_MEMORY_MIB) {
        throw new IllegalArgumentException("memoryMib < " + MIN_MEMORY_MIB + ": " + memoryMib);
      }
      if (memoryMib > MAX_MEMORY_MIB) {
        throw new IllegalArgumentException("memoryMib > " + MAX_MEMORY_MIB + ": " + memoryMib);
      }
      this.memoryMib = memoryMib;
      return this;
    }

    /**
     * Virtual CPUs, at least 1; default 1. Under software emulation (TCG) keep 1.
     *
     * @param cpus the number of virtual CPUs
     * @return this builder
     * @throws IllegalArgumentException when {@code cpus} is less than 1
     */
    public Builder cpus(int cpus) {
      if (cpus < 1) {
        throw new IllegalArgumentException("cpus < 1: " + cpus);
      }
      this.cpus = cpus;
      return this;
    }

    /**
     * See {@link MicroPodSpec#startupTimeout()}; positive, default 120 s.
     *
     * @param timeout the start-up timeout
     * @return this builder
     * @throws IllegalArgumentException when {@code timeout} is zero or negative
     */
    public Builder startupTimeout(Duration timeout) {
      this.startupTimeout = Validation.positive(timeout, "startupTimeout");
      return this;
    }

    /**
     * Receives the pod's events; default {@link MicroPodListener#NONE}.
     *
     * @param listener the listener; not null
     * @return this builder
     */
    public Builder listener(MicroPodListener listener) {
      this.listener = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /**
     * When to contact the registry; default {@link PullPolicy#IF_MISSING}.
     *
     * @param pullPolicy the policy; not null
     * @return this builder
     */
    public Builder pullPolicy(PullPolicy pullPolicy) {
      this.pullPolicy = Objects.requireNonNull(pullPolicy, "pullPolicy");
      return this;
    }

    /**
     * The platform to pick from multi-platform images, {@code os/architecture[/variant]}, e.g.
     * {@code linux/amd64} (the default) or {@code linux/arm64/v8}.
     *
     * @param platform the platform
     * @return this builder
     * @throws IllegalArgumentException when {@code platform} is not of that form
     */
    public Builder platform(String platform) {
      Objects.requireNonNull(platform, "platform");
      if (!PLATFORM.matcher(platform).matches()) {
        throw new IllegalArgumentException(
            "invalid platform \"" + platform + "\" (expected os/architecture[/variant], e.g. linux/amd64)");
      }
      this.platform = platform;
      return this;
    }

    /**
     * Whether the pod outlives its JVM (see {@link MicroPodSpec#detached()}); default false.
     *
     * @param detached {@code true} to let the pod outlive its JVM
     * @return this builder
     */
    public Builder detached(boolean detached) {
      this.detached = detached;
      return this;
    }

    /**
     * The container's seccomp filter; default {@link SeccompProfile#DEFAULT}.
     * {@link SeccompProfile#UNCONFINED} is Docker's {@code --security-opt seccomp=unconfined}.
     *
     * @param profile the profile; not null
     * @return this builder
     */
    public Builder seccomp(SeccompProfile profile) {
      this.seccomp = Objects.requireNonNull(profile, "seccomp");
      return this;
    }

    /**
     * Runs the main process on a pseudo-terminal of {@link TerminalSize#DEFAULT} (80x24), or not
     * (the default); see {@link MicroPodSpec#tty()}. Docker's {@code -t}.
     *
     * @param tty {@code true} for a terminal
     * @return this builder
     */
    public Builder tty(boolean tty) {
      this.tty = tty ? TerminalSize.DEFAULT : null;
      return this;
    }

    /**
     * The container's health check (see {@link MicroPodSpec#healthcheck()}); replaces the
     * image's. {@link HealthCheck#none()} disables the image's.
     *
     * @param healthcheck the health check; not null
     * @return this builder
     */
    public Builder healthcheck(HealthCheck healthcheck) {
      this.healthcheck = Objects.requireNonNull(healthcheck, "healthcheck");
      return this;
    }

    /**
     * Runs the main process on a pseudo-terminal of {@code size}; see {@link MicroPodSpec#tty()}.
     *
     * @param size the terminal's initial size; not null
     * @return this builder
     */
    public Builder tty(TerminalSize size) {
      this.tty = Objects.requireNonNull(size, "tty");
      return this;
    }

    /**
     * See {@link MicroPodSpec#restart()}; default {@link RestartPolicy#no()}.
     *
     * @param policy the restart policy; not null
     * @return this builder
     */
    public Builder restart(RestartPolicy policy) {
      this.restart = Objects.requireNonNull(policy, "restart");
      return this;
    }

    /**
     * Keeps the main process's stdin open for {@link MicroPod#attach()}; see {@link
     * MicroPodSpec#stdinOpen()}. Docker's {@code -i}.
     *
     * @param open {@code true} to keep stdin open; default {@code false}
     * @return this builder
     */
    public Builder stdinOpen(boolean open) {
      this.stdinOpen = open;
      return this;
    }

    /**
     * See {@link MicroPodSpec#maxLifetime()}.
     *
     * @param maxLifetime at least 1 s
     * @return this builder
     * @throws IllegalArgumentException when shorter than 1 s (negative included)
     */
    public Builder maxLifetime(Duration maxLifetime) {
      this.maxLifetime = atLeastASecond(maxLifetime, "maxLifetime");
      return this;
    }

    /**
     * See {@link MicroPodSpec#idleTimeout()}.
     *
     * @param idleTimeout at least 1 s
     * @return this builder
     * @throws IllegalArgumentException when shorter than 1 s (negative included)
     */
    public Builder idleTimeout(Duration idleTimeout) {
      this.idleTimeout = atLeastASecond(idleTimeout, "idleTimeout");
      return this;
    }

    private static Duration atLeastASecond(Duration d, String what) {
      Objects.requireNonNull(d, what);
      if (d.compareTo(Duration.ofSeconds(1)) < 0) {
        throw new IllegalArgumentException(what + " < 1 s: " + d);
      }
      return d;
    }

    /**
     * See {@link MicroPodSpec#exitGracePeriod()}; zero or positive, default zero.
     *
     * @param grace the grace period
     * @return this builder
     * @throws IllegalArgumentException when {@code grace} is negative
     */
    public Builder exitGracePeriod(Duration grace) {
      Objects.requireNonNull(grace, "exitGracePeriod");
      if (grace.isNegative()) {
        throw new IllegalArgumentException("exitGracePeriod < 0: " + grace);
      }
      this.exitGracePeriod = grace;
      return this;
    }

    /**
     * The runtime to use; default {@link MicroPodRuntime#defaultRuntime()}.
     *
     * @param runtime the runtime; not null
     * @return this builder
     */
    public Builder runtime(MicroPodRuntime runtime) {
      this.runtime = Objects.requireNonNull(runtime, "runtime");
      return this;
    }

    /**
     * Lets the pod reach these TCP ports of the host's 127.0.0.1 as
     * {@code host.micropod.internal:<port>} (like Testcontainers' {@code exposeHostPorts});
     * callable several times, the ports add up. Without it a pod reaches no service of the host:
     * the host's loopback, link-local addresses (169.254.169.254 included) and the host's own
     * addresses are refused at once (RST). Only for {@link NetworkMode#NAT} under QEMU.
     *
     * @param ports the host's TCP ports, 1-65535
     * @return this builder
     * @throws IllegalArgumentException for a port outside 1-65535
     */
    public Builder exposeHostPorts(int... ports) {
      Objects.requireNonNull(ports, "ports");
      for (int p : ports) {
        if (p < 1 || p > 65535) {
          throw new IllegalArgumentException("exposeHostPorts: port must be 1-65535, was " + p);
        }
      }
      for (int p : ports) {
        exposedHostPorts.add(p);
      }
      return this;
    }

    /**
     * Sets the pod's egress rules, replacing any given before; see {@link MicroPodSpec#egress()}.
     *
     * @param policy the rules; not null
     * @return this builder
     */
    public Builder egress(EgressPolicy policy) {
      this.egress = Objects.requireNonNull(policy, "egress").newBuilder();
      return this;
    }

    /**
     * Allows destinations of the pod's outbound connections (CLI: {@code --egress-allow});
     * repeatable, rules add up. Matters with {@link #egressDefault} {@code DENY}, or to carve an
     * exception out of a wider deny rule (the most specific rule wins).
     *
     * @param rules CIDRs ({@code 192.0.2.0/24}, {@code 2001:db8::/32}, {@code 192.0.2.7}) or DNS
     *     names ({@code example.org}, {@code *.example.org})
     * @return this builder
     * @throws IllegalArgumentException naming the first malformed rule
     */
    public Builder egressAllow(String... rules) {
      egress.allow(rules);
      return this;
    }

    /**
     * Denies destinations of the pod's outbound connections (CLI: {@code --egress-deny});
     * repeatable, rules add up. A denied connection is refused at once; a denied name gets no answer.
     *
     * @param rules as {@link #egressAllow}
     * @return this builder
     * @throws IllegalArgumentException naming the first malformed rule
     */
    public Builder egressDeny(String... rules) {
      egress.deny(rules);
      return this;
    }

    /**
     * What happens to outbound connections no egress rule matches; default
     * {@link EgressPolicy.Action#ALLOW}. {@code DENY} (CLI: {@code --egress-deny-all}) reaches
     * only what {@link #egressAllow} names.
     *
     * @param action the default; not null
     * @return this builder
     */
    public Builder egressDefault(EgressPolicy.Action action) {
      egress.defaultAction(action);
      return this;
    }

    /**
     * Outbound networking; default {@link NetworkMode#NAT}. {@link NetworkMode#NONE} leaves the
     * guest with only {@code lo} and excludes {@link #network(Network)}.
     *
     * @param mode the mode; not null
     * @return this builder
     */
    public Builder networkMode(NetworkMode mode) {
      this.networkMode = Objects.requireNonNull(mode, "networkMode");
      return this;
    }

    /**
     * Joins {@code network} (also callable several times for several networks): the pod gets a
     * device and an address on it, and its name and aliases resolve for the other members.
     * The network must belong to the spec's runtime and be open when the pod starts.
     *
     * @param network an open network of the spec's runtime
     * @return this builder
     * @throws IllegalArgumentException when {@code network} was already added
     */
    public Builder network(Network network) {
      Objects.requireNonNull(network, "network");
      if (networks.contains(network)) {
        throw new IllegalArgumentException("network already added: " + network.name());
      }
      networks.add(network);
      return this;
    }

    /**
     * Extra names of the pod on each of its networks (its id is always one), like Docker's
     * {@code --network-alias}; replaces earlier aliases. Each is a host name label: 1-63 of
     * {@code [a-zA-Z0-9_-]} (dots allowed between labels), not starting with {@code -}; unique
     * per network (checked when the pod starts).
     *
     * @param aliases the names; none clears them
     * @return this builder
     * @throws IllegalArgumentException naming an alias that is not a valid host name, repeated,
     *     or reserved ({@code localhost}, {@value Network#HOST_NAME})
     */
    public Builder networkAliases(String... aliases) {
      Objects.requireNonNull(aliases, "networkAliases");
      List<String> checked = new ArrayList<>();
      for (String a : aliases) {
        Objects.requireNonNull(a, "alias");
        if (!a.matches("[a-zA-Z0-9_][a-zA-Z0-9_-]{0,62}(\\.[a-zA-Z0-9_][a-zA-Z0-9_-]{0,62})*")
            || a.length() > 253) {
          throw new IllegalArgumentException("invalid network alias (a host name: letters, digits,"
              + " '-', '_', dots between labels): '" + a + "'");
        }
        if (a.equalsIgnoreCase("localhost") || a.equalsIgnoreCase(Network.HOST_NAME)) {
          throw new IllegalArgumentException("reserved network alias: '" + a + "'");
        }
        for (String c : checked) {
          if (c.equalsIgnoreCase(a)) {
            throw new IllegalArgumentException("network alias given twice: '" + a + "'");
          }
        }
        checked.add(a);
      }
      networkAliases.clear();
      networkAliases.addAll(checked);
      return this;
    }

    /**
     * The spec.
     *
     * @return an immutable spec
     * @throws IllegalStateException "image is required" when no image was set
     * @throws IllegalStateException when {@link #containerMemoryMib} is above {@link #memoryMib},
     *     when {@link NetworkMode#NONE} is combined with a network or with a detached pod's
     *     published ports, or when network
     *     aliases are set without a network
     */
    public MicroPodSpec build() {
      if ((snapshottable || fromSnapshot != null) && !mounts.isEmpty()) {
        throw new IllegalStateException("a snapshottable pod cannot have host directory mounts " + mounts
            + " (a live host mount cannot be carried into a snapshot): drop the mounts, or copy the files"
            + " in with copyToContainer(..)");
      }
      if ((snapshottable || fromSnapshot != null) && !networks.isEmpty()) {
        throw new IllegalStateException("a snapshottable pod cannot join networks " + networks.stream()
            .map(Network::name).toList() + " yet: drop network(..) (NAT and NONE work)");
      }
      if (Boolean.TRUE.equals(warmStart)) {
        checkWarmStart();
      }
      if (image == null) {
        throw new IllegalStateException("image is required");
      }
      if (containerMemoryMib > memoryMib) {
        throw new IllegalStateException("containerMemoryMib (" + containerMemoryMib
            + ") > memoryMib (" + memoryMib + "): raise memoryMib or lower the container limit");
      }
      if (networkMode == NetworkMode.NONE && !networks.isEmpty()) {
        throw new IllegalStateException("networkMode NONE (only loopback) cannot join networks "
            + networks.stream().map(Network::name).toList() + ": use NAT or drop network(..)");
      }
      if (detached && !ports.isEmpty() && networkMode == NetworkMode.NONE) {
        throw new IllegalStateException("a detached pod's published ports " + ports + " are served by"
            + " its NAT device (they outlive this JVM), which networkMode NONE lacks: use NAT, or do not"
            + " detach the pod (its ports then go through the guest agent while this JVM runs)");
      }
      if (!networkAliases.isEmpty() && networks.isEmpty()) {
        throw new IllegalStateException("networkAliases " + networkAliases
            + " need a network: add network(..)");
      }
      return new MicroPodSpec(this);
    }

    /**
     * See {@link MicroPodSpec#snapshottable()}.
     *
     * @param snapshottable whether {@link MicroPod#snapshot} works on the pod (default false)
     * @return this builder
     */
    public Builder snapshottable(boolean snapshottable) {
      this.snapshottable = snapshottable;
      return this;
    }

    /** What {@code warmStart(true)} can never work with: a template holds no live mount, network or snapshot. */
    private void checkWarmStart() {
      String why = !mounts.isEmpty() ? "host directory mounts " + mounts + " (a live host mount cannot be kept in"
          + " a template)"
          : !networks.isEmpty() ? "networks " + networks.stream().map(Network::name).toList()
              + " (their devices cannot be kept in a template yet)"
          : fromSnapshot != null ? "fromSnapshot(\"" + fromSnapshot + "\") (a restore is already warm)"
          : null;
      if (why != null) {
        throw new IllegalStateException("warmStart(true) cannot be combined with " + why
            + ": drop warmStart(true) for a cold start, or drop what it names");
      }
    }

    /**
     * Starts the pod warm, or cold ({@code false}). A warm start restores a template of this
     * configuration: a snapshot of a booted guest whose agent serves and that has no container
     * yet, taken by the first start of the configuration (which boots cold) and kept under the
     * runtime's home ({@code templates/}); then creates and starts this spec's container as a cold
     * start does. Kept from the template: the guest kernel and agent, booted (the same memory image
     * in every warm pod); not kept: nothing of the container (command, environment, user, working
     * directory, hostname, files, ports, egress and health check are this spec's). Each pod gets
     * its own id, hostname, fresh kernel randomness and the host's clock, as a pod restored from a
     * snapshot does. The template's configuration is the image, memory, cpus, network mode,
     * detached, the VMM driver, the machine, the guest image and the SDK version: a pod of another
     * configuration makes its own. A template that cannot be restored is removed and the pod starts
     * cold. A warm-started pod is {@link #snapshottable snapshottable}. Default: not set, and the
     * runtime's {@code MICROPOD_WARM_START=1} starts warm every pod that can be (the others cold,
     * with a debug log); this setting wins over it. Only the QEMU driver starts pods warm; under
     * another the pod starts cold. See docs/snapshots.md.
     *
     * @param warmStart whether to start warm ({@code true}) or cold ({@code false})
     * @return this builder; {@link #build()} throws {@link IllegalStateException} for
     *     {@code warmStart(true)} with host directory mounts, networks or {@link #fromSnapshot}
     */
    public Builder warmStart(boolean warmStart) {
      this.warmStart = warmStart;
      return this;
    }

    /**
     * Restores the pod from {@code snapshot} (see {@link MicroPodSpec#fromSnapshot()}): sets the
     * image, memory and cpus to the snapshot's. Many pods from one snapshot is a fork.
     *
     * @param snapshot a snapshot of this runtime ({@link MicroPodRuntime#snapshots()})
     * @return this builder
     */
    public Builder fromSnapshot(PodSnapshot snapshot) {
      Objects.requireNonNull(snapshot, "snapshot");
      this.fromSnapshot = snapshot.name();
      this.image = ImageRef.parse(snapshot.image());
      this.memoryMib = snapshot.memoryMib();
      this.cpus = snapshot.cpus();
      return this;
    }

    /**
     * Builds the spec and starts a pod from it: {@code MicroPod.start(build())}. Runs at most
     * once per builder; to start more pods, use {@link MicroPod#start(MicroPodSpec)} with the spec.
     *
     * @return the running pod; the caller closes it (try-with-resources)
     * @throws IllegalStateException when the image is missing, or this builder already started a pod
     * @throws MicroPodException (a subtype) when the pod could not start; nothing is left behind
     */
    public MicroPod start() {
      MicroPodSpec spec = build();
      if (started) {
        throw new IllegalStateException(
            "already started: use MicroPod.start(spec) to start more pods from one spec");
      }
      started = true;
      return MicroPod.start(spec);
    }
  }
}
