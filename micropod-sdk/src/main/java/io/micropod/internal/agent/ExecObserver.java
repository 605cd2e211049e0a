package io.micropod.internal.agent;

import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.micropod.ExecResult;
import io.micropod.agent.v1.ExecRequest;
import io.micropod.agent.v1.ExecResponse;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;

/** Collects an exec's output; half-closes once the exit arrived. */
final class ExecObserver implements ClientResponseObserver<ExecRequest, ExecResponse> {
  private final CompletableFuture<ExecResult> result;
  final OutputBuffer stdout;
  private final OutputBuffer stderr;
  private ClientCallStreamObserver<ExecRequest> call;
  private final Object ready = new Object();
  private Integer exitCode;
  /** Messages asked for ahead of those being handled. */
  private static final int IN_FLIGHT = 4;

  ExecObserver(CompletableFuture<ExecResult> result, AgentLimits limits) {
    this.result = result;
    this.stdout = new OutputBuffer(limits.maxOutputBytes());
    this.stderr = new OutputBuffer(limits.maxOutputBytes());
  }

  @Override
  public void beforeStart(ClientCallStreamObserver<ExecRequest> call) {
    this.call = call;
    // Messages are asked for one by one (a few in flight), so that a streaming reader's full
    // window holds the agent back through HTTP/2 flow control instead of filling the heap.
    call.disableAutoRequestWithInitial(IN_FLIGHT);
    call.setOnReadyHandler(() -> {
      synchronized (ready) {
        ready.notifyAll();
      }
    });
  }

  /** Waits until the call can take another message (or the exec ended). */
  void awaitReady() throws InterruptedIOException {
    synchronized (ready) {
      while (!call.isReady() && !result.isDone()) {
        try {
          ready.wait(50);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while writing stdin");
        }
      }
    }
  }

  @Override
  public void onNext(ExecResponse r) {
    switch (r.getKindCase()) {
      case STDOUT:
        stdout.append(r.getStdout());
        if (stdout.acceptsMore(this::requestNext)) {
          requestNext();
        }
        break;
      case STDERR:
        stderr.append(r.getStderr());
        requestNext();
        break;
      case EXIT:
        exitCode = r.getExit().getExitCode();
        synchronized (this) {
          call.onCompleted();
        }
        requestNext();
        break;
      default:
        // a message with no known kind: a broken or hostile agent; fail the exec clearly
        result.completeExceptionally(Status.INTERNAL
            .withDescription("the agent sent an ExecProcess message with no stdout, stderr or exit ("
                + r.getKindCase() + ")").asRuntimeException());
        stdout.end();
        synchronized (this) {
          call.cancel("unexpected ExecProcess message", null);
        }
        break;
    }
  }

  @Override
  public void onError(Throwable t) {
    result.completeExceptionally(t);
    stdout.end();
  }

  @Override
  public void onCompleted() {
    if (exitCode == null) {
      result.completeExceptionally(Status.INTERNAL
          .withDescription("the agent ended ExecProcess without an exit status").asRuntimeException());
      stdout.end();
      return;
    }
    result.complete(ExecResult.of(exitCode,
        new String(stdout.toByteArray(), StandardCharsets.UTF_8),
        new String(stderr.toByteArray(), StandardCharsets.UTF_8)));
    stdout.end();
  }

  private void requestNext() {
    synchronized (this) {
      call.request(1);
    }
  }

  void cancel(String why) {
    synchronized (this) {
      call.cancel(why, null);
    }
  }
}
