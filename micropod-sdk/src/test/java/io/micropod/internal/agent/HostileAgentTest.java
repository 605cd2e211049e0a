package io.micropod.internal.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.micropod.AgentException;
import io.micropod.AgentStatus;
import io.micropod.AgentTimeoutException;
import io.micropod.ExecProcess;
import io.micropod.ExecSpec;
import io.micropod.ExecTimeoutException;
import io.micropod.agent.v1.AgentServiceGrpc;
import io.micropod.agent.v1.CopyOutChunk;
import io.micropod.agent.v1.CopyOutRequest;
import io.micropod.agent.v1.ExecRequest;
import io.micropod.agent.v1.ExecResponse;
import io.micropod.agent.v1.GetInfoRequest;
import io.micropod.agent.v1.GetInfoResponse;
import io.micropod.agent.v1.GetStatsRequest;
import io.micropod.agent.v1.GetStatsResponse;
import io.micropod.agent.v1.LogChunk;
import io.micropod.agent.v1.OutputStream;
import io.micropod.agent.v1.ProcessSpec;
import io.micropod.agent.v1.ReadLogsRequest;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import java.nio.file.Path;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;

/**
 * AgentClient against an in-process agent that is hostile: it sends too much, never stops, sends
 * messages the protocol does not allow, or never answers. The host must answer each with an
 * AgentException or an explicit truncation, within bounded memory and time.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HostileAgentTest {
  private static final long SMALL = 1 << 20; // 1 MiB limits, so that bounds are cheap to hit
  private static final AgentLimits LIMITS = new AgentLimits(SMALL, SMALL, 4096, SMALL);

  /** Streams {@code chunk} from a thread of its own until the client cancels (flow-controlled). */
  private static <T> void flood(StreamObserver<T> out, T chunk) {
    ServerCallStreamObserver<T> call = (ServerCallStreamObserver<T>) out;
    Thread t = new Thread(() -> {
      try {
        while (!call.isCancelled()) {
          if (call.isReady()) {
            call.onNext(chunk);
          } else {
            java.util.concurrent.locks.LockSupport.parkNanos(100_000);
          }
        }
      } catch (RuntimeException e) {
        // the call ended
      }
    }, "hostile-flood");
    t.setDaemon(true);
    t.start();
  }

  static final class Hostile extends AgentServiceGrpc.AgentServiceImplBase {
    static final ByteString MIB = ByteString.copyFrom(new byte[64 << 10]).concat(ByteString.copyFromUtf8("x"));

    @Override
    public void getInfo(GetInfoRequest req, StreamObserver<GetInfoResponse> out) {
      // one message larger than the host's inbound limit
      out.onNext(GetInfoResponse.newBuilder()
          .setAgentVersion("v".repeat(AgentLimits.MAX_INBOUND_MESSAGE_BYTES + 1)).build());
      out.onCompleted();
    }

    @Override
    public void getStats(GetStatsRequest req, StreamObserver<GetStatsResponse> out) {
      if (req.getContainerId().equals("lies")) {
        out.onNext(GetStatsResponse.newBuilder().setCpuUsageUsec(-1).setMemoryUsageBytes(Long.MIN_VALUE)
            .setMemoryLimitBytes(-5).setIoReadBytes(-1).setIoWriteBytes(-2).setGuestMemTotalBytes(-3)
            .setGuestMemAvailableBytes(-4).setGuestLoad1(Double.NaN).setOomKills(-6).setNetRxBytes(-7)
            .setNetRxPackets(-8).setNetTxBytes(-9).setNetTxPackets(-10).build());
        out.onCompleted();
      }
      // else hung: never answers
    }

    @Override
    public void readLogs(ReadLogsRequest req, StreamObserver<LogChunk> out) {
      ByteString line = ByteString.copyFromUtf8("y".repeat(32 << 10));
      flood(out, LogChunk.newBuilder().setStream(OutputStream.OUTPUT_STREAM_STDOUT).setData(line).build());
    }

    @Override
    public void copyOut(CopyOutRequest req, StreamObserver<CopyOutChunk> out) {
      flood(out, CopyOutChunk.newBuilder().setTar(ByteString.copyFrom(new byte[32 << 10])).build());
    }

    @Override
    public StreamObserver<ExecRequest> execProcess(StreamObserver<ExecResponse> out) {
      return new StreamObserver<>() {
        @Override
        public void onNext(ExecRequest r) {
          if (!r.hasStart()) {
            return;
          }
          String mode = r.getStart().getProcess().getArgs(0);
          switch (mode) {
            case "endless":
              flood(out, ExecResponse.newBuilder()
                  .setStdout(ByteString.copyFromUtf8("z".repeat(32 << 10))).build());
              break;
            case "endless-stderr":
              flood(out, ExecResponse.newBuilder()
                  .setStderr(ByteString.copyFromUtf8("e".repeat(32 << 10))).build());
              break;
            case "empty-kind":
              out.onNext(ExecResponse.getDefaultInstance()); // no oneof case set
              break;
            case "hung-with-output": // answers nothing more, not even the deadline's kill
              out.onNext(ExecResponse.newBuilder().setStdout(ByteString.copyFromUtf8("before\n")).build());
              break;
            case "no-exit":
              out.onNext(ExecResponse.newBuilder().setStdout(ByteString.copyFromUtf8("x")).build());
              out.onCompleted();
              break;
            default:
              break; // hung
          }
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {}
      };
    }
  }

  private Server server;
  private AgentClient client;

  @BeforeEach
  void setUp() throws Exception {
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).addService(new Hostile()).build().start();
    ManagedChannel channel = AgentClient.boundInbound(InProcessChannelBuilder.forName(name)).build();
    client = new AgentClient("pod1", channel, "/tmp/micropod-pod1/agent.sock", LIMITS);
  }

  @AfterEach
  void tearDown() throws Exception {
    client.close();
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  private static ProcessSpec cmd(String mode) {
    return ProcessSpec.newBuilder().addArgs(mode).build();
  }

  @Test
  void aMessageOverTheInboundLimitIsAnAgentExceptionNamingTheLimit(@TempDir Path dir) throws Exception {
    // the real transport (Netty over a Unix socket): the in-process one does not enforce sizes
    Path sock = dir.resolve("agent.sock");
    EventLoopGroup group = new EpollEventLoopGroup(1);
    Server netty = NettyServerBuilder.forAddress(new DomainSocketAddress(sock.toString()))
        .channelType(EpollServerDomainSocketChannel.class)
        .bossEventLoopGroup(group).workerEventLoopGroup(group)
        .addService(new Hostile()).build().start();
    AgentClient real = AgentClient.overUnixSocket("pod1", sock, group, Runnable::run);
    try {
      CompletableFuture<GuestInfo> f = real.getInfoAsync(Duration.ofSeconds(20));

      assertThatThrownBy(f::join).cause()
          .isInstanceOfSatisfying(AgentException.class, e -> {
            assertThat(e.status()).isEqualTo(AgentStatus.RESOURCE_EXHAUSTED);
            assertThat(e.rpc()).isEqualTo("GetInfo");
            assertThat(e).hasMessageContaining(Integer.toString(AgentLimits.MAX_INBOUND_MESSAGE_BYTES));
          });
    } finally {
      real.close();
      netty.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
  }

  @Test
  void aStreamingReaderGetsEverythingPastTheLimitWhileTheHostHoldsAWindowAndTheResultIsBounded()
      throws Exception {
    // an interactive session (micropod exec -it) must not stop after the result's limit, and an
    // endless writer still cannot fill the host's heap: a reader that stops holds the agent back
    ExecProcess p = client.execStreaming("c1", cmd("endless"), null);
    ExecObserver o = observerOf(p);
        InputStream in = p.stdout();
    assertThat(p.stdout()).isSameAs(in);
    byte[] buf = new byte[64 << 10];
    long total = 0;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (total < 3 * SMALL && System.nanoTime() < deadline) {
      int n = in.read(buf);
      assertThat(n).isPositive();
      for (int i = 0; i < n; i++) {
        if (buf[i] != 'z') {
          throw new AssertionError("byte " + (total + i) + " of the stream is not the guest's: "
              + new String(buf, i, Math.min(80, n - i), StandardCharsets.UTF_8));
        }
      }
      total += n;
    }
    assertThat(total).as("bytes streamed past the 1 MiB result limit").isGreaterThanOrEqualTo(3 * SMALL);
    assertThat(o.stdout.truncated()).isTrue();
    assertThat((long) o.stdout.size()).isLessThanOrEqualTo(SMALL + AgentLimits.truncationMarker(SMALL).length() + 2);

    // the reader pauses: the queue fills (to between half its window, where a held-back call
    // resumes, and the window plus what was in flight) and stays there; the guest keeps trying
    until("the queue fills", Duration.ofSeconds(20),
        () -> o.stdout.unreadOverflow() > OutputBuffer.STREAM_WINDOW / 2);
    long pause = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
    while (System.nanoTime() < pause) {
      assertThat(o.stdout.unreadOverflow())
          .isLessThanOrEqualTo(OutputBuffer.STREAM_WINDOW + (32L << 10) * 8);
    }
    // and the stream goes on once it reads again
    assertThat(in.read(buf)).isPositive();
    in.close();
    // a closed reader lets the guest run on into the bounded result
    until("the queue is dropped once the reader closed", Duration.ofSeconds(5),
        () -> o.stdout.unreadOverflow() == 0);
  }

  @Test
  void aReaderTakenAfterBytesWereDroppedGetsTheKeptBytesAndTheMarker() throws Exception {
    ExecProcess p = client.execStreaming("c1", cmd("endless"), null);
    ExecObserver o = observerOf(p);
    until("bytes dropped", Duration.ofSeconds(20), o.stdout::truncated);
    String marker = AgentLimits.truncationMarker(SMALL);

    byte[] all = p.stdout().readNBytes((int) SMALL + marker.length() + 2);

    assertThat(new String(all, StandardCharsets.UTF_8)).endsWith(marker + "\n");
  }

  @Test
  void anAgentThatIgnoresTheDeadlinesKillFailsTheExecWithinTimeoutPlusGraceWithItsOutput() {
    Duration timeout = Duration.ofMillis(300);
    long t0 = System.nanoTime();

    assertThatThrownBy(() -> client.exec("c1", cmd("hung-with-output"), null, null, null, timeout))
        .isInstanceOfSatisfying(ExecTimeoutException.class, e -> {
          assertThat(e.killConfirmed()).isFalse();
          assertThat(e.timeout()).isEqualTo(timeout);
          assertThat(e.command()).containsExactly("hung-with-output");
          assertThat(e.stdout()).isEqualTo("before\n");
          assertThat(e.podId()).isEqualTo("pod1");
          assertThat(e).hasMessageContaining("did not confirm").hasMessageContaining("300 ms");
        });
    Duration took = Duration.ofNanos(System.nanoTime() - t0);
    assertThat(took).isBetween(timeout.plus(ExecSpec.KILL_GRACE), timeout.plus(ExecSpec.KILL_GRACE).plusSeconds(3));
  }

  @Test
  void theDeadlinesKillEndsAStreamingExecThatIgnoresItAndAwaitSaysSo() {
    ExecProcess p = client.execStreaming("c1", cmd("hung-with-output"), null, Duration.ofMillis(200));

    assertThat(p.await(Duration.ofMillis(100))).isEmpty(); // not yet at the deadline
    assertThatThrownBy(p::await).isInstanceOfSatisfying(ExecTimeoutException.class,
        e -> assertThat(e.stdout()).isEqualTo("before\n"));
  }

  @Test
  void endlessExecStderrWithATimeoutIsBoundedAndTimesOut() {
    Runtime rt = Runtime.getRuntime();
    assertThatThrownBy(() -> client.exec("c1", cmd("endless-stderr"), Duration.ofSeconds(3)))
        .isInstanceOfSatisfying(AgentTimeoutException.class,
            e -> assertThat(e).hasMessageContaining("ExecProcess").hasMessageContaining("3 s"));
    assertThat(rt.totalMemory() - rt.freeMemory()).isLessThan(rt.maxMemory());
  }

  @Test
  void aMessageWithNoKindFailsTheExecClearly() {
    assertThatThrownBy(() -> client.exec("c1", cmd("empty-kind"), Duration.ofSeconds(20)))
        .isInstanceOfSatisfying(AgentException.class, e -> {
          assertThat(e.status()).isEqualTo(AgentStatus.INTERNAL);
          assertThat(e).hasMessageContaining("no stdout, stderr or exit");
        });
  }

  @Test
  void anExecEndedWithoutAnExitIsAnAgentException() {
    assertThatThrownBy(() -> client.exec("c1", cmd("no-exit"), Duration.ofSeconds(20)))
        .isInstanceOfSatisfying(AgentException.class,
            e -> assertThat(e).hasMessageContaining("without an exit status"));
  }

  @Test
  void endlessLogsAreCutAtTheLimitWithTheMarker() {
    byte[] logs = client.readLogs("c1");

    String s = new String(logs, StandardCharsets.UTF_8);
    assertThat((long) logs.length).isLessThanOrEqualTo(SMALL + 100);
    assertThat(s).endsWith(AgentLimits.truncationMarker(SMALL) + "\n");
  }

  @Test
  void anEndlessCopyOutFailsAtTheLimit() {
    assertThatThrownBy(() -> {
      try (InputStream in = client.copyOut("c1", "/big", Duration.ofSeconds(20))) {
        in.transferTo(java.io.OutputStream.nullOutputStream());
      }
    }).isInstanceOf(java.io.IOException.class)
        .cause().isInstanceOfSatisfying(AgentException.class, e -> {
          assertThat(e.status()).isEqualTo(AgentStatus.RESOURCE_EXHAUSTED);
          assertThat(e).hasMessageContaining(Long.toString(SMALL));
        });
  }

  @Test
  void negativeOrNonFiniteStatsFromTheGuestReadAsZero() {
    io.micropod.PodStats st = client.stats("lies", Duration.ofSeconds(20));

    assertThat(st).isEqualTo(new io.micropod.PodStats(0, 0, 0, 0, 0, 0, 0, 0.0, 0, 0, 0, 0, 0));
  }

  @Test
  void aHungAgentTimesOutAtTheDeadline() {
    long t0 = System.nanoTime();
    assertThatThrownBy(() -> client.stats("c1", Duration.ofMillis(300)))
        .isInstanceOf(AgentTimeoutException.class).hasMessageContaining("GetStats");
    assertThatThrownBy(() -> client.exec("c1", cmd("hang"), Duration.ofMillis(300)))
        .isInstanceOf(AgentTimeoutException.class).hasMessageContaining("ExecProcess");
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
  }

  private static void until(String what, Duration timeout, java.util.function.BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within " + timeout + ": " + what);
      }
      java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
    }
  }

  private static ExecObserver observerOf(ExecProcess p) throws Exception {
    java.lang.reflect.Field f = StreamingExec.class.getDeclaredField("observer");
    f.setAccessible(true);
    return (ExecObserver) f.get(p);
  }
}
