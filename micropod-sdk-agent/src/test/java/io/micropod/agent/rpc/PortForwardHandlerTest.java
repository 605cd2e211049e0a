package io.micropod.agent.rpc;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.micropod.agent.v1.AgentServiceGrpc;
import io.micropod.agent.v1.PortForwardOpen;
import io.micropod.agent.v1.PortForwardRequest;
import io.micropod.agent.v1.PortForwardResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The agent's PortForward pump against a real TCP server on loopback, over in-process gRPC. */
class PortForwardHandlerTest {
  private final ExecutorService work = Executors.newCachedThreadPool();
  private Server server;
  private ManagedChannel channel;
  private ServerSocket echo;

  @BeforeEach
  void setUp() throws IOException {
    String name = InProcessServerBuilder.generateName();
    PortForwardHandler handler = new PortForwardHandler(work);
    server = InProcessServerBuilder.forName(name).executor(work)
        .addService(new AgentServiceGrpc.AgentServiceImplBase() {
          @Override
          public io.grpc.stub.StreamObserver<PortForwardRequest> portForward(
              io.grpc.stub.StreamObserver<PortForwardResponse> o) {
            return handler.forward(o);
          }
        }).build().start();
    channel = InProcessChannelBuilder.forName(name).executor(work).build();
    echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    work.execute(() -> {
      // echoes each connection until the client half-closes, then closes
      while (!echo.isClosed()) {
        try {
          Socket s = echo.accept();
          work.execute(() -> {
            try (s) {
              s.getInputStream().transferTo(s.getOutputStream());
            } catch (IOException e) {
              // test ends
            }
          });
        } catch (IOException e) {
          return;
        }
      }
    });
  }

  @AfterEach
  void tearDown() throws Exception {
    echo.close();
    channel.shutdownNow();
    server.shutdownNow();
    work.shutdownNow();
  }

  /** Sends {@code data} (respecting readiness), half-closes, and collects the answer. */
  private CompletableFuture<byte[]> roundTrip(int port, byte[] data) {
    CompletableFuture<byte[]> result = new CompletableFuture<>();
    ByteArrayOutputStream got = new ByteArrayOutputStream();
    boolean[] opened = new boolean[1];
    Runnable[] pump = new Runnable[1];
    Object lock = new Object();
    AgentServiceGrpc.newStub(channel).portForward(
        new ClientResponseObserver<PortForwardRequest, PortForwardResponse>() {
          int off;

          @Override
          public void beforeStart(ClientCallStreamObserver<PortForwardRequest> call) {
            pump[0] = () -> {
              synchronized (lock) {
                if (!opened[0]) {
                  call.onNext(PortForwardRequest.newBuilder()
                      .setOpen(PortForwardOpen.newBuilder().setPort(port)).build());
                  opened[0] = true;
                }
                while (call.isReady() && off <= data.length) {
                  if (off == data.length) {
                    call.onCompleted();
                    off++;
                    break;
                  }
                  int n = Math.min(32 * 1024, data.length - off);
                  call.onNext(PortForwardRequest.newBuilder()
                      .setData(ByteString.copyFrom(data, off, n)).build());
                  off += n;
                }
              }
            };
            call.setOnReadyHandler(() -> {
              synchronized (lock) {
                if (opened[0]) {
                  pump[0].run();
                }
              }
            });
          }

          @Override
          public void onNext(PortForwardResponse r) {
            got.writeBytes(r.getData().toByteArray());
          }

          @Override
          public void onError(Throwable t) {
            result.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {
            result.complete(got.toByteArray());
          }
        });
    pump[0].run();
    return result;
  }

  @Test
  void bytesComeBackIntactAndHalfCloseEndsTheCall() throws Exception {
    byte[] data = new byte[4 << 20];
    new Random(1).nextBytes(data);

    byte[] back = roundTrip(echo.getLocalPort(), data).get(60, TimeUnit.SECONDS);

    assertThat(Arrays.equals(back, data)).isTrue();
  }

  @Test
  void severalConnectionsAtOnceStaySeparate() throws Exception {
    CompletableFuture<?>[] all = new CompletableFuture<?>[8];
    byte[][] inputs = new byte[8][];
    for (int i = 0; i < all.length; i++) {
      inputs[i] = new byte[256 * 1024 + i];
      new Random(i).nextBytes(inputs[i]);
      all[i] = roundTrip(echo.getLocalPort(), inputs[i]);
    }
    for (int i = 0; i < all.length; i++) {
      assertThat(Arrays.equals((byte[]) all[i].get(60, TimeUnit.SECONDS), inputs[i])).isTrue();
    }
  }

  @Test
  void aPortNobodyListensOnFailsWithUnavailable() throws Exception {
    int closed;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closed = s.getLocalPort();
    }
    CompletableFuture<byte[]> f = roundTrip(closed, new byte[0]);

    Throwable t = f.handle((v, e) -> e).get(30, TimeUnit.SECONDS);
    assertThat(t).isInstanceOf(StatusRuntimeException.class);
    assertThat(((StatusRuntimeException) t).getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(t).hasMessageContaining("127.0.0.1:" + closed);
  }

  @Test
  void aSlowReaderHoldsTheGuestSenderBack() throws Exception {
    // a server that writes 64 MiB as fast as it can; the client reads nothing: the agent must not
    // buffer it all (it reads the socket only while the call is ready)
    ServerSocket firehose = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
    // atomic: read from this thread while the server thread counts (a plain long could read 0)
    AtomicLong written = new AtomicLong();
    work.execute(() -> {
      try (Socket s = firehose.accept(); OutputStream out = s.getOutputStream()) {
        byte[] buf = new byte[64 * 1024];
        for (int i = 0; i < 1024; i++) {
          out.write(buf);
          written.addAndGet(buf.length);
        }
      } catch (IOException e) {
        // the call was cancelled: expected
      }
    });
    AgentServiceGrpc.AgentServiceStub stub = AgentServiceGrpc.newStub(channel);
    ClientCallStreamObserver<PortForwardRequest>[] call = new ClientCallStreamObserver[1];
    stub.portForward(new ClientResponseObserver<PortForwardRequest, PortForwardResponse>() {
      @Override
      public void beforeStart(ClientCallStreamObserver<PortForwardRequest> c) {
        call[0] = c;
        c.disableAutoRequestWithInitial(1); // then never asks for more
      }

      @Override
      public void onNext(PortForwardResponse r) {}

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {}
    });
    call[0].onNext(PortForwardRequest.newBuilder()
        .setOpen(PortForwardOpen.newBuilder().setPort(firehose.getLocalPort())).build());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
    long last = -1;
    // let it run until the writer stalls (its count stops changing for a while) or time is up
    while (System.nanoTime() < deadline) {
      long now = written.get();
      if (now == last && now > 0) {
        break;
      }
      last = now;
      LockSupportPark.park(200);
    }
    // data flowed (the forward was opened and the agent read some) and then stalled well short of
    // the 64 MiB: without the first check a forward that never connected would pass
    assertThat(written.get()).isPositive().isLessThan(32L << 20);
    call[0].cancel("done", null);
    firehose.close();
  }

  /** Polling pause between two reads of a counter (not a fixed sleep before an assertion). */
  static final class LockSupportPark {
    static void park(long millis) {
      java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(millis));
    }
  }

  @SuppressWarnings("unused")
  private static byte[] readAll(InputStream in) throws IOException {
    return in.readAllBytes();
  }
}
