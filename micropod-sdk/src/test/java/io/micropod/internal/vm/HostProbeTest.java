package io.micropod.internal.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micropod.HostUnsupportedException;
import io.micropod.internal.base.RuntimeConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HostProbeTest {
  private static final String CPUINFO_VMX = "processor\t: 0\ncpu MHz\t\t: 2596.098\nflags\t\t: fpu vme vmx sse\n";
  private static final String CPUINFO_NO_VIRT = "processor\t: 0\ncpu MHz\t\t: 2596.098\nflags\t\t: fpu vme hypervisor\n";

  @TempDir Path tmp;
  private Path home;
  private Path bin;
  private Path qemu;
  private Path virtiofsd;
  private Path kvm;
  private Path cpuinfo;
  private final Map<String, String> env = new HashMap<>();
  private final List<List<String>> commandsRun = new ArrayList<>();
  private boolean root = true;
  private boolean unshareWorks = true;

  @BeforeEach
  void setUp() throws IOException {
    home = tmp.resolve("home");
    bin = Files.createDirectory(tmp.resolve("bin"));
    qemu = executable(bin.resolve("qemu-system-x86_64"));
    virtiofsd = executable(tmp.resolve("virtiofsd"));
    kvm = tmp.resolve("kvm");
    cpuinfo = tmp.resolve("cpuinfo");
    Files.writeString(cpuinfo, CPUINFO_VMX);
    Path guest = Files.createDirectories(home.resolve("guest/1.2.3"));
    Files.createFile(guest.resolve("vmlinux"));
    Files.createFile(guest.resolve("initramfs.cpio"));
    env.put("PATH", "/nonexistent:" + bin);
  }

  private static Path executable(Path p) throws IOException {
    Files.createFile(p);
    p.toFile().setExecutable(true);
    return p;
  }

  private HostProbe probe() {
    return probe(null);
  }

  private HostProbe probe(Path qemuOverride) {
    RuntimeConfig config = new RuntimeConfig(home, "qemu", qemuOverride, virtiofsd, null, null, env);
    return new HostProbe(config, "1.2.3", kvm, cpuinfo, () -> root, cmd -> {
      commandsRun.add(cmd);
      return unshareWorks;
    });
  }

  @Test
  void findsEverythingOnAWorkingHost() {
    HostCapabilities h = probe().probe();

    assertThat(h.qemuBinary()).isEqualTo(qemu);
    assertThat(h.virtiofsd()).isEqualTo(virtiofsd);
    assertThat(h.virtiofsdWrapper()).isEmpty();
    assertThat(h.kernel()).isEqualTo(home.resolve("guest/1.2.3/vmlinux"));
    assertThat(h.initramfs()).isEqualTo(home.resolve("guest/1.2.3/initramfs.cpio"));
    assertThat(h.machine()).isEqualTo(Machine.MICROVM);
    assertThat(h.tscKhz()).isEqualTo(2596098);
    assertThat(commandsRun).isEmpty();
  }

  @Test
  void missingQemuGuestKernelAndInitramfsAreAllNamedAtOnce() throws IOException {
    env.put("PATH", "/nonexistent");
    Files.delete(home.resolve("guest/1.2.3/vmlinux"));
    Files.delete(home.resolve("guest/1.2.3/initramfs.cpio"));

    assertThatThrownBy(() -> probe().probe())
        .isInstanceOfSatisfying(HostUnsupportedException.class, e -> {
          assertThat(e.missing()).hasSize(3);
          assertThat(e.missing().get(0)).contains("qemu-system-x86_64 binary not found on PATH (/nonexistent)")
              .contains("apt-get install qemu-system-x86");
          assertThat(e.missing().get(1)).contains("guest kernel not found at " + home.resolve("guest/1.2.3/vmlinux"))
              .contains("run `mvn -pl rootfs-builder -am install`").contains("MICROPOD_KERNEL_PATH");
          assertThat(e.missing().get(2)).contains(home.resolve("guest/1.2.3/initramfs.cpio").toString())
              .contains("MICROPOD_AGENT_ROOTFS");
        });
  }

  @Test
  void qemuOverrideThatDoesNotExistIsNamed() {
    assertThatThrownBy(() -> probe(tmp.resolve("custom/qemu")).probe())
        .isInstanceOf(HostUnsupportedException.class)
        .hasMessageContaining(tmp.resolve("custom/qemu").toString())
        .hasMessageContaining("qemuBinary");
  }

  @Test
  void missingVirtiofsdSaysWhichPackageShipsIt() throws IOException {
    Files.delete(virtiofsd);

    assertThatThrownBy(() -> probe().probe())
        .isInstanceOf(HostUnsupportedException.class)
        .hasMessageContaining("virtiofsd not found").hasMessageContaining("qemu-system-common");
  }

  @Test
  void environmentOverridesTheGuestImage() throws IOException {
    Path kernel = Files.createFile(tmp.resolve("bzImage"));
    Path initrd = Files.createFile(tmp.resolve("rootfs.cpio"));
    env.put("MICROPOD_KERNEL_PATH", kernel.toString());
    env.put("MICROPOD_AGENT_ROOTFS", initrd.toString());

    HostCapabilities h = probe().probe();

    assertThat(h.kernel()).isEqualTo(kernel);
    assertThat(h.initramfs()).isEqualTo(initrd);
  }

  @Test
  void theSystemImageBesideTheInitramfsIsAttachedElseTheInstalledOne() throws IOException {
    assertThat(probe().probe().systemImage()).isNull();
    Path installed = Files.createFile(home.resolve("guest/1.2.3/system.img"));
    assertThat(probe().probe().systemImage()).isEqualTo(installed);

    Path initrd = Files.createFile(tmp.resolve("modified.cpio"));
    env.put("MICROPOD_AGENT_ROOTFS", initrd.toString());
    assertThat(probe().probe().systemImage()).isEqualTo(installed);

    Path beside = Files.createFile(tmp.resolve("system.img"));
    assertThat(probe().probe().systemImage()).isEqualTo(beside);
  }

  @Test
  void fallsBackToVmlinuzWhenThereIsNoVmlinux() throws IOException {
    Files.delete(home.resolve("guest/1.2.3/vmlinux"));
    Files.createFile(home.resolve("guest/1.2.3/vmlinuz"));

    assertThat(probe().probe().kernel()).isEqualTo(home.resolve("guest/1.2.3/vmlinuz"));
  }

  @Test
  void tcgWhenKvmDeviceIsMissing() {
    HostCapabilities h = probe().probe();

    assertThat(h.accel()).isEqualTo(Accel.TCG);
    assertThat(h.accelReason()).isEqualTo(kvm + " not found: using TCG software emulation, expect seconds per boot");
  }

  @Test
  void kvmWhenTheDeviceIsUsableAndTheCpuHasVirtualisation() throws IOException {
    Files.createFile(kvm);

    assertThat(probe().probe().accel()).isEqualTo(Accel.KVM);
  }

  @Test
  void tcgWhenTheCpuReportsNoVirtualisationEvenIfTheDeviceOpens() throws IOException {
    Files.createFile(kvm);
    Files.writeString(cpuinfo, CPUINFO_NO_VIRT);

    HostCapabilities h = probe().probe();

    assertThat(h.accel()).isEqualTo(Accel.TCG);
    assertThat(h.accelReason()).contains("no vmx/svm").contains("TCG");
  }

  @Test
  void accelCanBeForced() throws IOException {
    Files.createFile(kvm);
    env.put("MICROPOD_ACCEL", "tcg");
    assertThat(probe().probe().accel()).isEqualTo(Accel.TCG);

    env.put("MICROPOD_ACCEL", "kvm");
    Files.writeString(cpuinfo, CPUINFO_NO_VIRT);
    assertThat(probe().probe().accel()).isEqualTo(Accel.KVM);
  }

  @Test
  void q35ComesFromTheEnvironmentAndNonsenseIsRejected() {
    env.put("MICROPOD_QEMU_MACHINE", "q35");
    assertThat(probe().probe().machine()).isEqualTo(Machine.Q35);

    env.put("MICROPOD_QEMU_MACHINE", "pc");
    assertThatThrownBy(() -> probe().probe())
        .isInstanceOf(HostUnsupportedException.class).hasMessageContaining("MICROPOD_QEMU_MACHINE=pc");
  }

  @Test
  void theOciRuntimeComesFromTheEnvironmentAndNonsenseIsRejected() {
    assertThat(probe().probe().ociRuntime()).isEmpty();

    env.put("MICROPOD_OCI_RUNTIME", "runc");
    assertThat(probe().probe().ociRuntime()).isEqualTo("runc");
    env.put("MICROPOD_OCI_RUNTIME", " crun ");
    assertThat(probe().probe().ociRuntime()).isEqualTo("crun");

    env.put("MICROPOD_OCI_RUNTIME", "youki");
    assertThatThrownBy(() -> probe().probe())
        .isInstanceOf(HostUnsupportedException.class)
        .hasMessageContaining("MICROPOD_OCI_RUNTIME=youki is neither crun nor runc");
  }

  @Test
  void nonRootWrapsVirtiofsdInAUserNamespaceWhenThatWorks() {
    root = false;

    HostCapabilities h = probe().probe();

    assertThat(h.virtiofsdWrapper()).isEqualTo(HostProbe.UNSHARE)
        .startsWith("unshare", "--map-root-user", "--mount");
    List<String> probe = new java.util.ArrayList<>(HostProbe.UNSHARE);
    probe.add("true");
    assertThat(commandsRun).containsExactly(probe);
  }

  @Test
  void nonRootWithoutUserNamespacesIsUnsupported() {
    root = false;
    unshareWorks = false;

    assertThatThrownBy(() -> probe().probe())
        .isInstanceOf(HostUnsupportedException.class)
        .hasMessageContaining("permission to run virtiofsd").hasMessageContaining("unshare --map-root-user");
  }

  @Test
  void tscFrequencyIsReadFromCpuMhz() {
    assertThat(HostProbe.tscKhz(CPUINFO_VMX)).isEqualTo(2596098);
    assertThat(HostProbe.tscKhz("flags: fpu\n")).isZero();
  }

  @Test
  void unwritableHomeIsNamed() throws IOException {
    Path file = Files.createFile(tmp.resolve("not-a-dir"));
    RuntimeConfig config = new RuntimeConfig(file.resolve("home"), "qemu", qemu, virtiofsd,
        qemu, qemu, env);

    assertThatThrownBy(() -> new HostProbe(config, "1.2.3", kvm, cpuinfo, () -> true, c -> true).probe())
        .isInstanceOf(HostUnsupportedException.class)
        .hasMessageContaining(file.resolve("home").toString()).hasMessageContaining("MICROPOD_HOME");
  }
}
