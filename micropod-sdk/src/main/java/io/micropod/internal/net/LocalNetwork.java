package io.micropod.internal.net;

import io.micropod.NetworkException;
import io.micropod.event.Phase;
import io.micropod.internal.vm.GuestNetworkConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One network of this process: its subnet {@code 10.89.<index>.0/24}, its {@link EthernetSwitch},
 * its members (address, MAC, aliases) and its state file. Members get {@code .2} to
 * {@code .254} and the MAC {@code 02:6d:70:59:<index>:<host>} (locally administered, unique by
 * construction). Each member may register a hosts refresher that runs when the membership
 * changes, outside of this object's lock. Thread-safe.
 */
public final class LocalNetwork {
  private static final Logger log = LoggerFactory.getLogger(LocalNetwork.class);

  /** A pod on the network. */
  public record Member(String podId, List<String> aliases, int host, String mac, String address) {}

  private final NetworkRegistry registry;
  private final String name;
  private final int index;
  private final EthernetSwitch ethernet;
  private volatile Object handle;
  private final Map<String, Member> members = new LinkedHashMap<>();
  private final Map<String, Runnable> refreshers = new LinkedHashMap<>();
  private boolean closed;

  LocalNetwork(NetworkRegistry registry, String name, int index, EthernetSwitch ethernet) {
    this.registry = registry;
    this.name = name;
    this.index = index;
    this.ethernet = ethernet;
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

  public EthernetSwitch ethernet() {
    return ethernet;
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
      members.put(podId, m);
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
    return new GuestNetworkConfig.Nic(name, member.mac(), member.address() + "/24", ethernet.socket());
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
    boolean removed;
    synchronized (this) {
      removed = members.remove(podId) != null;
      refreshers.remove(podId);
    }
    if (removed) {
      log.debug("network {}: pod {} left", name, podId);
      if (!isClosed()) {
        registry.writeState(this);
      }
      announce(podId);
    }
  }

  /** Runs the hosts refreshers of every member but {@code changedPodId}. */
  public void announce(String changedPodId) {
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

  /** Stops the switch (members lose their link) and removes the state. Idempotent. */
  public void close() {
    List<String> left;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      left = new ArrayList<>(members.keySet());
      refreshers.clear();
    }
    if (!left.isEmpty()) {
      log.warn("network {} closed while pods are still on it: {}; they lose this network's link",
          name, left);
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
