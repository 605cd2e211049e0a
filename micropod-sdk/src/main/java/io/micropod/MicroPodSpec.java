package io.micropod;

import io.micropod.event.MicroPodListener;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

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
 * and {@link MicroPodRuntime#defaultRuntime()}.
 */
public final class MicroPodSpec {
  /** Default guest memory, MiB. */
  public static final int DEFAULT_MEMORY_MIB = 512;
  /** Smallest guest memory the guest image boots in, MiB. */
  public static final int MIN_MEMORY_MIB = 128;
  /** Largest guest memory accepted, MiB. */
  public static final int MAX_MEMORY_MIB = 65536;
  /** Default start-up timeout: generous, because software emulation (TCG) boots in seconds. */
  public static final Duration DEFAULT_STARTUP_TIMEOUT = Duration.ofSeconds(120);

  private final ImageRef image;
  private final List<String> command;
  private final Map<String, String> env;
  private final String workingDir;
  private final int memoryMib;
  private final int cpus;
  private final Duration startupTimeout;
  private final MicroPodListener listener;
  private final MicroPodRuntime runtime; // null: the default runtime
  private final String name;
  private final boolean detached;

  private MicroPodSpec(Builder b) {
    this.name = b.name;
    this.detached = b.detached;
    this.image = b.image;
    this.command = List.copyOf(b.command);
    this.env = Collections.unmodifiableMap(new LinkedHashMap<>(b.env));
    this.workingDir = b.workingDir;
    this.memoryMib = b.memoryMib;
    this.cpus = b.cpus;
    this.startupTimeout = b.startupTimeout;
    this.listener = b.listener;
    this.runtime = b.runtime;
  }

  /** A builder with every default; {@link Builder#image} is required. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder that starts from this spec's values. */
  public Builder newBuilder() {
    return new Builder(this);
  }

  /** The image to run. */
  public ImageRef image() {
    return image;
  }

  /**
   * The command (argv) that replaces the image's {@code Cmd}; the image's {@code Entrypoint}, if
   * any, is kept in front of it. Empty: run the image's {@code Entrypoint} + {@code Cmd}.
   */
  public List<String> command() {
    return command;
  }

  /**
   * Environment variables added to the image's, in the order they were set; a key the image also
   * sets is overridden. Unmodifiable.
   */
  public Map<String, String> env() {
    return env;
  }

  /** The absolute working directory in the container; empty: the image's (or {@code /}). */
  public Optional<String> workingDir() {
    return Optional.ofNullable(workingDir);
  }

  /** Guest memory in MiB; default 512. */
  public int memoryMib() {
    return memoryMib;
  }

  /** Virtual CPUs; default 1 (recommended under software emulation). */
  public int cpus() {
    return cpus;
  }

  /**
   * How long {@code start()} waits, from the VMM's spawn, for the guest agent to answer and the
   * container to start; default 120 s. Image resolution and unpacking are not counted.
   */
  public Duration startupTimeout() {
    return startupTimeout;
  }

  /** Receives this pod's events; default {@link MicroPodListener#NONE}. */
  public MicroPodListener listener() {
    return listener;
  }

  /** The runtime whose resources the pod uses; {@link MicroPodRuntime#defaultRuntime()} unless set. */
  public MicroPodRuntime runtime() {
    return runtime != null ? runtime : MicroPodRuntime.defaultRuntime();
  }

  /**
   * The pod's name: unique among the live pods of a config directory, so that another process
   * can {@link MicroPodRuntime#attach attach} to it by name; empty (the default): none, the pod
   * is found by its id only.
   */
  public Optional<String> name() {
    return Optional.ofNullable(name);
  }

  /**
   * Whether the pod outlives the JVM that started it; default {@code false}.
   *
   * <p>A pod that is not detached dies with its JVM, however the JVM ends (its VMM and virtiofsd
   * get SIGKILL from the kernel when the JVM dies, SIGKILL included; the next runtime start sweeps
   * its files). A detached pod keeps running, and another JVM finds it with
   * {@link MicroPodRuntime#list()}, {@link MicroPodRuntime#attach attaches} to it, and stops it by
   * closing the attached handle. Closing the handle that started a detached pod stops it too.
   */
  public boolean detached() {
    return detached;
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
        && runtime == s.runtime && Objects.equals(name, s.name) && detached == s.detached;
  }

  @Override
  public int hashCode() {
    return Objects.hash(image, command, env, workingDir, memoryMib, cpus, startupTimeout);
  }

  /** Names the environment's keys but never its values. */
  @Override
  public String toString() {
    return "MicroPodSpec{image=" + image + ", command=" + command + ", envKeys=" + env.keySet()
        + (workingDir != null ? ", workingDir=" + workingDir : "") + ", memoryMib=" + memoryMib
        + ", cpus=" + cpus + ", startupTimeout=" + startupTimeout
        + (name != null ? ", name=" + name : "") + (detached ? ", detached" : "") + "}";
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
    private boolean started;
    private String name;
    private boolean detached;

    private Builder() {}

    private Builder(MicroPodSpec spec) {
      this.name = spec.name;
      this.detached = spec.detached;
      this.image = spec.image;
      this.command = new ArrayList<>(spec.command);
      this.env.putAll(spec.env);
      this.workingDir = spec.workingDir;
      this.memoryMib = spec.memoryMib;
      this.cpus = spec.cpus;
      this.startupTimeout = spec.startupTimeout;
      this.listener = spec.listener;
      this.runtime = spec.runtime;
    }

    /**
     * The image, parsed at once with {@link ImageRef#parse(String)}: {@code oci:/path[:tag]}
     * runs; registry references parse but cannot be pulled yet.
     *
     * @throws IllegalArgumentException if {@code ref} is not a valid reference
     */
    public Builder image(String ref) {
      this.image = ImageRef.parse(Objects.requireNonNull(ref, "image"));
      return this;
    }

    /** The image. */
    public Builder image(ImageRef ref) {
      this.image = Objects.requireNonNull(ref, "image");
      return this;
    }

    /** The command that replaces the image's {@code Cmd}; no arguments: the image's default. */
    public Builder command(String... argv) {
      return command(Arrays.asList(Objects.requireNonNull(argv, "command")));
    }

    /** The command that replaces the image's {@code Cmd}; empty: the image's default. */
    public Builder command(List<String> argv) {
      Objects.requireNonNull(argv, "command");
      for (int i = 0; i < argv.size(); i++) {
        if (argv.get(i) == null) {
          throw new IllegalArgumentException("command[" + i + "] is null");
        }
      }
      if (!argv.isEmpty() && argv.get(0).isEmpty()) {
        throw new IllegalArgumentException("command[0] is empty");
      }
      this.command = new ArrayList<>(argv);
      return this;
    }

    /** Sets one environment variable, replacing an earlier value for {@code key}. */
    public Builder env(String key, String value) {
      Objects.requireNonNull(key, "env key");
      Objects.requireNonNull(value, () -> "env value of " + key);
      if (key.isEmpty()) {
        throw new IllegalArgumentException("env key is empty");
      }
      if (key.indexOf('=') >= 0 || key.indexOf('\0') >= 0) {
        throw new IllegalArgumentException("env key contains '=' or NUL: " + key);
      }
      if (value.indexOf('\0') >= 0) {
        throw new IllegalArgumentException("env value of " + key + " contains NUL");
      }
      env.put(key, value);
      return this;
    }

    /** Sets each variable of {@code vars}, in its iteration order. */
    public Builder env(Map<String, String> vars) {
      Objects.requireNonNull(vars, "env");
      vars.forEach(this::env);
      return this;
    }

    /** The absolute working directory in the container. */
    public Builder workingDir(String absPath) {
      Objects.requireNonNull(absPath, "workingDir");
      if (!absPath.startsWith("/")) {
        throw new IllegalArgumentException("workingDir is not absolute: " + absPath);
      }
      this.workingDir = absPath;
      return this;
    }

    /** Guest memory, MiB; 128 to 65536, default 512. */
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

    /** Virtual CPUs, at least 1; default 1. Under software emulation (TCG) keep 1. */
    public Builder cpus(int cpus) {
      if (cpus < 1) {
        throw new IllegalArgumentException("cpus < 1: " + cpus);
      }
      this.cpus = cpus;
      return this;
    }

    /** See {@link MicroPodSpec#startupTimeout()}; positive, default 120 s. */
    public Builder startupTimeout(Duration timeout) {
      Objects.requireNonNull(timeout, "startupTimeout");
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("startupTimeout <= 0: " + timeout);
      }
      this.startupTimeout = timeout;
      return this;
    }

    /** Receives the pod's events; default {@link MicroPodListener#NONE}. */
    public Builder listener(MicroPodListener listener) {
      this.listener = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /**
     * The pod's name (see {@link MicroPodSpec#name()}): 1 to 63 characters of {@code [a-zA-Z0-9_.-]},
     * starting with a letter or digit. {@code start()} fails when a live pod already has it.
     */
    public Builder name(String name) {
      Objects.requireNonNull(name, "name");
      if (!name.matches("[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}")) {
        throw new IllegalArgumentException("name must be 1-63 characters of [a-zA-Z0-9_.-], starting "
            + "with a letter or digit: " + name);
      }
      this.name = name;
      return this;
    }

    /** Whether the pod outlives its JVM (see {@link MicroPodSpec#detached()}); default false. */
    public Builder detached(boolean detached) {
      this.detached = detached;
      return this;
    }

    /** The runtime to use; default {@link MicroPodRuntime#defaultRuntime()}. */
    public Builder runtime(MicroPodRuntime runtime) {
      this.runtime = Objects.requireNonNull(runtime, "runtime");
      return this;
    }

    /**
     * The spec.
     *
     * @throws IllegalStateException "image is required" when no image was set
     */
    public MicroPodSpec build() {
      if (image == null) {
        throw new IllegalStateException("image is required");
      }
      return new MicroPodSpec(this);
    }

    /**
     * Builds the spec and starts a pod from it: {@code MicroPod.start(build())}. Runs at most
     * once per builder; to start more pods, use {@link MicroPod#start(MicroPodSpec)} with the spec.
     *
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
