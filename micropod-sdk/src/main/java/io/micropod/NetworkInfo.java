package io.micropod;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * A network recorded in the MicroPod home by a live process (this one or another): what
 * {@link MicroPodRuntime#networks()} lists. A snapshot: the network may be gone a moment later.
 *
 * @param name the network's name, unique in the home
 * @param subnet its IPv4 subnet, e.g. {@code 10.89.1.0/24}
 * @param ownerPid the process that created it and runs its switch; the network lives as long as it
 * @param created when it was created
 * @param members ids of the pods on it (of every process), in the order they joined
 */
public record NetworkInfo(String name, String subnet, long ownerPid, Instant created, List<String> members) {
  /**
   * A snapshot as read from the home; {@code members} is copied.
   *
   * @param name the network's name
   * @param subnet its IPv4 subnet, in CIDR notation
   * @param ownerPid the process that created it
   * @param created when it was created
   * @param members ids of the pods on it, in the order they joined
   * @throws NullPointerException when {@code name}, {@code subnet}, {@code created} or {@code
   *     members} is null
   */
  public NetworkInfo {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(subnet, "subnet");
    Objects.requireNonNull(created, "created");
    members = List.copyOf(members);
  }
}
