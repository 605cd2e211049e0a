package io.micropod.agent;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.stub.StreamObserver;
import io.micropod.agent.base.GuestClock;
import io.micropod.agent.base.Log;
import io.micropod.agent.channel.ChannelRelay;
import io.micropod.agent.runtime.ExitStatus;
import io.micropod.agent.runtime.OciSpec;
import io.micropod.agent.runtime.OutputLog;
import io.micropod.agent.runtime.ProcessConfig;
import io.micropod.agent.runtime.RuncLog;
import io.micropod.agent.v1.AgentServiceGrpc;
import io.micropod.agent.v1.CreateContainerRequest;
import io.micropod.agent.v1.ExecRequest;
import io.micropod.agent.v1.ExecResponse;
import io.micropod.agent.v1.ExecStart;
import io.micropod.agent.v1.GetInfoRequest;
import io.micropod.agent.v1.ProcessSpec;
import io.micropod.agent.v1.ReadLogsRequest;
import io.micropod.agent.v1.RemoveContainerRequest;
import io.micropod.agent.v1.ShutdownRequest;
import io.micropod.agent.v1.SignalContainerRequest;
import io.micropod.agent.v1.StartContainerRequest;
import io.micropod.agent.v1.WaitContainerRequest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * {@code --train}: runs the agent's code paths once so that the JVM class archive of the guest
 * image holds what a real start loads. JDK 25: {@code rootfs-builder/agent.classlist}, from which
 * every build dumps the AOT cache, is what several of these runs all loaded
 * ({@code build-guest.sh --update-classlist}: one run varies with thread timing, so it is not
 * recorded in each build), and each build runs it once more to check the cache; JDK 17: the
 * build records its AppCDS class list from one run. It serves on a temporary socket, calls GetInfo directly and
 * through the channel relay, makes the container RPCs fail the ways that need no runtime
 * (NOT_FOUND, INVALID_ARGUMENT), builds a config.json in memory and shuts the agent down with
 * the Shutdown RPC. It needs no runc, no /proc/uptime, no network, no root, and leaves nothing
 * behind.
 */
final class Trainer {
  private static final long CALL_SECONDS = 30;

  private Trainer() {}

  /** Returns the process exit status: 0 when every step behaved as expected. */
  static int run() {
    long t0 = System.nanoTime();
    Path dir = null;
    try {
      dir = Files.createTempDirectory("micropod-train");
      train(dir);
      Log.info("train: ok in " + (System.nanoTime() - t0) / 1_000_000 + " ms");
      return 0;
    } catch (Exception | AssertionError e) {
      Log.warn("train: failed", e);
      return 1;
    } finally {
      if (dir != null) {
        deleteQuietly(dir);
      }
    }
  }

  static void train(Path dir) throws Exception {
    long t0 = System.nanoTime();
    AgentConfig config =
        AgentConfig.builder()
            .socket(dir.resolve("agent.sock"))
            .containersDir(dir.resolve("containers"))
            .initStartedFile(dir.resolve("init-started-ms"))
            .runtime(Path.of(System.getProperty("micropod.train.runtime", "/usr/bin/runc")))
            .build();
    CompletableFuture<Void> stopped = new CompletableFuture<>();
    Agent agent = Agent.start(config, GuestClock.uptimeMillis(), null, () -> stopped.complete(null));
    step("serving", t0);
    EventLoopGroup group = UdsTransport.eventLoops(1, "micropod-train-client");
    Path hostSocket = dir.resolve("host.sock");
    ServerSocketChannel host = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    ManagedChannel direct = UdsTransport.channel(config.socket(), group);
    ManagedChannel relayed = UdsTransport.channel(hostSocket, group);
    ChannelRelay relay = null;
    try {
      AgentServiceGrpc.AgentServiceBlockingStub stub = stub(direct);
      for (int i = 0; i < 3; i++) {
        stub.getInfo(GetInfoRequest.getDefaultInstance());
      }

      step("GetInfo direct", t0);
      // The relay's data path, with a host socket standing in for the virtio-serial port.
      host.bind(UnixDomainSocketAddress.of(hostSocket));
      // Own threads, not the common pool: the accept blocks until the call below connects.
      CompletableFuture<SocketChannel> accepted = inThread("micropod-train-accept", host::accept);
      AgentServiceGrpc.AgentServiceBlockingStub viaRelay = stub(relayed);
      CompletableFuture<Object> firstCall = inThread("micropod-train-call",
          () -> viaRelay.getInfo(GetInfoRequest.getDefaultInstance()));
      SocketChannel port = accepted.get(CALL_SECONDS, TimeUnit.SECONDS);
      relay =
          new ChannelRelay(
              inputOf(port),
              outputOf(port),
              port,
              config.socket(),
              ChannelRelay.DEFAULT_POLL_INTERVAL)
              .start();
      firstCall.get(CALL_SECONDS, TimeUnit.SECONDS);
      for (int i = 0; i < 2; i++) {
        viaRelay.getInfo(GetInfoRequest.getDefaultInstance());
      }

      step("GetInfo relayed", t0);
      expect(Status.Code.INVALID_ARGUMENT, () -> stub.createContainer(
          CreateContainerRequest.newBuilder().setContainerId("../bad").build()));
      expect(Status.Code.INVALID_ARGUMENT, () -> stub.createContainer(
          CreateContainerRequest.newBuilder()
              .setContainerId("train")
              .setImageRootfs(dir.resolve("image").toString())
              .setProcess(ProcessSpec.newBuilder().addArgs("sh").setUser("root"))
              .build()));
      expect(Status.Code.FAILED_PRECONDITION, () -> stub.createContainer(
          CreateContainerRequest.newBuilder()
              .setContainerId("train")
              .setImageRootfs(dir.resolve("image").toString())
              .setProcess(ProcessSpec.newBuilder().addArgs("sh").addEnv("A=b").setUser("0:0"))
              .build()));
      expect(Status.Code.NOT_FOUND, () -> stub.startContainer(
          StartContainerRequest.newBuilder().setContainerId("train").build()));
      expect(Status.Code.NOT_FOUND, () -> viaRelay.waitContainer(
          WaitContainerRequest.newBuilder().setContainerId("train").build()));
      expect(Status.Code.NOT_FOUND, () -> stub.signalContainer(
          SignalContainerRequest.newBuilder().setContainerId("train").setSignal(15).build()));
      expect(Status.Code.NOT_FOUND, () -> stub.removeContainer(
          RemoveContainerRequest.newBuilder().setContainerId("train").build()));
      expect(Status.Code.NOT_FOUND, () -> stub.readLogs(
          ReadLogsRequest.newBuilder().setContainerId("train").setFollow(true).build())
          .hasNext());
      expectExec(relayed, ExecRequest.newBuilder().setStdin(
          com.google.protobuf.ByteString.copyFromUtf8("x")).build(), Status.Code.INVALID_ARGUMENT);
      expectExec(relayed, ExecRequest.newBuilder().setStart(
          ExecStart.newBuilder().setContainerId("train").setProcess(
              ProcessSpec.newBuilder().addArgs("true"))).build(), Status.Code.NOT_FOUND);

      step("container RPCs", t0);
      trainLocalPaths();
      step("spec and logs", t0);

      stub.shutdown(ShutdownRequest.getDefaultInstance());
      stopped.get(CALL_SECONDS, TimeUnit.SECONDS);
      step("shutdown", t0);
    } finally {
      direct.shutdownNow();
      relayed.shutdownNow();
      if (relay != null) {
        relay.close();
      }
      host.close();
      Files.deleteIfExists(hostSocket);
      agent.close();
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
  }

  private static void step(String name, long t0) {
    Log.debug("train: " + name + " done at " + (System.nanoTime() - t0) / 1_000_000 + " ms");
  }

  /** The in-process parts of a container's start: spec, output log, runc's log. */
  private static void trainLocalPaths() {
    ProcessConfig p =
        ProcessConfig.of(List.of("sh", "-c", "echo"), List.of("A=b"), "", "1000:1000", false);
    byte[] json = OciSpec.toBytes(OciSpec.config("train", p, Path.of("/rootfs"), "train", AgentConfig.DEFAULT_NOFILE_LIMIT));
    OciSpec.toBytes(OciSpec.process(p, AgentConfig.DEFAULT_NOFILE_LIMIT));
    OutputLog log = new OutputLog(1024);
    log.append(OutputLog.Stream.STDOUT, json, 0, json.length);
    log.append(OutputLog.Stream.STDERR, json, 0, 10);
    log.close();
    log.read(0, 4096, Long.MAX_VALUE);
    String error = RuncLog.lastErrorIn(
        "{\"level\":\"error\",\"msg\":\"exec: \\\"x\\\": executable file not found in $PATH\"}\n");
    if (error == null) {
      throw new AssertionError("runc log not parsed");
    }
    if (ExitStatus.fromStatus(137).signal() != 9) {
      throw new AssertionError("exit status 137 not read as signal 9");
    }
  }

  /** A blocking socket as the two streams of a port, without Channels' shared lock. */
  static InputStream inputOf(SocketChannel ch) {
    return new InputStream() {
      @Override
      public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
      }

      @Override
      public int read(byte[] b, int off, int len) {
        try {
          return ch.read(ByteBuffer.wrap(b, off, len));
        } catch (IOException e) {
          return -1; // the client went away: like a port whose host left
        }
      }
    };
  }

  static OutputStream outputOf(SocketChannel ch) {
    return new OutputStream() {
      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(b, off, len);
        while (buf.hasRemaining()) {
          ch.write(buf);
        }
      }
    };
  }

  private static <T> CompletableFuture<T> inThread(String name, Callable<T> task) {
    CompletableFuture<T> result = new CompletableFuture<>();
    Thread t = new Thread(() -> {
      try {
        result.complete(task.call());
      } catch (Exception | Error e) {
        result.completeExceptionally(e);
      }
    }, name);
    t.setDaemon(true);
    t.start();
    return result;
  }

  private static AgentServiceGrpc.AgentServiceBlockingStub stub(ManagedChannel channel) {
    return AgentServiceGrpc.newBlockingStub(channel)
        .withWaitForReady()
        .withDeadlineAfter(CALL_SECONDS, TimeUnit.SECONDS);
  }

  private static void expect(Status.Code code, Runnable call) {
    try {
      call.run();
    } catch (StatusRuntimeException e) {
      if (e.getStatus().getCode() == code) {
        return;
      }
      throw new AssertionError("expected " + code + ", got " + e.getStatus(), e);
    }
    throw new AssertionError("expected " + code + ", got OK");
  }

  private static void expectExec(ManagedChannel channel, ExecRequest first, Status.Code code)
      throws Exception {
    CompletableFuture<Status> done = new CompletableFuture<>();
    StreamObserver<ExecRequest> requests =
        AgentServiceGrpc.newStub(channel)
            .withDeadlineAfter(CALL_SECONDS, TimeUnit.SECONDS)
            .execProcess(observer(done::complete));
    requests.onNext(first);
    Status status = done.get(CALL_SECONDS, TimeUnit.SECONDS);
    requests.onCompleted();
    if (status.getCode() != code) {
      throw new AssertionError("exec: expected " + code + ", got " + status);
    }
  }

  private static StreamObserver<ExecResponse> observer(Consumer<Status> onEnd) {
    return new StreamObserver<>() {
      @Override
      public void onNext(ExecResponse value) {}

      @Override
      public void onError(Throwable t) {
        onEnd.accept(Status.fromThrowable(t));
      }

      @Override
      public void onCompleted() {
        onEnd.accept(Status.OK);
      }
    };
  }

  private static void deleteQuietly(Path dir) {
    try (var paths = Files.walk(dir)) {
      paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      Log.debug("train: cannot delete " + dir + ": " + e.getMessage());
    }
  }

}
