package io.micropod.internal.vm.firecracker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.micropod.HostUnsupportedException;
import io.micropod.internal.base.RuntimeConfig;
import io.micropod.internal.image.BlockImages;
import io.micropod.internal.transport.HybridVsockConnector;
import io.micropod.internal.vm.Accel;
import io.micropod.internal.vm.HostCapabilities;
import io.micropod.internal.vm.Machine;
import io.micropod.internal.vm.VmConfig;
import io.micropod.internal.vm.VmmUser;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The jailed Firecracker's argv and chroot layout, to the jailer's documented contract
 * (Firecracker 1.16 {@code docs/jailer.md}). No jailer or Firecracker runs here (no KVM); what a
 * real one does with this has never been seen.
 */
class JailTest {
  @TempDir Path tmp;

  private static final int UID = VmmUser.POD_BASE + 5;

  private VmConfig config() throws Exception {
    Path kernel = Files.write(tmp.resolve("vmlinux"), new byte[] {0x7f, 'E', 'L', 'F'});
    Path initramfs = Files.writeString(tmp.resolve("initramfs.cpio"), "cpio");
    HostCapabilities host = new HostCapabilities(null, null, List.of(), kernel, initramfs, Accel.KVM, "test",
        Machine.MICROVM, 0, true);
    return new VmConfig("0123abcd4567", 256, 2, host, Files.createDirectory(tmp.resolve("pod")),
        Files.createDirectory(tmp.resolve("s")), false);
  }

  private FirecrackerDriver driver() {
    return new FirecrackerDriver(Path.of("/opt/fc/firecracker"), new BlockImages(tmp, null),
        new FirecrackerDriver.Options(true, null, HybridVsockConnector.Timeouts.DEFAULT,
            new FirecrackerDriver.Jailer(Path.of("/opt/fc/jailer"), tmp.resolve("home/jailer"), 2)));
  }

  @Test
  void asRootFirecrackerStartsThroughTheJailerAsThePodsUidWithTheApiSocketInsideTheJail() throws Exception {
    assumeTrue(VmmUser.runningAsRoot(), "laying out the jail chowns to the pod's uid: needs root (CI runs as root)");
    Path image = Files.writeString(tmp.resolve("image.ext4"), "ext4");
    FirecrackerDriver driver = driver();

    Jail jail = driver.jail(config(), image, UID);

    assertThat(driver.jailedCommand(jail)).containsExactly("/opt/fc/jailer", "--id", "0123abcd4567",
        "--exec-file", "/opt/fc/firecracker", "--uid", Integer.toString(UID), "--gid", Integer.toString(UID),
        "--chroot-base-dir", tmp.resolve("home/jailer").toString(), "--cgroup-version", "2",
        "--", "--api-sock", "/run/firecracker.socket", "--enable-pci");
    Path root = tmp.resolve("home/jailer/firecracker/0123abcd4567/root");
    assertThat(jail.command().chrootRoot()).isEqualTo(root);
    FirecrackerDriver.Placement at = FirecrackerDriver.Placement.jailed(jail, false);
    assertThat(at.apiSocket()).isEqualTo(root.resolve("run/firecracker.socket"));
    assertThat(List.of(at.kernel(), at.initramfs(), at.rootfs(), at.vsock(), at.log(), at.metrics()))
        .as("what Firecracker is told in its API calls: paths inside its chroot")
        .containsExactly(Path.of("/vmlinux"), Path.of("/initramfs.cpio"), Path.of("/rootfs.ext4"),
            Path.of("/vsock.sock"), Path.of("/firecracker.log"), Path.of("/firecracker-metrics.json"));
    assertThat(at.vsockOnHost()).isEqualTo(root.resolve("vsock.sock"));
    assertThat(at.logOnHost()).isEqualTo(root.resolve("firecracker.log"));
  }

  @Test
  void theChrootHoldsHardLinksOfTheVmsFilesAndARunDirectoryAndLogsOnlyThePodsUidOwns() throws Exception {
    assumeTrue(VmmUser.runningAsRoot(), "laying out the jail chowns to the pod's uid: needs root (CI runs as root)");
    Path image = Files.writeString(tmp.resolve("image.ext4"), "ext4");
    Files.setPosixFilePermissions(image, PosixFilePermissions.fromString("r--r--r--"));
    VmConfig config = config();

    Jail jail = driver().jail(config, image, UID);

    Path root = jail.command().chrootRoot();
    assertThat(Files.getPosixFilePermissions(root)).isEqualTo(PosixFilePermissions.fromString("rwx------"));
    assertThat(Files.getPosixFilePermissions(jail.command().chrootBaseDir()))
        .isEqualTo(PosixFilePermissions.fromString("rwx------"));
    for (String[] f : new String[][] {{"vmlinux", config.host().kernel().toString()},
        {"initramfs.cpio", config.host().initramfs().toString()}, {"rootfs.ext4", image.toString()}}) {
      assertThat(Files.isSameFile(root.resolve(f[0]), Path.of(f[1]))).as("%s is a hard link", f[0]).isTrue();
      assertThat(Files.getAttribute(root.resolve(f[0]), "unix:uid")).as("%s stays root's", f[0]).isEqualTo(0);
    }
    for (String f : List.of("run", "firecracker.log", "firecracker-metrics.json")) {
      assertThat(Files.getAttribute(root.resolve(f), "unix:uid")).as(f).isEqualTo(UID);
      assertThat(Files.getAttribute(root.resolve(f), "unix:gid")).as(f).isEqualTo(UID);
    }
    assertThat(Files.getPosixFilePermissions(root.resolve("run"))).isEqualTo(PosixFilePermissions.fromString("rwx------"));
    assertThatThrownBy(() -> driver().jail(config, image, UID)).as("one jail per id")
        .isInstanceOf(FileAlreadyExistsException.class);

    jail.delete();

    assertThat(root.getParent()).doesNotExist();
    assertThat(image).as("the sources of the links stay").exists();
  }

  /**
   * A STAND-IN jailer (drops to {@code --uid}/{@code --gid} with setpriv and execs
   * {@code --exec-file}, as the real one does after its chroot) and a stand-in Firecracker that
   * prints on its stdout, floods it and sleeps, spawned with the driver's command line under a
   * stand-in JVM (a shell that spawns it with {@code setpriv --pdeathsig SIGKILL} as
   * {@code ManagedProcess} does). SIGKILLing that "JVM" kills the dropped Firecracker too: the
   * uid change cleared its death signal, its PID namespace's init did not. Before, it lived on.
   * Its console goes through the capper: cap plus marker. No real jailer ran.
   */
  @Test
  @org.junit.jupiter.api.Timeout(60)
  void aJailedFirecrackerDiesWithASigkilledJvmAndItsConsoleLogIsCapped() throws Exception {
    assumeTrue(VmmUser.runningAsRoot(), "the jailed path runs only as root (CI runs as root)");
    String sleep = "sleep " + (600 + new java.util.Random().nextInt(300));
    Path bin = Files.createDirectories(tmp.resolve("fc"));
    Path firecracker = Files.writeString(bin.resolve("firecracker"), "#!/bin/sh\nprintf early\n"
        + "head -c 3000000 /dev/zero | tr '\\0' x\nexec " + sleep + "\n");
    Path jailer = Files.writeString(bin.resolve("jailer"), "#!/bin/sh\n"
        + "while [ $# -gt 0 ]; do case $1 in --uid) u=$2; shift 2;; --gid) g=$2; shift 2;;"
        + " --exec-file) f=$2; shift 2;; --) shift; break;; *) shift 2;; esac; done\n"
        + "exec setpriv --reuid=$u --regid=$g --clear-groups \"$f\" --id stand-in \"$@\"\n");
    for (Path p : List.of(firecracker, jailer, bin, tmp)) {
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    FirecrackerDriver driver = new FirecrackerDriver(firecracker, new BlockImages(tmp, null),
        new FirecrackerDriver.Options(true, null, HybridVsockConnector.Timeouts.DEFAULT,
            new FirecrackerDriver.Jailer(jailer, tmp.resolve("home/jailer"), 2), 1000));
    VmConfig config = config();
    VmmUser user = VmmUser.forPod(config.podId(), config.host(), config.network());
    Jail jail = driver.jail(config, Files.writeString(tmp.resolve("image.ext4"), "ext4"), user.uid());
    List<String> vmm = new java.util.ArrayList<>(List.of("sh", "-c", "\"$@\" & wait", "stand-in-jvm",
        "setpriv", "--pdeathsig", "SIGKILL"));
    vmm.addAll(driver.launchCommand(config, driver.jailedCommand(jail), user));
    Process jvm = new ProcessBuilder(vmm).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    try {
      String marker = "\n[micropod: console log truncated after 1000 bytes]\n";
      java.util.function.Supplier<List<ProcessHandle>> fc = () -> fc(sleep);
      long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(20);
      while ((fc.get().isEmpty() || Files.size(config.consoleLog()) < 1000 + marker.length())
          && System.nanoTime() < deadline) {
        java.util.concurrent.locks.LockSupport.parkNanos(java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(20));
      }
      assertThat(fc.get()).as("the stand-in Firecracker runs").hasSize(1);
      assertThat(Files.readString(config.consoleLog())).isEqualTo("early" + "x".repeat(995) + marker);
      assertThat(Files.getAttribute(Path.of("/proc/" + fc.get().get(0).pid()), "unix:uid")).isEqualTo(user.uid());

      jvm.destroyForcibly();

      while (!fc.get().isEmpty() && System.nanoTime() < deadline) {
        java.util.concurrent.locks.LockSupport.parkNanos(java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(20));
      }
      assertThat(fc.get()).as("the jailed Firecracker died with the JVM").isEmpty();
    } finally {
      jvm.destroyForcibly();
      fc(sleep).forEach(ProcessHandle::destroyForcibly);
    }
  }

  /** The stand-in Firecracker once it execs {@code sleep}. */
  private static List<ProcessHandle> fc(String sleep) {
    return ProcessHandle.allProcesses().filter(p -> p.info().commandLine().orElse("").endsWith(sleep)).toList();
  }

  @Test
  void asRootAFirecrackerWithoutAJailerIsRefusedSayingWhatToInstall() throws Exception {
    assumeTrue(VmmUser.runningAsRoot(), "the jailer is required only as root (CI runs as root)");
    Path fc = Files.createDirectories(tmp.resolve("bin")).resolve("firecracker");
    RuntimeConfig config = new RuntimeConfig(tmp.resolve("home"), "firecracker", null, null, null, null,
        Map.of("PATH", tmp.resolve("bin").toString()));

    assertThatThrownBy(() -> FirecrackerDriver.Options.from(config, fc))
        .isInstanceOf(HostUnsupportedException.class)
        .hasMessageContaining("jailer").hasMessageContaining("MICROPOD_FIRECRACKER_JAILER");

    Path jailer = Files.writeString(tmp.resolve("bin/jailer"), "#!/bin/sh\n");
    Files.setPosixFilePermissions(jailer, PosixFilePermissions.fromString("rwx------"));
    assertThatThrownBy(() -> FirecrackerDriver.Options.from(config, fc)).as("no unshare: no PID namespace")
        .isInstanceOf(HostUnsupportedException.class).hasMessageContaining("unshare (util-linux)");
    Files.createSymbolicLink(tmp.resolve("bin/unshare"), Path.of("/usr/bin/unshare"));
    FirecrackerDriver.Jailer found = FirecrackerDriver.Options.from(config, fc).jailer();
    assertThat(found.binary()).isEqualTo(jailer);
    assertThat(found.chrootBaseDir()).isEqualTo(tmp.resolve("home/jailer"));
    assertThat(found.cgroupVersion())
        .isEqualTo(Files.exists(Path.of("/sys/fs/cgroup/cgroup.controllers")) ? 2 : 1);
  }
}
