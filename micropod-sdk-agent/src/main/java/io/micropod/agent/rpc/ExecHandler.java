package io.micropod.agent.rpc;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.micropod.agent.base.Log;
import io.micropod.agent.runtime.ContainerManager;
import io.micropod.agent.runtime.ExecSession;
import io.micropod.agent.runtime.ExitStatus;
import io.micropod.agent.runtime.OutputLog;
import io.micropod.agent.runtime.OutputSink;
import io.micropod.agent.v1.ExecExit;
import io.micropod.agent.v1.ExecRequest;
import io.micropod.agent.v1.ExecResponse;
import io.micropod.agent.v1.ExecStart;
import java.io.IOException;

/**
 * ExecProcess: the first request must carry {@code start}; later ones carry stdin bytes,
 * {@code close_stdin} (a half-close by the client also closes stdin) or, with a terminal,
 * {@code resize}. Output is sent as it
 * comes; while the call is not ready the output pumps wait, which stops reading the process's
 * pipes (backpressure, bounded memory). The last response is the exit. Cancelling the call
 * stops the process. With {@code start.attach_main} no process starts: the call attaches to the
 * container's own process ({@link ContainerManager#attach}), and cancelling only detaches.
 */
final class ExecHandler {
  private final ContainerManager containers;

  ExecHandler(ContainerManager containers) {
    this.containers = containers;
  }

  StreamObserver<ExecRequest> exec(StreamObserver<ExecResponse> responses) {
    ServerCallStreamObserver<ExecResponse> call = (ServerCallStreamObserver<ExecResponse>) responses;
    ExecCall exec = new ExecCall(containers, call);
    StreamWindow.apply(call);
    call.setOnReadyHandler(exec::onReady);
    call.setOnCancelHandler(exec::onCancel);
    return exec;
  }

  /** One ExecProcess call. Responses are sent under {@link #lock}, one thread at a time. */
  static final class ExecCall implements StreamObserver<ExecRequest>, OutputSink {
    /** Re-check readiness this often too, in case an on-ready event waits behind a stdin write. */
    private static final long READY_RECHECK_MILLIS = 20;

    private final ContainerManager containers;
    private final ServerCallStreamObserver<ExecResponse> call;
    private final Object lock = new Object();
    private volatile ExecSession session;
    private volatile boolean attachStdin;
    private boolean finished;
    private volatile boolean cancelled;

    ExecCall(ContainerManager containers, ServerCallStreamObserver<ExecResponse> call) {
      this.containers = containers;
      this.call = call;
    }

    @Override
    public void onNext(ExecRequest request) {
      if (session == null) {
        if (!request.hasStart()) {
          fail(Status.INVALID_ARGUMENT
              .withDescription("the first ExecRequest must carry start")
              .asRuntimeException());
          return;
        }
        start(request.getStart());
        return;
      }
      switch (request.getKindCase()) {
        case START:
          fail(Status.INVALID_ARGUMENT
              .withDescription("start may only be sent once")
              .asRuntimeException());
          break;
        case STDIN:
          writeStdin(request.getStdin());
          break;
        case CLOSE_STDIN:
          if (attachStdin) { // else: already /dev/null, and an attach must not close the process's
            session.closeStdin();
          }
          break;
        case RESIZE:
          try {
            session.resize(request.getResize().getRows(), request.getResize().getColumns());
          } catch (RuntimeException e) {
            fail(Statuses.toStatus(e));
          }
          break;
        default:
          break;
      }
    }

    private void start(ExecStart start) {
      synchronized (lock) {
        if (finished) {
          return;
        }
      }
      try {
        attachStdin = start.getAttachStdin();
        ExecSession s = start.getAttachMain()
            ? containers.attach(start.getContainerId(), start.getAttachStdin(), this)
            : containers.exec(
                start.getContainerId(),
                ContainerHandler.toRequest(start.getProcess()),
                start.getAttachStdin(),
                start.getTerminalSize().getRows(),
                start.getTerminalSize().getColumns(),
                this);
        session = s;
        if (cancelled) {
          s.kill();
        }
        s.exit().whenComplete(this::exited);
      } catch (RuntimeException e) {
        fail(Statuses.toStatus(e));
      }
    }

    private void writeStdin(ByteString data) {
      if (!attachStdin) {
        fail(Status.INVALID_ARGUMENT
            .withDescription("stdin sent but the exec was started without attach_stdin")
            .asRuntimeException());
        return;
      }
      try {
        session.writeStdin(data.toByteArray());
      } catch (IOException e) {
        Log.debug("exec: stdin closed by the process: " + e.getMessage());
      }
    }

    @Override
    public void onError(Throwable t) {
      ExecSession s = session;
      if (s != null) {
        s.kill();
      }
    }

    @Override
    public void onCompleted() {
      ExecSession s = session;
      if (s != null && attachStdin) {
        s.closeStdin();
      }
    }

    void onReady() {
      synchronized (lock) {
        lock.notifyAll();
      }
    }

    void onCancel() {
      cancelled = true;
      onReady();
      ExecSession s = session;
      if (s != null) {
        s.kill();
      }
    }

    @Override
    public void write(OutputLog.Stream stream, byte[] data, int offset, int length)
        throws InterruptedException {
      ByteString bytes = ByteString.copyFrom(data, offset, length);
      ExecResponse response =
          stream == OutputLog.Stream.STDOUT
              ? ExecResponse.newBuilder().setStdout(bytes).build()
              : ExecResponse.newBuilder().setStderr(bytes).build();
      synchronized (lock) {
        while (!finished && !cancelled && !call.isReady()) {
          lock.wait(READY_RECHECK_MILLIS);
        }
        if (finished || cancelled) {
          return;
        }
        call.onNext(response);
      }
    }

    private void exited(ExitStatus exit, Throwable failure) {
      synchronized (lock) {
        if (finished || cancelled) {
          return;
        }
        finished = true;
        if (failure != null) {
          call.onError(Statuses.toStatus(failure));
          return;
        }
        call.onNext(
            ExecResponse.newBuilder()
                .setExit(
                    ExecExit.newBuilder().setExitCode(exit.exitCode()).setSignal(exit.signal()))
                .build());
        call.onCompleted();
      }
    }

    private void fail(StatusRuntimeException status) {
      synchronized (lock) {
        if (finished) {
          return;
        }
        finished = true;
        if (!cancelled) {
          call.onError(status);
        }
      }
      ExecSession s = session;
      if (s != null) {
        s.kill();
      }
    }
  }
}
