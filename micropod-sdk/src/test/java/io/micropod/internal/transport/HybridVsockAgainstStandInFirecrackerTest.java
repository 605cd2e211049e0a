package io.micropod.internal.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.stub.StreamObserver;
import io.micropod.agent.v1.AgentServiceGrpc;
import io.micropod.agent.v1.GetInfoRequest;
import io.micropod.agent.v1.GetInfoResponse;
import io.micropod.internal.agent.AgentClient;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The hybrid-vsock connector and relay against {@link HybridVsockPeer}, a STAND-IN for a real
 * Firecracker's vsock socket (none can run here: no KVM): the documented handshake, the cases
 * of a booting guest, and gRPC to an agent through it.
 */
class HybridVsockAgainstStandInFirecrackerTest {
  private static final HybridVsockConnector.Timeouts FAST = new HybridVsockConnector.Timeouts(
      Duration.ofMillis(500), Duration.ofMillis(500), Duration.ofSeconds(5), Duration.ofMillis(10));

  private Path dir;
  private HybridVsockPeer peer;
  private HybridVsockRelay relay;

  @BeforeEach
  void setUp() throws IOException {
    dir = Files.createTempDirectory(Path.of("/tmp"), "mp-hv-");
  }

  @AfterEach
  void tearDown() throws IOException {
    if (relay != null) {
      relay.close();
    }
    if (peer != null) {
      peer.close();
    }
    try (var s = Files.list(dir)) {
      for (Path p : s.toList()) {
        Files.deleteIfExists(p);
      }
    }
    Files.deleteIfExists(dir);
  }

  private HybridVsockConnector connector(int port, HybridVsockConnector.Timeouts t) {
    return new HybridVsockConnector(dir.resolve("vsock.sock"), port, t);
  }

  @Test
  void handshakeSendsConnectLineAndKeepsGuestBytesThatCameWithTheOkLine() throws Exception {
    peer = HybridVsockPeer.start(dir.resolve("vsock.sock"), 1024, null);
    peer.extraWithOk = "HELLO".getBytes(StandardCharsets.US_ASCII);

    HybridVsockConnector.Connection c = connector(1024, FAST).connect(Instant.now().plusSeconds(10));

    try (SocketChannel ch = c.channel()) {
      assertThat(peer.connectLines).containsExactly("CONNECT 1024");
      assertThat(c.hostPort()).isEqualTo(1073741825L);
      assertThat(StandardCharsets.US_ASCII.decode(c.leftover()).toString()).isEqualTo("HELLO");
      ch.write(ByteBuffer.wrap("ping".getBytes(StandardCharsets.US_ASCII)));
      ByteBuffer back = ByteBuffer.allocate(4);
      while (back.hasRemaining()) {
        assertThat(ch.read(back)).isNotNegative();
      }
      assertThat(new String(back.array(), StandardCharsets.US_ASCII)).isEqualTo("ping");
    }
  }

  @Test
  void aGuestThatIsNotListeningYetIsRetriedUntilItIs() throws Exception {
    peer = HybridVsockPeer.start(dir.resolve("vsock.sock"), 1024, null);
    peer.refuseFirst = 3;

    HybridVsockConnector.Connection c = connector(1024, FAST).connect(Instant.now().plusSeconds(10));

    c.channel().close();
    assertThat(peer.connections.get()).isEqualTo(4);
  }

  @Test
  void aRefusedPortFailsAfterTheRetryBudgetNamingSocketPortAndDeadline() throws Exception {
    peer = HybridVsockPeer.start(dir.resolve("vsock.sock"), 1024, null);
    // The ack timeout is long: the peer's close (not a timeout) must end each attempt.
    HybridVsockConnector.Timeouts t = new HybridVsockConnector.Timeouts(
        Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ofMillis(300), Duration.ofMillis(20));

    long started = System.nanoTime();

    assertThatThrownBy(() -> connector(1025, t).connect(Instant.now().plusSeconds(10)))
        .isInstanceOf(IOException.class)
        .hasMessageContaining(dir.resolve("vsock.sock").toString())
        .hasMessageContaining("port 1025")
        .hasMessageContaining("retry budget 300 ms")
        .hasMessageContaining("deadline")
        .hasMessageContaining("closed before the OK line");
    // It kept dialling until the budget was spent, less one retry delay (it stops when the next
    // retry would not fit); how many attempts fit depends on the host's load.
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isGreaterThanOrEqualTo(Duration.ofMillis(250));
    assertThat(peer.connectLines).isNotEmpty().allMatch(l -> l.equals("CONNECT 1025"));
  }

  @Test
  void aSlowAckTimesOutPerStage() throws Exception {
    peer = HybridVsockPeer.start(dir.resolve("vsock.sock"), 1024, null);
    peer.ackDelay = Duration.ofSeconds(3);
    HybridVsockConnector.Timeouts t = new HybridVsockConnector.Timeouts(
        Duration.ofMillis(200), Duration.ofMillis(150), Duration.ofMillis(400), Duration.ofMillis(20));
    long started = System.nanoTime();

    assertThatThrownBy(() -> connector(1024, t).connect(Instant.now().plusSeconds(10)))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("ack timeout of 150 ms");
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(3));
  }

  @Test
  void aReplyThatIsNotOkFailsAtOnceWithoutRetries() throws Exception {
    peer = HybridVsockPeer.start(dir.resolve("vsock.sock"), 1024, null);
    peer.replyInstead = "ERROR unknown command\n";

    assertThatThrownBy(() -> connector(1024, FAST).connect(Instant.now().plusSeconds(10)))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("expected `OK <port>` but got \"ERROR unknown command\"");
    assertThat(peer.connections.get()).isEqualTo(1);
  }

  @Test
  void aMissingSocketIsTransientUntilTheDeadline() {
    HybridVsockConnector.Timeouts t = new HybridVsockConnector.Timeouts(
        Duration.ofMillis(100), Duration.ofMillis(100), Duration.ofSeconds(20), Duration.ofMillis(20));

    assertThatThrownBy(() -> connector(1024, t).connect(Instant.now().plusMillis(200)))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("vsock.sock port 1024: no connection before the deadline");
  }

  @Test
  void okLinesAreParsedStrictly() throws Exception {
    assertThat(HybridVsockConnector.parseOk("OK 1073741824")).isEqualTo(1073741824L);
    assertThat(HybridVsockConnector.parseOk("OK 5\r")).isEqualTo(5L);
    assertThatThrownBy(() -> HybridVsockConnector.parseOk("OK")).isInstanceOf(IOException.class);
    assertThatThrownBy(() -> HybridVsockConnector.parseOk("NOPE 1")).isInstanceOf(IOException.class);
  }

  @Test
  void grpcReachesTheAgentThroughTheRelayWithServerBytesInTheOkRead() throws Exception {
    Path agentSock = dir.resolve("agent-guest.sock");
    EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    ExecutorService executor = Executors.newCachedThreadPool();
    AtomicInteger calls = new AtomicInteger();
    Server server = NettyServerBuilder.forAddress(new DomainSocketAddress(agentSock.toString()))
        .channelType(EpollServerDomainSocketChannel.class)
        .bossEventLoopGroup(loop).workerEventLoopGroup(loop)
        .addService(new AgentServiceGrpc.AgentServiceImplBase() {
          @Override
          public void getInfo(GetInfoRequest request, StreamObserver<GetInfoResponse> out) {
            calls.incrementAndGet();
            out.onNext(GetInfoResponse.newBuilder().setAgentVersion("through-vsock").build());
            out.onCompleted();
          }
        })
        .build().start();
    AgentClient client = null;
    try {
      peer = HybridVsockPeer.start(dir.resolve("vsock.sock"), 1024, agentSock);
      peer.refuseFirst = 2; // the guest boots: the first connects find nothing listening
      peer.collectGuestBytes = Duration.ofMillis(300); // the server's HTTP/2 SETTINGS ride with OK
      relay = HybridVsockRelay.start("testpod", dir.resolve("agent.sock"), connector(1024, FAST));
      client = AgentClient.overUnixSocket("testpod", relay.socket(), loop, executor);

      io.micropod.internal.agent.GuestInfo first = client.getInfoAsync(Duration.ofSeconds(20)).get(30, TimeUnit.SECONDS);
      io.micropod.internal.agent.GuestInfo second = client.getInfoAsync(Duration.ofSeconds(20)).get(30, TimeUnit.SECONDS);

      assertThat(first.agentVersion()).isEqualTo("through-vsock");
      assertThat(second.agentVersion()).isEqualTo("through-vsock");
      assertThat(calls.get()).isEqualTo(2);
      assertThat(peer.connectLines).allMatch(l -> l.equals("CONNECT 1024"));
    } finally {
      if (client != null) {
        client.close();
      }
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      executor.shutdownNow();
    }
  }

  @Test
  void relayCloseDeletesItsSocketAndClosesRelayedConnections() throws Exception {
    peer = HybridVsockPeer.start(dir.resolve("vsock.sock"), 1024, null);
    relay = HybridVsockRelay.start("testpod", dir.resolve("agent.sock"), connector(1024, FAST));
    SocketChannel local = SocketChannel.open(StandardProtocolFamily.UNIX);
    local.connect(UnixDomainSocketAddress.of(relay.socket()));
    local.write(ByteBuffer.wrap("x".getBytes(StandardCharsets.US_ASCII)));
    ByteBuffer one = ByteBuffer.allocate(1);
    assertThat(local.read(one)).isEqualTo(1);

    relay.close();

    assertThat(relay.socket()).doesNotExist();
    one.clear();
    assertThat(local.read(one)).isEqualTo(-1);
    local.close();
  }
}
