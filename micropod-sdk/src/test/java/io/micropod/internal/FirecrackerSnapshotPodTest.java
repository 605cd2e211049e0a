package io.micropod.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.grpc.Server;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.micropod.MicroPod;
import io.micropod.MicroPodSpec;
import io.micropod.PodSnapshot;
import io.micropod.SnapshotException;
import io.micropod.event.Phase;
import io.micropod.internal.base.RuntimeConfig;
import io.micropod.internal.image.BlockImages;
import io.micropod.internal.state.PodRecord;
import io.micropod.internal.transport.HybridVsockConnector;
import io.micropod.internal.vm.Accel;
import io.micropod.internal.vm.HostCapabilities;
import io.micropod.internal.vm.Machine;
import io.micropod.internal.vm.firecracker.FakeFirecracker;
import io.micropod.internal.vm.firecracker.FirecrackerDriver;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * MicroPod's public snapshot path (snapshottable pods, {@code MicroPod.snapshot},
 * {@code fromSnapshot}, {@code pause}/{@code resume}) on the firecracker driver, at the highest
 * level that runs here: whole pods through {@link RealMicroPod#start} and the same steps as on
 * QEMU, with the real {@link FirecrackerDriver} spawning {@code fake-firecracker.sh}, a STAND-IN for
 * the {@code firecracker} binary ({@link FakeFirecracker}: Firecracker's documented API checked
 * field by field by {@code FirecrackerContractPeer}, and its hybrid vsock), whose guest port 1024
 * is {@link FakeVmPodTest.FakeAgent}, an in-process gRPC agent. No real Firecracker, KVM or guest
 * can run here (no usable {@code /dev/kvm}): what a real Firecracker would do with the files (a
 * real microVM state, a resumed guest, VMGenID, a reopened TAP) has never been seen, see
 * docs/firecracker.md. The API calls are asserted exactly, in order, with their bodies.
 */
class FirecrackerSnapshotPodTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;
  private Path home;
  private Path layout;
  private Path record;
  private Path guestManifest;
  private HostCapabilities host;
  private final FakeVmPodTest.FakeAgent agent = new FakeVmPodTest.FakeAgent();
  private final FakeVmPodTest.Recorder recorder = new FakeVmPodTest.Recorder();
  private EventLoopGroup group;
  private Server agentServer;
  private Path agentSocket;
  private final List<RuntimeServices> runtimes = new ArrayList<>();

  @BeforeEach
  void setUp() throws Exception {
    home = tmp.resolve("home");
    layout = FakeVmPodTest.writeLayout(tmp.resolve("layout"));
    record = tmp.resolve("requests.txt");
    Path guest = Files.createDirectories(tmp.resolve("guest"));
    Path kernel = Files.write(guest.resolve("vmlinux"), new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1, 0});
    Path initramfs = Files.writeString(guest.resolve("initramfs.cpio"), "cpio");
    guestManifest = Files.writeString(guest.resolve("manifest.json"), "{\"version\":\"g1\",\"inputsHash\":\"h1\"}");
    host = new HostCapabilities(null, null, List.of(), kernel, initramfs, Accel.KVM, "test", Machine.MICROVM, 0,
        true, "", null, null, null);
    agentSocket = tmp.resolve("agent.sock");
    group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    agentServer = FakeVmPodTest.serve(agent, agentSocket, group);
    // the guest whose agent answered Shutdown powers off, as a real one does: its stand-in exits
    // and the pod's stop does not wait out VMM_EXIT_GRACE (5 s a pod)
    agent.onShutdown = () -> {
      String peer = ((DomainSocketAddress) FakeVmPodTest.PEER.get()).path();
      try {
        if (!FakeFirecracker.powerOffGuestBehind(peer)) {
          throw new IllegalStateException("Shutdown did not come through a stand-in Firecracker: " + peer);
        }
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    };
  }

  @AfterEach
  void tearDown() throws Exception {
    runtimes.forEach(RuntimeServices::close);
    agentServer.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
  }

  /** A runtime of the firecracker driver whose binary is the stand-in ({@code fail}, {@code version}: its knobs). */
  private RuntimeServices runtime(String fail, String version) throws IOException {
    return runtime(fail, version, null);
  }

  /** {@link #runtime(String, String)} with the (fake, see FakeFirecracker.driverWithTaps) TAPs {@code taps}. */
  private RuntimeServices runtime(String fail, String version, String taps) throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("bin-" + runtimes.size()));
    Path bin = FakeFirecracker.binary(dir, record, fail, version, agentSocket);
    HybridVsockConnector.Timeouts timeouts = new HybridVsockConnector.Timeouts(Duration.ofSeconds(1),
        Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofMillis(20));
    FirecrackerDriver driver = taps == null
        ? new FirecrackerDriver(bin, new BlockImages(home, null), new FirecrackerDriver.Options(true, null, timeouts))
        : FakeFirecracker.driverWithTaps(bin, dir, new BlockImages(home, null), taps, timeouts);
    RuntimeServices rt = new RuntimeServices(new RuntimeConfig(home, "firecracker", null, null, null, null, Map.of()),
        () -> host, driver);
    runtimes.add(rt);
    return rt;
  }

  private MicroPodSpec.Builder spec() {
    return MicroPodSpec.builder().image("oci:" + layout).command("sleep", "60").memoryMib(160).cpus(1)
        .listener(recorder);
  }

  /** The stand-ins' answered requests as {@code <status> <METHOD> <path> <body>}, from line {@code from}. */
  private List<String> requests(int from) throws IOException {
    List<String> all = Files.exists(record) ? Files.readAllLines(record) : List.of();
    return all.subList(Math.min(from, all.size()), all.size());
  }

  /**
   * The requests from line {@code from} once one of them contains {@code last} (or at the
   * deadline): a stand-in records an exchange, in its own process, just before it answers it.
   */
  private List<String> requestsThrough(int from, String last) throws IOException {
    Instant deadline = Instant.now().plusSeconds(10);
    List<String> lines = requests(from);
    while (lines.stream().noneMatch(l -> l.contains(last)) && Instant.now().isBefore(deadline)) {
      Thread.onSpinWait();
      lines = requests(from);
    }
    return lines;
  }

  private int requestCount() throws IOException {
    return requests(0).size();
  }

  private static String call(String line) {
    int body = line.indexOf(' ', line.indexOf(' ', line.indexOf(' ') + 1) + 1);
    return body < 0 ? line : line.substring(0, body);
  }

  private static JsonNode body(String line) throws IOException {
    return JSON.readTree(line.substring(call(line).length() + 1));
  }

  private static List<String> fieldNames(JsonNode n) {
    List<String> names = new ArrayList<>();
    n.fieldNames().forEachRemaining(names::add);
    return names;
  }

  /** Temp directories of snapshots being written (none may outlive a failed snapshot). */
  private List<Path> snapshotTemps() throws IOException {
    Path dir = home.resolve("snapshots");
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().startsWith(".tmp-")).toList();
    }
  }

  /** The bytes of {@code file}'s allocated blocks (GNU stat: Java has no st_blocks). */
  private static long allocatedBytes(Path file) throws Exception {
    Process p = new ProcessBuilder("stat", "--format=%b %B", "--", file.toString()).redirectErrorStream(true).start();
    assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
    String[] b = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).strip()
        .split(" ");
    return Long.parseLong(b[0]) * Long.parseLong(b[1]);
  }

  @Test
  void aRestoreOnFirecrackerIsOneSnapshotLoadStepInPlaceOfQemusCopySpawnAndLoad() throws IOException {
    assertThat(SnapshotSteps.steps(runtime("", "").driver())).extracting(BootStep::id).containsExactly(
        "image.resolve", "rootfs.prepare", "console.log.create", "state.write", "poddir.create", "sockdir.create",
        "virtiofs.start", "snapshot.verify", "mounts.share", "ports.bind", "network.attach", "snapshot.load",
        "agent.connect", "agent.relay", "snapshot.identity", "ports.start");
    assertThat(SnapshotSteps.steps()).extracting(BootStep::id).containsSubsequence("network.attach",
        "snapshot.copy", "vmm.spawn", "snapshot.load", "agent.connect");
  }

  /**
   * A snapshot of a running pod is {@code PATCH /vm Paused}, {@code PUT /snapshot/create}
   * ({@code Full}, the state and memory file in the snapshot's temp directory), {@code PATCH /vm
   * Resumed}; the snapshot is kept as on QEMU ({@code state}, a sparse {@code ram}, a manifest
   * that says {@code vmm=firecracker}) and the source pod runs on (its agent reached again after
   * the vsock reset). A restore spawns a new Firecracker that is asked its version, given this
   * pod's logger and metrics and then {@code PUT /snapshot/load} with the snapshot's files, this
   * pod's vsock socket, its own TAP ({@code network_overrides}: the source pod holds mp0, the
   * restored one gets mp1) and {@code resume_vm}; the restored pod has its own id and record, and the
   * agent was told its new identity.
   */
  @Test
  @Timeout(120)
  void aRunningPodIsSnapshottedAndRestoredThroughFirecrackersApiAndTheRestoredPodHasItsOwnIdentity()
      throws Exception {
    RuntimeServices rt = runtime("", "", "mp0,mp1");
    try (MicroPod warm = RealMicroPod.start(spec().snapshottable(true).build(), rt)) {
      assertThat(requests(0)).contains("204 PUT /network-interfaces/eth0 {\"iface_id\":\"eth0\","
          + "\"host_dev_name\":\"mp0\",\"guest_mac\":\"02:6d:70:00:00:01\"}");
      int before = requestCount();

      PodSnapshot snap = warm.snapshot("fc1");

      List<String> taken = requestsThrough(before, "\"state\":\"Resumed\"");
      assertThat(taken).extracting(FirecrackerSnapshotPodTest::call).containsExactly("204 PATCH /vm",
          "204 PUT /snapshot/create", "204 PATCH /vm");
      assertThat(taken.get(0)).isEqualTo("204 PATCH /vm {\"state\":\"Paused\"}");
      assertThat(taken.get(2)).isEqualTo("204 PATCH /vm {\"state\":\"Resumed\"}");
      JsonNode create = body(taken.get(1));
      assertThat(fieldNames(create)).containsExactly("snapshot_path", "mem_file_path", "snapshot_type");
      Path state = Path.of(create.get("snapshot_path").asText());
      assertThat(state.getFileName()).hasToString("state");
      assertThat(state.getParent().getParent()).isEqualTo(home.resolve("snapshots"));
      assertThat(state.getParent().getFileName().toString()).startsWith(".tmp-fc1-");
      assertThat(create.get("mem_file_path").asText()).isEqualTo(state.resolveSibling("ram").toString());
      assertThat(create.get("snapshot_type").asText()).isEqualTo("Full");

      Path dir = home.resolve("snapshots/fc1");
      assertThat(snap.path()).isEqualTo(dir);
      JsonNode manifest = JSON.readTree(dir.resolve("manifest.json").toFile());
      assertThat(manifest.get("vmm").asText()).isEqualTo("firecracker");
      assertThat(manifest.get("guestVersion").asText()).isEqualTo("g1/h1");
      assertThat(Files.size(dir.resolve("ram"))).isEqualTo(160L << 20);
      assertThat(allocatedBytes(dir.resolve("ram"))).as("the zero pages of the memory file are holes")
          .isLessThan(1L << 20);
      assertThat(snap.sizeBytes()).isEqualTo(Files.size(dir.resolve("state")) + allocatedBytes(dir.resolve("ram")));
      assertThat(snapshotTemps()).isEmpty();
      assertThat(agent.calls).contains("PrepareSnapshot");
      assertThat(warm.exec("echo", "after").stdout()).isEqualTo("echo after\n");

      int beforeRestore = requestCount();
      try (MicroPod restored = RealMicroPod.start(MicroPod.builder().fromSnapshot(snap).listener(recorder).build(),
          rt)) {
        List<String> load = requestsThrough(beforeRestore, "PUT /snapshot/load");
        assertThat(load).extracting(FirecrackerSnapshotPodTest::call).containsExactly("200 GET /version",
            "204 PUT /logger", "204 PUT /metrics", "204 PUT /snapshot/load");
        Path podDir = home.resolve("pods").resolve(restored.id());
        assertThat(body(load.get(1)).get("log_path").asText()).isEqualTo(podDir.resolve("firecracker.log").toString());
        assertThat(body(load.get(2)).get("metrics_path").asText())
            .isEqualTo(podDir.resolve("firecracker-metrics.json").toString());
        ObjectNode expected = JSON.createObjectNode().put("snapshot_path", dir.resolve("state").toString());
        expected.putObject("mem_backend").put("backend_type", "File").put("backend_path", dir.resolve("ram").toString());
        expected.put("resume_vm", true);
        expected.putObject("vsock_override").put("uds_path", "/tmp/micropod-" + restored.id() + "/vsock.sock");
        expected.putArray("network_overrides").addObject().put("iface_id", "eth0").put("host_dev_name", "mp1");
        assertThat(load.get(3)).isEqualTo("204 PUT /snapshot/load " + expected);

        assertThat(restored.id()).isNotEqualTo(warm.id());
        assertThat(agent.calls).contains("Restored " + warm.id() + " -> " + restored.id() + " hostname="
            + restored.id() + " entropy=" + SnapshotSteps.ENTROPY_BYTES + " bytes");
        PodRecord r = rt.state().read(restored.id()).orElseThrow();
        assertThat(r.driver()).isEqualTo("firecracker");
        assertThat(r.vmm().pid()).isNotEqualTo(rt.state().read(warm.id()).orElseThrow().vmm().pid());
        assertThat(restored.exec("echo", "restored").stdout()).isEqualTo("echo restored\n");
        assertThat(recorder.events).contains("start " + Phase.RESTORE, "end " + Phase.RESTORE);
      }
      assertThat(warm.exec("echo", "still").exitCode()).isZero();
    }
  }

  /**
   * {@code pause()} and {@code resume()} of a Firecracker pod are {@code PATCH /vm Paused} and
   * {@code Resumed}; the record says PAUSED meanwhile and the agent is not called. A snapshot of a
   * paused pod neither pauses it again nor resumes it: it is still paused afterwards.
   */
  @Test
  @Timeout(120)
  void pauseAndResumePatchTheVmAndASnapshotOfAPausedPodLeavesItPaused() throws Exception {
    RuntimeServices rt = runtime("", "");
    try (MicroPod pod = RealMicroPod.start(spec().snapshottable(true).build(), rt)) {
      int before = requestCount();

      pod.pause();

      assertThat(requestsThrough(before, "PATCH /vm")).containsExactly("204 PATCH /vm {\"state\":\"Paused\"}");
      assertThat(rt.state().read(pod.id()).orElseThrow().status()).isEqualTo(PodRecord.PAUSED);
      assertThatThrownBy(() -> pod.exec("true")).isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("is paused: resume() it first");

      int beforeSnapshot = requestCount();
      pod.snapshot("paused1");
      assertThat(requestsThrough(beforeSnapshot, "PUT /snapshot/create")).extracting(FirecrackerSnapshotPodTest::call)
          .containsExactly("204 PUT /snapshot/create");

      int beforeResume = requestCount();
      pod.resume();

      assertThat(requestsThrough(beforeResume, "PATCH /vm")).containsExactly("204 PATCH /vm {\"state\":\"Resumed\"}");
      assertThat(rt.state().read(pod.id()).orElseThrow().status()).isEqualTo(PodRecord.RUNNING);
      assertThat(pod.exec("echo", "resumed").stdout()).isEqualTo("echo resumed\n");
    }
  }

  /**
   * A process that attached to a Firecracker pod (it holds only the pod's record) pauses and
   * resumes it through the pod's API socket, each call on a connection of its own; it refuses to
   * snapshot it, saying where to: only the process that started the pod holds the agent relay
   * whose connections a snapshot's vsock reset must end.
   */
  @Test
  @Timeout(120)
  void anAttachedFirecrackerPodIsPausedAndResumedThroughItsApiSocket() throws Exception {
    RuntimeServices rt = runtime("", "");
    try (MicroPod pod = RealMicroPod.start(spec().snapshottable(true).build(), rt)) {
      PodRecord r = rt.state().read(pod.id()).orElseThrow();
      io.micropod.internal.vm.VmProcess attached = PodStates.recordedVm(r, PodPaths.of(pod.id(), rt));
      int before = requestCount();

      attached.pause();
      attached.resume();

      assertThat(requestsThrough(before, "\"state\":\"Resumed\"")).containsExactly(
          "204 PATCH /vm {\"state\":\"Paused\"}", "204 PATCH /vm {\"state\":\"Resumed\"}");
      assertThatThrownBy(() -> attached.snapshot(tmp.resolve("state"), tmp.resolve("ram")))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("snapshot it from the process that started it");
      assertThat(pod.exec("echo", "runs").exitCode()).isZero();
    }
    // the stop's Shutdown powered the stand-in's guest off: the VMM was not waited out and rebooted
    assertThat(agent.calls).contains("Shutdown");
    assertThat(requests(0)).as("the VMM exited with its guest: the stop sent no Ctrl-Alt-Del")
        .noneMatch(l -> l.contains("SendCtrlAltDel"));
  }

  /**
   * A {@code /snapshot/create} that Firecracker refuses (here: its disk is full) leaves its VM
   * paused: the VM is resumed ({@code PATCH /vm Resumed} follows the 400), the snapshot fails with
   * the full disk's message, nothing of it is left (no snapshot, no temp directory) and the source
   * pod runs on.
   */
  @Test
  @Timeout(120)
  void aFailedCreateOnAFullDiskResumesTheSourcePodAndLeavesNoHalfSnapshot() throws Exception {
    RuntimeServices rt = runtime("PUT /snapshot/create=Cannot create snapshot: Memory snapshot error: No space left"
        + " on device (os error 28)", "");
    try (MicroPod warm = RealMicroPod.start(spec().snapshottable(true).build(), rt)) {
      int before = requestCount();

      assertThatThrownBy(() -> warm.snapshot("full"))
          .isInstanceOfSatisfying(SnapshotException.class, e -> assertThat(e.snapshot()).isEqualTo("full"))
          .hasMessageContaining("no space left in " + home.resolve("snapshots"))
          .hasMessageContaining("up to 160 MiB").hasMessageContaining("the pod runs on and no snapshot was kept");

      List<String> lines = requestsThrough(before, "\"state\":\"Resumed\"");
      assertThat(lines).extracting(FirecrackerSnapshotPodTest::call).containsExactly("204 PATCH /vm",
          "400 PUT /snapshot/create", "204 PATCH /vm");
      assertThat(lines.get(2)).isEqualTo("204 PATCH /vm {\"state\":\"Resumed\"}");
      assertThat(home.resolve("snapshots/full")).doesNotExist();
      assertThat(snapshotTemps()).isEmpty();
      assertThat(Snapshots.list(home)).isEmpty();
      assertThat(warm.exec("echo", "runs on").stdout()).isEqualTo("echo runs on\n");
    }
  }

  /**
   * Firecracker before 1.16.0 refuses {@code vsock_override}: the restore fails after
   * {@code GET /version}, before any load, with a {@link SnapshotException} naming the release it
   * needs and the one it found; nothing of the new pod is left.
   */
  @Test
  @Timeout(120)
  void aRestoreOnFirecrackerBefore116IsASnapshotExceptionNamingTheVersionAndLeavesNothing() throws Exception {
    RuntimeServices rt = runtime("", "1.15.0");
    try (MicroPod warm = RealMicroPod.start(spec().snapshottable(true).build(), rt)) {
      PodSnapshot snap = warm.snapshot("old");
      int before = requestCount();

      assertThatThrownBy(() -> RealMicroPod.start(MicroPod.builder().fromSnapshot(snap).build(), rt))
          .isInstanceOfSatisfying(SnapshotException.class, e -> assertThat(e.snapshot()).isEqualTo("old"))
          .hasMessageContaining("could not load snapshot \"old\"")
          .hasMessageContaining("needs Firecracker 1.16.0 or later").hasMessageContaining("is 1.15.0")
          .hasMessageContaining("vsock_override");

      assertThat(requestsThrough(before, "GET /version")).extracting(FirecrackerSnapshotPodTest::call)
          .containsExactly("200 GET /version");
      assertThat(rt.state().all()).extracting(PodRecord::id).containsExactly(warm.id());
      try (Stream<Path> pods = Files.list(home.resolve("pods"))) {
        assertThat(pods.map(p -> p.getFileName().toString()).toList()).containsExactly(warm.id());
      }
    }
  }

  /**
   * A load that Firecracker itself refuses (here: a state file of another Firecracker release,
   * which passes MicroPod's checks) is a {@link SnapshotException} carrying Firecracker's
   * {@code fault_message}; the refused VMM is stopped and nothing of the new pod is left.
   */
  @Test
  @Timeout(120)
  void aLoadThatFirecrackerRefusesIsASnapshotExceptionWithItsFaultAndLeavesNothing() throws Exception {
    RuntimeServices rt = runtime("PUT /snapshot/load=Load snapshot error: Failed to restore from snapshot:"
        + " Failed to get snapshot state from file: Invalid data version", "");
    try (MicroPod warm = RealMicroPod.start(spec().snapshottable(true).build(), rt)) {
      PodSnapshot snap = warm.snapshot("other-release");
      int before = requestCount();

      assertThatThrownBy(() -> RealMicroPod.start(MicroPod.builder().fromSnapshot(snap).build(), rt))
          .isInstanceOfSatisfying(SnapshotException.class, e -> assertThat(e.snapshot()).isEqualTo("other-release"))
          .hasMessageContaining("could not load snapshot \"other-release\"")
          .hasMessageContaining("vm.snapshot.load").hasMessageContaining("Invalid data version");

      assertThat(requestsThrough(before, "PUT /snapshot/load")).extracting(FirecrackerSnapshotPodTest::call)
          .containsExactly("200 GET /version", "204 PUT /logger", "204 PUT /metrics", "400 PUT /snapshot/load");
      assertThat(rt.state().all()).extracting(PodRecord::id).containsExactly(warm.id());
      assertThat(warm.exec("echo", "source").exitCode()).isZero();
    }
  }

  /**
   * The faults a QEMU snapshot is checked for before a restore are a Firecracker snapshot's too,
   * with the same messages, before any Firecracker is spawned: a corrupt state file, a truncated
   * memory file, another guest image, another SDK version, and a snapshot of the other VMM.
   */
  @Test
  @Timeout(120)
  void aCorruptTruncatedOrForeignFirecrackerSnapshotIsRefusedBeforeAnythingIsSpawned() throws Exception {
    RuntimeServices rt = runtime("", "");
    PodSnapshot snap;
    try (MicroPod warm = RealMicroPod.start(spec().snapshottable(true).build(), rt)) {
      snap = warm.snapshot("faults");
    }
    Path dir = snap.path();
    int before = requestCount();
    MicroPodSpec restore = MicroPod.builder().fromSnapshot(snap).build();

    byte[] state = Files.readAllBytes(dir.resolve("state"));
    Files.write(dir.resolve("state"), "{\"corrupt\":true}".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    assertThatThrownBy(() -> RealMicroPod.start(restore, rt)).isInstanceOf(SnapshotException.class)
        .hasMessageContaining("is corrupt");
    Files.write(dir.resolve("state"), state);

    try (RandomAccessFile ram = new RandomAccessFile(dir.resolve("ram").toFile(), "rw")) {
      ram.setLength((160L << 20) - 4096);
    }
    assertThatThrownBy(() -> RealMicroPod.start(restore, rt)).isInstanceOf(SnapshotException.class)
        .hasMessageContaining("is truncated");
    try (RandomAccessFile ram = new RandomAccessFile(dir.resolve("ram").toFile(), "rw")) {
      ram.setLength(160L << 20);
    }

    Files.writeString(guestManifest, "{\"version\":\"g2\",\"inputsHash\":\"h2\"}");
    assertThatThrownBy(() -> RealMicroPod.start(restore, rt)).isInstanceOf(SnapshotException.class)
        .hasMessageContaining("needs guest image g1/h1 but this runtime boots g2/h2");
    Files.writeString(guestManifest, "{\"version\":\"g1\",\"inputsHash\":\"h1\"}");

    ObjectNode manifest = (ObjectNode) JSON.readTree(dir.resolve("manifest.json").toFile());
    JSON.writeValue(dir.resolve("manifest.json").toFile(), manifest.deepCopy().put("sdkVersion", "0.0.1-other"));
    assertThatThrownBy(() -> RealMicroPod.start(restore, rt)).isInstanceOf(SnapshotException.class)
        .hasMessageContaining("was taken by SDK 0.0.1-other");
    JSON.writeValue(dir.resolve("manifest.json").toFile(), manifest.deepCopy().put("vmm", "qemu"));
    assertThatThrownBy(() -> RealMicroPod.start(restore, rt)).isInstanceOf(SnapshotException.class)
        .hasMessageContaining("taken on the qemu VMM").hasMessageContaining("MICROPOD_VMM=qemu");

    assertThat(requests(before)).as("no Firecracker was spawned for a refused snapshot").isEmpty();
    assertThat(rt.state().all()).isEmpty();
  }
}
