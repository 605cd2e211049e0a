package io.micropod.agent.rpc;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.micropod.agent.base.Log;
import io.micropod.agent.channel.BulkPort;
import io.micropod.agent.runtime.BufferSink;
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
import java.nio.ByteBuffer;
import java.util.function.Supplier;

/**
 * ExecProcess: the first request must carry {@code start}; later ones carry stdin bytes,
 * {@code close_stdin} (a half-close by the client also closes stdin), {@code kill} (the host's
 * deadline: the process and its group get SIGKILL) or, with a terminal, {@code resize}. Output is sent as it
 * comes; while the call is not ready the output pumps wait, which stops reading the process's
 * pipes (backpressure, bounded memory). The last response is the exit. Cancelling the call
 * stops the process. With {@code start.attach_main} no process starts: the call attaches to the
 * container's own process ({@link ContainerManager#attach}), and cancelling only detaches.
 *
 * <p>With {@code start.bulk_stream} set, no terminal and a bulk port ({@link BulkPort}), the
 * output goes to the port as frames of that stream instead of as responses; the exit follows
 * the stream's end frame and says so ({@code bulk_ended}).
 */
final class ExecHandler {
  private final ContainerManager containers;
  private final Supplier<BulkPort> bulkPort;

  /** @param bulkPort the bulk port, or null when there is none; asked at each bulk exec */
  ExecHandler(ContainerManager containers, Supplier<BulkPort> bulkPort) {
    this.containers = containers;
    this.bulkPort = bulkPort;
  }

  /**
   * {@code find} once, on first use (ports appear asynchronously at boot); null while failed, and
   * for good once the port stalled ({@link BulkPort#usable()}).
   */
  static Supplier<BulkPort> lazy(Supplier<BulkPort> find) {
    return new Supplier<>() {
      private boolean looked;
      private BulkPort port;

      @Override
      public synchronized BulkPort get() {
        if (!looked) {
          looked = true;
          port = find.get();
          Log.debug(port == null ? "no bulk port: exec output stays on gRPC" : "exec output over the " + port);
        }
        return port != null && port.usable() ? port : null;
      }
    };
  }

  StreamObserver<ExecRequest> exec(StreamObserver<ExecResponse> responses) {
    ServerCallStreamObserver<ExecResponse> call = (ServerCallStreamObserver<ExecResponse>) responses;
    ExecCall exec = new ExecCall(containers, call, bulkPort);
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
    private final Supplier<BulkPort> bulkPort;
    /** Where the output goes when it goes to the bulk port; null: as responses. */
    private volatile BulkSink bulk;
    private final Object lock = new Object();
    private volatile ExecSession session;
    private volatile boolean attachStdin;
    private volatile boolean attachMain;
    private boolean finished;
    private volatile boolean cancelled;

    ExecCall(ContainerManager containers, ServerCallStreamObserver<ExecResponse> call,
        Supplier<BulkPort> bulkPort) {
      this.containers = containers;
      this.call = call;
      this.bulkPort = bulkPort;
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
        case KILL:
          if (!attachMain) { // an attachment must not kill the container's own process
            session.killGroup();
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
        attachMain = start.getAttachMain();
        OutputSink sink = this;
        if (start.getBulkStream() != 0 && !start.getAttachMain() && !start.getProcess().getTerminal()) {
          BulkPort port = bulkPort.get();
          if (port != null) {
            bulk = new BulkSink(port, start.getBulkStream());
            sink = bulk;
          }
        }
        ExecSession s = start.getAttachMain()
            ? containers.attach(start.getContainerId(), start.getAttachStdin(), this)
            : containers.exec(
                start.getContainerId(),
                ContainerHandler.toRequest(start.getProcess()),
                start.getAttachStdin(),
                start.getTerminalSize().getRows(),
                start.getTerminalSize().getColumns(),
                sink);
        session = s;
        if (cancelled) {
          s.kill();
        }
        s.exit().whenComplete(this::exited);
      } catch (RuntimeException e) {
        BulkSink b = bulk;
        if (b != null) {
          b.end(); // no process: end the stream the host opened
        }
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
      // The exit completes after the pumps' last write, or after the output grace when a
      // background child still holds the pipes (BulkSink drops what it writes from now on): the
      // end frame now, so that the host has all bytes before it sees the exit. Written even for a
      // cancelled call: the host keeps the stream open until its end frame.
      BulkSink b = bulk;
      String lost = b == null ? null : b.end();
      synchronized (lock) {
        if (finished || cancelled) {
          return;
        }
        finished = true;
        if (failure != null) {
          call.onError(Statuses.toStatus(failure));
          return;
        }
        if (lost != null) {
          call.onError(Status.DATA_LOSS.withDescription(lost).asRuntimeException());
          return;
        }
        call.onNext(
            ExecResponse.newBuilder()
                .setExit(
                    ExecExit.newBuilder().setExitCode(exit.exitCode()).setSignal(exit.signal())
                        .setBulkEnded(b != null))
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

  /**
   * An exec's output as frames of one stream on the bulk port. A failed write is remembered and
   * later output dropped (the pumps keep draining the pipes, so the process does not block); the
   * exec then ends with DATA_LOSS instead of an exit.
   *
   * <p>No frame of the stream follows its end frame: the host forgets a stream at its end, and a
   * frame for a stream it does not know breaks the pod's bulk channel for good (and fails every
   * exec reading it then). Output that arrives after the end, from a background child that still
   * holds the exec's stdout or stderr past the output grace, is dropped, as over gRPC once the
   * exit went out; the pumps keep draining the pipes so that the child neither blocks nor gets
   * SIGPIPE. Writes and the end are serialized on this sink, so a write in progress finishes
   * before the end frame and none starts after it.
   */
  static final class BulkSink implements BufferSink {
    private final BulkPort port;
    private final int stream;
    private volatile String failed;
    /** Set, under this sink's lock, once the end frame was written (or its write failed). */
    private boolean ended;

    BulkSink(BulkPort port, int stream) {
      this.port = port;
      this.stream = stream;
    }

    /** One frame per read of up to a whole (enlarged, 1 MiB) pipe: a port write costs little per call. */
    @Override
    public int readBytes() {
      return BulkPort.MAX_PAYLOAD;
    }

    @Override
    public void write(OutputLog.Stream which, byte[] data, int offset, int length) {
      write(which, ByteBuffer.wrap(data, offset, length));
    }

    /** From a direct buffer (stdout through the exec helper): no copy on the way to the port. */
    @Override
    public synchronized void write(OutputLog.Stream which, ByteBuffer data) {
      if (failed != null || ended) {
        if (ended && failed == null) {
          Log.debug("bulk stream " + Integer.toUnsignedString(stream) + ": dropped " + data.remaining()
              + " bytes of " + which + " written after the exec's exit (a background child holds it)");
        }
        data.position(data.limit()); // consumed, as a BufferSink must
        return;
      }
      try {
        port.write(stream, which == OutputLog.Stream.STDOUT ? BulkPort.STDOUT : BulkPort.STDERR, data);
      } catch (IOException e) {
        failed = "writing the exec's output to the " + port + " failed: " + e.getMessage();
        Log.warn(failed, null);
      }
    }

    /**
     * Writes the end frame once (later calls write nothing) and drops every later write; returns
     * why output was lost, or null.
     */
    synchronized String end() {
      if (!ended && failed == null) {
        try {
          port.end(stream);
        } catch (IOException e) {
          failed = "writing the end frame to the " + port + " failed: " + e.getMessage();
        }
      }
      ended = true;
      return failed;
    }
  }
}
