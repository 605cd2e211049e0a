package io.micropod.internal.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.micropod.agent.v1.AgentServiceGrpc;
import io.micropod.agent.v1.PortForwardRequest;
import io.micropod.agent.v1.PortForwardResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.Socket;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The host side of port forwarding against an in-process agent stand-in that echoes each
 * connection's bytes (in order, one message per message) and completes on the host's half-close.
 */
class PortForwarderTest {
  private final ExecutorService executor = Executors.newCachedThreadPool();
  private Server server;
  private ManagedChannel channel;
  private PortForwarder forwarder;

  @BeforeEach
  void setUp() throws IOException {
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).executor(executor)
        .addService(new AgentServiceGrpc.AgentServiceImplBase() {
          @Override
          public StreamObserver<PortForwardRequest> portForward(StreamObserver<PortForwardResponse> o) {
            ServerCallStreamObserver<PortForwardResponse> call = (ServerCallStreamObserver<PortForwardResponse>) o;
            return new StreamObserver<>() {
              @Override
              public void onNext(PortForwardRequest r) {
                if (r.hasOpen()) {
                  assertThat(r.getOpen().getPort()).isEqualTo(80);
                  return;
                }
                call.onNext(PortForwardResponse.newBuilder().setData(r.getData()).build());
              }

              @Override
              public void onError(Throwable t) {}

              @Override
              public void onCompleted() {
                call.onCompleted();
              }
            };
          }
        }).build().start();
    channel = InProcessChannelBuilder.forName(name).executor(executor).build();
    AgentServiceGrpc.AgentServiceStub stub = AgentServiceGrpc.newStub(channel);
    forwarder = new PortForwarder("pod1", 0, 80, stub::portForward).start();
  }

  @AfterEach
  void tearDown() {
    forwarder.close();
    channel.shutdownNow();
    server.shutdownNow();
    executor.shutdownNow();
  }

  private byte[] echo(byte[] data) throws IOException {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), forwarder.hostPort())) {
      CompletableFuture<byte[]> read = CompletableFuture.supplyAsync(() -> {
        try {
          return s.getInputStream().readAllBytes();
        } catch (IOException e) {
          throw new RuntimeException(e);
        }
      }, executor);
      OutputStream out = s.getOutputStream();
      out.write(data);
      s.shutdownOutput();
      return read.get(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IOException(e);
    }
  }

  @Test
  void bytesFlowBothWaysAndHalfCloseEndsTheConnection() throws IOException {
    byte[] data = new byte[3 << 20];
    new Random(3).nextBytes(data);

    assertThat(Arrays.equals(echo(data), data)).isTrue();
  }

  @Test
  void concurrentConnectionsAreIndependent() throws Exception {
    CompletableFuture<?>[] all = new CompletableFuture<?>[20];
    byte[][] in = new byte[20][];
    for (int i = 0; i < all.length; i++) {
      in[i] = new byte[100_000 + i];
      new Random(i).nextBytes(in[i]);
      byte[] d = in[i];
      all[i] = CompletableFuture.supplyAsync(() -> {
        try {
          return echo(d);
        } catch (IOException e) {
          throw new RuntimeException(e);
        }
      }, executor);
    }
    for (int i = 0; i < all.length; i++) {
      assertThat(Arrays.equals((byte[]) all[i].get(60, TimeUnit.SECONDS), in[i])).isTrue();
    }
  }

  @Test
  @org.junit.jupiter.api.Timeout(60)
  void connectionsPastThePodsLimitAreClosedAtOnce() throws Exception {
    java.util.concurrent.Semaphore slots = new java.util.concurrent.Semaphore(2);
    AgentServiceGrpc.AgentServiceStub stub = AgentServiceGrpc.newStub(channel);
    try (PortForwarder limited = new PortForwarder("pod1", 0, 80, stub::portForward, slots).start();
        Socket a = new Socket(InetAddress.getLoopbackAddress(), limited.hostPort());
        Socket b = new Socket(InetAddress.getLoopbackAddress(), limited.hostPort())) {
      // both held open (echoing); wait until the forwarder took their slots
      a.getOutputStream().write(1);
      b.getOutputStream().write(2);
      assertThat(a.getInputStream().read()).isEqualTo(1);
      assertThat(b.getInputStream().read()).isEqualTo(2);

      try (Socket c = new Socket(InetAddress.getLoopbackAddress(), limited.hostPort())) {
        c.setSoTimeout(10_000);
        assertThat(c.getInputStream().read()).isEqualTo(-1); // closed by the host, not hung
      }
      assertThat(slots.availablePermits()).isZero();
    }
  }

  @Test
  void aFixedPortInUseIsRefusedAtBind() {
    assertThatThrownBy(() -> new PortForwarder("pod2", forwarder.hostPort(), 80, o -> null))
        .isInstanceOf(BindException.class);
  }

  @Test
  void closeClosesOpenConnections() throws Exception {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), forwarder.hostPort())) {
      s.getOutputStream().write(1);
      InputStream in = s.getInputStream();
      assertThat(in.read()).isEqualTo(1);
      forwarder.close();
      s.setSoTimeout(30_000);
      assertThat(in.read()).isEqualTo(-1);
    }
  }
}
