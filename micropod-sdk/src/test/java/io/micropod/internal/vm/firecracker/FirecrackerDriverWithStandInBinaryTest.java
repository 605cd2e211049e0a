package io.micropod.internal.vm.firecracker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micropod.VmStartException;
import io.micropod.internal.image.BlockImages;
import io.micropod.internal.transport.HybridVsockConnector;
import io.micropod.internal.vm.Accel;
import io.micropod.internal.vm.GuestNetworkConfig;
import io.micropod.internal.vm.HostCapabilities;
import io.micropod.internal.vm.Machine;
import io.micropod.internal.vm.RootfsShare;
import io.micropod.internal.vm.VmConfig;
import io.micropod.internal.vm.VmProcess;
import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The driver's process management with {@code fake-firecracker.sh}, a STAND-IN executable for the
 * real {@code firecracker} binary (none can run here: no KVM). It serves the documented API
 * through {@link FirecrackerContractPeer}, so spawn, configuration order, fault messages, the
 * console and log files, the agent relay over hybrid vsock and the Ctrl-Alt-Del stop are
 * exercised for real; only the guest is missing.
 */
class FirecrackerDriverWithStandInBinaryTest {
  private static final Duration START = Duration.ofSeconds(60);

  private Path dir;
  private Path record;
  private VmProcess vm;
  private VmProcess vm2;

  @BeforeEach
  void setUp() throws IOException {
    dir = Files.createTempDirectory(Path.of("/tmp"), "mp-fcd-");
    record = dir.resolve("requests.txt");
  }

  @AfterEach
  void tearDown() throws IOException {
    for (VmProcess v : new VmProcess[] {vm, vm2}) {
      if (v != null) {
        v.kill();
        v.onExit().orTimeout(10, TimeUnit.SECONDS).exceptionally(t -> null).join();
      }
    }
    Files.walkFileTree(dir, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        Files.delete(file);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path d, IOException exc) throws IOException {
        Files.delete(d);
        return FileVisitResult.CONTINUE;
      }
    });
  }

  /** fake-firecracker.sh with this JVM and classpath filled in. */
  private Path fakeBinary(String fail) throws IOException {
    return fakeBinary(fail, "");
  }

  /** fake-firecracker.sh playing Firecracker {@code version} ("": the peer's default, 1.16.1). */
  private Path fakeBinary(String fail, String version) throws IOException {
    return FakeFirecracker.binary(dir, record, fail, version, null);
  }

  private VmConfig config(int cpus) throws IOException {
    return config(cpus, false);
  }

  private VmConfig config(int cpus, boolean systemImage) throws IOException {
    Path kernel = dir.resolve("vmlinux");
    Files.write(kernel, new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1, 0});
    Path initramfs = Files.writeString(dir.resolve("initramfs.cpio"), "cpio");
    Path system = systemImage ? Files.writeString(dir.resolve("system.img"), "ext4") : null;
    HostCapabilities host = new HostCapabilities(null, null, List.of(), kernel, initramfs, Accel.KVM,
        "test", Machine.MICROVM, 0, true, "", null, null, system);
    Path podDir = Files.createDirectory(dir.resolve("pod"), PosixFilePermissions.asFileAttribute(
        PosixFilePermissions.fromString("rwx------")));
    Path sockDir = Files.createDirectory(dir.resolve("s"), PosixFilePermissions.asFileAttribute(
        PosixFilePermissions.fromString("rwx------")));
    return new VmConfig("pod0123abcd", 256, cpus, host, podDir, sockDir, false);
  }

  private RootfsShare image() throws IOException {
    Path image = Files.writeString(dir.resolve("image.ext4"), "ext4");
    return new RootfsShare() {
      @Override
      public Path blockImage() {
        return image;
      }

      @Override
      public void stop() {}

      @Override
      public void kill() {}
    };
  }

  private FirecrackerDriver driver(Path binary) {
    return new FirecrackerDriver(binary, new BlockImages(dir, null), new FirecrackerDriver.Options(true, null,
        new HybridVsockConnector.Timeouts(Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(5),
            Duration.ofMillis(20))));
  }

  /** A driver with TAPs {@code taps} on a FAKE /sys/class/net where they exist, for a process with CAP_NET_ADMIN. */
  private FirecrackerDriver driverWithTaps(Path binary, String taps) throws IOException {
    return FakeFirecracker.driverWithTaps(binary, dir, new BlockImages(dir, null), taps,
        new HybridVsockConnector.Timeouts(Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(5),
            Duration.ofMillis(20)));
  }

  private static String call(String line) {
    return line.substring(0, line.indexOf(' ', line.indexOf(' ', 4) + 1));
  }

  private List<String> recorded() throws IOException {
    return Files.exists(record) ? Files.readAllLines(record) : List.of();
  }

  /**
   * The console log once it holds {@code text} (or at the deadline): the stand-in prints after
   * answering the call, and in the jailed path the capper copies it to the file later still.
   */
  private static String consoleOnceItHas(VmConfig config, String text) throws IOException {
    return onceItHas(config.consoleLog(), text);
  }

  /**
   * {@code file} once it holds {@code text} (or at the deadline). The stand-in writes its console
   * line, then its log line, after answering InstanceStart: seeing one says nothing of the other
   * (CI read the log empty once).
   */
  private static String onceItHas(Path file, String text) throws IOException {
    Instant deadline = Instant.now().plusSeconds(10);
    String content = Files.readString(file);
    while (!content.contains(text) && Instant.now().isBefore(deadline)) {
      Thread.onSpinWait();
      content = Files.readString(file);
    }
    return content;
  }

  /**
   * The stand-in records an exchange just before it answers, in its own process: wait (to a
   * deadline) until the last exchange of interest is in the file as read from here.
   */
  private List<String> recordedThrough(String lastCall) throws IOException, InterruptedException {
    Instant deadline = Instant.now().plusSeconds(10);
    List<String> lines = recorded();
    while (lines.stream().noneMatch(l -> l.contains(lastCall)) && Instant.now().isBefore(deadline)) {
      Thread.onSpinWait();
      lines = recorded();
    }
    return lines;
  }

  @Test
  void theGuestImagesSystemImageIsTheSecondReadOnlyDrive() throws Exception {
    VmConfig config = config(1, true);
    FirecrackerDriver driver = driver(fakeBinary(""));

    vm = driver.spawn(config, image(), Instant.now().plus(START));

    List<String> lines = recordedThrough("InstanceStart");
    List<String> calls = lines.stream().map(l -> l.substring(0, l.indexOf(' ', l.indexOf(' ', 4) + 1))).toList();
    assertThat(calls).containsSubsequence("204 PUT /drives/rootfs", "204 PUT /drives/sys", "204 PUT /actions");
    String sys = lines.stream().filter(l -> l.contains("PUT /drives/sys")).findFirst().orElseThrow();
    assertThat(sys).contains("\"path_on_host\":\"" + config.host().systemImage() + "\"")
        .contains("\"is_read_only\":true").contains("\"is_root_device\":false");
  }

  @Test
  void spawnConfiguresInTheDocumentedOrderStartsAndRelaysTheAgentChannel() throws Exception {
    VmConfig config = config(2);
    FirecrackerDriver driver = driver(fakeBinary(""));

    vm = driver.spawn(config, image(), Instant.now().plus(START));

    List<String> calls = recordedThrough("InstanceStart").stream().map(l -> l.substring(0, l.indexOf(' ', l.indexOf(' ', 4) + 1))).toList();
    assertThat(calls).containsExactly("204 PUT /logger", "204 PUT /metrics", "204 PUT /boot-source",
        "204 PUT /machine-config", "204 PUT /drives/rootfs", "204 PUT /vsock", "204 PUT /actions");
    String all = String.join("\n", recorded());
    assertThat(all).contains("\"kernel_image_path\":\"" + config.host().kernel() + "\"")
        .contains("\"initrd_path\":\"" + config.host().initramfs() + "\"")
        .contains("micropod.channel=vsock micropod.rootfs=blk")
        .contains("\"vcpu_count\":2,\"mem_size_mib\":256")
        .contains("\"is_read_only\":true")
        .contains("\"guest_cid\":3,\"uds_path\":\"" + config.socketDir().resolve("vsock.sock") + "\"")
        .contains("\"action_type\":\"InstanceStart\"");
    assertThat(driver.command(config)).containsExactly(driver.binary().toString(), "--api-sock",
        config.socketDir().resolve("firecracker.sock").toString(), "--id", "pod0123abcd", "--enable-pci");
    assertThat(consoleOnceItHas(config, "stand-in guest console: InstanceStart"))
        .contains("stand-in guest console: InstanceStart");
    assertThat(onceItHas(FirecrackerDriver.firecrackerLog(config), "Running Firecracker stand-in"))
        .contains("Running Firecracker stand-in");

    assertTheAgentChannelEchoes(vm);
  }

  /** The stand-in's guest port echoes: the relay reached it over the hybrid vsock. */
  private static void assertTheAgentChannelEchoes(VmProcess vm) throws IOException {
    try (SocketChannel agent = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      agent.connect(UnixDomainSocketAddress.of(vm.agentSocket()));
      agent.write(ByteBuffer.wrap("ping".getBytes(StandardCharsets.US_ASCII)));
      ByteBuffer back = ByteBuffer.allocate(4);
      while (back.hasRemaining()) {
        assertThat(agent.read(back)).isNotNegative();
      }
      assertThat(new String(back.array(), StandardCharsets.US_ASCII)).isEqualTo("ping");
    }
  }

  /**
   * A stand-in whose "guest" prints a few bytes on Firecracker's stdout (the serial console) at
   * once, then, once told, floods it with 3 MB while the API keeps serving: the log shows the
   * first bytes while the VMM runs, then stops at the cap plus the marker, and the flood is
   * drained (the writer finishes, never blocked). Before the capper, the whole flood reached the
   * log file.
   */
  @Test
  @org.junit.jupiter.api.Timeout(90)
  void firecrackersStdoutReachesTheConsoleLogAtOnceAndStopsAtTheCapWithTheMarker() throws Exception {
    Path go = dir.resolve("go");
    Path flooded = dir.resolve("flooded");
    Path bin = fakeBinary("");
    String standIn = Files.readString(bin);
    Files.writeString(bin, standIn.replace("\nexec ", "\nprintf early\n"
        + "( while [ ! -e '" + go + "' ]; do sleep 0.05; done; head -c 3000000 /dev/zero | tr '\\0' x; touch '"
        + flooded + "' ) &\nexec "));
    VmConfig config = config(1);
    FirecrackerDriver driver = new FirecrackerDriver(bin, new BlockImages(dir, null), new FirecrackerDriver.Options(
        true, null, new HybridVsockConnector.Timeouts(Duration.ofSeconds(1), Duration.ofSeconds(2),
            Duration.ofSeconds(5), Duration.ofMillis(20)), null, 1000));

    vm = driver.spawn(config, image(), Instant.now().plus(START));

    recordedThrough("InstanceStart");
    assertThat(onceItHas(config.consoleLog(), "early")).as("what the guest printed is in the log while the VMM runs")
        .startsWith("early");
    Files.createFile(go);
    String marker = "\n[micropod: console log truncated after 1000 bytes]\n";
    Instant deadline = Instant.now().plusSeconds(30);
    while (!(Files.exists(flooded) && Files.size(config.consoleLog()) >= 1000 + marker.length())
        && Instant.now().isBefore(deadline)) {
      java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
    }
    assertThat(flooded).as("the flood was drained, the writer never blocked").exists();
    String log = Files.readString(config.consoleLog());
    assertThat(log).hasSize(1000 + marker.length()).startsWith("early").endsWith("x" + marker);
    assertThat(vm.isAlive()).isTrue();
    assertThat(config.podDir().resolve("console.fifo")).as("the FIFO is unlinked at once").doesNotExist();
  }

  /**
   * As root, the whole jailed start and stop with a STAND-IN jailer: it makes the pod's cgroup
   * directory in a FAKE cgroup2 hierarchy (as a jailer does for its cgroups), then runs the
   * stand-in Firecracker with the jail's root standing in for its chroot (no chroot, no uid drop:
   * {@link JailTest} covers the drop). The API, the relay over the jail's vsock socket and the
   * console (through the capper) work; when the VMM exits, the jail and the pod's cgroup
   * directory are gone, the shared parent stays. No real jailer ran.
   */
  @Test
  @org.junit.jupiter.api.Timeout(90)
  void asRootAJailedPodStartsStopsAndLeavesNeitherItsJailNorItsCgroupDirectory() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(io.micropod.internal.vm.VmmUser.runningAsRoot(),
        "the jailed path runs only as root (CI runs as root)");
    Path cgroup = Files.createDirectories(dir.resolve("cgroup2"));
    Path mounts = Files.writeString(dir.resolve("mounts"), "cgroup2 " + cgroup + " cgroup2 rw,nosuid 0 0\n");
    Path jailer = Files.writeString(dir.resolve("jailer"), "#!/bin/sh\n"
        + "while [ $# -gt 0 ]; do case $1 in --id) id=$2; shift 2;; --chroot-base-dir) base=$2; shift 2;;"
        + " --exec-file) f=$2; shift 2;; --) shift; break;; *) shift 2;; esac; done\n"
        + "mkdir -p '" + cgroup + "/firecracker-stand-in/'$id || exit 1\n"
        + "FAKE_FC_ROOT=$base/$(basename $f)/$id/root exec \"$f\" --id $id \"$@\"\n");
    Files.setPosixFilePermissions(jailer, PosixFilePermissions.fromString("rwx------"));
    Path bin = Files.move(fakeBinary(""), dir.resolve("firecracker-stand-in"));
    VmConfig config = config(1);
    FirecrackerDriver driver = new FirecrackerDriver(bin, new BlockImages(dir, null), new FirecrackerDriver.Options(
        true, null, new HybridVsockConnector.Timeouts(Duration.ofSeconds(1), Duration.ofSeconds(2),
            Duration.ofSeconds(5), Duration.ofMillis(20)),
        new FirecrackerDriver.Jailer(jailer, dir.resolve("home/jailer"), 2, mounts), 1 << 20));

    vm = driver.spawn(config, image(), Instant.now().plus(START));

    assertThat(recordedThrough("InstanceStart")).anyMatch(l -> l.contains("\"kernel_image_path\":\"/vmlinux\""));
    Path mine = cgroup.resolve("firecracker-stand-in/" + config.podId());
    assertThat(mine).isDirectory();
    assertThat(consoleOnceItHas(config, "stand-in guest console: InstanceStart"))
        .contains("stand-in guest console: InstanceStart");
    assertTheAgentChannelEchoes(vm);

    vm.stop(Duration.ofMillis(200));

    Path jailDir = dir.resolve("home/jailer/firecracker-stand-in/" + config.podId());
    Instant deadline = Instant.now().plusSeconds(10);
    while ((Files.exists(mine) || Files.exists(jailDir)) && Instant.now().isBefore(deadline)) {
      java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
    }
    assertThat(mine).doesNotExist();
    assertThat(jailDir).doesNotExist();
    assertThat(cgroup.resolve("firecracker-stand-in")).as("shared by every jail").isDirectory();
  }

  @Test
  void stopSendsCtrlAltDelAndTheVmmExits() throws Exception {
    VmConfig config = config(1);
    vm = driver(fakeBinary("")).spawn(config, image(), Instant.now().plus(START));
    long pid = ((FirecrackerDriver.FirecrackerVm) vm).pid();

    vm.stop(Duration.ofMillis(200));

    assertThat(recordedThrough("SendCtrlAltDel")).last().asString().startsWith("204 PUT /actions").contains("SendCtrlAltDel");
    assertThat(vm.isAlive()).isFalse();
    assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
    assertThat(vm.onExit().get(5, TimeUnit.SECONDS)).isZero(); // exited by itself, not killed
    assertThat(vm.agentSocket()).doesNotExist();
  }

  @Test
  void aRefusedConfigurationCallFailsTheStartWithItsStepAndFaultMessageAndKillsTheVmm() throws Exception {
    VmConfig config = config(2);
    FirecrackerDriver driver = driver(fakeBinary("PUT /machine-config=Invalid memory size: 256"));

    assertThatThrownBy(() -> vm = driver.spawn(config, image(), Instant.now().plus(START)))
        .isInstanceOfSatisfying(VmStartException.class, e -> {
          assertThat(e.stepId()).isEqualTo("vm.configure.machine-config");
          assertThat(e.getMessage()).contains("PUT /machine-config answered 400: injected: Invalid memory size: 256");
        });
    assertThat(recorded()).noneMatch(l -> l.contains("InstanceStart"));
    assertThat(ProcessHandle.allProcesses().filter(p -> p.info().commandLine().orElse("").contains(dir.toString()))
        .filter(ProcessHandle::isAlive).toList()).isEmpty();
  }

  @Test
  void aVmmThatDiesBeforeItsSocketFailsTheSpawnWithItsExitCode() throws Exception {
    Path bin = dir.resolve("dies");
    Files.writeString(bin, "#!/bin/sh\necho 'Error: no KVM here' >&2\nexit 3\n");
    Files.setPosixFilePermissions(bin, PosixFilePermissions.fromString("rwx------"));
    VmConfig config = config(1);

    assertThatThrownBy(() -> driver(bin).spawn(config, image(), Instant.now().plus(START)))
        .isInstanceOfSatisfying(VmStartException.class, e -> {
          assertThat(e.stepId()).isEqualTo("vmm.spawn");
          assertThat(e.getMessage()).contains("exited with code 3 before it created its API socket");
          assertThat(e.consoleTail()).contains("Error: no KVM here");
        });
  }

  @Test
  void oddVcpuCountsAndCompressedKernelsAreRefusedBeforeSpawning() throws Exception {
    VmConfig three = config(3);
    assertThatThrownBy(() -> driver(fakeBinary("")).spawn(three, image(), Instant.now().plus(START)))
        .isInstanceOf(VmStartException.class)
        .hasMessageContaining("1 or an even number of vCPUs up to 32, not 3");
    Files.writeString(three.host().kernel(), "MZ bzImage");
    VmConfig one = new VmConfig("pod1", 256, 1, three.host(), three.podDir(), three.socketDir(), false);
    assertThatThrownBy(() -> driver(fakeBinary("")).spawn(one, image(), Instant.now().plus(START)))
        .isInstanceOf(VmStartException.class)
        .hasMessageContaining("uncompressed ELF vmlinux");
    assertThat(recorded()).isEmpty();
  }

  @Test
  void aPodWithNatGetsItsTapAsEth0WithTheNatMacBeforeInstanceStartAndItsAddressOnTheKernelCommandLine()
      throws Exception {
    VmConfig config = config(1).withNetwork(new GuestNetworkConfig(true, List.of()));
    FirecrackerDriver driver = driverWithTaps(fakeBinary(""), "mp0");

    vm = driver.spawn(config, image(), Instant.now().plus(START));

    List<String> lines = recordedThrough("InstanceStart");
    assertThat(lines.stream().map(FirecrackerDriverWithStandInBinaryTest::call).toList()).containsExactly(
        "204 PUT /logger", "204 PUT /metrics", "204 PUT /boot-source", "204 PUT /machine-config",
        "204 PUT /drives/rootfs", "204 PUT /vsock", "204 PUT /network-interfaces/eth0", "204 PUT /actions");
    assertThat(lines).contains("204 PUT /network-interfaces/eth0"
        + " {\"iface_id\":\"eth0\",\"host_dev_name\":\"mp0\",\"guest_mac\":\"02:6d:70:00:00:01\"}");
    assertThat(lines.get(2)).contains(" micropod.debug=0 micropod.nic=02:6d:70:00:00:01,10.0.2.15/24,10.0.2.2\"");
  }

  @Test
  void aSecondPodFindsTheOnlyTapTakenAndRunsWithoutADeviceUntilTheFirstExits() throws Exception {
    VmConfig first = config(1).withNetwork(new GuestNetworkConfig(true, List.of()));
    FirecrackerDriver driver = driverWithTaps(fakeBinary(""), "mp0");
    vm = driver.spawn(first, image(), Instant.now().plus(START));
    Path d2 = Files.createDirectory(dir.resolve("pod2"));
    Path s2 = Files.createDirectory(dir.resolve("s2"));
    VmConfig second = new VmConfig("pod2222abcd", 256, 1, first.host(), d2, s2, false,
        new GuestNetworkConfig(true, List.of()));

    vm2 = driver.spawn(second, image(), Instant.now().plus(START));

    Instant deadline = Instant.now().plusSeconds(10);
    while (recorded().stream().filter(l -> l.contains("InstanceStart")).count() < 2 && Instant.now().isBefore(deadline)) {
      Thread.onSpinWait();
    }
    List<String> lines = recorded();
    assertThat(lines).filteredOn(l -> l.contains("InstanceStart")).hasSize(2);
    assertThat(lines).filteredOn(l -> l.contains("PUT /network-interfaces")).hasSize(1);
    assertThat(lines).filteredOn(l -> l.contains("PUT /boot-source") && l.contains("micropod.nic=")).hasSize(1);

    vm.kill();
    vm.onExit().get(10, TimeUnit.SECONDS);
    vm2.kill();
    vm2.onExit().get(10, TimeUnit.SECONDS);
    Files.delete(record);
    Path d3 = Files.createDirectory(dir.resolve("pod3"));
    Path s3 = Files.createDirectory(dir.resolve("s3"));
    vm = driver.spawn(new VmConfig("pod3333abcd", 256, 1, first.host(), d3, s3, false,
        new GuestNetworkConfig(true, List.of())), image(), Instant.now().plus(START));
    assertThat(recordedThrough("InstanceStart")).anyMatch(l -> l.contains("PUT /network-interfaces/eth0"));
  }

  @Test
  void aPodOnAMicroPodNetworkIsRefusedBeforeAnythingRuns() throws Exception {
    VmConfig config = config(1).withNetwork(new GuestNetworkConfig(true, List.of(new GuestNetworkConfig.Nic(
        "backend", "02:6d:70:59:01:02", "10.89.1.2/24", dir.resolve("switch.sock")))));

    assertThatThrownBy(() -> driverWithTaps(fakeBinary(""), "mp0").spawn(config, image(), Instant.now().plus(START)))
        .isInstanceOf(io.micropod.NetworkException.class)
        .hasMessageContaining("cannot join network backend with the firecracker driver");
    assertThat(recorded()).isEmpty();
    assertThat(ProcessHandle.allProcesses().filter(p -> p.info().commandLine().orElse("").contains(dir.toString()))
        .filter(ProcessHandle::isAlive).toList()).isEmpty();
  }

  @Test
  void mountsAreRefusedBecauseFirecrackerHasNoVirtiofs() {
    assertThat(new FirecrackerDriver(Path.of("/nonexistent/firecracker"), null, null).mountsUnsupported())
        .contains("Firecracker has no virtio-fs").contains("MICROPOD_VMM=qemu").contains("copyToContainer");
    assertThat(new io.micropod.internal.vm.QemuDriver().mountsUnsupported()).isNull();
  }

  // ---- snapshots (issue 18), against the stand-in: none of this has met a real Firecracker ----

  /** A second pod's config in its own directories, from {@code first}'s host. */
  private VmConfig secondConfig(VmConfig first, String id, GuestNetworkConfig network) throws IOException {
    Path d = Files.createDirectory(dir.resolve("pod-" + id));
    Path s = Files.createDirectory(dir.resolve("s-" + id));
    return new VmConfig(id, 256, 1, first.host(), d, s, false, network);
  }

  /** The calls of {@code lines} as "status METHOD /path". */
  private static List<String> calls(List<String> lines) {
    return lines.stream().map(FirecrackerDriverWithStandInBinaryTest::call).toList();
  }

  /** Spawns a source VM with {@code driver}, snapshots it into {@code dir/snap}, forgets what was recorded. */
  private FirecrackerDriver.FirecrackerVm spawnAndSnapshot(FirecrackerDriver driver, VmConfig config) throws Exception {
    vm = driver.spawn(config, image(), Instant.now().plus(START));
    FirecrackerDriver.FirecrackerVm source = (FirecrackerDriver.FirecrackerVm) vm;
    source.snapshot(dir.resolve("snap"), dir.resolve("mem"), true);
    // the stand-in records a call after answering it: wait for the resume's line too (the pause
    // is a PATCH /vm as well), or it could land in the fresh record after the delete
    recordedThrough("\"Resumed\"");
    Files.delete(record);
    return source;
  }

  @Test
  @org.junit.jupiter.api.Timeout(90)
  void aRestoreAsksTheVersionConfiguresLoggerAndMetricsBeforeTheLoadAndMovesTheVsockToTheNewPod()
      throws Exception {
    VmConfig first = config(1);
    FirecrackerDriver driver = driver(fakeBinary(""));
    spawnAndSnapshot(driver, first);
    VmConfig second = secondConfig(first, "pod2222abcd", GuestNetworkConfig.NONE);

    vm2 = driver.restore(second, dir.resolve("snap"), dir.resolve("mem"), Instant.now().plus(START));

    List<String> lines = recordedThrough("PUT /snapshot/load");
    assertThat(calls(lines)).containsExactly("200 GET /version", "204 PUT /logger", "204 PUT /metrics",
        "204 PUT /snapshot/load");
    assertThat(lines.get(1)).contains(FirecrackerDriver.firecrackerLog(second).toString());
    assertThat(lines.get(3)).contains("\"vsock_override\":{\"uds_path\":\""
        + FirecrackerDriver.vsockSocket(second) + "\"}").doesNotContain("network_overrides");
    assertThat(((FirecrackerDriver.FirecrackerVm) vm2).version()).isEqualTo(new FirecrackerVersion(1, 16, 1));
    assertTheAgentChannelEchoes(vm2);
    assertTheAgentChannelEchoes(vm);
  }

  @Test
  @org.junit.jupiter.api.Timeout(90)
  void aRestoreOnFirecrackerBefore116FailsSayingWhichVersionItNeedsAndSendsNoLoad() throws Exception {
    VmConfig first = config(1);
    FirecrackerDriver driver = driver(fakeBinary("", "1.15.0"));
    spawnAndSnapshot(driver, first);
    VmConfig second = secondConfig(first, "pod2222abcd", GuestNetworkConfig.NONE);

    assertThatThrownBy(() -> vm2 = driver.restore(second, dir.resolve("snap"), dir.resolve("mem"),
        Instant.now().plus(START)))
        .isInstanceOfSatisfying(VmStartException.class, e -> {
          assertThat(e.stepId()).isEqualTo("vm.snapshot.load");
          assertThat(e.getMessage()).contains("Firecracker 1.16.0 or later").contains("is 1.15.0")
              .contains("vsock_override");
        });
    assertThat(recordedThrough("GET /version")).noneMatch(l -> l.contains("/snapshot/load"));
  }

  @Test
  @org.junit.jupiter.api.Timeout(90)
  void aFailedSnapshotCreateResumesTheSourceVmAndReportsTheFault() throws Exception {
    VmConfig config = config(1);
    vm = driver(fakeBinary("PUT /snapshot/create=No space left on device (os error 28)"))
        .spawn(config, image(), Instant.now().plus(START));
    FirecrackerDriver.FirecrackerVm source = (FirecrackerDriver.FirecrackerVm) vm;

    assertThatThrownBy(() -> source.snapshot(dir.resolve("snap"), dir.resolve("mem"), true))
        .isInstanceOf(FirecrackerApiException.class)
        .hasMessageContaining("PUT /snapshot/create answered 400")
        .hasMessageContaining("No space left on device");

    List<String> lines = recordedThrough("\"state\":\"Resumed\"");
    assertThat(lines.get(lines.size() - 2)).startsWith("400 PUT /snapshot/create");
    assertThat(lines.get(lines.size() - 1)).isEqualTo("204 PATCH /vm {\"state\":\"Resumed\"}");
    assertTheAgentChannelEchoes(vm);
  }

  /**
   * Taking a snapshot resets the vsock device of the running VM: its connections go dead without
   * the host end seeing it (the stand-in plays that). The driver closes the agent relay's
   * connections after the snapshot, so that gRPC sees the end at once and reconnects.
   */
  @Test
  @org.junit.jupiter.api.Timeout(90)
  void afterASnapshotTheSourceVmsAgentConnectionsEndAndANewOneAnswers() throws Exception {
    VmConfig config = config(1);
    vm = driver(fakeBinary("")).spawn(config, image(), Instant.now().plus(START));
    FirecrackerDriver.FirecrackerVm source = (FirecrackerDriver.FirecrackerVm) vm;
    try (SocketChannel before = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      before.connect(UnixDomainSocketAddress.of(vm.agentSocket()));
      before.write(ByteBuffer.wrap(new byte[] {'a'}));
      assertThat(before.read(ByteBuffer.allocate(1))).isEqualTo(1);

      source.snapshot(dir.resolve("snap"), dir.resolve("mem"), true);

      before.configureBlocking(false);
      ByteBuffer one = ByteBuffer.allocate(1);
      int n = 0;
      Instant deadline = Instant.now().plusSeconds(10);
      while ((n = before.read(one)) == 0 && Instant.now().isBefore(deadline)) {
        java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
      }
      assertThat(n).as("the connection from before the snapshot was ended").isEqualTo(-1);
    }
    assertTheAgentChannelEchoes(vm);
  }

  @Test
  @org.junit.jupiter.api.Timeout(90)
  void aRestoredPodWithNatOpensItsOwnTapThroughNetworkOverrides() throws Exception {
    VmConfig first = config(1).withNetwork(new GuestNetworkConfig(true, List.of()));
    Path sys = dir.resolve("sys/mp1");
    FirecrackerDriver driver = driverWithTaps(fakeBinary(""), "mp0,mp1");
    Files.createDirectories(sys);
    Files.writeString(sys.resolve("tun_flags"), "0x1002\n");
    Files.writeString(sys.resolve("owner"), "-1\n");
    Files.writeString(sys.resolve("group"), "-1\n");
    spawnAndSnapshot(driver, first);
    VmConfig second = secondConfig(first, "pod2222abcd", new GuestNetworkConfig(true, List.of()));

    vm2 = driver.restore(second, dir.resolve("snap"), dir.resolve("mem"), Instant.now().plus(START));

    List<String> lines = recordedThrough("PUT /snapshot/load");
    assertThat(lines.get(lines.size() - 1)).contains(
        "\"network_overrides\":[{\"iface_id\":\"eth0\",\"host_dev_name\":\"mp1\"}]");
    Path opened = dir.resolve("snap.tap-" + ((FirecrackerDriver.FirecrackerVm) vm2).pid());
    Instant deadline = Instant.now().plusSeconds(10);
    while (!Files.exists(opened) && Instant.now().isBefore(deadline)) {
      Thread.onSpinWait();
    }
    assertThat(opened).hasContent("mp1");
  }

  @Test
  @org.junit.jupiter.api.Timeout(90)
  void aRestoredPodWithNatOnFirecrackerBefore113FailsSayingWhichVersionItNeeds() throws Exception {
    VmConfig first = config(1);
    FirecrackerDriver driver = driverWithTaps(fakeBinary("", "1.12.0"), "mp0");
    spawnAndSnapshot(driver, first);
    VmConfig second = secondConfig(first, "pod2222abcd", new GuestNetworkConfig(true, List.of()));

    assertThatThrownBy(() -> vm2 = driver.restore(second, dir.resolve("snap"), dir.resolve("mem"),
        Instant.now().plus(START)))
        .isInstanceOfSatisfying(VmStartException.class, e -> assertThat(e.getMessage())
            .contains("is 1.12.0").contains("network_overrides from 1.13.0"));
  }
}
