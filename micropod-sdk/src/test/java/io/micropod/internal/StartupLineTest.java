package io.micropod.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.internal.base.RuntimeConfig;
import io.micropod.internal.vm.GuestImageInstaller;
import io.micropod.internal.vm.HostCapabilities;
import io.micropod.internal.vm.HostProbe;
import io.micropod.internal.vm.VmmSelection;
import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The one INFO line of a runtime's first start (RuntimeServices.startupLine) from a fake host. */
@Timeout(30)
class StartupLineTest {
  @TempDir Path tmp;
  private Path home;
  private Path kvm;
  private Path cpuinfo;
  private Path virtiofsd;
  private final Map<String, String> env = new HashMap<>();

  @BeforeEach
  void setUp() throws IOException {
    home = tmp.resolve("home");
    Path bin = Files.createDirectory(tmp.resolve("bin"));
    Files.createFile(bin.resolve("qemu-system-x86_64")).toFile().setExecutable(true);
    virtiofsd = Files.createFile(tmp.resolve("virtiofsd"));
    virtiofsd.toFile().setExecutable(true);
    Path guest = Files.createDirectories(home.resolve("guest/1.2.3"));
    Files.createDirectories(guest.resolve("host"));
    Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwx------"));
    Files.createFile(guest.resolve("vmlinux"));
    Files.createFile(guest.resolve("initramfs.cpio"));
    for (String helper : new String[] {HostProbe.FSGUARD_NAME, HostProbe.NETGUARD}) {
      Files.createFile(guest.resolve("host").resolve(helper)).toFile().setExecutable(true);
    }
    kvm = tmp.resolve("kvm");
    cpuinfo = Files.writeString(tmp.resolve("cpuinfo"), "flags\t\t: fpu vme vmx\n");
    env.put("PATH", bin.toString());
  }

  private String line() {
    RuntimeConfig config = new RuntimeConfig(home, "qemu", null, virtiofsd, null, null, env);
    HostProbe probe = new HostProbe(config, "1.2.3", kvm, cpuinfo, () -> true, c -> true,
        c -> "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\n",
        new GuestImageInstaller(new URLClassLoader(new URL[0], null), "1.2.3"), p -> true);
    HostProbe.Findings f = new HostProbe.Findings();
    HostCapabilities h = probe.probe(VmmSelection.QEMU, f);
    return RuntimeServices.startupLine("1.2.3", false, h, f);
  }

  @Test
  void tcgIsOneLineWithTheReasonAndPointsAtDoctor() {
    assertThat(line()).isEqualTo("MicroPod 1.2.3: qemu 7.2.22 with TCG (no " + kvm + "), guest image "
        + home.resolve("guest/1.2.3") + "; degraded (accelerator): run `micropod doctor` for details and fixes");
  }

  @Test
  void aHealthyHostHasNoPointer() throws IOException {
    Files.createFile(kvm);

    assertThat(line()).isEqualTo("MicroPod 1.2.3: qemu 7.2.22 with KVM, guest image " + home.resolve("guest/1.2.3"));
  }

  @Test
  void everyDegradedCheckIsNamed() throws IOException {
    Files.delete(home.resolve("guest/1.2.3/host").resolve(HostProbe.NETGUARD));

    assertThat(line()).contains("; degraded (accelerator, " + HostProbe.NETGUARD + "): run `micropod doctor`")
        .doesNotContain("\n").doesNotContain(env.get("PATH"));
  }
}
