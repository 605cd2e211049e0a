package io.micropod;

import io.micropod.internal.PodStates;
import io.micropod.internal.RuntimeConfig;
import io.micropod.internal.RuntimeServices;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Resources that pods share: the MicroPod home (image store, guest image, per-pod state), the
 * host's capabilities (found once), threads and the I/O event loop. Thread-safe; share one
 * runtime, as most applications do through {@link #defaultRuntime()}, which every spec uses
 * unless given another.
 *
 * <pre>{@code
 * try (MicroPodRuntime runtime = MicroPodRuntime.builder().home(Path.of("/var/cache/micropod")).build();
 *      MicroPod pod = MicroPod.builder().runtime(runtime).image("oci:/images/busybox").start()) {
 *   ...
 * }
 * }</pre>
 *
 * <h2>Home</h2>
 * Default: the system property {@code micropod.home}, else the environment variable
 * {@code MICROPOD_HOME}, else {@code ~/.cache/micropod}. It holds {@code guest/<sdk-version>/}
 * (kernel and initramfs), {@code store/} (unpacked images) and {@code pods/<id>/} (logs).
 *
 * <h2>Config directory and pods of other processes</h2>
 * Default: the system property {@code micropod.config.dir}, else {@code MICROPOD_CONFIG_DIR},
 * else {@code ~/.config/micropod}. Every pod is recorded there ({@code pods/<id>.json}, 0600)
 * while it lives, so that other processes can {@link #list()} it and {@link #attach} to it.
 * The first pod start of a runtime, and every {@link #list()} and {@link #attach}, sweep the
 * records of pods whose owner JVM died: their VMM and virtiofsd are killed (checked by pid and
 * start time) and their files removed. See {@code docs/reliability.md}.
 *
 * <h2>Environment</h2>
 * {@code MICROPOD_KERNEL_PATH} and {@code MICROPOD_AGENT_ROOTFS} override the guest kernel and
 * initramfs; {@code MICROPOD_QEMU_MACHINE} ({@code microvm}, the default, or {@code q35}) picks
 * the QEMU machine; {@code MICROPOD_ACCEL} ({@code kvm} or {@code tcg}) overrides the choice of
 * accelerator; {@code MICROPOD_DEBUG=1} keeps each pod's logs after close and turns on verbose
 * guest logs. Builder settings win over the environment.
 *
 * <h2>Closing</h2>
 * Close pods before their runtime: closing a runtime stops its threads, which breaks the pods
 * still using it. Closing the {@link #defaultRuntime()} does nothing (its threads are daemons).
 */
public final class MicroPodRuntime implements AutoCloseable {
  private final RuntimeServices services;
  private final boolean isDefault;

  private MicroPodRuntime(RuntimeServices services, boolean isDefault) {
    this.services = services;
    this.isDefault = isDefault;
  }

  private static final class DefaultHolder {
    static final MicroPodRuntime INSTANCE = new MicroPodRuntime(builder().services(), true);
  }

  /** The runtime shared by every spec that sets none; created on first use. */
  public static MicroPodRuntime defaultRuntime() {
    return DefaultHolder.INSTANCE;
  }

  /** A builder with every default. */
  public static Builder builder() {
    return new Builder();
  }

  /** The MicroPod home directory (absolute). */
  public Path home() {
    return services.config().home();
  }

  /** The VMM driver's name, e.g. {@code qemu}. */
  public String vmm() {
    return services.config().vmm();
  }

  /** The config directory (absolute): pod records live in its {@code pods/}. */
  public Path configDir() {
    return services.config().configDir();
  }

  /**
   * The live pods recorded in this runtime's config directory, by every process, oldest first.
   * Sweeps first: pods of dead owners are removed, not listed.
   */
  public List<PodInfo> list() {
    return PodStates.list(services);
  }

  /**
   * A handle to a pod that another process started (normally a {@link MicroPodSpec#detached()}
   * pod whose JVM has exited), found by id or name. This JVM becomes the pod's owner: the handle
   * serves {@code exec}, {@code logs} and {@code waitFor}, and its {@code close()} stops the pod
   * and removes everything its first owner left (VMM, virtiofsd, sockets, directories, record).
   * Not closing the handle leaves the pod running; it can be attached again once this JVM is gone.
   * Its {@code spec()} holds only the image, the name and {@code detached}: env values are never
   * written to disk, and {@code exec} runs with the container's own environment and working
   * directory (the guest agent keeps them).
   *
   * @throws PodNotFoundException when no live pod has that id or name
   * @throws PodBusyException when another live JVM holds the pod (its agent channel accepts one
   *     client at a time)
   * @throws AgentTimeoutException when the agent does not answer within 30 s
   */
  public MicroPod attach(String idOrName) {
    java.util.Objects.requireNonNull(idOrName, "idOrName");
    return PodStates.attach(this, services, idOrName);
  }

  /** For the SDK's own implementation; not API. */
  RuntimeServices services() {
    return services;
  }

  /**
   * Stops this runtime's threads. Idempotent. Does nothing for the {@link #defaultRuntime()}.
   * Pods still running on this runtime lose their connection to their agent: close them first.
   */
  @Override
  public void close() {
    if (!isDefault) {
      services.close();
    }
  }

  @Override
  public String toString() {
    return "MicroPodRuntime{home=" + home() + ", configDir=" + configDir() + ", vmm=" + vmm()
        + (isDefault ? ", default" : "") + "}";
  }

  /** Builds a {@link MicroPodRuntime}. Not thread-safe. */
  public static final class Builder {
    private Path home;
    private String vmm = "qemu";
    private Path qemuBinary;
    private Path virtiofsd;
    private Path kernel;
    private Path initramfs;
    private Map<String, String> environment;
    private Path configDir;

    private Builder() {}

    /** The config directory (pod records); see the class documentation for the default. */
    public Builder configDir(Path configDir) {
      this.configDir = Objects.requireNonNull(configDir, "configDir").toAbsolutePath().normalize();
      return this;
    }

    /** The MicroPod home directory; see the class documentation for the default. */
    public Builder home(Path home) {
      this.home = Objects.requireNonNull(home, "home").toAbsolutePath().normalize();
      return this;
    }

    /** The VMM driver: {@code qemu} (the default and, for now, the only one). */
    public Builder vmm(String vmm) {
      Objects.requireNonNull(vmm, "vmm");
      if (!vmm.equals("qemu")) {
        throw new IllegalArgumentException("unsupported vmm: " + vmm + " (supported: qemu)");
      }
      this.vmm = vmm;
      return this;
    }

    /** The {@code qemu-system-x86_64} executable; default: looked up on {@code PATH}. */
    public Builder qemuBinary(Path qemuBinary) {
      this.qemuBinary = Objects.requireNonNull(qemuBinary, "qemuBinary").toAbsolutePath();
      return this;
    }

    /** The virtiofsd executable (the C one, QEMU's); default {@code /usr/lib/qemu/virtiofsd}. */
    public Builder virtiofsd(Path virtiofsd) {
      this.virtiofsd = Objects.requireNonNull(virtiofsd, "virtiofsd").toAbsolutePath();
      return this;
    }

    /**
     * The guest kernel; default {@code MICROPOD_KERNEL_PATH}, else
     * {@code <home>/guest/<sdk-version>/vmlinux}.
     */
    public Builder kernel(Path kernel) {
      this.kernel = Objects.requireNonNull(kernel, "kernel").toAbsolutePath();
      return this;
    }

    /**
     * The guest initramfs (the agent's root filesystem); default {@code MICROPOD_AGENT_ROOTFS},
     * else {@code <home>/guest/<sdk-version>/initramfs.cpio}.
     */
    public Builder initramfs(Path initramfs) {
      this.initramfs = Objects.requireNonNull(initramfs, "initramfs").toAbsolutePath();
      return this;
    }

    /** Replaces the process environment the runtime reads (tests). */
    Builder environment(Map<String, String> environment) {
      this.environment = Map.copyOf(environment);
      return this;
    }

    /** The runtime. Cheap: threads and host checks start on first use. */
    public MicroPodRuntime build() {
      return new MicroPodRuntime(services(), false);
    }

    private RuntimeServices services() {
      Map<String, String> env = environment != null ? environment : System.getenv();
      Path resolvedHome = home;
      if (resolvedHome == null) {
        String fromProperty = System.getProperty("micropod.home");
        String fromEnv = env.get("MICROPOD_HOME");
        if (fromProperty != null && !fromProperty.isBlank()) {
          resolvedHome = Path.of(fromProperty);
        } else if (fromEnv != null && !fromEnv.isBlank()) {
          resolvedHome = Path.of(fromEnv);
        } else {
          resolvedHome = Path.of(System.getProperty("user.home"), ".cache", "micropod");
        }
        resolvedHome = resolvedHome.toAbsolutePath().normalize();
      }
      Path resolvedConfig = configDir != null ? configDir : RuntimeConfig.defaultConfigDir(env);
      return new RuntimeServices(
          new RuntimeConfig(resolvedHome, vmm, qemuBinary, virtiofsd, kernel, initramfs, env, resolvedConfig));
    }
  }
}
