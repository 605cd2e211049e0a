package io.micropod.agent;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.stub.StreamObserver;
import io.micropod.agent.v1.AgentServiceGrpc;
import io.micropod.agent.v1.ExecRequest;
import io.micropod.agent.v1.ExecResponse;
import io.micropod.agent.v1.ExecStart;
import io.micropod.agent.v1.LogChunk;
import io.micropod.agent.v1.OutputStream;
import io.micropod.agent.v1.ReadLogsRequest;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/** A real gRPC client of the agent over its Unix socket, for tests. */
final class TestClient implements AutoCloseable {
  static final long DEADLINE_SECONDS = 30;

  private final EventLoopGroup group = UdsTransport.eventLoops(1, "test-client");
  private final ManagedChannel channel;

  TestClient(Path socket) {
    channel = UdsTransport.channel(socket, group);
  }

  ManagedChannel channel() {
    return channel;
  }

  AgentServiceGrpc.AgentServiceBlockingStub blocking() {
    return AgentServiceGrpc.newBlockingStub(channel)
        .withWaitForReady()
        .withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
  }

  AgentServiceGrpc.AgentServiceStub async() {
    return AgentServiceGrpc.newStub(channel)
        .withWaitForReady()
        .withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
  }

  /** The container's log chunks as "OUT:text" / "ERR:text" strings, in order. */
  List<String> logs(String id, boolean follow) {
    Iterator<LogChunk> it =
        blocking().readLogs(
            ReadLogsRequest.newBuilder().setContainerId(id).setFollow(follow).build());
    List<String> out = new ArrayList<>();
    while (it.hasNext()) {
      LogChunk c = it.next();
      out.add((c.getStream() == OutputStream.OUTPUT_STREAM_STDOUT ? "OUT:" : "ERR:")
          + c.getData().toStringUtf8());
    }
    return out;
  }

  /** What an exec returned. */
  /** @param afterExit the kinds of the messages that came after the exit (none, if in order) */
  record ExecResult(String stdout, String stderr, int exitCode, int signal, Status status,
      List<String> afterExit) {}

  /** Runs an exec; {@code afterStart} may send stdin through the given observer. */
  ExecResult exec(ExecStart start, Consumer<StreamObserver<ExecRequest>> afterStart)
      throws Exception {
    ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    ByteArrayOutputStream stderr = new ByteArrayOutputStream();
    int[] exit = {-1, -1};
    List<String> afterExit = new java.util.concurrent.CopyOnWriteArrayList<>();
    CompletableFuture<Status> done = new CompletableFuture<>();
    StreamObserver<ExecRequest> requests =
        async().execProcess(new StreamObserver<>() {
          @Override
          public void onNext(ExecResponse r) {
            if (exit[0] != -1) {
              afterExit.add(r.getKindCase().toString());
            }
            switch (r.getKindCase()) {
              case STDOUT:
                stdout.writeBytes(r.getStdout().toByteArray());
                break;
              case STDERR:
                stderr.writeBytes(r.getStderr().toByteArray());
                break;
              case EXIT:
                exit[0] = r.getExit().getExitCode();
                exit[1] = r.getExit().getSignal();
                break;
              default:
                break;
            }
          }

          @Override
          public void onError(Throwable t) {
            done.complete(Status.fromThrowable(t));
          }

          @Override
          public void onCompleted() {
            done.complete(Status.OK);
          }
        });
    requests.onNext(ExecRequest.newBuilder().setStart(start).build());
    afterStart.accept(requests);
    Status status = done.get(DEADLINE_SECONDS, TimeUnit.SECONDS);
    if (status.isOk()) {
      requests.onCompleted();
    }
    return new ExecResult(
        stdout.toString(StandardCharsets.UTF_8),
        stderr.toString(StandardCharsets.UTF_8),
        exit[0],
        exit[1],
        status,
        afterExit);
  }

  ExecResult exec(ExecStart start) throws Exception {
    return exec(start, r -> {});
  }

  @Override
  public void close() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
  }
}
