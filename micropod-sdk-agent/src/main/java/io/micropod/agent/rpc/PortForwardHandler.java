package io.micropod.agent.rpc;

import com.google.protobuf.UnsafeByteOperations;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.micropod.agent.base.Log;
import io.micropod.agent.v1.PortForwardRequest;
import io.micropod.agent.v1.PortForwardResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.concurrent.Executor;

/**
 * PortForward: one guest TCP connection per call, bytes pumped both ways with gRPC flow control.
 *
 * <ul>
 *   <li>host to guest: manual inbound flow control; one request is asked for at a time and the
 *       next only after its bytes were written to the socket, so at most one message (the host
 *       sends &le; 32 KiB) is buffered here;
 *   <li>guest to host: a reader thread reads the socket only while the call is ready, so a slow
 *       host stops the reads and TCP pushes back on the guest's sender.
 * </ul>
 * A client half-close shuts the socket's output; the guest side's EOF completes the call.
 * Cancelling the call closes the socket.
 */
final class PortForwardHandler {
  static final int CONNECT_TIMEOUT_MILLIS = 5_000;
  static final int CHUNK = StreamWindow.CHUNK_BYTES;
  private final Executor work;

  PortForwardHandler(Executor work) {
    this.work = work;
  }

  StreamObserver<PortForwardRequest> forward(StreamObserver<PortForwardResponse> responses) {
    ServerCallStreamObserver<PortForwardResponse> call =
        (ServerCallStreamObserver<PortForwardResponse>) responses;
    Forward f = new Forward(call, work);
    call.disableAutoRequest();
    StreamWindow.apply(call);
    call.setOnReadyHandler(f::onReady);
    call.setOnCancelHandler(f::close);
    call.request(1);
    return f;
  }

  static final class Forward implements StreamObserver<PortForwardRequest> {
    private final ServerCallStreamObserver<PortForwardResponse> call;
    private final Executor work;
    private final Object ready = new Object();
    private volatile Socket socket;
    private volatile boolean closed;
    private boolean inputDone;
    private boolean outputDone;

    Forward(ServerCallStreamObserver<PortForwardResponse> call, Executor work) {
      this.call = call;
      this.work = work;
    }

    void onReady() {
      synchronized (ready) {
        ready.notifyAll();
      }
    }

    @Override
    public void onNext(PortForwardRequest request) {
      if (socket == null) {
        if (!request.hasOpen()) {
          fail(Status.INVALID_ARGUMENT.withDescription("the first PortForwardRequest must carry open"));
          return;
        }
        open(request.getOpen().getPort());
        return;
      }
      if (request.hasOpen()) {
        fail(Status.INVALID_ARGUMENT.withDescription("open may only be sent once"));
        return;
      }
      try {
        OutputStream out = socket.getOutputStream();
        request.getData().writeTo(out);
        out.flush();
        call.request(1);
      } catch (IOException e) {
        Log.debug("port forward: guest socket write failed: " + e.getMessage());
        fail(Status.UNAVAILABLE.withDescription("the guest side closed the connection: " + e.getMessage()));
      }
    }

    private void open(int port) {
      if (port < 1 || port > 65535) {
        fail(Status.INVALID_ARGUMENT.withDescription("port must be 1..65535: " + port));
        return;
      }
      Socket s = new Socket();
      try {
        s.setTcpNoDelay(true);
        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), CONNECT_TIMEOUT_MILLIS);
      } catch (IOException e) {
        closeQuietly(s);
        fail(Status.UNAVAILABLE.withDescription(
            "nothing accepts connections on 127.0.0.1:" + port + " in the guest: " + e.getMessage()));
        return;
      }
      socket = s;
      if (closed) {
        closeQuietly(s);
        return;
      }
      work.execute(this::pumpToHost);
      call.request(1);
    }

    /** Guest to host: reads only while the call is ready. */
    private void pumpToHost() {
      Thread.currentThread().setName("micropod-agent-forward");
      byte[] buf = new byte[CHUNK];
      try {
        InputStream in = socket.getInputStream();
        while (true) {
          awaitReady();
          if (closed) {
            return;
          }
          int n = in.read(buf);
          if (n < 0) {
            break;
          }
          synchronized (this) {
            if (closed) {
              return;
            }
            call.onNext(PortForwardResponse.newBuilder()
                .setData(UnsafeByteOperations.unsafeWrap(java.util.Arrays.copyOf(buf, n))).build());
          }
        }
        synchronized (this) {
          if (!closed) {
            call.onCompleted();
          }
          outputDone = true;
          if (inputDone) {
            close();
          }
        }
      } catch (IOException e) {
        if (!closed) {
          fail(Status.UNAVAILABLE.withDescription("reading from the guest port failed: " + e.getMessage()));
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        close();
      } catch (RuntimeException e) {
        Log.debug("port forward: " + e);
        close();
      }
    }

    private void awaitReady() throws InterruptedException {
      synchronized (ready) {
        while (!closed && !call.isReady()) {
          ready.wait(50); // on-ready events may queue behind a blocked write: re-check
        }
      }
    }

    @Override
    public void onError(Throwable t) {
      close();
    }

    @Override
    public void onCompleted() {
      Socket s = socket;
      synchronized (this) {
        inputDone = true;
        if (outputDone) {
          close();
          return;
        }
      }
      if (s != null) {
        try {
          s.shutdownOutput();
        } catch (IOException e) {
          Log.debug("port forward: shutdownOutput: " + e.getMessage());
        }
      } else {
        synchronized (this) {
          if (!closed) {
            call.onCompleted();
          }
        }
        close();
      }
    }

    private void fail(Status status) {
      synchronized (this) {
        if (!closed) {
          try {
            call.onError(status.asRuntimeException());
          } catch (RuntimeException e) {
            // already finished or cancelled
          }
        }
      }
      close();
    }

    void close() {
      closed = true;
      Socket s = socket;
      if (s != null) {
        closeQuietly(s);
      }
      onReady();
    }

    private static void closeQuietly(Socket s) {
      try {
        s.close();
      } catch (IOException e) {
        // nothing to do
      }
    }
  }
}
