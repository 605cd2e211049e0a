package io.micropod.internal.agent;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.micropod.AgentException;
import io.micropod.AgentStatus;
import io.micropod.AgentTimeoutException;
import io.micropod.ContainerStartException;
import io.micropod.ExecResult;
import io.micropod.MicroPodException;
import io.micropod.agent.v1.AgentServiceGrpc;
import io.micropod.agent.v1.CreateContainerRequest;
import io.micropod.agent.v1.ExecRequest;
import io.micropod.agent.v1.ExecResponse;
import io.micropod.agent.v1.ExecStart;
import io.micropod.agent.v1.GetInfoRequest;
import io.micropod.agent.v1.GetInfoResponse;
import io.micropod.agent.v1.LogChunk;
import io.micropod.agent.v1.ProcessSpec;
import io.micropod.agent.v1.ReadLogsRequest;
import io.micropod.agent.v1.ShutdownRequest;
import io.micropod.agent.v1.StartContainerRequest;
import io.micropod.agent.v1.WaitContainerRequest;
import io.micropod.event.Phase;
import io.micropod.internal.Durations;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.OptionalInt;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host's client of one guest agent: wraps the generated stubs, gives every call a deadline
 * and maps gRPC statuses to MicroPod's exceptions. Thread-safe.
 *
 * <h2>Timeouts and retries</h2>
 * <ul>
 *   <li>{@code GetInfo} at connect: wait-for-ready until the start-up deadline, so that it rides
 *       out the guest's boot (the channel reconnects with gRPC's backoff while nothing answers);
 *   <li>{@code CreateContainer}, {@code StartContainer}: the rest of the start-up deadline;
 *   <li>{@code ReadLogs}: {@link #LOGS_DEADLINE}; {@code Shutdown}: given by the caller (2 s);
 *   <li>{@code WaitContainer}, {@code ExecProcess}: the caller's timeout, else none; they end when
 *       the VM exits because the pod then shuts the channel down.
 * </ul>
 * Nothing is retried: apart from the wait-for-ready connect, every failure is reported.
 */
public final class AgentClient implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AgentClient.class);

  public static final Duration LOGS_DEADLINE = Duration.ofSeconds(30);
  public static final Duration SHUTDOWN_DEADLINE = Duration.ofSeconds(2);

  private final String podId;
  private final ManagedChannel channel;
  private final String target;
  private final AgentServiceGrpc.AgentServiceBlockingStub blocking;
  private final AgentServiceGrpc.AgentServiceStub async;

  /**
   * @param target what the channel connects to, for messages (the socket path)
   */
  public AgentClient(String podId, ManagedChannel channel, String target) {
    this.podId = podId;
    this.channel = channel;
    this.target = target;
    this.blocking = AgentServiceGrpc.newBlockingStub(channel);
    this.async = AgentServiceGrpc.newStub(channel);
  }

  /** A client over the Unix socket {@code socket} (Netty epoll). */
  public static AgentClient overUnixSocket(
      String podId, Path socket, EventLoopGroup group, Executor executor) {
    ManagedChannel channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
        .channelType(EpollDomainSocketChannel.class)
        .eventLoopGroup(group)
        .executor(executor)
        .usePlaintext()
        .overrideAuthority("localhost")
        .maxInboundMessageSize(64 << 20)
        .idleTimeout(365, TimeUnit.DAYS) // never go idle: one connection for the VM's life
        .withOption(ChannelOption.SO_KEEPALIVE, null) // a TCP option; Netty warns on Unix sockets
        .build();
    return new AgentClient(podId, channel, socket.toString());
  }

  public String target() {
    return target;
  }

  /**
   * {@code GetInfo} with wait-for-ready: completes when the agent answers, exceptionally (with a
   * {@link MicroPodException}) when it fails or {@code deadline} passes. Cancelling the future
   * cancels the call.
   */
  public CompletableFuture<GetInfoResponse> getInfoAsync(Duration deadline) {
    CompletableFuture<GetInfoResponse> f = new CompletableFuture<>();
    async.withWaitForReady().withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS)
        .getInfo(GetInfoRequest.getDefaultInstance(),
            new UnaryObserver<>(f, "GetInfo", Phase.AGENT_CONNECT, deadline));
    return f;
  }

  /** {@code CreateContainer}; returns the guest's bundle path. */
  public String createContainer(CreateContainerRequest request, Duration deadline) {
    try {
      return blocking.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS)
          .createContainer(request).getBundlePath();
    } catch (StatusRuntimeException e) {
      throw map(e, "CreateContainer", Phase.CONTAINER_START, deadline);
    }
  }

  /** {@code StartContainer}; returns the guest pid (0 when it already exited). */
  public int startContainer(String containerId, Duration deadline) {
    try {
      return blocking.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS)
          .startContainer(StartContainerRequest.newBuilder().setContainerId(containerId).build())
          .getPid();
    } catch (StatusRuntimeException e) {
      throw map(e, "StartContainer", Phase.CONTAINER_START, deadline);
    }
  }

  /**
   * {@code WaitContainer}: the exit status, or empty when {@code timeout} (null: none) passes
   * first.
   */
  public OptionalInt waitContainer(String containerId, Duration timeout) {
    AgentServiceGrpc.AgentServiceBlockingStub stub = blocking;
    if (timeout != null) {
      stub = stub.withDeadlineAfter(Math.max(1, timeout.toNanos()), TimeUnit.NANOSECONDS);
    }
    try {
      return OptionalInt.of(
          stub.waitContainer(WaitContainerRequest.newBuilder().setContainerId(containerId).build())
              .getExitCode());
    } catch (StatusRuntimeException e) {
      if (timeout != null && e.getStatus().getCode() == Status.Code.DEADLINE_EXCEEDED) {
        return OptionalInt.empty();
      }
      throw map(e, "WaitContainer", null, timeout);
    }
  }

  /** {@code ReadLogs} without follow: the output so far, in order. */
  public byte[] readLogs(String containerId) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      Iterator<LogChunk> it = blocking
          .withDeadlineAfter(LOGS_DEADLINE.toNanos(), TimeUnit.NANOSECONDS)
          .readLogs(ReadLogsRequest.newBuilder().setContainerId(containerId).setFollow(false).build());
      while (it.hasNext()) {
        out.writeBytes(it.next().getData().toByteArray());
      }
    } catch (StatusRuntimeException e) {
      throw map(e, "ReadLogs", null, LOGS_DEADLINE);
    }
    return out.toByteArray();
  }

  /**
   * {@code ExecProcess} without stdin: waits for the exit and returns everything written.
   *
   * @param timeout null for none
   */
  public ExecResult exec(String containerId, ProcessSpec process, Duration timeout) {
    CompletableFuture<ExecResult> result = new CompletableFuture<>();
    ExecObserver observer = new ExecObserver(result);
    AgentServiceGrpc.AgentServiceStub stub = async;
    if (timeout != null) {
      stub = stub.withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }
    io.grpc.stub.StreamObserver<ExecRequest> requests = stub.execProcess(observer);
    synchronized (observer) {
      requests.onNext(ExecRequest.newBuilder()
          .setStart(ExecStart.newBuilder()
              .setContainerId(containerId)
              .setProcess(process)
              .setAttachStdin(false))
          .build());
    }
    try {
      return result.get();
    } catch (InterruptedException e) {
      observer.cancel("interrupted");
      Thread.currentThread().interrupt();
      throw new MicroPodException("interrupted while running " + process.getArgsList()
          + " in pod " + podId, e, podId, null);
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof StatusRuntimeException) {
        throw map((StatusRuntimeException) c, "ExecProcess", null, timeout);
      }
      if (c instanceof RuntimeException) {
        throw (RuntimeException) c;
      }
      throw new MicroPodException("exec in pod " + podId + " failed: " + c, c, podId, null);
    }
  }

  /** {@code Shutdown}: the agent replies, then the guest powers off. */
  public void shutdown(Duration deadline) {
    try {
      blocking.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS)
          .shutdown(ShutdownRequest.getDefaultInstance());
    } catch (StatusRuntimeException e) {
      throw map(e, "Shutdown", Phase.STOP, deadline);
    }
  }

  /** {@code UpdateHosts}: replaces the content of the container's managed /etc/hosts. */
  public void updateHosts(String containerId, String hosts, Duration deadline) {
    try {
      blocking.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS)
          .updateHosts(io.micropod.agent.v1.UpdateHostsRequest.newBuilder()
              .setContainerId(containerId).setHosts(hosts).build());
    } catch (StatusRuntimeException e) {
      throw map(e, "UpdateHosts", null, deadline);
    }
  }

  /** Fails every call in flight now (the VM is gone). */
  public void shutdownNow() {
    channel.shutdownNow();
  }

  @Override
  public void close() {
    channel.shutdownNow();
    try {
      if (!channel.awaitTermination(2, TimeUnit.SECONDS)) {
        log.warn("pod {}: agent channel to {} did not terminate within 2 s", podId, target);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Maps a failed call to MicroPod's exceptions. */
  MicroPodException map(StatusRuntimeException e, String rpc, Phase phase, Duration deadline) {
    return map(e.getStatus(), e, rpc, phase, deadline);
  }

  MicroPodException map(Status status, Throwable cause, String rpc, Phase phase, Duration deadline) {
    String desc = status.getDescription() == null ? "" : status.getDescription();
    switch (status.getCode()) {
      case DEADLINE_EXCEEDED:
        return new AgentTimeoutException("the agent of pod " + podId + " did not answer " + rpc
            + " within " + Durations.human(deadline) + " (agent socket " + target + ")"
            + (rpc.equals("GetInfo")
                ? "; the guest may still be booting (raise startupTimeout) or hung: see its console log"
                : ""),
            cause, podId, phase, rpc, deadline);
      case FAILED_PRECONDITION:
        if (rpc.equals("StartContainer")) {
          return new ContainerStartException("the container of pod " + podId + " could not start: "
              + desc + " (check that the command exists in the image and is executable, and that "
              + "the working directory exists)", cause, podId, phase, desc);
        }
        break;
      case UNAVAILABLE:
        return new AgentException("the agent of pod " + podId + " is unreachable at " + target
            + " during " + rpc + (desc.isEmpty() ? "" : ": " + desc)
            + "; the VM may have exited (see its console log)",
            cause, podId, phase, AgentStatus.UNAVAILABLE, rpc);
      case UNIMPLEMENTED:
        return new AgentException("the guest agent of pod " + podId + " does not implement " + rpc
            + (desc.isEmpty() ? "" : " (" + desc + ")") + ": the guest image does not match this SDK; "
            + "rebuild and install it with `mvn -pl rootfs-builder -am install`",
            cause, podId, phase, AgentStatus.UNIMPLEMENTED, rpc);
      case CANCELLED:
        if (Thread.currentThread().isInterrupted()) {
          return new MicroPodException("interrupted during " + rpc + " of pod " + podId, cause, podId, phase);
        }
        break;
      default:
        break;
    }
    return new AgentException("the agent of pod " + podId + " failed " + rpc + ": "
        + status.getCode() + (desc.isEmpty() ? "" : ": " + desc),
        cause, podId, phase, statusOf(status.getCode()), rpc);
  }

  static AgentStatus statusOf(Status.Code code) {
    if (code == Status.Code.OK) {
      return AgentStatus.UNKNOWN;
    }
    return AgentStatus.valueOf(code.name());
  }

  /** Completes a future from a unary call, mapping failures; cancelling it cancels the call. */
  private final class UnaryObserver<T> implements ClientResponseObserver<Object, T> {
    private final CompletableFuture<T> future;
    private final String rpc;
    private final Phase phase;
    private final Duration deadline;
    private T value;

    UnaryObserver(CompletableFuture<T> future, String rpc, Phase phase, Duration deadline) {
      this.future = future;
      this.rpc = rpc;
      this.phase = phase;
      this.deadline = deadline;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<Object> call) {
      future.whenComplete((r, t) -> {
        if (t instanceof CancellationException) {
          call.cancel("cancelled by the SDK", null);
        }
      });
    }

    @Override
    public void onNext(T v) {
      value = v;
    }

    @Override
    public void onError(Throwable t) {
      if (t instanceof StatusRuntimeException) {
        future.completeExceptionally(map((StatusRuntimeException) t, rpc, phase, deadline));
      } else {
        future.completeExceptionally(t);
      }
    }

    @Override
    public void onCompleted() {
      future.complete(value);
    }
  }

  /** Collects an exec's output; half-closes once the exit arrived. */
  private static final class ExecObserver implements ClientResponseObserver<ExecRequest, ExecResponse> {
    private final CompletableFuture<ExecResult> result;
    private final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    private final ByteArrayOutputStream stderr = new ByteArrayOutputStream();
    private ClientCallStreamObserver<ExecRequest> call;
    private Integer exitCode;

    ExecObserver(CompletableFuture<ExecResult> result) {
      this.result = result;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<ExecRequest> call) {
      this.call = call;
    }

    @Override
    public void onNext(ExecResponse r) {
      switch (r.getKindCase()) {
        case STDOUT:
          stdout.writeBytes(r.getStdout().toByteArray());
          break;
        case STDERR:
          stderr.writeBytes(r.getStderr().toByteArray());
          break;
        case EXIT:
          exitCode = r.getExit().getExitCode();
          synchronized (this) {
            call.onCompleted();
          }
          break;
        default:
          break;
      }
    }

    @Override
    public void onError(Throwable t) {
      result.completeExceptionally(t);
    }

    @Override
    public void onCompleted() {
      if (exitCode == null) {
        result.completeExceptionally(Status.INTERNAL
            .withDescription("the agent ended ExecProcess without an exit status").asRuntimeException());
        return;
      }
      result.complete(ExecResult.of(exitCode,
          new String(stdout.toByteArray(), StandardCharsets.UTF_8),
          new String(stderr.toByteArray(), StandardCharsets.UTF_8)));
    }

    void cancel(String why) {
      synchronized (this) {
        call.cancel(why, null);
      }
    }
  }
}
