package io.micropod.internal;

import io.micropod.internal.net.LocalNetwork;
import io.micropod.internal.vm.GuestNetworkConfig;
import java.util.List;

/**
 * Step {@code network.attach}'s result: the networks the pod joined, in the spec's order, and the
 * VM's network devices (NAT, one NIC per network, the detached pod's {@code hostfwd} rules).
 */
record JoinedNetworks(List<LocalNetwork> networks, GuestNetworkConfig guest) {
  /** An attached pod's: it rejoins no network (its owner announced it). */
  static final JoinedNetworks NONE = new JoinedNetworks(List.of(), GuestNetworkConfig.NONE);

  JoinedNetworks {
    networks = List.copyOf(networks);
  }
}
