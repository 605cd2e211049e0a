package io.micropod.internal.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micropod.HostUnsupportedException;
import io.micropod.internal.base.RuntimeConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VmmSelectionTest {
  @TempDir
  Path dir;
  Path kvm;
  Path cpuinfo;
  Path bin;
  Map<String, String> env;

  @BeforeEach
  void setUp() throws IOException {
    kvm = Files.writeString(dir.resolve("kvm"), "");
    cpuinfo = Files.writeString(dir.resolve("cpuinfo"), "processor : 0\nflags : fpu vmx sse\n");
    bin = Files.createDirectory(dir.resolve("bin"));
    env = new HashMap<>(Map.of("PATH", bin.toString()));
  }

  private Path firecrackerOnPath() throws IOException {
    Path fc = Files.writeString(bin.resolve("firecracker"), "#!/bin/sh\n");
    Files.setPosixFilePermissions(fc, PosixFilePermissions.fromString("rwx------"));
    return fc;
  }

  private VmmSelection.Choice select(String vmm) {
    return VmmSelection.select(new RuntimeConfig(dir, vmm, null, null, null, null, env), kvm, cpuinfo);
  }

  @Test
  void firecrackerIsChosenWhenKvmIsUsableAndTheBinaryIsOnPath() throws IOException {
    Path fc = firecrackerOnPath();

    VmmSelection.Choice c = select("auto");

    assertThat(c.vmm()).isEqualTo("firecracker");
    assertThat(c.firecrackerBinary()).isEqualTo(fc);
    assertThat(c.rootfsMode()).isEqualTo(RootfsMode.BLOCK);
    assertThat(c.reason()).contains("is usable and the binary was found");
  }

  @Test
  void qemuIsChosenWithoutTheBinaryAndTheReasonSaysSo() {
    VmmSelection.Choice c = select("auto");

    assertThat(c.vmm()).isEqualTo("qemu");
    assertThat(c.rootfsMode()).isEqualTo(RootfsMode.VIRTIOFS);
    assertThat(c.reason()).startsWith("VMM qemu; firecracker not used: no firecracker binary on PATH");
  }

  @Test
  void qemuIsChosenWhenTheCpuHasNoVirtualisationFlag() throws IOException {
    firecrackerOnPath();
    Files.writeString(cpuinfo, "flags : fpu sse\n");

    VmmSelection.Choice c = select("auto");

    assertThat(c.vmm()).isEqualTo("qemu");
    assertThat(c.reason()).contains("no vmx/svm flag");
  }

  @Test
  void theBinaryFromMicropodFirecrackerBinWins() throws IOException {
    Path other = Files.writeString(dir.resolve("fc-1.13"), "");
    Files.setPosixFilePermissions(other, PosixFilePermissions.fromString("rwx------"));
    env.put("MICROPOD_FIRECRACKER_BIN", other.toString());

    assertThat(select("auto").firecrackerBinary()).isEqualTo(other);
  }

  @Test
  void forcedFirecrackerThatCannotRunSaysExactlyWhy() throws IOException {
    Files.delete(kvm);
    env.put("MICROPOD_VMM", "firecracker");

    assertThatThrownBy(() -> select("auto"))
        .isInstanceOfSatisfying(HostUnsupportedException.class, e -> {
          assertThat(e.missing()).hasSize(2);
          assertThat(e.missing().get(0)).startsWith("no firecracker binary on PATH").endsWith(
              "(the firecracker driver was forced by MICROPOD_VMM=firecracker)");
          assertThat(e.missing().get(1)).startsWith("no " + kvm + " (KVM is needed by Firecracker");
        });
  }

  @Test
  void forcedFirecrackerWithAnUnwritableKvmSaysSo() throws IOException {
    firecrackerOnPath();
    Path ro = dir.resolve("ro-kvm");
    Files.writeString(ro, "");
    Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("r--r--r--"));
    kvm = ro;
    // root may write anyway (access(2) ignores the mode bits for root): then there is nothing to refuse
    boolean writable = Files.isWritable(ro);

    if (writable) {
      assertThat(select("firecracker").vmm()).isEqualTo("firecracker");
    } else {
      assertThatThrownBy(() -> select("firecracker"))
          .hasMessageContaining("is not readable and writable by this user")
          .hasMessageContaining("forced by MicroPodRuntime.Builder.vmm(\"firecracker\")");
    }
  }

  @Test
  void forcedQemuIsQemuEvenWhenFirecrackerCouldRun() throws IOException {
    firecrackerOnPath();
    env.put("MICROPOD_ROOTFS", "blk");

    VmmSelection.Choice c = select("qemu");

    assertThat(c.vmm()).isEqualTo("qemu");
    assertThat(c.rootfsMode()).isEqualTo(RootfsMode.BLOCK);
    assertThat(c.reason()).isEqualTo("VMM qemu, forced by MicroPodRuntime.Builder.vmm(\"qemu\"); rootfs as a "
        + "read-only block image (MICROPOD_ROOTFS=blk)");
  }

  @Test
  void unknownValuesAreRefusedWithWhatToUse() {
    env.put("MICROPOD_VMM", "cloud-hypervisor");
    assertThatThrownBy(() -> select("auto")).hasMessageContaining("MICROPOD_VMM=cloud-hypervisor names no VMM driver");
    env.put("MICROPOD_VMM", "auto");
    env.put("MICROPOD_ROOTFS", "nfs");
    assertThatThrownBy(() -> select("auto")).hasMessageContaining("MICROPOD_ROOTFS=nfs names no rootfs mode");
  }

  @Test
  void firecrackersReadinessListsEveryReasonAtOnce() throws IOException {
    RuntimeConfig config = new RuntimeConfig(dir, "auto", null, null, null, null, env);
    Files.writeString(cpuinfo, "flags : fpu sse\n");

    assertThat(VmmSelection.firecrackerProblems(config, kvm, cpuinfo)).hasSize(2)
        .anySatisfy(p -> assertThat(p).startsWith("no firecracker binary on PATH"))
        .anySatisfy(p -> assertThat(p).contains("no vmx/svm flag"));
    assertThat(VmmSelection.firecrackerProblems(config, dir.resolve("no-kvm"), cpuinfo))
        .anySatisfy(p -> assertThat(p).startsWith("no " + dir.resolve("no-kvm")));

    firecrackerOnPath();
    Files.writeString(cpuinfo, "flags : fpu vmx\n");
    assertThat(VmmSelection.firecrackerProblems(config, kvm, cpuinfo)).isEmpty();
  }
}
