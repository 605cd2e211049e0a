package io.micropod.agent.rpc;

import com.google.protobuf.UnsafeByteOperations;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.micropod.agent.base.Log;
import io.micropod.agent.runtime.ContainerManager;
import io.micropod.agent.runtime.OutputLog;
import io.micropod.agent.v1.LogChunk;
import io.micropod.agent.v1.OutputStream;
import io.micropod.agent.v1.ReadLogsRequest;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * ReadLogs: the container's output so far, in order; with follow, new output until the
 * container exited and everything was sent. Sends only while the call is ready (gRPC flow
 * control), so a slow reader holds at most one batch (~64 KiB) in the call's buffers, never the
 * whole log; no thread waits meanwhile.
 */
final class LogsHandler {
  private final ContainerManager containers;

  LogsHandler(ContainerManager containers) {
    this.containers = containers;
  }

  void readLogs(ReadLogsRequest request, StreamObserver<LogChunk> observer) {
    OutputLog log;
    try {
      log = containers.logs(request.getContainerId());
    } catch (RuntimeException e) {
      observer.onError(Statuses.toStatus(e));
      return;
    }
    ServerCallStreamObserver<LogChunk> call = (ServerCallStreamObserver<LogChunk>) observer;
    long end = request.getFollow() ? Long.MAX_VALUE : log.nextSeq();
    Streamer streamer = new Streamer(log, call, end);
    call.setOnReadyHandler(streamer::drain);
    call.setOnCancelHandler(streamer::cancel);
    streamer.subscribe();
    streamer.drain();
  }

  static LogChunk toProto(OutputLog.Chunk c) {
    return LogChunk.newBuilder()
        .setStream(
            c.stream() == OutputLog.Stream.STDOUT
                ? OutputStream.OUTPUT_STREAM_STDOUT
                : OutputStream.OUTPUT_STREAM_STDERR)
        .setData(UnsafeByteOperations.unsafeWrap(c.data()))
        .build();
  }

  /**
   * Sends from a cursor whenever it is told there may be progress (new output, call ready).
   * {@link #drain} may be called from any thread at any time; one caller at a time sends, and
   * calls that arrive meanwhile make it loop once more.
   */
  static final class Streamer {
    private static final int BATCH_BYTES = 64 * 1024;

    private final OutputLog log;
    private final ServerCallStreamObserver<LogChunk> call;
    private final long endSeq;
    private final AtomicInteger pending = new AtomicInteger();
    private long cursor;
    private volatile boolean done;
    private AutoCloseable subscription;

    Streamer(OutputLog log, ServerCallStreamObserver<LogChunk> call, long endSeq) {
      this.log = log;
      this.call = call;
      this.endSeq = endSeq;
    }

    void subscribe() {
      if (endSeq == Long.MAX_VALUE) {
        subscription = log.subscribe(this::drain);
      }
    }

    void cancel() {
      done = true;
      unsubscribe();
    }

    void drain() {
      if (pending.getAndIncrement() != 0) {
        return;
      }
      do {
        try {
          sendWhileReady();
        } catch (RuntimeException e) {
          Log.debug("ReadLogs: stream ended: " + e);
          cancel();
        }
      } while (pending.decrementAndGet() != 0);
    }

    private void sendWhileReady() {
      while (!done) {
        if (call.isCancelled()) {
          cancel();
          return;
        }
        if (!call.isReady()) {
          return; // the on-ready handler calls drain again
        }
        OutputLog.Batch batch = log.read(cursor, BATCH_BYTES, endSeq);
        for (OutputLog.Chunk c : batch.chunks()) {
          call.onNext(toProto(c));
        }
        cursor = batch.next();
        if (batch.chunks().isEmpty()) {
          if (batch.finished() || cursor >= endSeq) {
            done = true;
            unsubscribe();
            call.onCompleted();
          }
          return; // more output or the close will call drain again
        }
      }
    }

    private void unsubscribe() {
      AutoCloseable s = subscription;
      if (s != null) {
        try {
          s.close();
        } catch (Exception e) {
          // removing a listener cannot fail
        }
      }
    }
  }
}
