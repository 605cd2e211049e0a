package io.micropod.agent;

import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * Where the agent serves, what it relays and which runtime it drives. Immutable.
 *
 * <p>In the guest it comes from the environment that {@code /init} sets (see
 * {@code docs/internals/guest-contract.md}); tests and {@code --train} build one with
 * {@link #builder()} to run the agent on temporary paths.
 */
public final class AgentConfig {
  public static final Path DEFAULT_SOCKET = Path.of("/run/micropod/agent.sock");
  public static final Path DEFAULT_RUNTIME = Path.of("/usr/bin/runc");
  public static final Path DEFAULT_CONTAINERS_DIR = Path.of("/run/micropod/containers");
  public static final Path DEFAULT_INIT_STARTED_FILE = Path.of("/run/micropod/init-started-ms");
  /** RLIMIT_NOFILE (soft and hard) of container processes, as Docker and containerd set it. */
  public static final long DEFAULT_NOFILE_LIMIT = 1048576;

  private final Path socket;
  private final Path channel;
  private final Path runtime;
  private final Path runtimeRoot;
  private final Path containersDir;
  private final Path initStartedFile;
  private final long nofileLimit;

  private AgentConfig(Builder b) {
    this.socket = b.socket;
    this.channel = b.channel;
    this.runtime = b.runtime;
    this.runtimeRoot = b.runtimeRoot;
    this.containersDir = b.containersDir;
    this.initStartedFile = b.initStartedFile;
    this.nofileLimit = b.nofileLimit;
  }

  /**
   * Reads {@code MICROPOD_AGENT_SOCKET} (default {@code /run/micropod/agent.sock}),
   * {@code MICROPOD_AGENT_CHANNEL} (unset or empty: serve on the socket only) and
   * {@code MICROPOD_RUNTIME} (default {@code /usr/bin/runc}). {@code MICROPOD_DEBUG} is read by
   * {@link io.micropod.agent.base.Log}.
   */
  public static AgentConfig fromEnv(Map<String, String> env) {
    Builder b = builder();
    String socket = env.get("MICROPOD_AGENT_SOCKET");
    if (socket != null && !socket.isEmpty()) {
      b.socket(Path.of(socket));
    }
    String channel = env.get("MICROPOD_AGENT_CHANNEL");
    if (channel != null && !channel.isEmpty()) {
      b.channel(Path.of(channel));
    }
    String runtime = env.get("MICROPOD_RUNTIME");
    if (runtime != null && !runtime.isEmpty()) {
      b.runtime(Path.of(runtime));
    }
    return b.build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The gRPC server's Unix socket (a filesystem path, never an abstract socket). */
  public Path socket() {
    return socket;
  }

  /** The virtio-serial port to relay, or null to serve on the socket only. */
  public Path channel() {
    return channel;
  }

  /** The OCI runtime binary ({@code runc}). */
  public Path runtime() {
    return runtime;
  }

  /** runc's {@code --root} state directory, or null for runc's default ({@code /run/runc}). */
  public Path runtimeRoot() {
    return runtimeRoot;
  }

  /** Parent of the per-container directories ({@code <id>/{upper,work,rootfs,bundle}}). */
  public Path containersDir() {
    return containersDir;
  }

  /** File where {@code /init} wrote its start time (guest uptime ms); may be absent. */
  public Path initStartedFile() {
    return initStartedFile;
  }

  /** RLIMIT_NOFILE of container processes (default {@value #DEFAULT_NOFILE_LIMIT}). */
  public long nofileLimit() {
    return nofileLimit;
  }

  public static final class Builder {
    private Path socket = DEFAULT_SOCKET;
    private Path channel;
    private Path runtime = DEFAULT_RUNTIME;
    private Path runtimeRoot;
    private Path containersDir = DEFAULT_CONTAINERS_DIR;
    private Path initStartedFile = DEFAULT_INIT_STARTED_FILE;
    private long nofileLimit = DEFAULT_NOFILE_LIMIT;

    private Builder() {}

    public Builder socket(Path socket) {
      this.socket = Objects.requireNonNull(socket, "socket");
      return this;
    }

    /** Null: no relay. */
    public Builder channel(Path channel) {
      this.channel = channel;
      return this;
    }

    public Builder runtime(Path runtime) {
      this.runtime = Objects.requireNonNull(runtime, "runtime");
      return this;
    }

    /** Null: runc's default state directory. */
    public Builder runtimeRoot(Path runtimeRoot) {
      this.runtimeRoot = runtimeRoot;
      return this;
    }

    public Builder containersDir(Path containersDir) {
      this.containersDir = Objects.requireNonNull(containersDir, "containersDir");
      return this;
    }

    public Builder initStartedFile(Path initStartedFile) {
      this.initStartedFile = Objects.requireNonNull(initStartedFile, "initStartedFile");
      return this;
    }

    /**
     * RLIMIT_NOFILE of container processes. Raising it above the agent's own hard limit needs
     * CAP_SYS_RESOURCE, which the guest's root has; hosts that run the agent without it (some
     * CI sandboxes) must stay at or below their hard limit.
     */
    public Builder nofileLimit(long nofileLimit) {
      if (nofileLimit < 1) {
        throw new IllegalArgumentException("nofileLimit < 1: " + nofileLimit);
      }
      this.nofileLimit = nofileLimit;
      return this;
    }

    public AgentConfig build() {
      return new AgentConfig(this);
    }
  }
}
