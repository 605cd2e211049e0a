package io.micropod.internal.agent;

import com.google.protobuf.ByteString;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.micropod.agent.v1.AgentServiceGrpc;
import io.micropod.agent.v1.CopyInRequest;
import io.micropod.agent.v1.CopyInResponse;
import io.micropod.agent.v1.CopyInStart;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The tar stream of a {@code CopyIn} call ({@link AgentClient#copyIn}): buffers 64 KiB, writes
 * wait while the call is not ready; {@code close()} half-closes and waits for the agent's answer.
 */
final class CopyInStream extends OutputStream {
  private final CompletableFuture<Long> done;
  private final Object ready;
  private final ClientCallStreamObserver<CopyInRequest> call;
  private final byte[] buf = new byte[64 * 1024];
  private int n;
  private boolean closed;

  private CopyInStream(CompletableFuture<Long> done, Object ready, ClientCallStreamObserver<CopyInRequest> call) {
    this.done = done;
    this.ready = ready;
    this.call = call;
  }

  @Override
  public void write(int b) throws IOException {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    while (len > 0) {
      if (n == buf.length) {
        send();
      }
      int k = Math.min(len, buf.length - n);
      System.arraycopy(b, off, buf, n, k);
      n += k;
      off += k;
      len -= k;
    }
  }

  private void send() throws IOException {
    if (n == 0) {
      return;
    }
    synchronized (ready) {
      while (!call.isReady() && !done.isDone()) {
        try {
          ready.wait(50);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          call.cancel("interrupted", null);
          throw new InterruptedIOException("interrupted");
        }
      }
    }
    if (done.isDone()) {
      failure();
    }
    call.onNext(CopyInRequest.newBuilder()
        .setTar(ByteString.copyFrom(buf, 0, n)).build());
    n = 0;
  }

  private void failure() throws IOException {
    try {
      done.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted");
    } catch (ExecutionException e) {
      throw new IOException(e.getCause().getMessage(), e.getCause());
    }
    throw new IOException("the agent ended CopyIn before the stream did");
  }

  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    send();
    call.onCompleted();
    try {
      done.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      call.cancel("interrupted", null);
      throw new InterruptedIOException("interrupted");
    } catch (ExecutionException e) {
      throw new IOException(e.getCause().getMessage(), e.getCause());
    }
  }

  /** Opens the call and sends its {@code start} message. */
  static CopyInStream open(AgentClient client, AgentServiceGrpc.AgentServiceStub async,
      String containerId, String destDir, Duration deadline) {
    CompletableFuture<Long> done = new CompletableFuture<>();
    Object ready = new Object();
    ClientCallStreamObserver<CopyInRequest>[] holder = new ClientCallStreamObserver[1];
    async.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS).copyIn(
        new ClientResponseObserver<CopyInRequest, CopyInResponse>() {
          @Override
          public void beforeStart(ClientCallStreamObserver<CopyInRequest> call) {
            holder[0] = call;
            call.setOnReadyHandler(() -> {
              synchronized (ready) {
                ready.notifyAll();
              }
            });
          }

          @Override
          public void onNext(CopyInResponse r) {
            done.complete(r.getEntries());
          }

          @Override
          public void onError(Throwable t) {
            done.completeExceptionally(t instanceof StatusRuntimeException
                ? client.map((StatusRuntimeException) t, "CopyIn", null, deadline) : t);
            synchronized (ready) {
              ready.notifyAll();
            }
          }

          @Override
          public void onCompleted() {
            done.complete(0L);
          }
        });
    ClientCallStreamObserver<CopyInRequest> call = holder[0];
    call.onNext(CopyInRequest.newBuilder()
        .setStart(CopyInStart.newBuilder()
            .setContainerId(containerId).setDestDir(destDir)).build());
    return new CopyInStream(done, ready, call);
  }
}
