package io.micropod.internal.agent;

import com.google.protobuf.ByteString;
import io.grpc.ConnectivityState;
import io.grpc.Context;
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
import io.grpc.stub.StreamObserver;
import io.micropod.AgentException;
import io.micropod.AgentStatus;
import io.micropod.AgentTimeoutException;
import io.micropod.ContainerStartException;
import io.micropod.ExecProcess;
import io.micropod.ExecResult;
import io.micropod.ExitStatus;
import io.micropod.LogLine;
import io.micropod.MicroPod;
import io.micropod.MicroPodException;
import io.micropod.PodStats;
import io.micropod.agent.v1.AgentServiceGrpc;
import io.micropod.agent.v1.CopyOutChunk;
import io.micropod.agent.v1.CopyOutRequest;
import io.micropod.agent.v1.CreateContainerRequest;
import io.micropod.agent.v1.ExecRequest;
import io.micropod.agent.v1.ExecStart;
import io.micropod.agent.v1.GetInfoRequest;
import io.micropod.agent.v1.GetInfoResponse;
import io.micropod.agent.v1.GetStatsRequest;
import io.micropod.agent.v1.GetStatsResponse;
import io.micropod.agent.v1.LogChunk;
import io.micropod.agent.v1.PortForwardRequest;
import io.micropod.agent.v1.PortForwardResponse;
import io.micropod.agent.v1.ProcessSpec;
import io.micropod.agent.v1.ReadLogsRequest;
import io.micropod.agent.v1.ShutdownRequest;
import io.micropod.agent.v1.SignalContainerRequest;
import io.micropod.agent.v1.StartContainerRequest;
import io.micropod.agent.v1.TerminalSize;
import io.micropod.agent.v1.UpdateHostsRequest;
import io.micropod.agent.v1.WaitContainerRequest;
import io.micropod.agent.v1.WaitContainerResponse;
import io.micropod.event.Phase;
import io.micropod.internal.base.Durations;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host's client of one guest agent: wraps the generated stubs, gives every call a deadline
 * and maps gRPC statuses to MicroPod's exceptions. Thread-safe. With its stream helpers
 * ({@link PortForwarder}, {@link LogFollowerCall}, {@link StreamingExec}, the copy streams) it is
 * the SDK's one room that speaks gRPC and the generated protocol: its public methods take and
 * return domain types ({@link AgentProcess}, {@link ContainerLaunch}, {@link GuestInfo}, the API's
 * values), so that the rest of the SDK never sees a stub or a message (ArchitectureTest).
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
 *
 * <h2>Bounds</h2>
 * The agent is untrusted: what it sends is bounded by {@link AgentLimits} (message and metadata
 * sizes on the channel, exec output, logs, copy-out), never sized by the guest's word.
 */
public final class AgentClient implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AgentClient.class);

  public static final Duration LOGS_DEADLINE = Duration.ofSeconds(30);
  public static final Duration SHUTDOWN_DEADLINE = Duration.ofSeconds(2);

  private final String podId;
  private final ManagedChannel channel;
  private final String target;
  /** How much later than the host a bounded {@code WaitContainer}'s own deadline is (see waitResponse). */
  static final Duration WAIT_MARGIN = Duration.ofSeconds(5);

  private final AgentServiceGrpc.AgentServiceBlockingStub blocking;
  private final AgentServiceGrpc.AgentServiceStub async;
  private final AgentLimits limits;
  /** The pod's bulk channel for collecting execs' output; null: none (all output on gRPC). */
  private volatile BulkChannel bulk;
  /**
   * Execs' deadlines ({@link io.micropod.ExecSpec#timeout()}): one daemon thread, started on the
   * first deadline and gone when idle; its tasks only send a message or cancel a call.
   */
  private final ScheduledThreadPoolExecutor deadlines;

  /**
   * @param target what the channel connects to, for messages (the socket path)
   */
  /** The gRPC channel, for the relay that shares this connection with other processes. */
  ManagedChannel channel() {
    return channel;
  }

  public AgentClient(String podId, ManagedChannel channel, String target) {
    this(podId, channel, target, AgentLimits.DEFAULTS);
  }

  /**
   * @param channel built with {@link #boundInbound} (the inbound message and metadata limits
   *     live on the channel)
   */
  public AgentClient(String podId, ManagedChannel channel, String target, AgentLimits limits) {
    this.limits = limits;
    this.podId = podId;
    this.channel = channel;
    this.target = target;
    this.blocking = AgentServiceGrpc.newBlockingStub(channel);
    this.async = AgentServiceGrpc.newStub(channel);
    this.deadlines = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "micropod-" + podId + "-exec-deadline");
      t.setDaemon(true);
      return t;
    });
    deadlines.setRemoveOnCancelPolicy(true); // a long deadline of an exec that ended holds nothing
    deadlines.setKeepAliveTime(10, TimeUnit.SECONDS);
    deadlines.allowCoreThreadTimeOut(true);
  }

  /** Arms {@code observer}'s exec deadline (null: none) with {@link io.micropod.ExecSpec#KILL_GRACE}. */
  void armDeadline(ExecObserver observer, Duration killAfter) {
    if (killAfter != null) {
      observer.armDeadline(deadlines, killAfter, io.micropod.ExecSpec.KILL_GRACE);
    }
  }

  /**
   * From now on collecting execs ({@link #exec}) without a terminal ask the agent to send their
   * output over {@code channel} (which this client then closes); an agent without the bulk port
   * sends it as responses, and a broken channel sends later execs back to gRPC.
   */
  public void useBulk(BulkChannel channel) {
    this.bulk = channel;
  }

  /** Whether collecting execs ask for the bulk channel now (it is connected and not broken). */
  public boolean usesBulk() {
    BulkChannel b = bulk;
    return b != null && b.broken() == null;
  }

  /** A client over the Unix socket {@code socket} (Netty epoll). */
  public static AgentClient overUnixSocket(
      String podId, Path socket, EventLoopGroup group, Executor executor) {
    ManagedChannel channel = boundInbound(NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
        .channelType(EpollDomainSocketChannel.class)
        .eventLoopGroup(group)
        .executor(executor)
        .usePlaintext()
        .overrideAuthority("localhost")
        .idleTimeout(365, TimeUnit.DAYS) // never go idle: one connection for the VM's life
        .withOption(ChannelOption.SO_KEEPALIVE, null)) // a TCP option; Netty warns on Unix sockets
        .build();
    return new AgentClient(podId, channel, socket.toString());
  }

  /**
   * Sets the host's bounds on what the agent may send in one message or in its metadata
   * ({@link AgentLimits#MAX_INBOUND_MESSAGE_BYTES}, {@link AgentLimits#MAX_INBOUND_METADATA_BYTES}):
   * every channel to an agent is built through here, so that a hostile guest cannot make gRPC
   * buffer a huge message.
   */
  public static <T extends io.grpc.ManagedChannelBuilder<T>> T boundInbound(T builder) {
    return builder.maxInboundMessageSize(AgentLimits.MAX_INBOUND_MESSAGE_BYTES)
        .maxInboundMetadataSize(AgentLimits.MAX_INBOUND_METADATA_BYTES);
  }

  AgentLimits limits() {
    return limits;
  }

  public String target() {
    return target;
  }

  String podId() {
    return podId;
  }

  /**
   * Asks the channel to connect and waits up to {@code timeout} for the HTTP/2 connection to be
   * up: grpc-netty calls a transport ready when the agent's server answered the client preface
   * with its SETTINGS, so false means no answer to the handshake (or no connection at all).
   */
  public boolean awaitConnected(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    ConnectivityState state = channel.getState(true);
    while (state != ConnectivityState.READY) {
      long left = deadline - System.nanoTime();
      if (state == ConnectivityState.SHUTDOWN || left <= 0) {
        return false;
      }
      CountDownLatch changed = new CountDownLatch(1);
      channel.notifyWhenStateChanged(state, changed::countDown);
      changed.await(left, TimeUnit.NANOSECONDS);
      state = channel.getState(true);
    }
    return true;
  }

  /**
   * {@code GetInfo} with wait-for-ready: completes when the agent answers, exceptionally (with a
   * {@link MicroPodException}) when it fails or {@code deadline} passes. Cancelling the future
   * cancels the call.
   */
  public CompletableFuture<GuestInfo> getInfoAsync(Duration deadline) {
    CompletableFuture<GuestInfo> f = new CompletableFuture<>();
    async.withWaitForReady().withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS)
        .getInfo(GetInfoRequest.getDefaultInstance(),
            new UnaryObserver<GetInfoResponse, GuestInfo>(f, GuestInfo::of, "GetInfo", Phase.AGENT_CONNECT, deadline));
    return f;
  }

  /** {@code CreateContainer}; returns the guest's bundle path. */
  public String createContainer(ContainerLaunch launch, Duration deadline) {
    return createContainer(launch.toProto(), deadline);
  }

  String createContainer(CreateContainerRequest request, Duration deadline) {
    try {
      return blocking.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS)
          .createContainer(request).getBundlePath();
    } catch (StatusRuntimeException e) {
      throw map(e, "CreateContainer", Phase.CONTAINER_START, deadline);
    }
  }

  /** {@code CreateContainer} with what the agent supervises on its own (see {@link Supervising}). */
  public String createContainer(ContainerLaunch launch, Supervising supervising, Duration deadline) {
    return createContainer(supervising.apply(launch.toProto()), deadline);
  }

  /** {@code GetContainerState}: restarts, last exit and health of the container. */
  public Supervising.State containerState(String containerId, Duration deadline) {
    try {
      return Supervising.State.of(blocking.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS)
          .getContainerState(io.micropod.agent.v1.GetContainerStateRequest.newBuilder()
              .setContainerId(containerId).build()));
    } catch (StatusRuntimeException e) {
      throw map(e, "GetContainerState", null, deadline);
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
    return waitResponse(containerId, timeout)
        .map(r -> OptionalInt.of(r.getExitCode()))
        .orElse(OptionalInt.empty());
  }


  /**
   * {@code ReadLogs} without follow: the output so far, in order; at most
   * {@link AgentLimits#maxLogBytes()}, then the truncation marker (and the call is cancelled).
   */
  public byte[] readLogs(String containerId) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    long limit = limits.maxLogBytes();
    Context.CancellableContext ctx = Context.current().withCancellation();
    Context prev = ctx.attach();
    try {
      Iterator<LogChunk> it = blocking
          .withDeadlineAfter(LOGS_DEADLINE.toNanos(), TimeUnit.NANOSECONDS)
          .readLogs(ReadLogsRequest.newBuilder().setContainerId(containerId).setFollow(false).build());
      while (it.hasNext()) {
        ByteString data = it.next().getData();
        if (out.size() + (long) data.size() > limit) {
          out.writeBytes(data.substring(0, (int) (limit - out.size())).toByteArray());
          out.writeBytes(("\n" + AgentLimits.truncationMarker(limit) + "\n")
              .getBytes(java.nio.charset.StandardCharsets.UTF_8));
          break;
        }
        out.writeBytes(data.toByteArray());
      }
    } catch (StatusRuntimeException e) {
      throw map(e, "ReadLogs", null, LOGS_DEADLINE);
    } finally {
      ctx.detach(prev);
      ctx.cancel(null); // ends the call when it was cut short; a no-op once it completed
    }
    return out.toByteArray();
  }

  /**
   * {@code ExecProcess} without stdin: waits for the exit and returns everything written.
   *
   * @param timeout null for none
   */
  ExecResult exec(String containerId, ProcessSpec process, Duration timeout) {
    return exec(containerId, process, null, null, timeout, null);
  }


  /** Opens an {@code ExecProcess} call and sends its {@code start} message; the caller holds the observer's lock. */
  private StreamObserver<ExecRequest> startExec(String containerId, ProcessSpec process,
      TerminalSize tty, boolean attachStdin, Duration timeout, Duration killAfter,
      ExecObserver observer) {
    AgentServiceGrpc.AgentServiceStub stub = async;
    if (timeout != null) {
      stub = stub.withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }
    ExecStart start = start(containerId, process, tty, attachStdin);
    BulkChannel channel = bulk;
    if (channel != null && tty == null && !process.getTerminal()) {
      BulkChannel.Stream stream = observer.openBulk(channel);
      if (stream != null) {
        start = start.toBuilder().setBulkStream(stream.id()).build();
      }
    }
    StreamObserver<ExecRequest> requests = stub.execProcess(observer);
    requests.onNext(ExecRequest.newBuilder().setStart(start).build());
    armDeadline(observer, killAfter);
    return requests;
  }

  static ExecStart start(String containerId, ProcessSpec process,
      TerminalSize tty, boolean attachStdin) {
    ExecStart.Builder start = ExecStart.newBuilder()
        .setContainerId(containerId)
        .setProcess(process)
        .setAttachStdin(attachStdin);
    if (tty != null) {
      start.setTerminalSize(tty);
    }
    return start.build();
  }

  ExecResult awaitExec(CompletableFuture<ExecResult> result, ExecObserver observer,
      ProcessSpec process, Duration timeout) {
    ExecResult r;
    try {
      r = result.get();
    } catch (InterruptedException e) {
      observer.cancel("interrupted");
      Thread.currentThread().interrupt();
      throw new MicroPodException("interrupted while running " + process.getArgsList()
          + " in pod " + podId, e, podId, null);
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      if (observer.deadlinePassed()) {
        throw observer.timedOut(podId, process.getArgsList(), null, c);
      }
      if (c instanceof StatusRuntimeException) {
        throw map((StatusRuntimeException) c, "ExecProcess", null, timeout);
      }
      if (c instanceof RuntimeException) {
        throw (RuntimeException) c;
      }
      throw new MicroPodException("exec in pod " + podId + " failed: " + c, c, podId, null);
    }
    if (observer.deadlinePassed()) {
      throw observer.timedOut(podId, process.getArgsList(), r, null);
    }
    return r;
  }

  /**
   * A forwarder from {@code 127.0.0.1:hostPort} to the guest's {@code containerPort}, one
   * {@code PortForward} call per connection on the client {@code agent} gives then; not started.
   * The port is bound now, before the VM runs (so that a taken port fails the start early), when
   * there is no client yet.
   *
   * @param hostPort 0 for a random free port
   * @param slots connections open at once, shared by all ports of a pod
   * @throws IOException when the host port cannot be bound (e.g. in use)
   */
  public static PortForwarder forwardPort(String podId, int hostPort, int containerPort,
      Supplier<AgentClient> agent, Semaphore slots) throws IOException {
    Function<StreamObserver<PortForwardResponse>, StreamObserver<PortForwardRequest>> open =
        observer -> agent.get().async.portForward(observer);
    return new PortForwarder(podId, hostPort, containerPort, open, slots);
  }

  /**
   * {@code ReadLogs} with follow: hands each line of {@code containerId}'s output to
   * {@code consumer} on gRPC's executor, one at a time, until the call ends or is closed.
   */
  public MicroPod.LogFollower followLogs(String containerId, Consumer<LogLine> consumer) {
    LogFollowerCall f = new LogFollowerCall(podId, consumer);
    async.readLogs(ReadLogsRequest.newBuilder().setContainerId(containerId).setFollow(true).build(), f);
    return f;
  }

  /** {@code WaitContainer}: the exit status; empty when {@code timeout} (null: none) passes. */
  public Optional<ExitStatus> waitStatus(String containerId, Duration timeout) {
    return waitResponse(containerId, timeout).map(r -> new ExitStatus(r.getExitCode(), r.getOomKilled()));
  }

  /**
   * A bounded wait is ended by the host, at {@code timeout}; the call's own deadline is
   * {@link #WAIT_MARGIN} later. The guest's clock can run ahead of the host's (TCG under load), and
   * a guest that ends the call at its own deadline first answers CANCELLED, which said "the agent
   * failed" where the answer is "still running" (a visitor's {@code stop} then never sent SIGKILL).
   */
  private Optional<WaitContainerResponse> waitResponse(
      String containerId, Duration timeout) {
    WaitContainerRequest request = WaitContainerRequest.newBuilder().setContainerId(containerId).build();
    if (timeout == null) {
      try {
        return Optional.of(blocking.waitContainer(request));
      } catch (StatusRuntimeException e) {
        throw map(e, "WaitContainer", null, null);
      }
    }
    CompletableFuture<WaitContainerResponse> answer = new CompletableFuture<>();
    async.withDeadlineAfter(Math.max(1, timeout.plus(WAIT_MARGIN).toNanos()), TimeUnit.NANOSECONDS)
        .waitContainer(request, new UnaryObserver<WaitContainerResponse, WaitContainerResponse>(
            answer, r -> r, "WaitContainer", null, timeout.plus(WAIT_MARGIN)));
    try {
      return Optional.of(answer.get(Math.max(1, timeout.toNanos()), TimeUnit.NANOSECONDS));
    } catch (java.util.concurrent.TimeoutException e) {
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AgentException("interrupted while waiting for container " + containerId + " of pod " + podId,
          e, podId, null, AgentStatus.CANCELLED, "WaitContainer");
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof AgentException a && a.status() == AgentStatus.DEADLINE_EXCEEDED) {
        return Optional.empty(); // the margin passed too: as late as this host can tell, still running
      }
      throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
    } finally {
      answer.cancel(false); // ends the call when the host's timeout came first
    }
  }

  /** {@code SignalContainer}. */
  public void signal(String containerId, int signal, Duration deadline) {
    try {
      blocking.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS)
          .signalContainer(SignalContainerRequest.newBuilder()
              .setContainerId(containerId).setSignal(signal).build());
    } catch (StatusRuntimeException e) {
      throw map(e, "SignalContainer", null, deadline);
    }
  }

  private static long atLeast0(long guestValue) {
    return Math.max(0, guestValue);
  }

  /** {@code GetStats}. */
  public PodStats stats(String containerId, Duration deadline) {
    try {
      GetStatsResponse r = blocking.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS)
          .getStats(GetStatsRequest.newBuilder().setContainerId(containerId).build());
      // The guest is untrusted: a negative counter (hostile, or a wrapped sum) reads as 0, and
      // so does a load that is negative, NaN or infinite (gauges and tables downstream).
      double load = r.getGuestLoad1();
      return new PodStats(atLeast0(r.getCpuUsageUsec()), atLeast0(r.getMemoryUsageBytes()),
          atLeast0(r.getMemoryLimitBytes()), atLeast0(r.getIoReadBytes()), atLeast0(r.getIoWriteBytes()),
          atLeast0(r.getGuestMemTotalBytes()), atLeast0(r.getGuestMemAvailableBytes()),
          Double.isFinite(load) && load > 0 ? load : 0.0, atLeast0(r.getOomKills()),
          atLeast0(r.getNetRxBytes()), atLeast0(r.getNetRxPackets()),
          atLeast0(r.getNetTxBytes()), atLeast0(r.getNetTxPackets()));
    } catch (StatusRuntimeException e) {
      throw map(e, "GetStats", null, deadline);
    }
  }

  /**
   * {@code CopyOut}: the tar stream of {@code path}, read lazily (gRPC flow control keeps at most
   * a few chunks in flight). The caller closes the stream; closing early cancels the call.
   */
  public InputStream copyOut(String containerId, String path, Duration deadline) {
    Context.CancellableContext ctx = Context.current().withCancellation();
    Context prev = ctx.attach();
    Iterator<CopyOutChunk> it;
    try {
      it = blocking.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS)
          .copyOut(CopyOutRequest.newBuilder()
              .setContainerId(containerId).setPath(path).build());
    } finally {
      ctx.detach(prev);
    }
    return new CopyOutStream(this, it, ctx, deadline, limits.maxCopyOutBytes());
  }

  /**
   * {@code CopyIn}: returns a stream to write a tar into; {@code close()} half-closes and waits for
   * the agent's answer (the number of entries), throwing {@link IOException} wrapping the
   * {@link MicroPodException} when the agent failed. Writes wait while the call is not ready.
   */
  public OutputStream copyIn(String containerId, String destDir, Duration deadline) {
    return CopyInStream.open(this, async, containerId, destDir, deadline);
  }

  /**
   * {@code ExecProcess} with stdin attached, written through the returned handle's
   * {@code stdin()} under flow control (writes wait while the call is not ready).
   */
  public ExecProcess execStreaming(String containerId, AgentProcess process,
      io.micropod.TerminalSize tty, Duration killAfter) {
    return execStreaming(containerId, process.toProto(), terminalSize(tty), killAfter);
  }

  ExecProcess execStreaming(String containerId, ProcessSpec process,
      TerminalSize tty) {
    return execStreaming(containerId, process, tty, null);
  }

  /** @param killAfter the exec's deadline ({@link ExecObserver#armDeadline}), null for none */
  ExecProcess execStreaming(String containerId, ProcessSpec process,
      TerminalSize tty, Duration killAfter) {
    return new StreamingExec(this, async, containerId, process, tty, killAfter);
  }

  /**
   * Calls {@code done} once {@code process} (from {@link #execStreaming}) has ended: with its
   * result, or with the exception its {@code await()} throws (the other argument null). Does
   * nothing for a process this client did not start.
   */
  public static void whenEnded(ExecProcess process,
      java.util.function.BiConsumer<ExecResult, RuntimeException> done) {
    if (process instanceof StreamingExec s) {
      s.whenEnded(done);
    }
  }

  /**
   * {@code ExecProcess} with {@code attach_main}: the container's own process, whose output
   * arrives from its first byte; stdin is attached when {@code stdin} (the container was created
   * with open_stdin), resizes are sent when {@code tty} is not null.
   *
   * @param main the container's process (for messages)
   */
  public ExecProcess attachMain(String containerId, AgentProcess main, io.micropod.TerminalSize tty,
      boolean stdin) {
    ExecStart start = ExecStart.newBuilder().setContainerId(containerId).setProcess(main.toProto())
        .setAttachMain(true).setAttachStdin(stdin).build();
    return new StreamingExec(this, async, start, terminalSize(tty));
  }

  /**
   * {@code ExecProcess}: waits for the exit and returns everything written; feeds {@code stdin}
   * (then closes it) when not null; on a terminal of size {@code tty} when not null
   * ({@code process.terminal} must then be set).
   *
   * @param killAfter the exec's deadline ({@link ExecObserver#armDeadline}), null for none: past
   *     it the process is killed and this throws {@link io.micropod.ExecTimeoutException}
   */
  public ExecResult exec(String containerId, AgentProcess process,
      io.micropod.TerminalSize tty, byte[] stdin, Duration killAfter) {
    return exec(containerId, process.toProto(), terminalSize(tty), stdin, null, killAfter);
  }

  private static TerminalSize terminalSize(io.micropod.TerminalSize tty) {
    return tty == null ? null
        : TerminalSize.newBuilder().setColumns(tty.columns()).setRows(tty.rows()).build();
  }

  /**
   * {@code ExecProcess} feeding {@code stdin} (then closing it): waits for the exit.
   *
   * @param timeout null for none
   */
  ExecResult exec(String containerId, ProcessSpec process, byte[] stdin, Duration timeout) {
    return exec(containerId, process, null, stdin, timeout, null);
  }

  /**
   * Like {@link #exec(String, ProcessSpec, byte[], Duration)}, on a terminal of size {@code tty}
   * when not null ({@code process.terminal} must then be set).
   */
  ExecResult exec(String containerId, ProcessSpec process,
      TerminalSize tty, byte[] stdin, Duration timeout) {
    return exec(containerId, process, tty, stdin, timeout, null);
  }

  /**
   * Like {@link #exec(String, ProcessSpec, TerminalSize, byte[], Duration)}, killed when {@code
   * killAfter} (not null) passes ({@link ExecObserver#armDeadline}).
   */
  ExecResult exec(String containerId, ProcessSpec process,
      TerminalSize tty, byte[] stdin, Duration timeout, Duration killAfter) {
    CompletableFuture<ExecResult> result = new CompletableFuture<>();
    ExecObserver observer = new ExecObserver(result, limits);
    if (stdin == null) {
      synchronized (observer) {
        startExec(containerId, process, tty, false, timeout, killAfter, observer);
      }
      return awaitExec(result, observer, process, timeout);
    }
    synchronized (observer) {
      StreamObserver<ExecRequest> requests =
          startExec(containerId, process, tty, true, timeout, killAfter, observer);
      for (int off = 0; off < stdin.length; off += 32 * 1024) {
        requests.onNext(ExecRequest.newBuilder().setStdin(ByteString.copyFrom(
            stdin, off, Math.min(32 * 1024, stdin.length - off))).build());
      }
      requests.onNext(ExecRequest.newBuilder().setCloseStdin(true).build());
    }
    return awaitExec(result, observer, process, timeout);
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
          .updateHosts(UpdateHostsRequest.newBuilder()
              .setContainerId(containerId).setHosts(hosts).build());
    } catch (StatusRuntimeException e) {
      throw map(e, "UpdateHosts", null, deadline);
    }
  }

  /**
   * After a restore from a snapshot: the agent reseeds the guest's random generator with
   * {@code entropy}, sets its clock to {@code unixTimeNanos}, renames container {@code from} to
   * {@code to} and, unless {@code hostname} is empty, sets its hostname. An empty {@code from} is
   * a guest snapshotted before it had a container (a warm start's template): reseed and clock only.
   */
  public void restored(String from, String to, String hostname, byte[] entropy, long unixTimeNanos,
      Duration deadline) {
    try {
      blocking.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS)
          .restored(io.micropod.agent.v1.RestoredRequest.newBuilder().setContainerId(from)
              .setNewContainerId(to).setHostname(hostname)
              .setEntropy(com.google.protobuf.ByteString.copyFrom(entropy))
              .setUnixTimeNanos(unixTimeNanos).build());
    } catch (StatusRuntimeException e) {
      throw map(e, "Restored", null, deadline);
    }
  }

  /**
   * Before a snapshot: the agent starts what {@link #restored} needs running, so that a restored
   * guest spawns no process on the restore's path.
   */
  public void prepareSnapshot(Duration deadline) {
    try {
      blocking.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS)
          .prepareSnapshot(io.micropod.agent.v1.PrepareSnapshotRequest.getDefaultInstance());
    } catch (StatusRuntimeException e) {
      throw map(e, "PrepareSnapshot", null, deadline);
    }
  }

  /** Fails every call in flight now (the VM is gone). */
  public void shutdownNow() {
    channel.shutdownNow();
  }

  @Override
  public void close() {
    deadlines.shutdownNow();
    BulkChannel b = bulk;
    if (b != null) {
      b.close();
    }
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
      case RESOURCE_EXHAUSTED:
        if (desc.contains("exceeds maximum") || desc.contains("larger than")) {
          return new AgentException("the agent of pod " + podId + " sent more than the host accepts"
              + " during " + rpc + " (" + desc + "; limits: " + AgentLimits.MAX_INBOUND_MESSAGE_BYTES
              + " bytes per message, " + AgentLimits.MAX_INBOUND_METADATA_BYTES + " bytes of metadata)"
              + "; the guest agent is broken or compromised",
              cause, podId, phase, AgentStatus.RESOURCE_EXHAUSTED, rpc);
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
  private final class UnaryObserver<T, R> implements ClientResponseObserver<Object, T> {
    private final CompletableFuture<R> future;
    private final Function<T, R> convert;
    private final String rpc;
    private final Phase phase;
    private final Duration deadline;
    private T value;

    UnaryObserver(CompletableFuture<R> future, Function<T, R> convert, String rpc, Phase phase, Duration deadline) {
      this.future = future;
      this.convert = convert;
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
      future.complete(convert.apply(value));
    }
  }
}
