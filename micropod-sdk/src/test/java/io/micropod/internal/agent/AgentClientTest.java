package io.micropod.internal.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.micropod.AgentException;
import io.micropod.AgentStatus;
import io.micropod.AgentTimeoutException;
import io.micropod.ContainerStartException;
import io.micropod.ExecResult;
import io.micropod.agent.v1.AgentServiceGrpc;
import io.micropod.agent.v1.CreateContainerRequest;
import io.micropod.agent.v1.CreateContainerResponse;
import io.micropod.agent.v1.ExecExit;
import io.micropod.agent.v1.ExecRequest;
import io.micropod.agent.v1.ExecResponse;
import io.micropod.agent.v1.GetInfoRequest;
import io.micropod.agent.v1.GetInfoResponse;
import io.micropod.agent.v1.GetStatsRequest;
import io.micropod.agent.v1.GetStatsResponse;
import io.micropod.agent.v1.GuestBootTimings;
import io.micropod.agent.v1.LogChunk;
import io.micropod.agent.v1.OutputStream;
import io.micropod.agent.v1.ProcessSpec;
import io.micropod.agent.v1.ReadLogsRequest;
import io.micropod.agent.v1.ShutdownRequest;
import io.micropod.agent.v1.ShutdownResponse;
import io.micropod.agent.v1.StartContainerRequest;
import io.micropod.agent.v1.StartContainerResponse;
import io.micropod.agent.v1.WaitContainerRequest;
import io.micropod.agent.v1.WaitContainerResponse;
import io.micropod.event.Phase;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** AgentClient against an in-process gRPC server playing the agent. */
class AgentClientTest {

  /** A scriptable agent. Unset behaviours answer like a healthy agent. */
  static final class FakeAgent extends AgentServiceGrpc.AgentServiceImplBase {
    volatile Status startStatus;
    volatile Status createStatus;
    volatile boolean waitNeverAnswers;
    /** A guest whose clock runs ahead: it ends a WaitContainer this long before the call's deadline. */
    volatile Duration waitEndsEarlyBy;
    volatile boolean getInfoNeverAnswers;
    final List<ExecRequest> execRequests = new CopyOnWriteArrayList<>();
    final List<String> calls = new CopyOnWriteArrayList<>();

    @Override
    public void getInfo(GetInfoRequest req, StreamObserver<GetInfoResponse> out) {
      calls.add("GetInfo");
      if (getInfoNeverAnswers) {
        return;
      }
      out.onNext(GetInfoResponse.newBuilder().setAgentVersion("0.1.0").setKernelRelease("6.1.0-cloud-amd64")
          .setRuntimeVersion("runc version 1.1.5")
          .setBootTimings(GuestBootTimings.newBuilder().setInitStartedMs(1800).setAgentReadyMs(5000)).build());
      out.onCompleted();
    }

    @Override
    public void createContainer(CreateContainerRequest req, StreamObserver<CreateContainerResponse> out) {
      calls.add("CreateContainer " + req.getContainerId());
      if (createStatus != null) {
        out.onError(createStatus.asRuntimeException());
        return;
      }
      out.onNext(CreateContainerResponse.newBuilder().setBundlePath("/run/micropod/containers/"
          + req.getContainerId() + "/bundle").build());
      out.onCompleted();
    }

    @Override
    public void startContainer(StartContainerRequest req, StreamObserver<StartContainerResponse> out) {
      calls.add("StartContainer " + req.getContainerId());
      if (startStatus != null) {
        out.onError(startStatus.asRuntimeException());
        return;
      }
      out.onNext(StartContainerResponse.newBuilder().setPid(42).build());
      out.onCompleted();
    }

    @Override
    public void waitContainer(WaitContainerRequest req, StreamObserver<WaitContainerResponse> out) {
      if (waitNeverAnswers) {
        return;
      }
      io.grpc.Deadline deadline = io.grpc.Context.current().getDeadline();
      if (waitEndsEarlyBy != null && deadline != null) {
        // what grpc-java's server does when its deadline passes: it ends the call, CANCELLED
        long left = Math.max(0, deadline.timeRemaining(TimeUnit.NANOSECONDS) - waitEndsEarlyBy.toNanos());
        java.util.concurrent.Executors.newSingleThreadScheduledExecutor().schedule(() -> out.onError(
            Status.CANCELLED.withDescription("RST_STREAM closed stream. HTTP/2 error code: CANCEL").asRuntimeException()),
            left, TimeUnit.NANOSECONDS);
        return;
      }
      out.onNext(WaitContainerResponse.newBuilder().setExitCode(3).build());
      out.onCompleted();
    }

    @Override
    public void readLogs(ReadLogsRequest req, StreamObserver<LogChunk> out) {
      out.onNext(chunk(OutputStream.OUTPUT_STREAM_STDOUT, "hello\n"));
      out.onNext(chunk(OutputStream.OUTPUT_STREAM_STDERR, "oops\n"));
      // a multi-byte character split across two chunks
      byte[] euro = "€\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);
      out.onNext(LogChunk.newBuilder().setStream(OutputStream.OUTPUT_STREAM_STDOUT)
          .setData(ByteString.copyFrom(euro, 0, 1)).build());
      out.onNext(LogChunk.newBuilder().setStream(OutputStream.OUTPUT_STREAM_STDOUT)
          .setData(ByteString.copyFrom(euro, 1, euro.length - 1)).build());
      out.onCompleted();
    }

    private static LogChunk chunk(OutputStream s, String text) {
      return LogChunk.newBuilder().setStream(s).setData(ByteString.copyFromUtf8(text)).build();
    }

    @Override
    public StreamObserver<ExecRequest> execProcess(StreamObserver<ExecResponse> out) {
      return new StreamObserver<>() {
        @Override
        public void onNext(ExecRequest r) {
          execRequests.add(r);
          if (r.hasStart()) {
            List<String> args = r.getStart().getProcess().getArgsList();
            if (args.get(0).equals("no-exit")) {
              // a broken agent: output, then the end of the call without an exit status
              out.onNext(ExecResponse.newBuilder().setStdout(ByteString.copyFromUtf8("partial\n")).build());
              out.onCompleted();
              return;
            }
            if (args.get(0).equals("fail")) {
              out.onError(Status.NOT_FOUND.withDescription("container gone").asRuntimeException());
              return;
            }
            out.onNext(ExecResponse.newBuilder().setStdout(ByteString.copyFromUtf8("out\n")).build());
            out.onNext(ExecResponse.newBuilder().setStderr(ByteString.copyFromUtf8("bad\n")).build());
            out.onNext(ExecResponse.newBuilder().setExit(ExecExit.newBuilder().setExitCode(7)).build());
          }
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {
          // Like a strict agent: the call ends only once the client half-closed.
          out.onCompleted();
        }
      };
    }

    @Override
    public void getStats(GetStatsRequest req, StreamObserver<GetStatsResponse> out) {
      out.onNext(stats);
      out.onCompleted();
    }

    volatile GetStatsResponse stats = GetStatsResponse.getDefaultInstance();

    @Override
    public void shutdown(ShutdownRequest req, StreamObserver<ShutdownResponse> out) {
      calls.add("Shutdown");
      out.onNext(ShutdownResponse.getDefaultInstance());
      out.onCompleted();
    }
  }

  private final FakeAgent agent = new FakeAgent();
  private Server server;
  private ManagedChannel channel;
  private AgentClient client;

  @BeforeEach
  void setUp() throws Exception {
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).directExecutor().addService(agent).build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    client = new AgentClient("pod1", channel, "/tmp/micropod-pod1/agent.sock");
  }

  @AfterEach
  void tearDown() throws Exception {
    client.close();
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  @Test
  void getInfoReturnsTheAgentsAnswer() {
    GuestInfo info = client.getInfoAsync(Duration.ofSeconds(5)).join();

    assertThat(info.kernelRelease()).isEqualTo("6.1.0-cloud-amd64");
    assertThat(info.initStartedMs()).isEqualTo(1800);
  }

  @Test
  void getInfoPastItsDeadlineIsAnAgentTimeoutNamingTheDeadlineAndSocket() {
    agent.getInfoNeverAnswers = true;

    CompletableFuture<GuestInfo> f = client.getInfoAsync(Duration.ofMillis(200));

    assertThatThrownBy(f::join).cause()
        .isInstanceOfSatisfying(AgentTimeoutException.class, e -> {
          assertThat(e.status()).isEqualTo(AgentStatus.DEADLINE_EXCEEDED);
          assertThat(e.rpc()).isEqualTo("GetInfo");
          assertThat(e.deadline()).isEqualTo(Duration.ofMillis(200));
          assertThat(e.podId()).isEqualTo("pod1");
          assertThat(e.phase()).hasValue(Phase.AGENT_CONNECT);
          assertThat(e).hasMessageContaining("200 ms").hasMessageContaining("/tmp/micropod-pod1/agent.sock");
        });
  }

  @Test
  void cancellingGetInfoCancelsTheCall() {
    agent.getInfoNeverAnswers = true;
    CompletableFuture<GuestInfo> f = client.getInfoAsync(Duration.ofSeconds(60));

    f.cancel(true);

    assertThat(f).isCancelled();
  }

  @Test
  void createAndStartSendTheContainerId() {
    String bundle = client.createContainer(CreateContainerRequest.newBuilder().setContainerId("pod1")
        .setImageRootfs("/run/micropod/image").build(), Duration.ofSeconds(5));
    int pid = client.startContainer("pod1", Duration.ofSeconds(5));

    assertThat(bundle).isEqualTo("/run/micropod/containers/pod1/bundle");
    assertThat(pid).isEqualTo(42);
    assertThat(agent.calls).containsExactly("CreateContainer pod1", "StartContainer pod1");
  }

  @Test
  void failedPreconditionFromStartContainerIsAContainerStartException() {
    agent.startStatus = Status.FAILED_PRECONDITION
        .withDescription("exec: \"/bin/does-not-exist\": stat /bin/does-not-exist: no such file or directory");

    assertThatThrownBy(() -> client.startContainer("pod1", Duration.ofSeconds(5)))
        .isInstanceOfSatisfying(ContainerStartException.class, e -> {
          assertThat(e.runtimeMessage()).contains("/bin/does-not-exist");
          assertThat(e.phase()).hasValue(Phase.CONTAINER_START);
          assertThat(e).hasMessageContaining("/bin/does-not-exist");
        });
  }

  @Test
  void otherStatusesBecomeAgentExceptionsWithTheMicroPodStatus() {
    agent.createStatus = Status.ALREADY_EXISTS.withDescription("container pod1 exists");

    assertThatThrownBy(() -> client.createContainer(CreateContainerRequest.newBuilder().setContainerId("pod1").build(),
            Duration.ofSeconds(5)))
        .isExactlyInstanceOf(AgentException.class)
        .hasMessageContaining("CreateContainer").hasMessageContaining("container pod1 exists")
        .satisfies(e -> {
          assertThat(((AgentException) e).status()).isEqualTo(AgentStatus.ALREADY_EXISTS);
          assertThat(((AgentException) e).rpc()).isEqualTo("CreateContainer");
        });
  }

  @Test
  void failedPreconditionElsewhereStaysAnAgentException() {
    agent.createStatus = Status.FAILED_PRECONDITION.withDescription("no image rootfs");

    assertThatThrownBy(() -> client.createContainer(CreateContainerRequest.getDefaultInstance(), Duration.ofSeconds(5)))
        .isExactlyInstanceOf(AgentException.class)
        .satisfies(e -> assertThat(((AgentException) e).status()).isEqualTo(AgentStatus.FAILED_PRECONDITION));
  }

  @Test
  void unreachableAgentNamesTheSocket() throws Exception {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);

    assertThatThrownBy(() -> client.startContainer("pod1", Duration.ofSeconds(5)))
        .isInstanceOfSatisfying(AgentException.class, e -> {
          assertThat(e.status()).isEqualTo(AgentStatus.UNAVAILABLE);
          assertThat(e).hasMessageContaining("/tmp/micropod-pod1/agent.sock");
        });
  }

  @Test
  void unimplementedSaysTheGuestImageIsOutOfDate() {
    agent.createStatus = Status.UNIMPLEMENTED.withDescription("Method CreateContainer is unimplemented");

    assertThatThrownBy(() -> client.createContainer(CreateContainerRequest.getDefaultInstance(), Duration.ofSeconds(5)))
        .isInstanceOfSatisfying(AgentException.class, e -> {
          assertThat(e.status()).isEqualTo(AgentStatus.UNIMPLEMENTED);
          assertThat(e).hasMessageContaining("rootfs-builder");
        });
  }

  @Test
  void everyGrpcCodeHasAnAgentStatus() {
    for (Status.Code code : Status.Code.values()) {
      assertThat(AgentClient.statusOf(code)).isNotNull();
    }
  }

  @Test
  void waitReturnsTheExitCodeOrEmptyAtTheTimeout() {
    assertThat(client.waitContainer("pod1", null)).hasValue(3);

    agent.waitNeverAnswers = true;
    assertThat(client.waitContainer("pod1", Duration.ofMillis(100))).isEmpty();
  }

  /**
   * A bounded wait is the host's to end: the guest's clock may run ahead of the host's (TCG under
   * load), so its end of the call's deadline can come first, as CANCELLED. Before, that failed the
   * wait, and with it `micropod stop` of a foreground pod (SIGKILL never sent, exit 125, "failed
   * WaitContainer: CANCELLED: RST_STREAM closed stream", reproduced in 2 of 8 rounds under load).
   */
  @Test
  void aBoundedWaitIsEmptyAtItsTimeoutEvenWhenTheGuestEndsTheCallFirst() {
    agent.waitEndsEarlyBy = Duration.ofMillis(150);
    assertThat(client.waitContainer("pod1", Duration.ofMillis(300))).isEmpty();
  }

  @Test
  void logsAreConcatenatedInArrivalOrder() {
    String logs = new String(client.readLogs("pod1"), java.nio.charset.StandardCharsets.UTF_8);

    assertThat(logs).isEqualTo("hello\noops\n€\n");
  }

  @Test
  void execCollectsOutputAndExitCodeAndHalfClosesAfterTheExit() {
    ProcessSpec process = ProcessSpec.newBuilder().addArgs("sh").addArgs("-c").addArgs("x").setCwd("/tmp").build();

    ExecResult r = client.exec("pod1", process, Duration.ofSeconds(5));

    assertThat(r).isEqualTo(ExecResult.of(7, "out\n", "bad\n"));
    assertThat(agent.execRequests).singleElement().satisfies(req -> {
      assertThat(req.getStart().getContainerId()).isEqualTo("pod1");
      assertThat(req.getStart().getAttachStdin()).isFalse();
      assertThat(req.getStart().getProcess()).isEqualTo(process);
    });
  }

  @Test
  void execFailureIsMapped() {
    assertThatThrownBy(() -> client.exec("pod1", ProcessSpec.newBuilder().addArgs("fail").build(), null))
        .isInstanceOfSatisfying(AgentException.class, e -> {
          assertThat(e.status()).isEqualTo(AgentStatus.NOT_FOUND);
          assertThat(e.rpc()).isEqualTo("ExecProcess");
        });
  }

  @Test
  void statsCarryTheNetworkFiguresAndNegativeOnesFromTheGuestReadAsZero() {
    agent.stats = GetStatsResponse.newBuilder().setNetRxBytes(1200).setNetRxPackets(-1)
        .setNetTxBytes(Long.MIN_VALUE).setNetTxPackets(7).build();

    io.micropod.PodStats s = client.stats("c1", Duration.ofSeconds(5));

    assertThat(s.netRxBytes()).isEqualTo(1200);
    assertThat(s.netRxPackets()).isZero();
    assertThat(s.netTxBytes()).isZero();
    assertThat(s.netTxPackets()).isEqualTo(7);
  }

  @Test
  void shutdownReachesTheAgent() {
    client.shutdown(Duration.ofSeconds(2));

    assertThat(agent.calls).contains("Shutdown");
  }

  @Test
  void interruptedExecKeepsTheInterruptFlag() {
    agent.waitNeverAnswers = true;
    List<Throwable> thrown = new ArrayList<>();
    Thread.currentThread().interrupt();
    try {
      client.waitContainer("pod1", null);
    } catch (RuntimeException e) {
      thrown.add(e);
    } finally {
      assertThat(Thread.interrupted()).isTrue();
    }
    assertThat(thrown).singleElement().satisfies(e -> assertThat(e).hasMessageContaining("interrupted"));
  }

  @Test
  void aStreamingExecEndedWithoutAnExitStatusEndsItsStdoutAndFails() throws Exception {
    io.micropod.ExecProcess p = client.execStreaming("c1",
        ProcessSpec.newBuilder().addArgs("no-exit").build(), null);
    CompletableFuture<byte[]> all = CompletableFuture.supplyAsync(() -> {
      try (java.io.InputStream in = p.stdout()) {
        return in.readAllBytes();
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });

    assertThat(all.get(10, TimeUnit.SECONDS)).asString().isEqualTo("partial\n");
    assertThatThrownBy(() -> p.await(Duration.ofSeconds(10)))
        .hasMessageContaining("without an exit status");
  }
}
