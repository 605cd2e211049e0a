package io.micropod.internal.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.stub.StreamObserver;
import io.micropod.AgentException;
import io.micropod.AgentStatus;
import io.micropod.agent.v1.AgentServiceGrpc;
import io.micropod.agent.v1.GetInfoRequest;
import io.micropod.agent.v1.GetInfoResponse;
import io.micropod.agent.v1.LogChunk;
import io.micropod.agent.v1.ReadLogsRequest;
import io.micropod.agent.v1.SignalContainerRequest;
import io.micropod.agent.v1.SignalContainerResponse;
import io.micropod.agent.v1.WaitContainerRequest;
import io.micropod.agent.v1.WaitContainerResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Arrays;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The owner's relay over real Unix sockets, against an in-process agent: unary and streaming
 * calls, errors and several clients pass through unchanged; the socket is 0600 and goes on close.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AgentRelayTest {
  private static final int CHUNK = 64 * 1024;
  private static final int CHUNKS = 128; // 8 MiB: more than any flow-control window

  static final class Agent extends AgentServiceGrpc.AgentServiceImplBase {
    @Override
    public void getInfo(GetInfoRequest request, StreamObserver<GetInfoResponse> out) {
      out.onNext(GetInfoResponse.newBuilder().setAgentVersion("fake-1").build());
      out.onCompleted();
    }

    @Override
    public void readLogs(ReadLogsRequest request, StreamObserver<LogChunk> out) {
      byte[] data = new byte[CHUNK];
      for (int i = 0; i < CHUNKS; i++) {
        Arrays.fill(data, (byte) ('a' + i % 26));
        out.onNext(LogChunk.newBuilder().setData(ByteString.copyFrom(data)).build());
      }
      out.onCompleted();
    }

    /** Set by a test: counted down once the agent has answered a WaitContainer. */
    volatile CountDownLatch waitAnswered = new CountDownLatch(1);

    @Override
    public void waitContainer(WaitContainerRequest request, StreamObserver<WaitContainerResponse> out) {
      out.onNext(WaitContainerResponse.newBuilder().setExitCode(143).build());
      out.onCompleted();
      waitAnswered.countDown();
    }

    @Override
    public void signalContainer(SignalContainerRequest request, StreamObserver<SignalContainerResponse> out) {
      out.onError(Status.NOT_FOUND.withDescription("no container " + request.getContainerId()).asRuntimeException());
    }
  }

  /** The in-process agent, served on a Unix socket as the guest's agent is reached. */
  private static Server serve(Path socket, EventLoopGroup group, Agent agent) throws java.io.IOException {
    return NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
        .channelType(EpollServerDomainSocketChannel.class)
        .bossEventLoopGroup(group).workerEventLoopGroup(group)
        .addService(agent).build().start();
  }

  @Test
  void callsPassThroughTheRelayToTheAgentForSeveralClients(@TempDir Path dir) throws Exception {
    EventLoopGroup group = new EpollEventLoopGroup(2);
    Path agentSocket = dir.resolve("agent.sock");
    Server agent = serve(agentSocket, group, new Agent());
    AgentClient owner = AgentClient.overUnixSocket("pod1", agentSocket, group, Runnable::run);
    Files.createFile(AgentRelay.socketOf(dir)); // a stale socket of an owner that is gone
    AgentRelay relay = AgentRelay.start("pod1", owner.channel(), dir, group,
        java.util.concurrent.Executors.newCachedThreadPool());
    AgentClient first = AgentClient.overUnixSocket("pod1", relay.socket(), group, Runnable::run);
    AgentClient second = AgentClient.overUnixSocket("pod1", relay.socket(), group, Runnable::run);
    try {
      assertThat(Files.getPosixFilePermissions(relay.socket())).isEqualTo(PosixFilePermissions.fromString("rw-------"));
      assertThat(first.getInfoAsync(Duration.ofSeconds(10)).get().agentVersion()).isEqualTo("fake-1");
      assertThat(second.getInfoAsync(Duration.ofSeconds(10)).get().agentVersion()).isEqualTo("fake-1");

      byte[] logs = second.readLogs("c1");
      assertThat(logs).hasSize(CHUNK * CHUNKS);
      for (int i = 0; i < CHUNKS; i++) {
        assertThat(logs[i * CHUNK]).isEqualTo((byte) ('a' + i % 26));
        assertThat(logs[i * CHUNK + CHUNK - 1]).isEqualTo((byte) ('a' + i % 26));
      }

      assertThatThrownBy(() -> first.signal("c9", 15, Duration.ofSeconds(10)))
          .isInstanceOfSatisfying(AgentException.class, e -> assertThat(e.status()).isEqualTo(AgentStatus.NOT_FOUND))
          .hasMessageContaining("no container c9");
    } finally {
      first.close();
      second.close();
      relay.close();
      owner.close();
      agent.shutdownNow();
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
    assertThat(relay.socket()).doesNotExist();
  }

  /**
   * The race of `micropod stop` on a foreground pod (CliIT failed on it under load): the visitor's
   * WaitContainer and the owner's own are answered at the same moment, the container having exited;
   * the owner then closes the pod, relay first. An answer the agent already sent must still reach
   * the visitor: before, the relay's close cancelled it ("stop" exited 125 with the pod gone). The
   * owner's executor is slowed, as on a loaded host, so that the answer is still in the relay when
   * the close begins.
   */
  @Test
  void anAnswerTheAgentAlreadySentReachesTheVisitorWhenTheOwnerClosesTheRelay(@TempDir Path dir) throws Exception {
    EventLoopGroup group = new EpollEventLoopGroup(2);
    Path agentSocket = dir.resolve("agent.sock");
    Agent fake = new Agent();
    Server agent = serve(agentSocket, group, fake);
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newCachedThreadPool();
    Executor loaded = task -> pool.execute(() -> {
      java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(300));
      task.run();
    });
    AgentClient owner = AgentClient.overUnixSocket("pod1", agentSocket, group, loaded);
    AgentRelay relay = AgentRelay.start("pod1", owner.channel(), dir, group, pool);
    AgentClient visitor = AgentClient.overUnixSocket("pod1", relay.socket(), group, Runnable::run);
    try {
      CompletableFuture<OptionalInt> waited = CompletableFuture.supplyAsync(
          () -> visitor.waitContainer("c1", Duration.ofSeconds(30)), pool);
      assertThat(fake.waitAnswered.await(20, TimeUnit.SECONDS)).as("the agent answered").isTrue();
      relay.close();
      assertThat(waited.get(20, TimeUnit.SECONDS)).hasValue(143);
    } finally {
      visitor.close();
      relay.close();
      owner.close();
      agent.shutdownNow();
      pool.shutdownNow();
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
  }

  /**
   * The drain waits for calls, not for connections: a visitor that is connected but has no call
   * open (an attached handle between calls) does not hold the owner's close for {@link
   * AgentRelay#DRAIN}.
   */
  @Test
  void anIdleVisitorConnectionDoesNotHoldTheClose(@TempDir Path dir) throws Exception {
    EventLoopGroup group = new EpollEventLoopGroup(2);
    Path agentSocket = dir.resolve("agent.sock");
    Server agent = serve(agentSocket, group, new Agent());
    AgentClient owner = AgentClient.overUnixSocket("pod1", agentSocket, group, Runnable::run);
    AgentRelay relay = AgentRelay.start("pod1", owner.channel(), dir, group,
        java.util.concurrent.Executors.newCachedThreadPool());
    AgentClient visitor = AgentClient.overUnixSocket("pod1", relay.socket(), group, Runnable::run);
    try {
      assertThat(visitor.getInfoAsync(Duration.ofSeconds(10)).get().agentVersion()).isEqualTo("fake-1");
      long start = System.nanoTime();
      relay.close();
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(AgentRelay.DRAIN);
    } finally {
      visitor.close();
      owner.close();
      agent.shutdownNow();
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
    assertThat(relay.socket()).doesNotExist();
  }
}
