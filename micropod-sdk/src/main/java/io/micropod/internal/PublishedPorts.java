package io.micropod.internal;

import io.micropod.internal.agent.PortForwarder;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Step {@code ports.bind}'s result, by container port: the forwarders this JVM serves (listening
 * already, forwarding once {@code ports.start} ran), or, for a detached pod, the host ports QEMU's
 * NAT serves ({@code hostfwd}). An attached pod knows its ports from its record (as NAT ports).
 */
record PublishedPorts(Map<Integer, PortForwarder> forwarders, Map<Integer, Integer> natForwards) {
  static final PublishedPorts NONE = new PublishedPorts(Map.of(), Map.of());

  PublishedPorts {
    forwarders = Collections.unmodifiableMap(new LinkedHashMap<>(forwarders));
    natForwards = Collections.unmodifiableMap(new LinkedHashMap<>(natForwards));
  }

  /** Container port to host port of every published port, in order. */
  Map<Integer, Integer> all() {
    Map<Integer, Integer> all = new LinkedHashMap<>();
    forwarders.forEach((container, f) -> all.put(container, f.hostPort()));
    all.putAll(natForwards);
    return all;
  }
}
