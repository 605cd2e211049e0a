package io.micropod;

import io.micropod.internal.net.LocalNetwork;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A private network of pods: its members reach each other over TCP and UDP, by pod id and by
 * their {@linkplain MicroPodSpec.Builder#networkAliases(String...) aliases}; pods outside it
 * cannot reach them through it. Rootless: a user-space Ethernet switch in this process that the
 * VMs' network devices connect to through a Unix socket. Addresses come from a
 * {@code 10.89.<n>.0/24} subnet per network; names resolve through the container's managed
 * {@code /etc/hosts}, rewritten when members join or leave.
 *
 * <pre>{@code
 * try (Network net = runtime.newNetwork("backend");
 *      MicroPod db = MicroPod.builder().runtime(runtime).image(..).network(net).networkAliases("db").start();
 *      MicroPod app = MicroPod.builder().runtime(runtime).image(..).network(net).start()) {
 *   app.exec("wget", "-q", "-O-", "http://db:8080/");
 * }
 * }</pre>
 *
 * <h2>Lifecycle</h2>
 * Created by {@link MicroPodRuntime#newNetwork(String)} or {@link #create()}; lives until
 * {@link #close()} or until its runtime is closed, and at most as long as this process (the
 * switch runs in it). Close the pods first: closing a network with members cuts their link to
 * it (they keep running). A record in {@code <home>/networks/<name>.json} lets other processes
 * sharing the MicroPod home see the network; names are unique per home while their process lives.
 *
 * <h2>Across processes</h2>
 * Another process sharing the home gets a handle with {@link MicroPodRuntime#network(String)}
 * ({@link #owned()} false there): its pods join the same segment (their VMs connect to this
 * process's switch) and resolve every member by id and alias, in both directions. Closing such
 * a handle, or the process ending (SIGKILL included), takes its pods off the network; when the
 * owner closes the network or dies, the handles of other processes close by themselves
 * ({@link #isClosed()}) and their pods lose the link.
 *
 * <h2>Detached pods</h2>
 * A {@link MicroPodSpec#detached() detached} pod stays on the network after its JVM ended, while
 * its VM runs. For that the switch runs in a holder process of the SDK's own: when the first
 * detached pod starts on a network this process created, the network (unused until then: no
 * pods, no other processes) moves into a holder, and this handle then stands for the joined
 * network ({@link #owned()} false, {@link #ownerPid()} the holder's); the holder exits once no
 * process and no pod uses it. {@link MicroPodRuntime#createHeldNetwork} makes a network held from
 * the start, until {@link MicroPodRuntime#removeNetwork}. Thread-safe.
 */
public final class Network implements AutoCloseable {
  /** The host as seen from pods with {@link NetworkMode#NAT}: its loopback services included. */
  public static final String HOST_NAME = "host.micropod.internal";

  private static final Pattern NAME = Pattern.compile("[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}");

  private final MicroPodRuntime runtime;
  private final LocalNetwork impl;

  Network(MicroPodRuntime runtime, LocalNetwork impl) {
    this.runtime = runtime;
    this.impl = impl;
  }

  /**
   * A network with a generated name ({@code micropod-<12 hex>}) on the default runtime.
   *
   * @return a new network, owned by this process; close it when done
   */
  public static Network create() {
    return MicroPodRuntime.defaultRuntime().newNetwork();
  }

  /**
   * Network {@code name} on the default runtime; see {@link MicroPodRuntime#newNetwork(String)}.
   *
   * @param name the network's name, unique in the MicroPod home
   * @return a new network, owned by this process; close it when done
   */
  public static Network create(String name) {
    return MicroPodRuntime.defaultRuntime().newNetwork(name);
  }

  static String checkName(String name) {
    Objects.requireNonNull(name, "name");
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("invalid network name (1-63 of [a-zA-Z0-9_.-], starting"
          + " with a letter or digit): '" + name + "'");
    }
    return name;
  }

  /** {@return the network's name, unique in its MicroPod home} */
  public String name() {
    return impl.name();
  }

  /** {@return the network's IPv4 subnet, e.g. {@code 10.89.1.0/24}} */
  public String subnet() {
    return impl.subnet();
  }

  /** {@return the runtime the network belongs to; only its pods can join} */
  public MicroPodRuntime runtime() {
    return runtime;
  }

  /**
   * Ids of the pods on the network now, in the order they joined.
   *
   * @return the members' ids; a new list each call, empty when no pod is on it
   */
  public List<String> members() {
    List<String> ids = new ArrayList<>();
    for (LocalNetwork.Member m : impl.members()) {
      ids.add(m.podId());
    }
    return ids;
  }

  /**
   * Whether this process created the network (its switch runs here); false for a handle from
   * {@link MicroPodRuntime#network(String)} to another process's network, and once the network
   * moved into a holder for a detached pod.
   *
   * @return {@code true} when this process owns the network
   */
  public boolean owned() {
    return impl.owned();
  }

  /**
   * The process that runs the network's switch (its creator, or its holder); the network lives at
   * most as long as it.
   *
   * @return the owner's process id
   */
  public long ownerPid() {
    return impl.ownerPid();
  }

  /**
   * Whether {@link #close()} was called (or the runtime closed); for a handle to another
   * process's network, also once that process closed the network or exited.
   *
   * @return {@code true} once the network is closed
   */
  public boolean isClosed() {
    return impl.isClosed();
  }

  /**
   * Owned: stops the network's switch and deletes its record; pods still on it, in every
   * process, lose their link to it (a WARN says which). A handle to another process's network:
   * this process's pods leave its membership; the network stays. Idempotent; never throws.
   */
  @Override
  public void close() {
    impl.close();
  }

  @Override
  public String toString() {
    return "Network{" + name() + ", " + subnet() + (isClosed() ? ", closed" : "") + "}";
  }
}
