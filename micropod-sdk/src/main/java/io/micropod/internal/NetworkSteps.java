package io.micropod.internal;

import io.micropod.MicroPodException;
import io.micropod.MicroPodSpec;
import io.micropod.Network;
import io.micropod.NetworkMode;
import io.micropod.event.Phase;
import io.micropod.internal.net.EgressFiles;
import io.micropod.internal.net.HostsFile;
import io.micropod.internal.net.LocalNetwork;
import io.micropod.internal.vm.GuestNetworkConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The network parts of a pod's start (docs/networking.md): checks the spec's networks, joins
 * them ({@code network.attach}: address, MAC, the VM's devices), gives the container its managed
 * /etc/hosts and /etc/resolv.conf, and once it runs tells the other members
 * ({@code network.announce}), whose hosts files are rewritten through the agent.
 */
final class NetworkSteps {
  private static final Logger log = LoggerFactory.getLogger(NetworkSteps.class);
  /** Deadline of one UpdateHosts call to a member's agent. */
  static final Duration HOSTS_DEADLINE = Duration.ofSeconds(5);

  private NetworkSteps() {}

  /**
   * The internal networks of {@code spec.networks()}.
   *
   * @throws IllegalStateException when one is closed or belongs to another runtime
   */
  static List<LocalNetwork> check(MicroPodSpec spec, RuntimeServices runtime) {
    List<LocalNetwork> found = new ArrayList<>();
    for (Network n : spec.networks()) {
      LocalNetwork local = runtime.networks().find(n);
      if (n.isClosed()) {
        String why = local != null ? local.closedMessage() : null;
        throw new IllegalStateException(why != null ? why : "network " + n.name() + " is closed: create a new one"
            + " (runtime.newNetwork(..)) before starting pods on it");
      }
      if (local == null) {
        throw new IllegalStateException("network " + n.name() + " belongs to another MicroPodRuntime"
            + " (" + n.runtime() + ") than the spec's: create it with the spec's runtime, or get this"
            + " runtime's handle with runtime.network(\"" + n.name() + "\")");
      }
      found.add(local);
    }
    return found;
  }

  static boolean nat(Boot b) {
    return b.spec.networkMode() == NetworkMode.NAT;
  }

  /**
   * {@code network.attach}: joins each of {@link Boot#joining}, then gives the VM its devices
   * (with the NAT rules of {@code ports.bind}); its result is {@link JoinedNetworks}.
   */
  static void attach(Boot b, CleanupStack cleanup) {
    List<GuestNetworkConfig.Nic> nics = new ArrayList<>();
    List<LocalNetwork> joined = new ArrayList<>();
    for (LocalNetwork n : b.joining) {
      if (b.spec.detached() && n.owned()) {
        // the pod outlives this JVM, so its network's switch must too: a holder takes it over
        b.runtime.networks().handOver(n);
      }
      LocalNetwork.Member m = n.attach(b.id, b.spec.networkAliases());
      cleanup.push("network.detach", () -> n.detach(b.id));
      joined.add(n);
      nics.add(n.nic(m));
    }
    List<GuestNetworkConfig.HostForward> forwards = new ArrayList<>();
    b.ports.get().natForwards().forEach((container, host) ->
        forwards.add(new GuestNetworkConfig.HostForward(host, container)));
    b.networks.set(new JoinedNetworks(joined,
        new GuestNetworkConfig(nat(b), nics, b.spec.exposedHostPorts(), forwards)));
    writeEgressRules(b);
  }

  /**
   * The pod's egress rules for QEMU's network guard, in its socket directory before QEMU starts
   * ({@link EgressFiles}). Only the NAT has egress; a driver other than QEMU cannot enforce rules
   * (Firecracker's TAP is outside MicroPod's network path), so a pod with rules fails there
   * rather than run unfiltered.
   */
  /**
   * Whether {@code b}'s pod has egress rules enforced: only a NAT pod under QEMU, whose network
   * guard reads them (the one rule for the spec check, {@code updateEgress} and the event watch).
   */
  static boolean egressGuarded(Boot b) {
    return nat(b) && "qemu".equals(b.runtime.driver().name());
  }

  static void writeEgressRules(Boot b) {
    if (!nat(b) || b.spec.egress().isAllowAll()) {
      return;
    }
    if (!egressGuarded(b)) {
      throw new io.micropod.NetworkException("nat", "pod " + b.id + " has egress rules (" + b.spec.egress()
          + "), which the " + b.runtime.driver().name() + " driver cannot enforce: its network is a TAP device"
          + " outside MicroPod's network path. Use the qemu driver (MICROPOD_VMM=qemu), or drop the rules and"
          + " filter the TAP with the host's firewall (docs/firecracker.md)", null, b.id, Phase.VM_BOOT);
    }
    try {
      EgressFiles.write(b.paths.socketDir(), b.spec.egress());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("pod " + b.id + ": cannot write its egress rules into "
          + b.paths.socketDir(), e);
    }
  }

  /** The container's /etc/hosts at create; remembered to skip identical rewrites. */
  static String hosts(Boot b) {
    String h = HostsFile.render(b.id, nat(b), b.networks.get().networks());
    b.lastHosts = h;
    return h;
  }

  static String resolvConf(Boot b) {
    return HostsFile.resolvConf(nat(b));
  }

  /**
   * {@code network.announce}: from now on this pod's hosts file follows its networks' members;
   * it is brought up to date once (members may have joined since it was made), then the other
   * members learn about this pod.
   */
  static void announce(Boot b, CleanupStack cleanup) {
    List<LocalNetwork> networks = b.networks.get().networks();
    if (networks.isEmpty()) {
      return;
    }
    Runnable refresh = () -> refreshHosts(b);
    for (LocalNetwork n : networks) {
      n.onChange(b.id, refresh);
    }
    cleanup.push("network.quiet", () -> {
      for (LocalNetwork n : networks) {
        n.onChange(b.id, null);
      }
    });
    refresh.run();
    long vmm = -1;
    long vmmStart = -1;
    if (b.spec.detached()) {
      // the holder keeps a detached pod on the network while this VMM runs, after this JVM ends
      vmm = b.vm.get().process().pid();
      vmmStart = io.micropod.internal.state.ProcStat.startTime(vmm).orElse(-1);
    }
    for (LocalNetwork n : networks) {
      n.announce(b.id, vmm, vmmStart);
    }
  }

  /** Rewrites the container's /etc/hosts when its content changed. Never throws. */
  static void refreshHosts(Boot b) {
    synchronized (b.hostsLock) {
      SpawnedVm vm = b.vm.orNull();
      JoinedNetworks networks = b.networks.orNull();
      if (!b.containerCreated || b.agent.orNull() == null || vm == null || networks == null
          || !vm.process().isAlive()) {
        return;
      }
      String content = HostsFile.render(b.id, nat(b), networks.networks());
      if (content.equals(b.lastHosts)) {
        return;
      }
      try {
        b.agentClient().updateHosts(b.id, content, HOSTS_DEADLINE);
        b.lastHosts = content;
        log.debug("pod {}: /etc/hosts rewritten", b.id);
      } catch (MicroPodException e) {
        log.warn("pod {}: cannot rewrite /etc/hosts (its network peers may not resolve): {}",
            b.id, e.getMessage());
      }
    }
  }
}
