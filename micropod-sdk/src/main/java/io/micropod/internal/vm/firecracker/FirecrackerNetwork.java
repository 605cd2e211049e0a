package io.micropod.internal.vm.firecracker;

import io.micropod.NetworkException;
import io.micropod.event.Phase;
import io.micropod.internal.vm.GuestNetworkConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * What a pod's network becomes under Firecracker (docs/networking.md, "Firecracker"). Firecracker
 * has no user-mode networking: its only network device is a TAP, which MicroPod never creates
 * (that needs CAP_NET_ADMIN and changes the host's network). So:
 * <ul>
 *   <li>{@code NetworkMode.NONE}: no device.
 *   <li>{@code NAT} (the default): the first TAP of {@code MICROPOD_FIRECRACKER_TAP} (a
 *       comma-separated list, one device per concurrently running pod) that exists, is a TAP,
 *       is not used by another pod of this driver and that this process may open (the device's
 *       owner or group is this user's, or the process has CAP_NET_ADMIN), attached as
 *       {@code eth0} with MAC {@link GuestNetworkConfig#NAT_MAC}; the guest gets the same
 *       addresses as with QEMU's NAT (10.0.2.15/24 via 10.0.2.2). None usable: the pod runs as
 *       with {@code NONE} and {@link Plan#warning()} says why and how to grant a TAP; port
 *       mapping works either way (it goes through the agent over vsock).
 *   <li>MicroPod {@code Network}s: refused with a {@link NetworkException}; their switch is a
 *       user-space socket that a TAP cannot reach without root.
 * </ul>
 * <b>Never met a real Firecracker or a real TAP</b> (no KVM, no CAP_NET_ADMIN on the build
 * machines): the sysfs checks ran against a fake {@code /sys/class/net}, the API calls against
 * the contract peer.
 */
final class FirecrackerNetwork {
  /** The interface id and guest-side name of the TAP device. */
  static final String IFACE_ID = "eth0";
  /** {@code IFF_TAP} in {@code /sys/class/net/<dev>/tun_flags}. */
  private static final int IFF_TAP = 0x0002;
  /** {@code CAP_NET_ADMIN}'s bit in {@code CapEff}. */
  private static final int CAP_NET_ADMIN = 12;

  /**
   * @param tap the TAP device to attach, or null for none
   * @param guest the devices the guest configures (kernel command line)
   * @param warning why the pod gets no network although it asked for NAT, or null
   */
  record Plan(String tap, GuestNetworkConfig guest, String warning) {}

  private final Path sysClassNet;
  private final String procSelfStatus;

  /**
   * @param sysClassNet {@code /sys/class/net}
   * @param procSelfStatus the text of {@code /proc/self/status} (uids, gids, capabilities)
   */
  FirecrackerNetwork(Path sysClassNet, String procSelfStatus) {
    this.sysClassNet = sysClassNet;
    this.procSelfStatus = procSelfStatus;
  }

  /** This host's. */
  static FirecrackerNetwork ofHost() {
    String status;
    try {
      status = Files.readString(Path.of("/proc/self/status"), StandardCharsets.US_ASCII);
    } catch (IOException e) {
      status = "";
    }
    return new FirecrackerNetwork(Path.of("/sys/class/net"), status);
  }

  /**
   * The plan for {@code wanted} of pod {@code podId}.
   *
   * @param taps the configured TAP devices, in order of preference
   * @param inUse TAPs attached to running pods of this driver
   * @throws NetworkException when {@code wanted} joins MicroPod networks
   */
  Plan plan(String podId, GuestNetworkConfig wanted, List<String> taps, Set<String> inUse) {
    if (!wanted.nics().isEmpty()) {
      String net = wanted.nics().get(0).network();
      throw new NetworkException(net, "pod " + podId + " cannot join network " + net + " with the firecracker"
          + " driver: Firecracker's only network device is a TAP, and MicroPod networks are user-space switches"
          + " that a TAP cannot reach without root; run pods on networks with the qemu driver (MICROPOD_VMM=qemu)",
          null, podId, Phase.VM_BOOT);
    }
    if (!wanted.nat()) {
      return new Plan(null, GuestNetworkConfig.NONE, null);
    }
    List<String> why = new ArrayList<>();
    for (String tap : taps) {
      if (inUse.contains(tap)) {
        why.add(tap + " is used by another pod");
        continue;
      }
      String refused = refusal(tap);
      if (refused == null) {
        return new Plan(tap, new GuestNetworkConfig(true, List.of()), null);
      }
      why.add(refused);
    }
    String reason = taps.isEmpty() ? "MICROPOD_FIRECRACKER_TAP names no TAP device" : String.join("; ", why);
    return new Plan(null, GuestNetworkConfig.NONE, "Firecracker has no user-mode networking and no TAP device is"
        + " usable (" + reason + "): pod " + podId + " runs without a network device, as with NetworkMode.NONE"
        + " (only lo; port mapping through the agent works). For NAT, have an administrator create a TAP for"
        + " your user once, e.g. `sudo ip tuntap add dev mp0 mode tap user $USER` (see docs/networking.md for"
        + " its address and NAT), and set MICROPOD_FIRECRACKER_TAP=mp0; or use the qemu driver, which needs"
        + " no privileges for NAT; or ask for NetworkMode.NONE to silence this warning");
  }

  /** Why this process cannot attach {@code tap}, or null when it can. */
  String refusal(String tap) {
    if (tap.isEmpty() || tap.length() > 15 || tap.contains("/") || tap.startsWith(".")) {
      return "'" + tap + "' is not a network device name";
    }
    Path dev = sysClassNet.resolve(tap);
    if (!Files.isDirectory(dev)) {
      return tap + " does not exist (" + dev + ")";
    }
    Path flags = dev.resolve("tun_flags");
    if (!Files.isRegularFile(flags)) {
      return tap + " is not a TUN/TAP device";
    }
    try {
      int f = Integer.decode(Files.readString(flags, StandardCharsets.US_ASCII).trim());
      if ((f & IFF_TAP) == 0) {
        return tap + " is a TUN device, not a TAP";
      }
      if (hasCapNetAdmin()) {
        return null;
      }
      long owner = Long.parseLong(Files.readString(dev.resolve("owner"), StandardCharsets.US_ASCII).trim());
      long group = Long.parseLong(Files.readString(dev.resolve("group"), StandardCharsets.US_ASCII).trim());
      if (owner != -1 && owner == ids("Uid:").get(1)) {
        return null;
      }
      if (group != -1 && (group == ids("Gid:").get(1) || ids("Groups:").contains(group))) {
        return null;
      }
      return tap + " belongs to " + (owner == -1 ? "no user" : "uid " + owner) + (group == -1 ? "" : ", gid " + group)
          + " and this process has no CAP_NET_ADMIN";
    } catch (IOException | RuntimeException e) {
      return "cannot read " + dev + ": " + e.getMessage();
    }
  }

  private boolean hasCapNetAdmin() {
    for (String line : procSelfStatus.split("\n")) {
      if (line.startsWith("CapEff:")) {
        long caps = Long.parseUnsignedLong(line.substring(7).trim(), 16);
        return (caps & (1L << CAP_NET_ADMIN)) != 0;
      }
    }
    return false;
  }

  private List<Long> ids(String key) {
    List<Long> ids = new ArrayList<>();
    for (String line : procSelfStatus.split("\n")) {
      if (line.startsWith(key)) {
        for (String s : line.substring(key.length()).trim().split("\\s+")) {
          if (!s.isEmpty()) {
            ids.add(Long.parseLong(s));
          }
        }
      }
    }
    if (ids.size() < 2 && !key.equals("Groups:")) {
      throw new IllegalStateException("no " + key + " line in /proc/self/status");
    }
    return ids;
  }
}
