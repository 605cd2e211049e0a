package io.micropod.internal.vm;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class QemuNetdevTest {
  private static final QemuCommandLine.Paths PATHS = new QemuCommandLine.Paths(
      Path.of("/p/console.log"), Path.of("/tmp/m/agent.sock"), Path.of("/tmp/m/virtiofs.sock"));
  private static final GuestNetworkConfig.Nic NIC = new GuestNetworkConfig.Nic("backend",
      "02:6d:70:59:01:02", "10.89.1.2/24", Path.of("/tmp/micropod-net-x/switch.sock"));

  @Test
  void natAndANetworkGiveAUserNetdevAndAStreamClientOfTheSwitch() {
    List<String> args = QemuCommandLine.build(QemuCommandLineTest.host(Accel.TCG, Machine.MICROVM, 0),
        512, 1, PATHS, false, new GuestNetworkConfig(true, List.of(NIC)));

    assertThat(args).containsSequence("-netdev",
            "user,id=nat,net=10.0.2.0/24,host=10.0.2.2,dns=10.0.2.3,ipv6=off",
            "-device", "virtio-net-device,netdev=nat,mac=02:6d:70:00:00:01")
        .containsSequence("-netdev",
            "stream,id=net0,server=off,addr.type=unix,addr.path=/tmp/micropod-net-x/switch.sock",
            "-device", "virtio-net-device,netdev=net0,mac=02:6d:70:59:01:02");
    assertThat(args.get(args.indexOf("-append") + 1)).endsWith(" micropod.debug=0"
        + " micropod.nic=02:6d:70:00:00:01,10.0.2.15/24,10.0.2.2 micropod.nic=02:6d:70:59:01:02,10.89.1.2/24");
    assertThat(String.join(" ", args)).doesNotContain("hostfwd");
  }

  @Test
  void noneHasNoNetworkDeviceAndNoNicKey() {
    List<String> args = QemuCommandLine.build(QemuCommandLineTest.host(Accel.TCG, Machine.MICROVM, 0),
        512, 1, PATHS, false, GuestNetworkConfig.NONE);

    assertThat(args).doesNotContain("-netdev");
    assertThat(String.join(" ", args)).doesNotContain("virtio-net").doesNotContain("micropod.nic");
  }

  @Test
  void q35UsesPciNetworkDevices() {
    List<String> args = QemuCommandLine.build(QemuCommandLineTest.host(Accel.TCG, Machine.Q35, 0),
        512, 1, PATHS, false, new GuestNetworkConfig(true, List.of(NIC)));

    assertThat(args).contains("virtio-net-pci,netdev=nat,mac=02:6d:70:00:00:01",
        "virtio-net-pci,netdev=net0,mac=02:6d:70:59:01:02");
  }

  @Test
  void publishedPortsOfADetachedPodBecomeLoopbackHostForwardsOfTheNat() {
    GuestNetworkConfig network = new GuestNetworkConfig(true, List.of(), List.of(),
        List.of(new GuestNetworkConfig.HostForward(28080, 80), new GuestNetworkConfig.HostForward(25432, 5432)));
    List<String> args = QemuCommandLine.build(QemuCommandLineTest.host(Accel.TCG, Machine.MICROVM, 0),
        512, 1, PATHS, false, network);

    assertThat(args).containsSequence("-netdev",
        "user,id=nat,net=10.0.2.0/24,host=10.0.2.2,dns=10.0.2.3,ipv6=off"
            + ",hostfwd=tcp:127.0.0.1:28080-10.0.2.15:80,hostfwd=tcp:127.0.0.1:25432-10.0.2.15:5432");
  }

  @Test
  void hostForwardsWithoutTheNatAreRefused() {
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> new GuestNetworkConfig(false, List.of(),
            List.of(), List.of(new GuestNetworkConfig.HostForward(28080, 80))))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("need the NAT device");
  }
}
