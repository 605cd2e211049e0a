package io.micropod.internal.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micropod.HostUnsupportedException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** QEMU's network guard and seccomp sandbox on the command line and in QEMU's environment. */
@Timeout(10)
class NetguardTest {
  private static final QemuCommandLine.Paths PATHS = new QemuCommandLine.Paths(
      Path.of("/p/console.log"), Path.of("/tmp/m/agent.sock"), Path.of("/tmp/m/virtiofs.sock"));
  private static final Path GUARD = Path.of("/g/host/libmicropod-netguard.so");

  private static HostCapabilities host(Path netguard) {
    return new HostCapabilities(Path.of("/usr/bin/qemu-system-x86_64"), Path.of("/usr/lib/qemu/virtiofsd"),
        List.of(), Path.of("/g/vmlinux"), Path.of("/g/initramfs.cpio"), Accel.TCG, "test", Machine.MICROVM,
        0, true, "", null, netguard);
  }

  @Test
  void aNatPodGetsTheGuardPreloadedWithItsExposedPorts() {
    var env = QemuDriver.netguardEnv(host(GUARD), new GuestNetworkConfig(true, List.of(), List.of(5432, 8080)));

    assertThat(env).containsEntry("LD_PRELOAD", GUARD.toString())
        .containsEntry("MICROPOD_NETGUARD_HOST_PORTS", "5432,8080");
  }

  @Test
  void aNatPodsGuardFindsItsEgressRulesInTheSocketDirectoryEvenWithoutRules() {
    var env = QemuDriver.netguardEnv(host(GUARD), new GuestNetworkConfig(true, List.of()), Path.of("/tmp/micropod-p1"));

    assertThat(env).containsEntry("MICROPOD_NETGUARD_DIR", "/tmp/micropod-p1");
  }

  @Test
  void aNatPodWithNoExposedPortGetsTheGuardWithAnEmptyList() {
    var env = QemuDriver.netguardEnv(host(GUARD), new GuestNetworkConfig(true, List.of()));

    assertThat(env).containsEntry("LD_PRELOAD", GUARD.toString()).containsEntry("MICROPOD_NETGUARD_HOST_PORTS", "");
  }

  @Test
  void aNatPodWithoutTheGuardFailsClosedSayingHowToFixIt() {
    assertThatThrownBy(() -> QemuDriver.netguardEnv(host(null), new GuestNetworkConfig(true, List.of())))
        .isInstanceOf(HostUnsupportedException.class)
        .hasMessageContaining("libmicropod-netguard.so")
        .hasMessageContaining("reinstall the guest image")
        .hasMessageContaining("NetworkMode.NONE");
  }

  @Test
  void aPodWithoutNatNeedsNoGuard() {
    assertThat(QemuDriver.netguardEnv(host(null), GuestNetworkConfig.NONE)).isEmpty();
  }

  @Test
  void qemuRunsUnderItsSeccompSandboxWithEverythingDenied() {
    List<String> args = QemuCommandLine.build(host(GUARD), 512, 1, PATHS, false);

    assertThat(args).containsSequence("-sandbox",
        "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
  }
}
