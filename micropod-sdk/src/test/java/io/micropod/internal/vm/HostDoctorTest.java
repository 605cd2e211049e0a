package io.micropod.internal.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micropod.HostCheck;
import io.micropod.HostCheck.Status;
import io.micropod.HostReport;
import io.micropod.HostUnsupportedException;
import io.micropod.internal.base.RuntimeConfig;
import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The doctor's report ({@link HostProbe#diagnose}) with fake inputs: device, cpuinfo, PATH, the
 * guest image artifact, command output. Nothing real is probed and nothing boots.
 */
@Timeout(30)
class HostDoctorTest {
  private static final String CPUINFO_VMX = "processor\t: 0\ncpu MHz\t\t: 2596.098\nflags\t\t: fpu vme vmx sse\n";
  private static final String CPUINFO_NO_VIRT = "processor\t: 0\ncpu MHz\t\t: 2596.098\nflags\t\t: fpu vme hypervisor\n";
  private static final String QEMU_VERSION = "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\n"
      + "Copyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers\n";

  @TempDir Path tmp;
  private Path home;
  private Path bin;
  private Path virtiofsd;
  private Path kvm;
  private Path cpuinfo;
  private final Map<String, String> env = new HashMap<>();
  private boolean kvmReadWrite = true;
  private ClassLoader artifact = new URLClassLoader(new URL[0], null); // no micropod-guest jar

  @BeforeEach
  void setUp() throws IOException {
    home = tmp.resolve("home");
    bin = Files.createDirectory(tmp.resolve("bin"));
    executable(bin.resolve("qemu-system-x86_64"));
    virtiofsd = executable(tmp.resolve("virtiofsd"));
    kvm = tmp.resolve("kvm");
    cpuinfo = tmp.resolve("cpuinfo");
    Files.writeString(cpuinfo, CPUINFO_VMX);
    env.put("PATH", "/nonexistent:" + bin);
  }

  private static Path executable(Path p) throws IOException {
    Files.createFile(p);
    p.toFile().setExecutable(true);
    return p;
  }

  private HostProbe probe() {
    RuntimeConfig config = new RuntimeConfig(home, "qemu", null, virtiofsd, null, null, env);
    return new HostProbe(config, "1.2.3", kvm, cpuinfo, () -> true, cmd -> true,
        cmd -> cmd.get(0).endsWith("qemu-system-x86_64") ? QEMU_VERSION : "virtiofsd version 7.2.22 (Debian)\n",
        new GuestImageInstaller(artifact, "1.2.3"), p -> kvmReadWrite);
  }

  private HostReport doctor() {
    HostProbe.Findings f = new HostProbe.Findings();
    probe().diagnose(VmmSelection.QEMU, f);
    return HostReport.of(f.checks());
  }

  private HostCheck check(HostReport r, String name) {
    return r.check(name).orElseThrow(() -> new AssertionError("no check " + name + " in\n" + r));
  }

  /** A guest image installed under the home, with the manifest the installer writes. */
  private Path installedImage(Map<String, String> files) throws Exception {
    Path dir = Files.createDirectories(home.resolve("guest/1.2.3"));
    StringBuilder json = new StringBuilder("{\"version\":\"1.2.3\",\"files\":{");
    String sep = "";
    for (Map.Entry<String, String> f : files.entrySet()) {
      Path p = dir.resolve(f.getKey());
      Files.createDirectories(p.getParent());
      byte[] b = f.getValue().getBytes(StandardCharsets.UTF_8);
      Files.write(p, b);
      p.toFile().setExecutable(true);
      json.append(sep).append('"').append(f.getKey()).append("\":{\"sha256\":\"")
          .append(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b)))
          .append("\",\"size\":").append(b.length).append('}');
      sep = ",";
    }
    Files.writeString(dir.resolve("manifest.json"), json.append("}}"));
    Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwx------"));
    return dir;
  }

  private static Map<String, String> image() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("vmlinux", "kernel");
    m.put("initramfs.cpio", "cpio archive");
    m.put("host/micropod-fsguard", "fsguard");
    m.put("host/libmicropod-netguard.so", "netguard");
    return m;
  }

  @Test
  void noKvmDeviceIsTcgWithTheReasonAndHowToGetKvm() throws Exception {
    installedImage(image());

    HostReport r = doctor();

    HostCheck accel = check(r, HostProbe.CHECK_ACCEL);
    assertThat(accel.status()).isEqualTo(Status.WARN);
    assertThat(accel.detail()).startsWith("TCG (no " + kvm + ")");
    assertThat(accel.fix()).hasValueSatisfying(fix -> assertThat(fix).contains("modprobe kvm_intel"));
    assertThat(r.canStartPods()).as(r.toString()).isTrue();
  }

  @Test
  void anInaccessibleKvmDeviceIsTcgAndNamesThePermission() throws Exception {
    installedImage(image());
    Files.createFile(kvm);
    kvmReadWrite = false;

    HostCheck accel = check(doctor(), HostProbe.CHECK_ACCEL);

    assertThat(accel.status()).isEqualTo(Status.WARN);
    assertThat(accel.detail()).startsWith("TCG (" + kvm + " not accessible to this user)");
    assertThat(accel.fix()).hasValueSatisfying(fix -> assertThat(fix).contains("usermod -aG kvm"));
  }

  @Test
  void aCpuWithoutVmxIsTcgEvenWithAKvmDevice() throws Exception {
    installedImage(image());
    Files.createFile(kvm);
    Files.writeString(cpuinfo, CPUINFO_NO_VIRT);

    HostCheck accel = check(doctor(), HostProbe.CHECK_ACCEL);

    assertThat(accel.status()).isEqualTo(Status.WARN);
    assertThat(accel.detail()).startsWith("TCG (CPU without vmx/svm flags, though " + kvm + " exists)");
    assertThat(accel.fix()).hasValueSatisfying(fix -> assertThat(fix).contains("nested virtualisation"));
  }

  @Test
  void aUsableKvmIsOkAndVersionsAreShown() throws Exception {
    installedImage(image());
    Files.createFile(kvm);

    HostReport r = doctor();

    assertThat(check(r, HostProbe.CHECK_ACCEL)).isEqualTo(HostCheck.ok(HostProbe.CHECK_ACCEL, "KVM (" + kvm + ")"));
    assertThat(check(r, HostProbe.CHECK_QEMU).detail())
        .isEqualTo(bin.resolve("qemu-system-x86_64") + ", version 7.2.22");
    assertThat(check(r, HostProbe.CHECK_VIRTIOFSD).detail()).isEqualTo(virtiofsd + ", version 7.2.22");
    assertThat(r.problems()).as(r.toString()).isEmpty();
    assertThat(r.checks()).extracting(HostCheck::name).contains(HostProbe.CHECK_NAT, HostProbe.CHECK_PORTS,
        HostProbe.CHECK_POD_NETWORKS, HostProbe.FSGUARD_NAME, HostProbe.NETGUARD, HostProbe.CHECK_HOME);
  }

  @Test
  void withoutQemuOnPathNoPodCanStartAndTheFixIsTheSetupHostPackage() throws Exception {
    installedImage(image());
    env.put("PATH", "/nonexistent");

    HostReport r = doctor();

    HostCheck qemu = check(r, HostProbe.CHECK_QEMU);
    assertThat(qemu.status()).isEqualTo(Status.MISSING);
    assertThat(qemu.detail()).contains("qemu-system-x86_64 binary not found on PATH (/nonexistent)");
    assertThat(qemu.fix()).hasValueSatisfying(fix -> assertThat(fix).startsWith("apt-get install qemu-system-x86"));
    assertThat(r.canStartPods()).isFalse();
    assertThat(r.problems().get(0)).isEqualTo(qemu);
  }

  @Test
  void doctorAndStartApplyTheSameRules() throws Exception {
    env.put("PATH", "/nonexistent");
    env.put("MICROPOD_QEMU_MACHINE", "pc");
    Files.createDirectories(home.resolve("guest/1.2.3")); // no kernel, no initramfs

    HostReport r = doctor();

    assertThatThrownBy(() -> probe().probe())
        .isInstanceOfSatisfying(HostUnsupportedException.class, e -> assertThat(e.missing())
            .containsExactlyElementsOf(r.checks().stream().filter(c -> c.status() == Status.MISSING)
                .map(HostCheck::detail).toList())
            .hasSize(4));
  }

  @Test
  void anImageNotInstalledYetIsInstallableAndTheDoctorWritesNothing() throws Exception {
    artifact = fakeArtifact(image());

    HostReport r = doctor();

    HostCheck guest = check(r, HostProbe.CHECK_GUEST_IMAGE);
    assertThat(guest.status()).isEqualTo(Status.OK);
    assertThat(guest.detail()).contains("not installed yet")
        .contains("io.micropod:micropod-guest:1.2.3:linux-x86_64").contains("4 files");
    assertThat(check(r, HostProbe.FSGUARD_NAME).status()).isEqualTo(Status.OK);
    assertThat(check(r, HostProbe.CHECK_HOME).detail()).contains("does not exist yet");
    assertThat(r.canStartPods()).as(r.toString()).isTrue();
    assertThat(home).doesNotExist();
  }

  @Test
  void noImageAndNoArtifactIsMissingWithTheDependencyToAdd() {
    HostReport r = doctor();

    HostCheck guest = check(r, HostProbe.CHECK_GUEST_IMAGE);
    assertThat(guest.status()).isEqualTo(Status.MISSING);
    assertThat(guest.detail()).contains("no guest image for SDK 1.2.3 on the classpath");
    assertThat(guest.fix()).hasValueSatisfying(f -> assertThat(f).contains("io.micropod:micropod-guest:1.2.3"));
    assertThat(r.canStartPods()).isFalse();
  }

  @Test
  void aTamperedImageFailsItsManifestSha256() throws Exception {
    Path dir = installedImage(image());
    Files.writeString(dir.resolve("initramfs.cpio"), "cpio archive, changed");

    HostCheck guest = check(doctor(), HostProbe.CHECK_GUEST_IMAGE);

    assertThat(guest.status()).isEqualTo(Status.WARN);
    assertThat(guest.detail()).contains("initramfs.cpio has sha256").contains("manifest.json says");
    assertThat(guest.fix()).hasValueSatisfying(f -> assertThat(f).startsWith("rm -rf " + dir));
  }

  @Test
  void anImageWithoutHostHelpersWarnsAboutMountsAndNat() throws Exception {
    Map<String, String> files = image();
    files.remove("host/micropod-fsguard");
    files.remove("host/libmicropod-netguard.so");
    installedImage(files);

    HostReport r = doctor();

    assertThat(check(r, HostProbe.FSGUARD_NAME).status()).isEqualTo(Status.WARN);
    assertThat(check(r, HostProbe.FSGUARD_NAME).detail()).contains("read-write mounts refuse to start");
    assertThat(check(r, HostProbe.CHECK_NAT).status()).isEqualTo(Status.WARN);
    assertThat(r.canStartPods()).isTrue();
  }

  @Test
  void aHomeOthersCanReadIsAWarningWithChmod() throws Exception {
    installedImage(image());
    Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwxr-xr-x"));

    HostCheck h = check(doctor(), HostProbe.CHECK_HOME);

    assertThat(h.status()).isEqualTo(Status.WARN);
    assertThat(h.detail()).contains("rwxr-xr-x");
    assertThat(h.fix()).contains("chmod 700 " + home);
  }

  @Test
  void versionsAreReadFromTheFirstLine() {
    assertThat(HostProbe.parseVersion(QEMU_VERSION)).isEqualTo("7.2.22");
    assertThat(HostProbe.parseVersion("virtiofsd 1.10.1\n")).isEqualTo("1.10.1");
    assertThat(HostProbe.parseVersion("")).isNull();
    assertThat(HostProbe.parseVersion(null)).isNull();
  }

  private ClassLoader fakeArtifact(Map<String, String> files) throws Exception {
    Path res = tmp.resolve("res");
    Path root = res.resolve(GuestImageInstaller.RESOURCE_ROOT);
    StringBuilder json = new StringBuilder("{\"version\":\"1.2.3\",\"files\":{");
    String sep = "";
    for (Map.Entry<String, String> f : files.entrySet()) {
      Path p = root.resolve(f.getKey());
      Files.createDirectories(p.getParent());
      byte[] b = f.getValue().getBytes(StandardCharsets.UTF_8);
      Files.write(p, b);
      json.append(sep).append('"').append(f.getKey()).append("\":{\"sha256\":\"")
          .append(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b)))
          .append("\",\"size\":").append(b.length).append('}');
      sep = ",";
    }
    Files.writeString(root.resolve("manifest.json"), json.append("}}"));
    return new URLClassLoader(new URL[] {res.toUri().toURL()}, null);
  }
}
