package io.micropod.internal;

import static io.micropod.event.Phase.AGENT_CONNECT;
import static io.micropod.event.Phase.CONTAINER_START;
import static io.micropod.event.Phase.IMAGE_PULL;
import static io.micropod.event.Phase.ROOTFS_PREPARE;
import static io.micropod.event.Phase.STOP;
import static io.micropod.event.Phase.VM_BOOT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.google.protobuf.ByteString;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.stub.StreamObserver;
import io.micropod.AgentTimeoutException;
import io.micropod.ContainerStartException;
import io.micropod.ExecResult;
import io.micropod.ImageException;
import io.micropod.MicroPod;
import io.micropod.MicroPodException;
import io.micropod.MicroPodSpec;
import io.micropod.VmStartException;
import io.micropod.agent.v1.AgentServiceGrpc;
import io.micropod.agent.v1.CreateContainerRequest;
import io.micropod.agent.v1.CreateContainerResponse;
import io.micropod.agent.v1.ExecExit;
import io.micropod.agent.v1.ExecRequest;
import io.micropod.agent.v1.ExecResponse;
import io.micropod.agent.v1.GetInfoRequest;
import io.micropod.agent.v1.GetInfoResponse;
import io.micropod.agent.v1.GuestBootTimings;
import io.micropod.agent.v1.LogChunk;
import io.micropod.agent.v1.ReadLogsRequest;
import io.micropod.agent.v1.ShutdownRequest;
import io.micropod.agent.v1.ShutdownResponse;
import io.micropod.agent.v1.StartContainerRequest;
import io.micropod.agent.v1.StartContainerResponse;
import io.micropod.agent.v1.WaitContainerRequest;
import io.micropod.agent.v1.WaitContainerResponse;
import io.micropod.event.MicroPodListener;
import io.micropod.event.Phase;
import io.micropod.internal.base.Ids;
import io.micropod.internal.base.RuntimeConfig;
import io.micropod.internal.files.FileTrees;
import io.micropod.internal.state.PodRecord;
import io.micropod.internal.vm.Accel;
import io.micropod.internal.vm.HostCapabilities;
import io.micropod.internal.vm.Machine;
import io.micropod.internal.vm.RootfsShare;
import io.micropod.internal.vm.VmConfig;
import io.micropod.internal.vm.VmProcess;
import io.micropod.internal.vm.VmmDriver;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole pod life (boot steps, agent calls over a real Unix socket with Netty epoll, close)
 * with a fake VMM driver: no VM can boot in a unit test, so the "VM" is a gRPC server playing
 * the guest agent on the agent socket, per the guest contract.
 */
class FakeVmPodTest {

  /** Plays the guest agent; records the calls in order. */
  static final class FakeAgent extends AgentServiceGrpc.AgentServiceImplBase {
    final List<String> calls = new CopyOnWriteArrayList<>();
    volatile CreateContainerRequest created;
    volatile boolean silent;
    volatile Status startStatus;
    volatile Runnable onShutdown = () -> {};

    @Override
    public void getInfo(GetInfoRequest req, StreamObserver<GetInfoResponse> out) {
      calls.add("GetInfo");
      if (silent) {
        return;
      }
      out.onNext(GetInfoResponse.newBuilder().setKernelRelease("6.1.0-fake")
          .setBootTimings(GuestBootTimings.newBuilder().setInitStartedMs(5).setAgentReadyMs(6)).build());
      out.onCompleted();
    }

    @Override
    public void createContainer(CreateContainerRequest req, StreamObserver<CreateContainerResponse> out) {
      calls.add("CreateContainer");
      created = req;
      out.onNext(CreateContainerResponse.newBuilder().setBundlePath("/b").build());
      out.onCompleted();
    }

    @Override
    public void startContainer(StartContainerRequest req, StreamObserver<StartContainerResponse> out) {
      calls.add("StartContainer");
      if (startStatus != null) {
        out.onError(startStatus.asRuntimeException());
        return;
      }
      out.onNext(StartContainerResponse.newBuilder().setPid(1).build());
      out.onCompleted();
    }

    @Override
    public void waitContainer(WaitContainerRequest req, StreamObserver<WaitContainerResponse> out) {
      out.onNext(WaitContainerResponse.newBuilder().setExitCode(3).build());
      out.onCompleted();
    }

    @Override
    public void readLogs(ReadLogsRequest req, StreamObserver<LogChunk> out) {
      out.onNext(LogChunk.newBuilder().setData(ByteString.copyFromUtf8("hello\n")).build());
      out.onNext(LogChunk.newBuilder().setData(ByteString.copyFromUtf8("oops\n")).build());
      out.onCompleted();
    }

    @Override
    public StreamObserver<ExecRequest> execProcess(StreamObserver<ExecResponse> out) {
      return new StreamObserver<>() {
        @Override
        public void onNext(ExecRequest r) {
          calls.add("ExecProcess " + r.getStart().getProcess().getArgsList());
          out.onNext(ExecResponse.newBuilder().setStdout(ByteString.copyFromUtf8(
              String.join(" ", r.getStart().getProcess().getArgsList()) + "\n")).build());
          out.onNext(ExecResponse.newBuilder().setExit(ExecExit.newBuilder().setExitCode(0)).build());
          out.onCompleted();
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {}
      };
    }

    /** Records {@code Restored <container> -> <new id> hostname=<h> entropy=<n> bytes}. */
    @Override
    public void restored(io.micropod.agent.v1.RestoredRequest req,
        StreamObserver<io.micropod.agent.v1.RestoredResponse> out) {
      calls.add("Restored " + req.getContainerId() + " -> " + req.getNewContainerId() + " hostname="
          + req.getHostname() + " entropy=" + req.getEntropy().size() + " bytes");
      out.onNext(io.micropod.agent.v1.RestoredResponse.getDefaultInstance());
      out.onCompleted();
    }

    @Override
    public void prepareSnapshot(io.micropod.agent.v1.PrepareSnapshotRequest req,
        StreamObserver<io.micropod.agent.v1.PrepareSnapshotResponse> out) {
      calls.add("PrepareSnapshot");
      out.onNext(io.micropod.agent.v1.PrepareSnapshotResponse.getDefaultInstance());
      out.onCompleted();
    }

    @Override
    public void shutdown(ShutdownRequest req, StreamObserver<ShutdownResponse> out) {
      calls.add("Shutdown");
      out.onNext(ShutdownResponse.getDefaultInstance());
      out.onCompleted();
      onShutdown.run();
    }
  }

  /** A "VM" that is a gRPC server on the agent socket; powers off when the agent shuts down. */
  static final class FakeDriver implements VmmDriver {
    final FakeAgent agent = new FakeAgent();
    final List<String> events = new CopyOnWriteArrayList<>();
    volatile boolean dieDuringBoot;
    volatile Path sharedTree;
    volatile VmConfig spawned;

    @Override
    public String name() {
      return "fake";
    }

    @Override
    public String snapshotsUnsupported() {
      return null; // it plays QEMU's block share of a snapshottable pod
    }

    @Override
    public RootfsShare shareRootfs(VmConfig config, Path tree, Instant deadline) {
      sharedTree = tree;
      events.add("share");
      return new RootfsShare() {
        @Override
        public void stop() {
          events.add("unshare");
        }

        @Override
        public void kill() {}

        @Override
        public Path blockImage() { // block mode, as QEMU's share of a snapshottable pod
          return config.snapshotting() == null ? null : tree.resolveSibling("rootfs.img");
        }
      };
    }

    @Override
    public VmProcess spawn(VmConfig config, io.micropod.internal.vm.RootfsShare rootfs, Instant deadline) throws IOException {
      events.add("spawn");
      spawned = config;
      // a VM writes its console: the kernel's first lines
      Files.writeString(config.consoleLog(), "[    0.000000] Linux version 6.1.0-fake\n",
          java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
      CompletableFuture<Integer> exit = new CompletableFuture<>();
      EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
      Server server = dieDuringBoot ? null : serve(agent, config.agentSocket(), group);
      Runnable powerOff = () -> {
        if (server != null) {
          server.shutdownNow();
        }
        group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS);
        exit.complete(0);
      };
      agent.onShutdown = () -> CompletableFuture.runAsync(powerOff);
      if (dieDuringBoot) {
        CompletableFuture.runAsync(powerOff, CompletableFuture.delayedExecutor(200,
            java.util.concurrent.TimeUnit.MILLISECONDS));
      }
      return new VmProcess() {
        @Override
        public Path agentSocket() {
          return config.agentSocket();
        }

        @Override
        public boolean isAlive() {
          return !exit.isDone();
        }

        @Override
        public CompletableFuture<Integer> onExit() {
          return exit;
        }

        @Override
        public String consoleTail() {
          return "[console.log]\nKernel panic - fake";
        }

        @Override
        public void stop(Duration grace) {
          try {
            exit.get(grace.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          } catch (Exception e) {
            // not exited within the grace period
          }
          events.add(exit.isDone() ? "stop (already exited)" : "stop (killed)");
          powerOff.run();
        }

        @Override
        public void kill() {
          powerOff.run();
        }

        @Override
        public void pause() {
          events.add("pause");
        }
      };
    }
  }

  /** {@code agent} served on the Unix socket {@code socket} (Netty epoll, as the SDK's client uses). */
  static Server serve(FakeAgent agent, Path socket, EventLoopGroup group) throws IOException {
    io.grpc.ServerInterceptor peer = new io.grpc.ServerInterceptor() {
      @Override
      public <Q, A> io.grpc.ServerCall.Listener<Q> interceptCall(io.grpc.ServerCall<Q, A> call,
          io.grpc.Metadata headers, io.grpc.ServerCallHandler<Q, A> next) {
        return io.grpc.Contexts.interceptCall(io.grpc.Context.current().withValue(PEER,
            call.getAttributes().get(io.grpc.Grpc.TRANSPORT_ATTR_REMOTE_ADDR)), call, headers, next);
      }
    };
    return NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
        .channelType(EpollServerDomainSocketChannel.class)
        .bossEventLoopGroup(group).workerEventLoopGroup(group)
        .withChildOption(io.grpc.netty.shaded.io.netty.channel.ChannelOption.SO_KEEPALIVE, null)
        .addService(io.grpc.ServerInterceptors.intercept(agent, peer)).build().start();
  }

  /** In a call of an agent {@link #serve}d: the peer address of the connection it came on. */
  static final io.grpc.Context.Key<java.net.SocketAddress> PEER = io.grpc.Context.key("agent-call-peer");

  /** Records listener events as "start PHASE" / "end PHASE" / "failed PHASE". */
  static final class Recorder implements MicroPodListener {
    final List<String> events = new CopyOnWriteArrayList<>();

    @Override
    public void phaseStart(String podId, Phase phase) {
      events.add("start " + phase);
    }

    @Override
    public void phaseEnd(String podId, Phase phase, Duration took) {
      events.add("end " + phase);
    }

    @Override
    public void phaseFailed(String podId, Phase phase, Throwable cause) {
      events.add("failed " + phase);
    }
  }

  @TempDir Path tmp;
  private Path home;
  private Path layout;
  private final FakeDriver driver = new FakeDriver();
  private final Recorder recorder = new Recorder();
  private RuntimeServices runtime;

  @BeforeEach
  void setUp() throws Exception {
    home = tmp.resolve("home");
    layout = writeLayout(tmp.resolve("layout"));
    HostCapabilities host = new HostCapabilities(Path.of("/fake/qemu"), Path.of("/fake/virtiofsd"), List.of(),
        Path.of("/fake/vmlinux"), Path.of("/fake/initramfs.cpio"), Accel.TCG, "fake", Machine.MICROVM, 0, false);
    runtime = new RuntimeServices(new RuntimeConfig(home, "qemu", null, null, null, null, Map.of()),
        () -> host, driver);
  }

  @AfterEach
  void tearDown() {
    extraRuntimes.forEach(RuntimeServices::close);
    runtime.close();
  }

  private MicroPodSpec.Builder spec() {
    return MicroPodSpec.builder().image("oci:" + layout).listener(recorder);
  }

  private List<Path> leftovers(String podId) {
    return java.util.stream.Stream.of(Path.of("/tmp", "micropod-" + podId), home.resolve("pods").resolve(podId))
        .filter(Files::exists).toList();
  }

  @Test
  void podBootsServesCallsAndCloseUndoesEverythingInReverse() {
    MicroPod pod = RealMicroPod.start(spec().command("sleep", "60").env("GREETING", "hi").build(), runtime);
    String id = pod.id();

    assertThat(id).matches("[0-9a-f]{12}");
    assertThat(Path.of("/tmp", "micropod-" + id)).isDirectory();
    assertThat(driver.sharedTree).isEqualTo(home.resolve("store/rootfs").resolve(driver.sharedTree.getFileName()));
    assertThat(driver.sharedTree.resolve("bin/hello")).hasContent("hi");
    CreateContainerRequest created = driver.agent.created;
    assertThat(created.getContainerId()).isEqualTo(id);
    assertThat(created.getImageRootfs()).isEqualTo("/run/micropod/image");
    assertThat(created.getProcess().getArgsList()).containsExactly("/entry", "sleep", "60");
    assertThat(created.getProcess().getEnvList()).containsExactly("PATH=/bin", "GREETING=hi");
    assertThat(created.getProcess().getCwd()).isEqualTo("/work");

    assertThat(pod.exec("echo", "hi")).isEqualTo(ExecResult.of(0, "echo hi\n", ""));
    assertThat(pod.logs()).isEqualTo("hello\noops\n");
    assertThat(pod.waitFor()).isEqualTo(3);
    assertThat(pod.waitFor(Duration.ofSeconds(1))).hasValue(3);
    assertThat(pod.bootTimings().total()).isPositive();
    assertThat(pod.bootTimings().agentReady()).isLessThanOrEqualTo(pod.bootTimings().total());

    pod.close();

    assertThat(recorder.events).containsExactly(
        "start IMAGE_PULL", "end IMAGE_PULL", "start ROOTFS_PREPARE", "end ROOTFS_PREPARE",
        "start VM_BOOT", "end VM_BOOT", "start AGENT_CONNECT", "end AGENT_CONNECT",
        "start CONTAINER_START", "end CONTAINER_START", "start STOP", "end STOP");
    assertThat(driver.agent.calls).containsExactly("GetInfo", "CreateContainer", "StartContainer",
        "ExecProcess [echo, hi]", "Shutdown");
    assertThat(driver.events).containsExactly("share", "spawn", "stop (already exited)", "unshare");
    assertThat(leftovers(id)).isEmpty();

    pod.close();
    assertThat(recorder.events).hasSize(12);
    assertThatThrownBy(() -> pod.exec("true")).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
  }

  /** A runtime of this test's fake driver with its own config directory (and environment). */
  private RuntimeServices runtimeWithConfig(Path configDir, Map<String, String> env) {
    HostCapabilities host = new HostCapabilities(Path.of("/fake/qemu"), Path.of("/fake/virtiofsd"), List.of(),
        Path.of("/fake/vmlinux"), Path.of("/fake/initramfs.cpio"), Accel.TCG, "fake", Machine.MICROVM, 0, false);
    RuntimeServices rt = new RuntimeServices(new RuntimeConfig(home, "qemu", null, null, null, null, env, configDir),
        () -> host, driver);
    extraRuntimes.add(rt);
    return rt;
  }

  private final List<RuntimeServices> extraRuntimes = new CopyOnWriteArrayList<>();

  @Test
  void consoleLogIsWrittenUnderTheConfigDirPrivatelyAndCloseRemovesIt() throws Exception {
    Path config = tmp.resolve("config");
    RuntimeServices rt = runtimeWithConfig(config, Map.of());
    {
      MicroPod pod = RealMicroPod.start(spec().command("sleep", "60").build(), rt);
      Path log = config.resolve("logs").resolve(pod.id() + ".log");

      assertThat(driver.spawned.consoleLog()).isEqualTo(log);
      assertThat(log).isRegularFile();
      assertThat(java.nio.file.Files.getPosixFilePermissions(log))
          .isEqualTo(java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
      assertThat(java.nio.file.Files.getPosixFilePermissions(log.getParent()))
          .isEqualTo(java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
      assertThat(rt.state().read(pod.id()).orElseThrow().consoleLog()).isEqualTo(log.toString());

      pod.close();

      assertThat(log).doesNotExist();
      assertThat(leftovers(pod.id())).isEmpty();
    }
  }

  /**
   * What {@code micropod snapshot create} in another process needs is in a snapshottable pod's
   * record (its attached handle has no spec): memory, vCPUs, RAM file, block image, container id.
   */
  @Test
  void aSnapshottablePodsRecordHoldsWhatASnapshotByAnotherProcessNeeds() {
    try (MicroPod pod = RealMicroPod.start(spec().command("sleep", "60").snapshottable(true)
        .memoryMib(640).cpus(2).hostname("h1").build(), runtime)) {
      PodRecord r = runtime.state().read(pod.id()).orElseThrow();

      assertThat(r.snapshottable()).isEqualTo(new PodRecord.Snapshottable(640, 2,
          driver.spawned.socketDir().resolve("ram").toString(),
          driver.sharedTree.resolveSibling("rootfs.img").toString(), pod.id(), "h1"));
    }
    try (MicroPod plain = RealMicroPod.start(spec().command("sleep", "60").build(), runtime)) {
      assertThat(runtime.state().read(plain.id()).orElseThrow().snapshottable()).isNull();
    }
  }

  @Test
  void aPodWithEgressRulesIsRefusedByADriverThatCannotEnforceThemBeforeItsVmRuns() {
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> RealMicroPod.start(
            spec().command("sleep", "60").egressDeny("198.51.100.0/24").build(), runtime))
        .isInstanceOf(io.micropod.NetworkException.class)
        .hasMessageContaining("the fake driver cannot enforce").hasMessageContaining("MICROPOD_VMM=qemu")
        .hasMessageContaining("198.51.100.0/24");
    assertThat(driver.spawned).isNull();
    try (MicroPod pod = RealMicroPod.start(spec().command("sleep", "60").build(), runtime)) {
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> pod.updateEgress(io.micropod.EgressPolicy.allowAll()))
          .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("cannot enforce egress rules");
    }
  }

  /**
   * Jailed (MicroPod as root), the Firecracker driver cannot reach snapshot files from inside the
   * jail (not implemented): a snapshottable pod and a restore are refused with a message naming
   * the jailer and the ways out, before any directory, record or process of the pod exists (the
   * binaries here do not even exist: nothing may be spawned).
   */
  @Test
  void aJailedFirecrackerDriverRefusesASnapshottablePodAndARestoreBeforeAnythingStarts() {
    HostCapabilities host = new HostCapabilities(Path.of("/fake/qemu"), Path.of("/fake/virtiofsd"), List.of(),
        Path.of("/fake/vmlinux"), Path.of("/fake/initramfs.cpio"), Accel.TCG, "fake", Machine.MICROVM, 0, false);
    var fcOptions = new io.micropod.internal.vm.firecracker.FirecrackerDriver.Options(true, null,
        io.micropod.internal.transport.HybridVsockConnector.Timeouts.DEFAULT,
        new io.micropod.internal.vm.firecracker.FirecrackerDriver.Jailer(tmp.resolve("no-such-jailer"),
            home.resolve("jailer"), 2));
    RuntimeServices fc = new RuntimeServices(new RuntimeConfig(home, "firecracker", null, null, null, null, Map.of()),
        () -> host, new io.micropod.internal.vm.firecracker.FirecrackerDriver(tmp.resolve("no-such-firecracker"),
            new io.micropod.internal.image.BlockImages(home, null), fcOptions));
    extraRuntimes.add(fc);
    io.micropod.PodSnapshot warm = new io.micropod.PodSnapshot("warm", home.resolve("snapshots/warm"), "oci:" + layout, "abc",
        java.time.Instant.EPOCH, 1, 512, 1, "g", "v");

    org.assertj.core.api.Assertions.assertThatThrownBy(() -> RealMicroPod.start(
            spec().command("sleep", "60").snapshottable(true).build(), fc))
        .isInstanceOf(io.micropod.SnapshotException.class)
        .hasMessageContaining("cannot snapshot or restore pods through its jailer")
        .hasMessageContaining("Run MicroPod as an ordinary user")
        .hasMessageContaining("MICROPOD_VMM=qemu").hasMessageContaining("(snapshottable(true))");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> RealMicroPod.start(
            io.micropod.MicroPod.builder().fromSnapshot(warm).listener(recorder).build(), fc))
        .isInstanceOfSatisfying(io.micropod.SnapshotException.class, e -> assertThat(e.snapshot()).isEqualTo("warm"))
        .hasMessageContaining("through its jailer")
        .hasMessageContaining("restoring snapshot \"warm\"");
    assertThat(home.resolve("pods")).doesNotExist();
    assertThat(fc.state().all()).isEmpty();
  }

  @Test
  void snapshottingAPodNotStartedSnapshottableSaysHowToStartIt() {
    try (MicroPod pod = RealMicroPod.start(spec().command("sleep", "60").build(), runtime)) {
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> pod.snapshot("s1"))
          .isInstanceOf(IllegalStateException.class).hasMessageContaining("snapshottable(true)")
          .hasMessageContaining("`micropod run --snapshottable`");
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> pod.snapshot("../s1"))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("../s1");
      assertThat(pod.exec("true").exitCode()).isZero(); // it runs on
    }
  }

  @Test
  void aPublishedPortIsBoundBeforeTheAgentConnectsAndClosedWithThePod() throws Exception {
    MicroPod pod = RealMicroPod.start(spec().command("sleep", "60").port(80).build(), runtime);
    int hostPort = pod.mappedPort(80);

    assertThat(hostPort).isPositive();
    try (java.net.ServerSocket probe = new java.net.ServerSocket()) {
      assertThatThrownBy(() -> probe.bind(new java.net.InetSocketAddress("127.0.0.1", hostPort)))
          .isInstanceOf(java.net.BindException.class);
    }
    assertThat(listenersOfThisProcess(hostPort)).as("this JVM listens on the port").isNotEmpty();
    pod.close();
    // No socket of this JVM listens on it any more. Asked of the kernel's socket table, not of the
    // port: once released, the port is back in the ephemeral range, and CI saw another process's
    // outgoing connection take it (so it could not be bound), and a connect to it succeed (a
    // connection whose own ephemeral port was that one connects to itself).
    assertThat(listenersOfThisProcess(hostPort)).as("this JVM listens on the port").isEmpty();
  }

  /** The inodes of this process's sockets that listen on TCP {@code port} (/proc/net/tcp{,6} and /proc/self/fd). */
  private static java.util.Set<String> listenersOfThisProcess(int port) throws IOException {
    java.util.Set<String> listening = new java.util.HashSet<>();
    // Java's sockets are IPv6 ones with a v4-mapped address unless IPv4 is preferred: both tables
    for (String proc : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      List<String> table = Files.readAllLines(Path.of(proc));
      for (String line : table.subList(1, table.size())) {
        String[] f = line.trim().split("\\s+");
        // local_address is HEXIP:HEXPORT, st 0A is LISTEN, the inode is the tenth field
        if (f[3].equals("0A") && Integer.parseInt(f[1].substring(f[1].indexOf(':') + 1), 16) == port) {
          listening.add("socket:[" + f[9] + "]");
        }
      }
    }
    java.util.Set<String> mine = new java.util.HashSet<>();
    try (java.util.stream.Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      for (Path fd : fds.toList()) {
        try {
          String target = Files.readSymbolicLink(fd).toString();
          if (listening.contains(target)) {
            mine.add(target);
          }
        } catch (IOException closedMeanwhile) {
          // an fd closed while listed (the list's own, for one)
        }
      }
    }
    return mine;
  }

  /**
   * Closing an attached pod registers its undo in one call (PodResources.all); a start registers
   * it step by step as it acquires each resource. A start that fails after everything was
   * acquired must undo the same resources, in the same order, as closing the attached pod.
   */
  @Test
  void attachedPodAndFailedStartUndoTheSameResources() throws Exception {
    driver.agent.startStatus = Status.FAILED_PRECONDITION.withDescription("exec: no such file");
    MicroPodSpec spec = spec().command("sleep", "60").build();
    Boot failed = new Boot(Ids.newPodId(), spec, runtime, runtime.host());
    CleanupStack failedUndo = new CleanupStack(failed.id);
    assertThatThrownBy(() -> new BootSequence<>(failed.id, spec.listener(), PodStarter.steps())
        .run(failed, failedUndo)).isInstanceOf(ContainerStartException.class);
    Boot attached = new Boot(Ids.newPodId(), spec, runtime, null);
    CleanupStack attachedUndo = new CleanupStack(attached.id);

    PodResources.all(attached, attachedUndo);

    List<String> undone = failedUndo.ran().stream()
        .filter(n -> !n.equals("image.release")) // this JVM's use of the image store, not the pod's
        .toList();
    assertThat(undone).containsExactlyElementsOf(attachedUndo.names());
    assertThat(undone).containsExactly("agent.relay.stop", "agent.close", "vmm.stop", "rootfs.share.stop", "sockdir.remove",
        "poddir.remove", "state.remove", "console.log.remove");
    assertThat(leftovers(failed.id)).isEmpty();
  }

  /**
   * The orphan reaper (a sweep, for a pod whose owner died) registers the undo from the record as
   * attach does and runs it as close() does: the same resources by name and order as closing an
   * attached pod (and so as a failed start), with the reaper's rules kept: the recorded processes
   * stopped (pid and start time checked), the directories and record removed, the console log kept.
   */
  @Test
  void theReaperUndoesADeadOwnersPodAsClosingAnAttachedPodDoes() throws Exception {
    RuntimeServices rt = runtimeWithConfig(tmp.resolve("config"), Map.of());
    Boot attached = new Boot(Ids.newPodId(), spec().build(), rt, null);
    CleanupStack attachedUndo = new CleanupStack(attached.id);
    PodResources.all(attached, attachedUndo);
    String id = Ids.newPodId();
    Process owner = new ProcessBuilder("true").start();
    assertThat(owner.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    Process vmm = new ProcessBuilder("sleep", "60").start();
    Process share = new ProcessBuilder("sleep", "60").start();
    Path podDir = Files.createDirectories(home.resolve("pods").resolve(id));
    Path sockDir = Files.createDirectories(Path.of("/tmp", "micropod-" + id));
    try {
      Path log = rt.consoleLogs().create(id);
      Files.writeString(log, "guest: booted\n");
      PodRecord record = new PodRecord(PodRecord.VERSION, id, null, "oci:" + layout, "qemu", PodRecord.RUNNING,
          false, new PodRecord.Proc(owner.pid(), 1), PodRecord.Proc.of(vmm.pid()), PodRecord.Proc.of(share.pid()),
          "", podDir.toString(), sockDir.toString(), sockDir.resolve("agent.sock").toString(), Map.of(),
          Instant.now().toString(), null).withConsoleLog(log.toString());
      rt.state().write(record);
      assertThat(io.micropod.internal.state.OrphanReaper.isLive(record)).isFalse();

      List<String> reaped = rt.state().locked(() -> PodStates.reap(rt, record));

      assertThat(reaped).containsExactlyElementsOf(attachedUndo.names());
      assertThat(vmm.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
      assertThat(share.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
      assertThat(leftovers(id)).isEmpty();
      assertThat(rt.state().read(id)).isEmpty();
      assertThat(log).hasContent("guest: booted");
    } finally {
      vmm.destroyForcibly();
      share.destroyForcibly();
      FileTrees.deleteTree(sockDir);
    }
  }

  /**
   * What {@code micropod restart} in another process needs to start the pod again: memory, vCPUs
   * and the network mode are recorded.
   */
  @Test
  void aStartedPodsRecordHoldsItsMemoryVcpusAndNetworkModeForOtherProcesses() {
    RuntimeServices rt = runtimeWithConfig(tmp.resolve("config"), Map.of());
    try (MicroPod pod = RealMicroPod.start(spec().command("sleep", "60").memoryMib(640).cpus(2)
        .networkMode(io.micropod.NetworkMode.NONE).build(), rt)) {
      io.micropod.PodInfo.Config c = PodStates.list(rt).stream().filter(i -> i.id().equals(pod.id())).findFirst()
          .orElseThrow().config().orElseThrow();

      assertThat(c.memoryMib()).hasValue(640);
      assertThat(c.cpus()).hasValue(2);
      assertThat(c.networkMode()).isEqualTo(io.micropod.NetworkMode.NONE);
    }
  }

  /**
   * A rename by another process ({@code MicroPodRuntime.rename}) runs under the state lock against
   * every live record, and the owner's next record update (here a pause) keeps the new name: the
   * owner changes the record as written, not its own copy.
   */
  @Test
  void aRenameKeepsNamesUniqueAmongLivePodsAndSurvivesTheOwnersNextRecordUpdate() {
    RuntimeServices rt = runtimeWithConfig(tmp.resolve("config"), Map.of());
    String otherId = Ids.newPodId();
    rt.state().write(new PodRecord(PodRecord.VERSION, otherId, "other", "oci:" + layout, "qemu", PodRecord.RUNNING,
        false, PodRecord.Proc.self(), null, null, "", tmp.resolve(otherId).toString(), tmp.resolve("s").toString(),
        tmp.resolve("s/agent.sock").toString(), Map.of(), Instant.now().toString(), null));
    try (MicroPod pod = RealMicroPod.start(spec().name("first").command("sleep", "60").build(), rt)) {
      assertThat(PodStates.rename(rt, "first", "second")).isEqualTo(pod.id());
      assertThat(rt.state().read(pod.id()).orElseThrow().name()).isEqualTo("second");
      assertThat(PodStates.rename(rt, pod.id(), "second")).as("its own name again").isEqualTo(pod.id());
      assertThatThrownBy(() -> PodStates.rename(rt, "second", "other")).isInstanceOf(MicroPodException.class)
          .hasMessageContaining("the name 'other' is taken by live pod " + otherId);
      assertThatThrownBy(() -> PodStates.rename(rt, "first", "third"))
          .isInstanceOf(io.micropod.PodNotFoundException.class).hasMessageContaining("'first'");

      pod.pause();

      PodRecord r = rt.state().read(pod.id()).orElseThrow();
      assertThat(r.status()).isEqualTo(PodRecord.PAUSED);
      assertThat(r.name()).isEqualTo("second");
    } finally {
      rt.state().delete(otherId);
    }
  }

  @Test
  void failedStartKeepsTheConsoleLogThatItsErrorNames() {
    Path config = tmp.resolve("config");
    driver.agent.silent = true;
    RuntimeServices rt = runtimeWithConfig(config, Map.of());
    {
      Throwable thrown = catchThrowable(() ->
          RealMicroPod.start(spec().command("true").startupTimeout(Duration.ofMillis(500)).build(), rt));

      assertThat(thrown).isInstanceOfSatisfying(AgentTimeoutException.class, e -> {
        Path log = config.resolve("logs").resolve(e.podId() + ".log");
        assertThat(e).hasMessageContaining("Guest console: " + log);
        assertThat(log).isRegularFile();
        assertThat(leftovers(e.podId())).isEmpty();
        assertThat(rt.state().read(e.podId())).isEmpty();
      });
    }
  }

  @Test
  void aVmThatExitedByItselfKeepsItsConsoleLogAfterClose() {
    Path config = tmp.resolve("config");
    RuntimeServices rt = runtimeWithConfig(config, Map.of());
    MicroPod pod = RealMicroPod.start(spec().command("sleep", "60").build(), rt);
    Path log = config.resolve("logs").resolve(pod.id() + ".log");

    driver.agent.onShutdown.run(); // the "guest" powers off on its own
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!((RealMicroPod) pod).keepsConsoleLog() && System.nanoTime() < deadline) {
      java.util.concurrent.locks.LockSupport.parkNanos(10_000_000);
    }
    pod.close();

    assertThat(log).isRegularFile();
    assertThat(leftovers(pod.id())).isEmpty();
  }

  @Test
  void debugKeepsTheConsoleLogAfterClose() {
    Path config = tmp.resolve("config");
    RuntimeServices rt = runtimeWithConfig(config, Map.of("MICROPOD_DEBUG", "1"));
    {
      MicroPod pod = RealMicroPod.start(spec().command("sleep", "60").build(), rt);
      pod.close();

      assertThat(config.resolve("logs").resolve(pod.id() + ".log")).isRegularFile();
    }
  }

  @Test
  void aConfigDirThatCannotBeCreatedIsAClearErrorAndLeavesNothing() throws Exception {
    // tests run as root here: a directory under a regular file cannot be made even by root
    Path file = Files.writeString(tmp.resolve("a-file"), "x");
    Path config = file.resolve("micropod");
    RuntimeServices rt = runtimeWithConfig(config, Map.of());
    {
      Throwable thrown = catchThrowable(() -> RealMicroPod.start(spec().command("true").build(), rt));

      assertThat(thrown).isInstanceOf(io.micropod.HostUnsupportedException.class)
          .hasMessageContaining("writable MicroPod config directory")
          .hasMessageContaining(config.toString())
          .hasMessageContaining("MICROPOD_CONFIG_DIR")
          .hasMessageNotContaining("UncheckedIOException");
      assertThat(driver.events).isEmpty();
      assertThat(home.resolve("pods")).satisfiesAnyOf(
          p -> assertThat(p).doesNotExist(), p -> assertThat(p).isEmptyDirectory());
    }
  }

  /**
   * Each file a start creates is its own step, named for what it does (it was part of
   * {@code virtiofs.start}): a pod directory that cannot be made fails {@code poddir.create},
   * before any helper runs, and the record already written is removed again.
   */
  @Test
  void aPodDirectoryThatCannotBeMadeFailsStepPoddirCreateAndLeavesNothing() throws Exception {
    Files.createDirectories(home);
    Files.writeString(home.resolve("pods"), "not a directory");

    Throwable thrown = catchThrowable(() -> RealMicroPod.start(spec().command("true").build(), runtime));

    assertThat(thrown).isInstanceOfSatisfying(MicroPodException.class, e -> {
      assertThat(e).hasMessageContaining("step poddir.create of pod " + e.podId());
      assertThat(e.phase()).hasValue(Phase.ROOTFS_PREPARE);
      assertThat(runtime.state().read(e.podId())).isEmpty();
      assertThat(Path.of("/tmp", "micropod-" + e.podId())).doesNotExist();
    });
    assertThat(driver.events).isEmpty();
    assertThat(recorder.events).endsWith("start ROOTFS_PREPARE", "failed ROOTFS_PREPARE");
  }

  @Test
  void mountsWithADriverWithoutVirtiofsFailBeforeAnythingStarts() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("shared"));

    Throwable thrown = catchThrowable(() -> RealMicroPod.start(spec().command("true")
        .mount(io.micropod.Mount.readOnly(dir, "/data")).build(), runtime));

    assertThat(thrown).isInstanceOf(MicroPodException.class)
        .hasMessageContaining("the fake driver cannot share host directories")
        .hasMessageContaining(dir + ":/data:ro");
    assertThat(driver.events).isEmpty();
    assertThat(recorder.events).isEmpty();
    assertThat(home.resolve("pods")).doesNotExist();
  }

  @Test
  void aMountWhoseHostDirectoryVanishedBeforeStartFailsBeforeAnythingStarts() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("vanishing"));
    MicroPodSpec spec = spec().command("true").mount(io.micropod.Mount.readWrite(dir, "/data")).build();
    Files.delete(dir);
    RuntimeServices qemuLike = new RuntimeServices(runtime.config(), runtime::host,
        new io.micropod.internal.vm.QemuDriver());

    Throwable thrown = catchThrowable(() -> RealMicroPod.start(spec, qemuLike));

    assertThat(thrown).isInstanceOf(MicroPodException.class)
        .hasMessageContaining(dir + ":/data:rw").hasMessageContaining("no longer exists");
    assertThat(recorder.events).isEmpty();
    assertThat(home.resolve("pods")).doesNotExist();
    qemuLike.close();
  }

  @Test
  void containerThatCannotStartUnwindsEverything() {
    driver.agent.startStatus = Status.FAILED_PRECONDITION.withDescription("exec: \"/nope\": no such file");

    Throwable thrown = catchThrowable(() -> RealMicroPod.start(spec().command("/nope").build(), runtime));

    assertThat(thrown).isInstanceOfSatisfying(ContainerStartException.class, e -> {
      assertThat(e).hasMessageContaining("/nope");
      assertThat(e.runtimeMessage()).contains("no such file");
      assertThat(e.phase()).hasValue(CONTAINER_START);
      assertThat(leftovers(e.podId())).isEmpty();
    });
    assertThat(driver.agent.calls).endsWith("StartContainer", "Shutdown");
    assertThat(driver.events).containsExactly("share", "spawn", "stop (already exited)", "unshare");
    assertThat(recorder.events).endsWith("start CONTAINER_START", "failed CONTAINER_START");
  }

  @Test
  void agentThatNeverAnswersIsAnAgentTimeoutAfterTheStartupTimeout() {
    driver.agent.silent = true;

    Throwable thrown = catchThrowable(() ->
        RealMicroPod.start(spec().command("true").startupTimeout(Duration.ofMillis(500)).build(), runtime));

    assertThat(thrown).isInstanceOfSatisfying(AgentTimeoutException.class, e -> {
      assertThat(e).hasMessageContaining("agent").hasMessageContaining("agent.sock")
          .hasMessageContaining("Kernel panic - fake");
      assertThat(e.phase()).hasValue(AGENT_CONNECT);
      assertThat(leftovers(e.podId())).isEmpty();
    });
    assertThat(driver.agent.calls).doesNotContain("Shutdown");
    assertThat(driver.events).containsExactly("share", "spawn", "stop (killed)", "unshare");
  }

  @Test
  void vmThatDiesWhileBootingFailsFastWithItsConsole() {
    driver.dieDuringBoot = true;
    Instant started = Instant.now();

    Throwable thrown = catchThrowable(() ->
        RealMicroPod.start(spec().command("true").startupTimeout(Duration.ofSeconds(60)).build(), runtime));

    assertThat(thrown).isInstanceOfSatisfying(VmStartException.class, e -> {
      assertThat(e.stepId()).isEqualTo("agent.connect");
      assertThat(e.consoleTail()).contains("Kernel panic - fake");
      assertThat(leftovers(e.podId())).isEmpty();
    });
    assertThat(Duration.between(started, Instant.now())).isLessThan(Duration.ofSeconds(30));
    assertThat(recorder.events).endsWith("start AGENT_CONNECT", "failed AGENT_CONNECT");
  }

  @Test
  void anUnreachableRegistryFailsInImagePullWithoutRetryingDnsAndBootsNothing() {
    // .invalid never resolves (RFC 2606)
    Throwable thrown = catchThrowable(() ->
        RealMicroPod.start(MicroPodSpec.builder().image("registry.invalid/app:3.20").listener(recorder).build(), runtime));

    assertThat(thrown).isInstanceOfSatisfying(ImageException.class, e -> {
      assertThat(e).hasMessageContaining("cannot resolve the host of registry registry.invalid");
      assertThat(e.ref()).isEqualTo("registry.invalid/app:3.20");
      assertThat(e.phase()).hasValue(IMAGE_PULL);
    });
    assertThat(recorder.events).containsExactly("start IMAGE_PULL", "failed IMAGE_PULL");
    assertThat(driver.events).isEmpty();
    assertThat(home.resolve("pods")).doesNotExist();
  }

  @Test
  void interruptedStartCleansUpAndKeepsTheFlag() {
    driver.agent.silent = true;
    Thread.currentThread().interrupt();
    try {
      Throwable thrown = catchThrowable(() -> RealMicroPod.start(spec().command("true").build(), runtime));

      assertThat(thrown).isInstanceOf(MicroPodException.class).hasMessageContaining("interrupted");
      assertThat(leftovers(((MicroPodException) thrown).podId())).isEmpty();
      assertThat(Thread.currentThread().isInterrupted()).isTrue();
    } finally {
      Thread.interrupted();
    }
  }

  static Path writeLayout(Path dir) throws Exception {
    Files.createDirectories(dir.resolve("blobs/sha256"));
    Files.writeString(dir.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
    ByteArrayOutputStream tarBytes = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(new GZIPOutputStream(tarBytes))) {
      byte[] hi = "hi".getBytes(StandardCharsets.UTF_8);
      TarArchiveEntry e = new TarArchiveEntry("bin/hello");
      e.setSize(hi.length);
      e.setMode(0100755);
      tar.putArchiveEntry(e);
      tar.write(hi);
      tar.closeArchiveEntry();
    }
    byte[] layer = tarBytes.toByteArray();
    byte[] config = ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=/bin\"],"
        + "\"Entrypoint\":[\"/entry\"],\"Cmd\":[\"sh\"],\"WorkingDir\":\"/work\"}}").getBytes(StandardCharsets.UTF_8);
    String manifest = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
        + "\"digest\":\"" + blob(dir, config) + "\",\"size\":" + config.length + "},\"layers\":[{\"mediaType\":"
        + "\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" + blob(dir, layer) + "\",\"size\":"
        + layer.length + "}]}";
    byte[] m = manifest.getBytes(StandardCharsets.UTF_8);
    Files.writeString(dir.resolve("index.json"), "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
        + "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" + blob(dir, m) + "\",\"size\":" + m.length
        + ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"latest\"}}]}");
    return dir;
  }

  private static String blob(Path dir, byte[] bytes) throws Exception {
    String hex = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    Files.write(dir.resolve("blobs/sha256").resolve(hex), bytes);
    return "sha256:" + hex;
  }
}
