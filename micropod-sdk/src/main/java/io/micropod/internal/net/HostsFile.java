package io.micropod.internal.net;

import io.micropod.internal.vm.GuestNetworkConfig;
import java.util.List;

/**
 * The managed {@code /etc/hosts} and {@code /etc/resolv.conf} of a pod's container: localhost,
 * the pod's own id, {@value #HOST_NAME} when the pod has NAT, and every member (id and aliases)
 * of every network the pod is on.
 */
public final class HostsFile {
  /** The name of the host, reachable from pods with NAT (its loopback services included). */
  public static final String HOST_NAME = "host.micropod.internal";

  private HostsFile() {}

  /** The hosts file of pod {@code podId}; {@code networks} are those it joined, in order. */
  public static String render(String podId, boolean nat, List<LocalNetwork> networks) {
    StringBuilder sb = new StringBuilder();
    sb.append("# Managed by MicroPod: rewritten when pods join or leave this pod's networks.\n");
    sb.append("127.0.0.1\tlocalhost\n");
    sb.append("::1\tlocalhost ip6-localhost ip6-loopback\n");
    String self = null;
    for (LocalNetwork n : networks) {
      for (LocalNetwork.Member m : n.members()) {
        if (m.podId().equals(podId)) {
          self = m.address();
          break;
        }
      }
      if (self != null) {
        break;
      }
    }
    if (self == null) {
      self = nat ? GuestNetworkConfig.natAddress()
          : "127.0.1.1";
      sb.append(self).append('\t').append(podId).append('\n');
    }
    if (nat) {
      sb.append(GuestNetworkConfig.NAT_GATEWAY).append('\t').append(HOST_NAME).append('\n');
    }
    for (LocalNetwork n : networks) {
      sb.append("# network ").append(n.name()).append(' ').append(n.subnet()).append('\n');
      for (LocalNetwork.Member m : n.members()) {
        sb.append(m.address()).append('\t').append(m.podId());
        for (String a : m.aliases()) {
          sb.append(' ').append(a);
        }
        sb.append('\n');
      }
    }
    return sb.toString();
  }

  /** The resolv.conf: the NAT's DNS forwarder, or none (the file says why). */
  public static String resolvConf(boolean nat) {
    return nat
        ? "# Managed by MicroPod: the DNS forwarder of the pod's NAT (the host's resolvers).\n"
            + "nameserver " + GuestNetworkConfig.NAT_DNS + "\n"
        : "# Managed by MicroPod: this pod has no outbound network (NetworkMode.NONE).\n";
  }
}
