package io.micropod.internal.vm.firecracker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micropod.NetworkException;
import io.micropod.internal.vm.GuestNetworkConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The TAP choice against a FAKE {@code /sys/class/net} and {@code /proc/self/status} (no TAP
 * device and no CAP_NET_ADMIN on the build machines); the files are the kernel's: {@code
 * tun_flags} in hex with IFF_TAP = 0x2, {@code owner} and {@code group} as decimal ids or -1.
 */
class FirecrackerNetworkTest {
  private static final String USER_1000 = "Name:\tjava\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\n"
      + "Groups:\t27 1000 \nCapEff:\t0000000000000000\n";
  private static final String ROOT_WITH_NET_ADMIN = "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t\n"
      + "CapEff:\t000001ffffffffff\n";
  private static final GuestNetworkConfig NAT = new GuestNetworkConfig(true, List.of());

  @TempDir Path sys;

  private void device(String name, String flags, int owner, int group) throws IOException {
    Path d = Files.createDirectories(sys.resolve(name));
    if (flags != null) {
      Files.writeString(d.resolve("tun_flags"), flags + "\n");
      Files.writeString(d.resolve("owner"), owner + "\n");
      Files.writeString(d.resolve("group"), group + "\n");
    }
  }

  @Test
  void aTapOwnedByTheUserIsAttachedWithTheNatAddresses() throws IOException {
    device("mp0", "0x1002", 1000, -1);
    FirecrackerNetwork fn = new FirecrackerNetwork(sys, USER_1000);

    FirecrackerNetwork.Plan p = fn.plan("pod1", NAT, List.of("mp0"), Set.of());

    assertThat(p.tap()).isEqualTo("mp0");
    assertThat(p.warning()).isNull();
    assertThat(p.guest().kernelArgs()).containsExactly("micropod.nic=02:6d:70:00:00:01,10.0.2.15/24,10.0.2.2");
  }

  @Test
  void aTapOfTheUsersGroupOrAnyTapWithCapNetAdminIsUsable() throws IOException {
    device("grp", "0x1002", -1, 27);
    device("nobody", "0x1002", -1, -1);

    assertThat(new FirecrackerNetwork(sys, USER_1000).refusal("grp")).isNull();
    assertThat(new FirecrackerNetwork(sys, USER_1000).refusal("nobody"))
        .isEqualTo("nobody belongs to no user and this process has no CAP_NET_ADMIN");
    assertThat(new FirecrackerNetwork(sys, ROOT_WITH_NET_ADMIN).refusal("nobody")).isNull();
  }

  @Test
  void unusableDevicesAreSkippedWithTheirReasonsAndABusyTapIsNotShared() throws IOException {
    device("other", "0x1002", 1001, -1);
    device("tun0", "0x1001", 1000, -1);
    device("eth0", null, 0, 0);
    device("mp1", "0x1002", 1000, -1);
    FirecrackerNetwork fn = new FirecrackerNetwork(sys, USER_1000);

    FirecrackerNetwork.Plan p = fn.plan("pod1", NAT, List.of("gone", "other", "tun0", "eth0", "mp1"), Set.of());
    FirecrackerNetwork.Plan busy = fn.plan("pod2", NAT, List.of("mp1"), Set.of("mp1"));

    assertThat(p.tap()).isEqualTo("mp1");
    assertThat(busy.tap()).isNull();
    assertThat(busy.guest()).isEqualTo(GuestNetworkConfig.NONE);
    assertThat(busy.warning()).contains("mp1 is used by another pod", "pod pod2 runs without a network device");
    assertThat(fn.plan("pod3", NAT, List.of("gone", "other", "tun0", "eth0"), Set.of()).warning())
        .contains("gone does not exist (" + sys.resolve("gone") + ")", "other belongs to uid 1001",
            "tun0 is a TUN device, not a TAP", "eth0 is not a TUN/TAP device");
  }

  @Test
  void withoutATapNatBecomesNoDeviceWithAWarningThatSaysHowToGrantOne() {
    FirecrackerNetwork.Plan p = new FirecrackerNetwork(sys, USER_1000).plan("pod1", NAT, List.of(), Set.of());

    assertThat(p.tap()).isNull();
    assertThat(p.guest().kernelArgs()).isEmpty();
    assertThat(p.warning()).contains("MICROPOD_FIRECRACKER_TAP names no TAP device",
        "as with NetworkMode.NONE", "port mapping through the agent works",
        "sudo ip tuntap add dev mp0 mode tap user $USER", "MICROPOD_FIRECRACKER_TAP=mp0", "qemu driver");
  }

  @Test
  void modeNoneGetsNoDeviceAndNoWarning() {
    FirecrackerNetwork.Plan p = new FirecrackerNetwork(sys, USER_1000)
        .plan("pod1", GuestNetworkConfig.NONE, List.of("mp0"), Set.of());

    assertThat(p).isEqualTo(new FirecrackerNetwork.Plan(null, GuestNetworkConfig.NONE, null));
  }

  @Test
  void aMicroPodNetworkIsRefusedWithTheNetworksName() {
    GuestNetworkConfig onNet = new GuestNetworkConfig(true, List.of(
        new GuestNetworkConfig.Nic("backend", "02:6d:70:59:01:02", "10.89.1.2/24", Path.of("/tmp/x/switch.sock"))));

    assertThatThrownBy(() -> new FirecrackerNetwork(sys, USER_1000).plan("pod1", onNet, List.of("mp0"), Set.of()))
        .isInstanceOf(NetworkException.class)
        .hasMessageContaining("pod pod1 cannot join network backend with the firecracker driver")
        .hasMessageContaining("MICROPOD_VMM=qemu")
        .satisfies(e -> assertThat(((NetworkException) e).networkName()).isEqualTo("backend"));
  }
}
