package io.micropod.internal.vm;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The network devices of one VM, for its driver. The guest's /init configures them from the
 * kernel command line ({@link #kernelArgs()}: one {@code micropod.nic=<mac>,<address>/<prefix>[,
 * <gateway>]} per device, matched by MAC). No device at all: the guest has only {@code lo}.
 *
 * <p>Per driver: {@code qemu} gives {@link #nat()} as user-mode networking ({@code -netdev user},
 * rootless) and each {@link Nic} as {@code -netdev stream} connected to the network's
 * {@code EthernetSwitch} socket (rootless). A driver that cannot give a device (Firecracker
 * without the privileges for a TAP device) must fail the start with a message saying so, never
 * drop the device silently; see docs/networking.md.
 *
 * @param nat an outbound NAT device (the {@code NAT} network mode)
 * @param nics one device per joined network, in the spec's order
 * @param exposedHostPorts the host's 127.0.0.1 ports the NAT may reach (QEMU's netguard), ascending
 * @param hostForwards published ports that the NAT itself serves on the host's 127.0.0.1 (QEMU's
 *     {@code hostfwd}, for detached pods: they outlive the JVM), in the spec's order
 */
public record GuestNetworkConfig(
    boolean nat, List<Nic> nics, List<Integer> exposedHostPorts, List<HostForward> hostForwards) {
  /** No device: only loopback. */
  public static final GuestNetworkConfig NONE = new GuestNetworkConfig(false, List.of());

  /** The NAT device's MAC (each VM has its own NAT, so all may share it). */
  public static final String NAT_MAC = "02:6d:70:00:00:01";
  /** The guest's address on the NAT device, QEMU slirp's default. */
  public static final String NAT_ADDRESS = "10.0.2.15/24";
  /** The guest's address on the NAT device, without the prefix. */
  public static String natAddress() {
    return NAT_ADDRESS.substring(0, NAT_ADDRESS.indexOf('/'));
  }

  /** The NAT gateway; connections to it reach the host's loopback. */
  public static final String NAT_GATEWAY = "10.0.2.2";
  /** The NAT's DNS forwarder (the host's resolvers). */
  public static final String NAT_DNS = "10.0.2.3";

  /**
   * One device on a MicroPod network.
   *
   * @param network the network's name
   * @param mac unique on the network, lower-case, colon-separated
   * @param address the guest's address with prefix, e.g. {@code 10.89.1.2/24}
   * @param switchSocket the Unix socket of this pod's own switch port (bound to {@code mac} and {@code address})
   */
  public record Nic(String network, String mac, String address, Path switchSocket) {
    public Nic {
      Objects.requireNonNull(network, "network");
      Objects.requireNonNull(mac, "mac");
      Objects.requireNonNull(address, "address");
      Objects.requireNonNull(switchSocket, "switchSocket");
    }
  }

  /**
   * A TCP port of the host's 127.0.0.1 that the NAT forwards to the guest's NAT address.
   *
   * @param hostPort 1-65535 (already chosen: QEMU cannot report a port it picked)
   * @param guestPort the container's port, 1-65535
   */
  public record HostForward(int hostPort, int guestPort) {
    public HostForward {
      if (hostPort < 1 || hostPort > 65535 || guestPort < 1 || guestPort > 65535) {
        throw new IllegalArgumentException("ports must be 1-65535: " + hostPort + "->" + guestPort);
      }
    }
  }

  public GuestNetworkConfig {
    nics = List.copyOf(nics);
    exposedHostPorts = List.copyOf(exposedHostPorts);
    hostForwards = List.copyOf(hostForwards);
    if (!nat && !hostForwards.isEmpty()) {
      throw new IllegalArgumentException("host forwards need the NAT device: " + hostForwards);
    }
  }

  /** No published port served by the NAT. */
  public GuestNetworkConfig(boolean nat, List<Nic> nics, List<Integer> exposedHostPorts) {
    this(nat, nics, exposedHostPorts, List.of());
  }

  /** No host port exposed. */
  public GuestNetworkConfig(boolean nat, List<Nic> nics) {
    this(nat, nics, List.of());
  }

  /** The kernel command line keys for the guest's /init, one per device. */
  public List<String> kernelArgs() {
    List<String> args = new ArrayList<>();
    if (nat) {
      args.add("micropod.nic=" + NAT_MAC + "," + NAT_ADDRESS + "," + NAT_GATEWAY);
    }
    for (Nic n : nics) {
      args.add("micropod.nic=" + n.mac() + "," + n.address());
    }
    return args;
  }

  /** Whether the VM gets any network device. */
  public boolean hasDevices() {
    return nat || !nics.isEmpty();
  }
}
