package io.micropod.internal.net;

import io.micropod.NetworkException;
import io.micropod.event.Phase;
import io.micropod.internal.vm.GuestNetworkConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One network as this process sees it: its subnet {@code 10.89.<index>.0/24}, its members
 * (address, MAC, aliases) and the switch socket the VMs connect to. Members get {@code .2} to
 * {@code .254} and the MAC {@code 02:6d:70:59:<index>:<host>} (locally administered, unique by
 * construction). Each member of this process may register a hosts refresher that runs when the
 * membership changes, outside of this object's lock.
 *
 * <p>Two kinds: <b>owned</b> (this process created it: the {@link EthernetSwitch}, the
 * {@link NetworkControl} socket and the record are here, and the membership is decided here), or
 * <b>joined</b> (another process owns it: a {@link NetworkLink} to the owner's control socket;
 * attach, detach and announce are requests to the owner, the membership a mirror of the
 * owner's pushes). A joined network closes when its owner closes it or dies. Thread-safe.
 */
public final class LocalNetwork {
  private static final Logger log = LoggerFactory.getLogger(LocalNetwork.class);

  /** A pod on the network. */
  public record Member(String podId, List<String> aliases, int host, String mac, String address) {}

  /** The membership at one version (it grows by one with each join or leave). */
  public record Snapshot(long version, List<Member> members) {}

  private final NetworkRegistry registry;
  private final String name;
  // not final: an owned network becomes joined when it is handed to a holder (handOver)
  private volatile int index;
  private volatile EthernetSwitch ethernet;
  private volatile Path switchDirectory;
  private volatile long ownerPid;
  private final java.time.Instant created = java.time.Instant.now();
  private volatile Object handle;
  private final Map<String, Member> members = new LinkedHashMap<>();
  private final Map<String, Runnable> refreshers = new LinkedHashMap<>();
  private long version;
  private boolean closed;
  private String closedWhy;
  private volatile NetworkControl control;
  private volatile NetworkLink link;
  private ExecutorService refresherThread;

  /** An owned network: {@code ethernet} runs in this process. */
  LocalNetwork(NetworkRegistry registry, String name, int index, EthernetSwitch ethernet) {
    this.registry = registry;
    this.name = name;
    this.index = index;
    this.ethernet = ethernet;
    this.switchDirectory = ethernet.directory();
    this.ownerPid = ProcessHandle.current().pid();
  }

  /** A joined network: process {@code ownerPid} runs its switch, ports in {@code switchDirectory}. */
  LocalNetwork(NetworkRegistry registry, String name, int index, Path switchDirectory, long ownerPid) {
    this.registry = registry;
    this.name = name;
    this.index = index;
    this.ethernet = null;
    this.switchDirectory = switchDirectory;
    this.ownerPid = ownerPid;
  }

  void control(NetworkControl control) {
    this.control = control;
  }

  NetworkControl control() {
    return control;
  }

  /**
   * Owned and unused: stops this process's switch and control socket (the caller removes the
   * record) so that a holder can create the network anew. Nothing else changes.
   *
   * @throws NetworkException when pods or other processes are on it
   */
  void releaseForHolder() {
    synchronized (this) {
      NetworkControl c = control;
      if (closed || ethernet == null) {
        throw new IllegalStateException("network " + name + " is not owned by this process");
      }
      if (!members.isEmpty() || (c != null && c.peers() > 0)) {
        throw new NetworkException(name, "a detached pod cannot join network " + name + ": its switch runs in this"
            + " process, which would take it along when it exits, and it is in use (pods " + members.keySet()
            + (c != null && c.peers() > 0 ? ", " + c.peers() + " other processes" : "") + "), so it cannot move to a"
            + " holder process. Start the detached pods on it before any other pod, or create it with"
            + " runtime.createHeldNetwork(\"" + name + "\") (or `micropod network create " + name + "`)", null);
      }
      if (c != null) {
        c.close();
      }
      ethernet.close();
    }
  }

  /**
   * After {@link #releaseForHolder}: the network now runs in holder process {@code ownerPid}
   * (subnet {@code index}, ports in {@code switchDirectory}); this object joins it there.
   */
  void joinHolder(int index, Path switchDirectory, long ownerPid, Path controlSocket) {
    synchronized (this) {
      this.index = index;
      this.switchDirectory = switchDirectory;
      this.ownerPid = ownerPid;
      this.ethernet = null;
      this.control = null;
    }
    link(controlSocket);
  }

  /** Connects a joined network to its owner ({@code controlSocket}). */
  void link(Path controlSocket) {
    refresherThread = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "micropod-net-" + name + "-hosts");
      t.setDaemon(true);
      return t;
    });
    try {
      link = NetworkLink.connect(name, controlSocket, ownerPid, this::mirror, this::ownerGone);
    } catch (RuntimeException e) {
      refresherThread.shutdown();
      throw e;
    }
  }

  /** Whether this process created the network (its switch runs here). */
  public boolean owned() {
    return ethernet != null;
  }

  /** When this object was made (for an owned network: when the network was created). */
  java.time.Instant created() {
    return created;
  }

  /** The process that created the network and runs its switch. */
  public long ownerPid() {
    return ownerPid;
  }

  /** The membership now, with its version. */
  public synchronized Snapshot snapshot() {
    return new Snapshot(version, List.copyOf(members.values()));
  }

  /** Joined: takes the owner's membership (newer versions only) and refreshes this process's pods. */
  private void mirror(long v, List<Member> list) {
    synchronized (this) {
      if (v <= version && version != 0) {
        return;
      }
      version = v;
      members.clear();
      for (Member m : list) {
        members.put(m.podId(), m);
      }
    }
    ExecutorService t = refresherThread;
    try {
      t.execute(() -> runRefreshers(null));
    } catch (RuntimeException e) {
      // closed meanwhile
    }
  }

  /** Joined: the owner closed the network or exited. */
  private void ownerGone() {
    List<String> ours;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      closedWhy = "network " + name + " is gone: process " + ownerPid + " that created it closed it or exited;"
          + " create a new network (runtime.newNetwork(..))";
      ours = new ArrayList<>(refreshers.keySet());
      refreshers.clear();
    }
    if (ours.isEmpty()) {
      log.info("network {}: its owner, process {}, closed it or exited", name, ownerPid);
    } else {
      log.warn("network {}: its owner, process {}, closed it or exited; pods {} lost this network's link",
          name, ownerPid, ours);
    }
    refresherThread.shutdown();
    registry.removed(this);
  }

  /** Why the network is closed (a message for the user), or null while it is open. */
  public synchronized String closedMessage() {
    if (!closed) {
      return null;
    }
    return closedWhy != null ? closedWhy : "network " + name + " is closed: create a new one"
        + " (runtime.newNetwork(..)) before starting pods on it";
  }

  void handle(Object handle) {
    this.handle = handle;
  }

  public String name() {
    return name;
  }

  /** The public object this network backs (identity). */
  public Object handle() {
    return handle;
  }

  public String subnet() {
    return "10.89." + index + ".0/24";
  }

  int index() {
    return index;
  }

  /** The switch, when this process owns the network; else null. */
  public EthernetSwitch ethernet() {
    return ethernet;
  }

  /** The directory of the switch's port sockets (served by the owner's process). */
  public Path switchDirectory() {
    return switchDirectory;
  }

  public synchronized boolean isClosed() {
    return closed;
  }

  /** A snapshot of the members, in the order they joined. */
  public synchronized List<Member> members() {
    return List.copyOf(members.values());
  }

  /**
   * Reserves an address and MAC for {@code podId}.
   *
   * @throws NetworkException when the network is closed or full, or an alias (or the pod id) is
   *     already a name on it
   */
  public Member attach(String podId, List<String> aliases) {
    NetworkLink l = link;
    if (l != null) {
      synchronized (this) {
        if (closed) {
          throw new NetworkException(name, closedMessage(), null, podId, Phase.VM_BOOT);
        }
      }
      Member m = l.attach(podId, aliases);
      log.debug("network {} (owner {}): pod {} joined as {} {} {}", name, ownerPid, podId, m.address(), m.mac(),
          aliases);
      return m;
    }
    Member m;
    synchronized (this) {
      if (closed) {
        throw new NetworkException(name, "network " + name + " is closed: create a new Network"
            + " (runtime.newNetwork(..)) for pod " + podId, null, podId, Phase.VM_BOOT);
      }
      for (String wanted : names(podId, aliases)) {
        for (Member other : members.values()) {
          if (names(other.podId(), other.aliases()).contains(wanted)) {
            throw new NetworkException(name, "the name '" + wanted + "' is already used on network "
                + name + " by pod " + other.podId() + ": give pod " + podId + " another alias",
                null, podId, Phase.VM_BOOT);
          }
        }
      }
      int host = 2;
      for (Member other : members.values().stream()
          .sorted(java.util.Comparator.comparingInt(Member::host)).toList()) {
        if (other.host() == host) {
          host++;
        }
      }
      if (host > 254) {
        throw new NetworkException(name, "network " + name + " is full (253 pods)", null, podId,
            Phase.VM_BOOT);
      }
      String mac = String.format(Locale.ROOT, "02:6d:70:59:%02x:%02x", index, host);
      m = new Member(podId, List.copyOf(aliases), host, mac, "10.89." + index + "." + host);
      try {
        ethernet.openPort(host, mac, m.address()); // the port accepts only this MAC and address
      } catch (java.io.IOException e) {
        throw new NetworkException(name, "cannot open a switch port for pod " + podId + " on network " + name
            + " in " + switchDirectory + ": " + e, e, podId, Phase.VM_BOOT);
      }
      members.put(podId, m);
      version++;
    }
    registry.writeState(this);
    log.debug("network {}: pod {} joined as {} {} {}", name, podId, m.address(), m.mac(), aliases);
    return m;
  }

  private static List<String> names(String podId, List<String> aliases) {
    List<String> n = new ArrayList<>();
    n.add(podId.toLowerCase(Locale.ROOT));
    for (String a : aliases) {
      n.add(a.toLowerCase(Locale.ROOT));
    }
    return n;
  }

  /** The guest device of {@code member}. */
  public GuestNetworkConfig.Nic nic(Member member) {
    return new GuestNetworkConfig.Nic(name, member.mac(), member.address() + "/24",
        EthernetSwitch.portSocket(switchDirectory, member.host()));
  }

  /**
   * Registers what rewrites {@code podId}'s /etc/hosts; it runs (on the caller's thread) each
   * time another member joins or leaves. Must be fast-failing (short deadlines) and not throw.
   * Null removes it.
   */
  public synchronized void onChange(String podId, Runnable refresher) {
    if (refresher == null) {
      refreshers.remove(podId);
    } else if (members.containsKey(podId)) {
      refreshers.put(podId, refresher);
    }
  }

  /** Removes {@code podId} and refreshes the others. Idempotent. */
  public void detach(String podId) {
    NetworkLink l = link;
    if (l != null) {
      synchronized (this) {
        refreshers.remove(podId);
      }
      if (!l.isClosed()) {
        try {
          l.detach(podId);
        } catch (NetworkException e) {
          log.debug("network {}: pod {} could not leave: {}", name, podId, e.getMessage());
        }
      }
      return;
    }
    Member removed;
    synchronized (this) {
      removed = members.remove(podId);
      refreshers.remove(podId);
      if (removed != null) {
        version++;
        ethernet.closePort(removed.host());
      }
    }
    if (removed != null) {
      log.debug("network {}: pod {} left", name, podId);
      if (!isClosed()) {
        registry.writeState(this);
      }
      announce(podId);
    }
  }

  /**
   * Tells every member but {@code changedPodId}, in this and (through the owner) in other
   * processes, that the membership changed: their hosts refreshers run.
   */
  public void announce(String changedPodId) {
    announce(changedPodId, -1, -1);
  }

  /**
   * {@link #announce(String)} for a detached pod, whose VMM ({@code vmmPid} with start time
   * {@code vmmStart}) keeps it on the network after this process ends; the network must be
   * held by another process (a holder).
   */
  public void announce(String changedPodId, long vmmPid, long vmmStart) {
    NetworkLink l = link;
    if (l != null) {
      try {
        l.announce(changedPodId, vmmPid, vmmStart);
      } catch (NetworkException e) {
        log.warn("network {}: cannot tell the other members about pod {}: {}", name, changedPodId, e.getMessage());
      }
      return;
    }
    NetworkControl c = control;
    if (c != null) {
      Snapshot s = snapshot();
      c.broadcast(s.version(), s.members());
    }
    runRefreshers(changedPodId);
  }

  private void runRefreshers(String changedPodId) {
    List<Runnable> run = new ArrayList<>();
    synchronized (this) {
      refreshers.forEach((id, r) -> {
        if (!id.equals(changedPodId)) {
          run.add(r);
        }
      });
    }
    for (Runnable r : run) {
      try {
        r.run();
      } catch (RuntimeException e) {
        log.warn("network {}: refreshing a member's /etc/hosts failed: {}", name, e.toString());
      }
    }
  }

  /**
   * Owned: stops the switch and the control socket (members, also of other processes, lose
   * their link) and removes the record. Joined: leaves (the owner detaches this process's pods);
   * the network stays with its owner. Idempotent.
   */
  public void close() {
    List<String> left;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      left = new ArrayList<>(link != null ? refreshers.keySet() : members.keySet());
      refreshers.clear();
    }
    if (link != null) {
      if (!left.isEmpty()) {
        log.warn("network {}: handle closed while pods of this process are still on it: {}; they leave its"
            + " membership (detached ones stay while their VM runs)", name, left);
      }
      link.close();
      refresherThread.shutdown();
      registry.removed(this);
      return;
    }
    if (!left.isEmpty()) {
      log.warn("network {} closed while pods are still on it: {}; they lose this network's link",
          name, left);
    }
    NetworkControl c = control;
    if (c != null) {
      c.close();
    }
    ethernet.close();
    registry.removed(this);
    log.debug("network {} closed", name);
  }

  @Override
  public String toString() {
    return "Network{" + name + ", " + subnet() + "}";
  }

  @Override
  public boolean equals(Object o) {
    return this == o;
  }

  @Override
  public int hashCode() {
    return Objects.hashCode(name);
  }
}
