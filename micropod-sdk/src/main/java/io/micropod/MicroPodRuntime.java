package io.micropod;

import io.micropod.event.MicroPodListener;
import io.micropod.event.Phase;
import io.micropod.internal.Listeners;
import io.micropod.internal.PodStates;
import io.micropod.internal.base.RuntimeConfig;
import io.micropod.internal.base.SdkVersion;
import io.micropod.internal.RuntimeServices;
import io.micropod.internal.image.ResolvedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

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
 * (kernel and initramfs), {@code store/} (images: {@code blobs/sha256/}, {@code rootfs/},
 * {@code images/}; see {@link #images()}) and {@code pods/<id>/} (logs). The store is shared by
 * every runtime and process that uses the same home.
 *
 * <h2>Registries</h2>
 * Credentials come from {@code $DOCKER_CONFIG/config.json} or {@code ~/.docker/config.json}, as
 * for the Docker CLI. Registries are spoken to over HTTPS, except {@code localhost},
 * {@code 127.0.0.1} and those given to {@link Builder#insecureRegistry(String)}.
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
 * guest logs; {@code MICROPOD_WARM_START=1} starts warm every pod whose spec does not say
 * otherwise and that can be ({@link MicroPodSpec.Builder#warmStart}, templates in
 * {@code <home>/templates/}). Builder settings win over the environment.
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

  /**
   * The runtime shared by every spec that sets none; created on first use.
   *
   * @return the default runtime, the same instance every call; closing it does nothing
   */
  public static MicroPodRuntime defaultRuntime() {
    return DefaultHolder.INSTANCE;
  }

  /**
   * A builder with every default.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * This SDK's version (its Maven version, such as {@code 0.1.0}). It also names the guest image
   * every runtime of this SDK boots: {@code <home>/guest/<version>} ({@link #checkHost()} reports
   * that image, and the VMM's and virtiofsd's versions).
   *
   * @return the version; never empty
   */
  public static String sdkVersion() {
    return SdkVersion.get();
  }

  /**
   * The MicroPod home directory (absolute).
   *
   * @return the home's absolute path
   */
  public Path home() {
    return services.config().home();
  }

  /**
   * The VMM driver as configured: {@code auto} (chosen on first start), {@code qemu} or
   * {@code firecracker}.
   *
   * @return {@code auto}, {@code qemu} or {@code firecracker}
   */
  public String vmm() {
    return services.config().vmm();
  }

  /**
   * The images in the local store, sorted by reference: registry images pulled before, and local
   * sources ({@code oci:}, archives) that pods started from.
   *
   * @return the stored images; empty when the store is
   */
  public List<ImageInfo> images() {
    try {
      return services.images().list();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list the image store under " + home(), e);
    }
  }

  /**
   * Pulls {@code ref} for {@code linux/amd64} into the local store (if missing) without starting
   * a pod, e.g. to warm a cache.
   *
   * @param ref an image reference, e.g. {@code alpine:3.20}
   * @return what is now in the store for {@code ref}
   * @throws IllegalArgumentException when {@code ref} is not a valid reference
   * @throws ImageException (or a subtype) when it cannot be pulled
   */
  public ImageInfo pullImage(String ref) {
    return pullImage(ImageRef.parse(ref), MicroPodSpec.DEFAULT_PLATFORM, PullPolicy.IF_MISSING);
  }

  /**
   * Pulls {@code ref} for {@code platform} ({@code os/arch[/variant]}) per {@code policy}.
   *
   * @param ref the image to pull
   * @param platform {@code os/arch[/variant]}, e.g. {@code linux/amd64}
   * @param policy when to ask the registry; {@link PullPolicy#NEVER} only looks in the store
   * @return what is now in the store for {@code ref}
   * @throws ImageException (or a subtype) when it cannot be pulled
   */
  public ImageInfo pullImage(ImageRef ref, String platform, PullPolicy policy) {
    return pullImage(ref, platform, policy, MicroPodListener.NONE);
  }

  /**
   * Like {@link #pullImage(ImageRef, String, PullPolicy)}, reporting the download to
   * {@code listener}: {@link MicroPodListener#progress progress(ref, IMAGE_PULL, done, total)} in
   * bytes, where {@code ref} (the normalised reference, {@link ImageRef#toString()}) stands in for
   * a pod id. Called from the download threads, not at all when nothing needs downloading; the
   * listener's contract is the pods' (fast, must not throw: what it throws is logged and ignored).
   *
   * @param ref the image to pull
   * @param platform {@code os/arch[/variant]}, e.g. {@code linux/amd64}
   * @param policy when to ask the registry
   * @param listener receives the download progress; {@link MicroPodListener#NONE} for none
   * @return what is now in the store for {@code ref}
   * @throws ImageException (or a subtype) when it cannot be pulled
   */
  public ImageInfo pullImage(ImageRef ref, String platform, PullPolicy policy, MicroPodListener listener) {
    Objects.requireNonNull(ref, "ref");
    Objects.requireNonNull(policy, "policy");
    Objects.requireNonNull(listener, "listener");
    String checkedPlatform = MicroPodSpec.builder().image(ref).platform(platform).build().platform();
    String id = ref.toString();
    try {
      ResolvedImage image = services.images().resolve(ref, checkedPlatform, policy,
          (done, total) -> Listeners.progress(listener, id, Phase.IMAGE_PULL, done, total), "micropod-pull-");
      for (ImageInfo i : images()) {
        if (i.ref().equals(ref.toString()) && i.platform().equals(checkedPlatform)) {
          return i;
        }
      }
      throw new IllegalStateException("pulled " + ref + " (" + image.manifestDigest() + ") but the catalog lost it");
    } catch (IOException e) {
      throw new ImageException(ref.toString(), "cannot pull " + ref + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ImageException(ref.toString(), "interrupted while pulling " + ref, e);
    }
  }

  /**
   * Removes {@code ref} (every platform) from the store's catalog and deletes its unpacked tree
   * unless another cached image or a pod of this runtime uses it; its blobs go with the next
   * {@link #pruneImages()}.
   *
   * @param ref an image reference, as given to {@link #pullImage(String)}
   * @return whether the store held {@code ref}
   * @throws IllegalArgumentException when {@code ref} is not a valid reference
   */
  public boolean removeImage(String ref) {
    String normalised = ImageRef.parse(ref).toString();
    try {
      return services.images().remove(normalised);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot remove " + normalised + " from the image store under " + home(), e);
    }
  }

  /**
   * Garbage-collects the store: deletes the blobs and unpacked trees of images no longer in
   * {@link #images()} (trees used by pods of this runtime stay), extracted archives and partial
   * downloads. Pods of other processes sharing the home may run an image just removed: prune
   * when none do.
   *
   * @return bytes of blobs freed
   */
  public long pruneImages() {
    try {
      return services.images().prune();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prune the image store under " + home(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while pruning the image store", e);
    }
  }

  /**
   * Creates a {@link Network} with a generated name ({@code micropod-<12 hex>}).
   *
   * @return the new network, owned by this process; the caller closes it
   * @throws NetworkException when it cannot be created
   */
  public Network newNetwork() {
    return newNetwork("micropod-" + io.micropod.internal.base.Ids.newPodId());
  }

  /**
   * Creates network {@code name} for this runtime's pods: reserves the name and a subnet, starts
   * its switch and records it under {@code <home>/networks/}. The caller closes it.
   *
   * @param name 1-63 of {@code [a-zA-Z0-9_.-]}, starting with a letter or digit
   * @return the new network, owned by this process; the caller closes it
   * @throws IllegalArgumentException when the name is not valid
   * @throws NetworkException when a network of that name exists (in any live process sharing
   *     this home); nothing is created then
   * @throws IllegalStateException when this runtime is closed
   */
  public Network newNetwork(String name) {
    Network.checkName(name);
    Network[] made = new Network[1];
    services.networks().create(name, local -> made[0] = new Network(this, local));
    return made[0];
  }

  /**
   * Creates network {@code name} in a holder process of the SDK's own (this JVM's java and class
   * path, in a session of its own; no daemon), as {@code micropod network create} does: the
   * network outlives this process, until {@link #removeNetwork} ends its holder. Pods of any
   * process sharing this home join it through {@link #network(String)}, detached pods included
   * (they stay members while their VM runs, after their JVM ended).
   *
   * @param name 1-63 of {@code [a-zA-Z0-9_.-]}, starting with a letter or digit
   * @return the network as recorded, its {@link NetworkInfo#ownerPid()} the holder's
   * @throws IllegalArgumentException when the name is not valid
   * @throws NetworkException when a network of that name exists, or the holder fails or is not
   *     ready within 30 s (what it said is in the message)
   */
  public NetworkInfo createHeldNetwork(String name) {
    Network.checkName(name);
    long holder = io.micropod.internal.net.NetworkHolder.spawn(name, home(),
        io.micropod.internal.net.NetworkHolder.Mode.UNTIL_REMOVED);
    return networks().stream().filter(n -> n.name().equals(name) && n.ownerPid() == holder).findFirst()
        .orElseThrow(() -> new NetworkException(name, "network " + name + ": its holder, process " + holder
            + ", exited at once", null));
  }

  /**
   * Removes network {@code name} of a holder process ({@link #createHeldNetwork}, {@code micropod
   * network create}, or a network this SDK handed to a holder for its detached pods): ends the
   * holder and waits until it exited and the network's record and sockets are gone.
   *
   * @param name the network's name
   * @throws NetworkException when there is no such network, pods are on it (it names them: stop
   *     them first), it belongs to an application's process (it ends with that process), or the
   *     holder does not exit within 30 s
   */
  public void removeNetwork(String name) {
    List<PodInfo> pods = list();
    io.micropod.internal.net.NetworkHolder.remove(home(), name, id -> pods.stream()
        .filter(p -> p.id().equals(id)).findFirst().flatMap(PodInfo::name).orElse(id));
  }

  /**
   * A handle to network {@code name}, created by this runtime or by another process sharing this
   * runtime's home: this runtime's pods can join it with {@link MicroPodSpec.Builder#network}
   * and reach its members (of every process) by id and alias, and they reach this runtime's. A
   * network of this runtime is returned as is; another's is joined through its owner's control
   * socket and lives as long as the owner does (see {@link Network}). The caller closes the
   * handle (closing it takes this process's pods off the network, nothing more).
   *
   * @param name the network's name
   * @return a handle to the network; the caller closes it
   * @throws NetworkException when no live process holds a network of that name: none exists, or
   *     its owner exited (its leftovers are removed then), or the owner does not answer
   * @throws IllegalArgumentException when the name is not valid
   */
  public Network network(String name) {
    Network.checkName(name);
    io.micropod.internal.net.LocalNetwork n = services.networks().join(name, local -> new Network(this, local));
    return (Network) n.handle();
  }

  /**
   * The networks recorded in this runtime's home by live processes (this one included), by
   * name. Removes the leftovers of networks whose owner died on the way.
   *
   * @return the live networks; empty when there are none
   */
  public List<NetworkInfo> networks() {
    List<NetworkInfo> list = new java.util.ArrayList<>();
    for (io.micropod.internal.net.NetworkRegistry.Recorded r
        : io.micropod.internal.net.NetworkRegistry.list(home())) {
      list.add(new NetworkInfo(r.name(), r.subnet(), r.ownerPid(), r.created(), r.members()));
    }
    return list;
  }

  /**
   * Checks what this host offers to pods, with this runtime's configuration, as {@code micropod
   * doctor} prints it: the accelerator (KVM, or TCG and why not KVM), the VMM and its version,
   * virtiofsd, the host helpers, the guest image (installed and matching its manifest's sha256s,
   * or installable from {@code io.micropod:micropod-guest}), the home and its mode, the network
   * modes, and whether Firecracker could boot here. Each check that is not OK says how to fix it.
   *
   * <p>The checks are those {@code start()} applies (a MISSING one is what a start would name in
   * its {@link HostUnsupportedException}), without their side effects: nothing is installed or
   * created. Takes about a second (it runs {@code --version} of the binaries and reads the whole
   * installed guest image to check it); never throws for a missing piece.
   *
   * @return the checks, in a fixed order; see {@link HostReport#canStartPods()}
   * @throws IllegalStateException when this runtime is closed
   */
  public HostReport checkHost() {
    return HostReport.of(services.checkHost());
  }

  /**
   * The config directory (absolute): pod records live in its {@code pods/}.
   *
   * @return the config directory's absolute path
   */
  public Path configDir() {
    return services.config().configDir();
  }

  /**
   * The live pods recorded in this runtime's config directory, by every process, oldest first.
   * Sweeps first: pods of dead owners are removed, not listed.
   *
   * @return the live pods; empty when there are none
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
   * <p>When another live JVM holds the pod (it started the pod and runs, or attached last), the
   * handle goes through that JVM's relay instead (docs/reliability.md): every verb works, that JVM
   * stays the owner, {@code close()} only disconnects, and {@code stop(..)} stops the container
   * (the owner removes the VM when it closes its handle).
   *
   * @param idOrName a pod's id ({@link MicroPod#id()}) or name ({@link MicroPodSpec#name()})
   * @return a handle to the running pod; closing it stops the pod, unless another JVM holds it
   * @throws PodNotFoundException when no live pod has that id or name
   * @throws PodBusyException when this JVM already holds the pod, or the JVM that holds it does
   *     not answer on its relay
   * @throws AgentTimeoutException when the agent does not answer within 30 s
   */
  public MicroPod attach(String idOrName) {
    java.util.Objects.requireNonNull(idOrName, "idOrName");
    return PodStates.attach(this, services, idOrName);
  }

  /**
   * Renames a live pod, as {@code docker rename}: under the lock of the pod records, so that names
   * stay unique among live pods. Later {@link #attach(String) attach} and {@link #list()} calls, by
   * any process, see the new name. A handle that holds the pod already keeps the spec it had
   * ({@link MicroPod#spec()} still names the pod as it was started), and the JVM that started the
   * pod does not reuse the old name before that pod is closed.
   *
   * @param idOrName a live pod's id or current name
   * @param newName the new name: 1 to 63 of {@code [A-Za-z0-9_.-]}, starting with a letter or digit
   *     (as {@link MicroPodSpec.Builder#name(String)})
   * @return the pod's id (which does not change)
   * @throws IllegalArgumentException when {@code newName} is not of that form
   * @throws PodNotFoundException when no live pod has that id or name
   * @throws MicroPodException when another live pod has {@code newName}
   */
  public String rename(String idOrName, String newName) {
    java.util.Objects.requireNonNull(idOrName, "idOrName");
    return PodStates.rename(services, idOrName, Validation.podName(newName));
  }

  /**
   * The snapshots kept in this runtime's home ({@code <home>/snapshots/}), oldest first. Half-written
   * snapshots (their writer crashed) are never listed, and are removed once their writer is gone.
   *
   * @return the snapshots; empty when there are none
   */
  public List<PodSnapshot> snapshots() {
    return io.micropod.internal.SnapshotStore.list(services);
  }

  /**
   * The snapshot named {@code name}.
   *
   * @param name its name
   * @return it, or empty when there is none of that name
   * @throws IllegalArgumentException when {@code name} is not a snapshot name
   * @throws SnapshotException when it exists but its manifest is broken (remove it)
   */
  public java.util.Optional<PodSnapshot> snapshot(String name) {
    return io.micropod.internal.SnapshotStore.find(services, name);
  }

  /**
   * Removes the snapshot named {@code name}; pods restored from it run on (they hold their own
   * copy of its memory).
   *
   * @param name its name
   * @return whether there was one
   * @throws IllegalArgumentException when {@code name} is not a snapshot name
   */
  public boolean removeSnapshot(String name) {
    return io.micropod.internal.SnapshotStore.remove(services, name);
  }

  /**
   * The warm-start templates kept in this runtime's home ({@code <home>/templates/}, one per pod
   * configuration, {@link MicroPodSpec.Builder#warmStart(boolean)}), oldest first, each with its
   * size on disk measured now. A template whose manifest cannot be read is listed with its
   * {@link PodTemplate#problem()}; half-written ones are never listed.
   *
   * @return the templates; empty when there are none
   */
  public List<PodTemplate> templates() {
    return io.micropod.internal.SnapshotStore.templates(services);
  }

  /**
   * The warm-start template {@code id}.
   *
   * @param id its id, 32 hex digits ({@link PodTemplate#id()})
   * @return it, or empty when there is none of that id
   * @throws IllegalArgumentException when {@code id} is not a template id
   */
  public java.util.Optional<PodTemplate> template(String id) {
    return io.micropod.internal.SnapshotStore.template(services, id);
  }

  /**
   * Removes the warm-start template {@code id}, freeing its disk; the next warm start of its
   * configuration boots cold and makes it again. A pod restoring from it at that moment starts
   * from it all the same (it reads its own links to the template's files); pods started from it
   * run on.
   *
   * @param id its id, 32 hex digits ({@link PodTemplate#id()})
   * @return whether there was one
   * @throws IllegalArgumentException when {@code id} is not a template id (a path such as
   *     {@code ../x} is refused)
   */
  public boolean removeTemplate(String id) {
    return io.micropod.internal.SnapshotStore.removeTemplate(services, id);
  }

  /**
   * Removes every warm-start template, unreadable ones included, as {@link #removeTemplate} does.
   *
   * @return the templates removed, each with the bytes it held on disk ({@link PodTemplate#sizeBytes()});
   *     empty when there were none
   */
  public List<PodTemplate> pruneTemplates() {
    return io.micropod.internal.SnapshotStore.pruneTemplates(services);
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
    private String vmm = "auto";
    private Path qemuBinary;
    private Path virtiofsd;
    private Path kernel;
    private Path initramfs;
    private Map<String, String> environment;
    private Path configDir;
    private final Set<String> insecureRegistries = new LinkedHashSet<>();

    private static final Pattern REGISTRY = Pattern.compile(
        "(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
            + "|\\[[0-9a-fA-F:.]+\\])(?::[0-9]{1,5})?");

    private Builder() {}

    /**
     * The config directory (pod records); see the class documentation for the default.
     *
     * @param configDir the directory; made absolute
     * @return this builder
     */
    public Builder configDir(Path configDir) {
      this.configDir = Objects.requireNonNull(configDir, "configDir").toAbsolutePath().normalize();
      return this;
    }

    /**
     * Speaks to {@code registry} ({@code host} or {@code host:port}, as in image references) over
     * plain HTTP instead of HTTPS. Only for registries on a trusted network: anyone on the path
     * can read the credentials sent to it (content stays verified by digest). {@code localhost}
     * and {@code 127.0.0.1} are always plain HTTP. May be called repeatedly.
     *
     * @param registry {@code host} or {@code host:port}, without scheme or path
     * @return this builder
     * @throws IllegalArgumentException when {@code registry} is not a host name with optional port
     */
    public Builder insecureRegistry(String registry) {
      Objects.requireNonNull(registry, "registry");
      if (!REGISTRY.matcher(registry).matches()) {
        throw new IllegalArgumentException("invalid registry \"" + registry
            + "\" (expected host or host:port, without scheme or path)");
      }
      insecureRegistries.add(registry);
      return this;
    }

    /**
     * The MicroPod home directory; see the class documentation for the default.
     *
     * @param home the directory; made absolute
     * @return this builder
     */
    public Builder home(Path home) {
      this.home = Objects.requireNonNull(home, "home").toAbsolutePath().normalize();
      return this;
    }

    /**
     * The VMM driver: {@code auto} (the default: {@code firecracker} when {@code /dev/kvm} is
     * usable and a {@code firecracker} binary is found through {@code MICROPOD_FIRECRACKER_BIN}
     * or {@code PATH}, else {@code qemu}; {@code MICROPOD_VMM} may force one), {@code qemu} or
     * {@code firecracker}. A forced driver that cannot run on this host makes the first
     * {@code start()} throw {@code HostUnsupportedException} naming why.
     *
     * @param vmm {@code auto}, {@code qemu} or {@code firecracker}
     * @return this builder
     * @throws IllegalArgumentException when {@code vmm} is none of these
     */
    public Builder vmm(String vmm) {
      Objects.requireNonNull(vmm, "vmm");
      if (!vmm.equals("auto") && !vmm.equals("qemu") && !vmm.equals("firecracker")) {
        throw new IllegalArgumentException("unsupported vmm: " + vmm + " (supported: auto, qemu, firecracker)");
      }
      this.vmm = vmm;
      return this;
    }

    /**
     * The {@code qemu-system-x86_64} executable; default: looked up on {@code PATH}.
     *
     * @param qemuBinary the executable; made absolute
     * @return this builder
     */
    public Builder qemuBinary(Path qemuBinary) {
      this.qemuBinary = Objects.requireNonNull(qemuBinary, "qemuBinary").toAbsolutePath();
      return this;
    }

    /**
     * The virtiofsd executable (the C one, QEMU's); default {@code /usr/lib/qemu/virtiofsd}.
     *
     * @param virtiofsd the executable; made absolute
     * @return this builder
     */
    public Builder virtiofsd(Path virtiofsd) {
      this.virtiofsd = Objects.requireNonNull(virtiofsd, "virtiofsd").toAbsolutePath();
      return this;
    }

    /**
     * The guest kernel; default {@code MICROPOD_KERNEL_PATH}, else
     * {@code <home>/guest/<sdk-version>/vmlinux}.
     *
     * @param kernel the kernel image file, like the default {@code vmlinux}; made absolute
     * @return this builder
     */
    public Builder kernel(Path kernel) {
      this.kernel = Objects.requireNonNull(kernel, "kernel").toAbsolutePath();
      return this;
    }

    /**
     * The guest initramfs (the agent's root filesystem); default {@code MICROPOD_AGENT_ROOTFS},
     * else {@code <home>/guest/<sdk-version>/initramfs.cpio}.
     *
     * @param initramfs a cpio archive with the guest agent, as {@code rootfs-builder} makes it;
     *     made absolute
     * @return this builder
     */
    public Builder initramfs(Path initramfs) {
      this.initramfs = Objects.requireNonNull(initramfs, "initramfs").toAbsolutePath();
      return this;
    }

    /**
     * The environment variables this runtime reads ({@code PATH}, {@code HOME}, {@code
     * DOCKER_CONFIG}, the {@code MICROPOD_*} ones) instead of the process's; default {@code
     * System.getenv()}. For tools and tests that check or run with another setting, e.g. a
     * {@code PATH} without QEMU. System properties ({@code micropod.home}, {@code
     * micropod.config.dir}) still win over it.
     *
     * @param environment the variables; copied
     * @return this builder
     */
    public Builder environment(Map<String, String> environment) {
      this.environment = Map.copyOf(Objects.requireNonNull(environment, "environment"));
      return this;
    }

    /**
     * The runtime. Cheap: threads and host checks start on first use.
     *
     * @return a new runtime; the caller closes it once its pods are closed
     */
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
          new RuntimeConfig(resolvedHome, vmm, qemuBinary, virtiofsd, kernel, initramfs, env, resolvedConfig),
          insecureRegistries);
    }
  }
}
