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
    synchronized (observer) {
      startExec(containerId, process, null, false, timeout, observer);
    }
    return awaitExec(result, observer, process, timeout);
  }

  /** Opens an {@code ExecProcess} call and sends its {@code start} message; the caller holds the observer's lock. */
  private io.grpc.stub.StreamObserver<ExecRequest> startExec(String containerId, ProcessSpec process,
      io.micropod.agent.v1.TerminalSize tty, boolean attachStdin, Duration timeout,
      ExecObserver observer) {
    AgentServiceGrpc.AgentServiceStub stub = async;
    if (timeout != null) {
      stub = stub.withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }
    io.grpc.stub.StreamObserver<ExecRequest> requests = stub.execProcess(observer);
    requests.onNext(ExecRequest.newBuilder().setStart(start(containerId, process, tty, attachStdin)).build());
    return requests;
  }

  private static ExecStart start(String containerId, ProcessSpec process,
      io.micropod.agent.v1.TerminalSize tty, boolean attachStdin) {
    ExecStart.Builder start = ExecStart.newBuilder()
        .setContainerId(containerId)
        .setProcess(process)
        .setAttachStdin(attachStdin);
    if (tty != null) {
      start.setTerminalSize(tty);
    }
    return start.build();
  }

  private ExecResult awaitExec(CompletableFuture<ExecResult> result, ExecObserver observer,
      ProcessSpec process, Duration timeout) {
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

  /** The async stub, for streaming calls the caller drives (PortForward, ReadLogs follow). */
  public AgentServiceGrpc.AgentServiceStub asyncStub() {
    return async;
  }

  /** {@code WaitContainer} with the whole answer; empty when {@code timeout} (null: none) passes. */
  public java.util.Optional<io.micropod.agent.v1.WaitContainerResponse> waitStatus(
      String containerId, Duration timeout) {
    AgentServiceGrpc.AgentServiceBlockingStub stub = blocking;
    if (timeout != null) {
      stub = stub.withDeadlineAfter(Math.max(1, timeout.toNanos()), TimeUnit.NANOSECONDS);
    }
    try {
      return java.util.Optional.of(
          stub.waitContainer(WaitContainerRequest.newBuilder().setContainerId(containerId).build()));
    } catch (StatusRuntimeException e) {
      if (timeout != null && e.getStatus().getCode() == Status.Code.DEADLINE_EXCEEDED) {
        return java.util.Optional.empty();
      }
      throw map(e, "WaitContainer", null, timeout);
    }
  }

  /** {@code SignalContainer}. */
  public void signal(String containerId, int signal, Duration deadline) {
    try {
      blocking.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS)
          .signalContainer(io.micropod.agent.v1.SignalContainerRequest.newBuilder()
              .setContainerId(containerId).setSignal(signal).build());
    } catch (StatusRuntimeException e) {
      throw map(e, "SignalContainer", null, deadline);
    }
  }

  /** {@code GetStats}. */
  public io.micropod.agent.v1.GetStatsResponse stats(String containerId, Duration deadline) {
    try {
      return blocking.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS)
          .getStats(io.micropod.agent.v1.GetStatsRequest.newBuilder().setContainerId(containerId).build());
    } catch (StatusRuntimeException e) {
      throw map(e, "GetStats", null, deadline);
    }
  }

  /**
   * {@code CopyOut}: the tar stream of {@code path}, read lazily (gRPC flow control keeps at most
   * a few chunks in flight). The caller closes the stream; closing early cancels the call.
   */
  public java.io.InputStream copyOut(String containerId, String path, Duration deadline) {
    io.grpc.Context.CancellableContext ctx = io.grpc.Context.current().withCancellation();
    io.grpc.Context prev = ctx.attach();
    Iterator<io.micropod.agent.v1.CopyOutChunk> it;
    try {
      it = blocking.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS)
          .copyOut(io.micropod.agent.v1.CopyOutRequest.newBuilder()
              .setContainerId(containerId).setPath(path).build());
    } finally {
      ctx.detach(prev);
    }
    return new java.io.InputStream() {
      private com.google.protobuf.ByteString cur = com.google.protobuf.ByteString.EMPTY;
      private int pos;

      @Override
      public int read() throws java.io.IOException {
        byte[] b = new byte[1];
        return read(b, 0, 1) < 0 ? -1 : b[0] & 0xff;
      }

      @Override
      public int read(byte[] b, int off, int len) throws java.io.IOException {
        while (pos >= cur.size()) {
          try {
            if (!it.hasNext()) {
              return -1;
            }
            cur = it.next().getTar();
          } catch (StatusRuntimeException e) {
            throw new java.io.IOException(map(e, "CopyOut", null, deadline));
          }
          pos = 0;
        }
        int n = Math.min(len, cur.size() - pos);
        cur.substring(pos, pos + n).copyTo(b, off);
        pos += n;
        return n;
      }

      @Override
      public void close() {
        ctx.cancel(null);
      }
    };
  }

  /**
   * {@code CopyIn}: returns a stream to write a tar into; {@code close()} half-closes and waits for
   * the agent's answer (the number of entries), throwing {@link java.io.IOException} wrapping the
   * {@link MicroPodException} when the agent failed. Writes wait while the call is not ready.
   */
  public java.io.OutputStream copyIn(String containerId, String destDir, Duration deadline) {
    CompletableFuture<Long> done = new CompletableFuture<>();
    Object ready = new Object();
    ClientCallStreamObserver<io.micropod.agent.v1.CopyInRequest>[] holder = new ClientCallStreamObserver[1];
    io.grpc.stub.StreamObserver<io.micropod.agent.v1.CopyInRequest> requests =
        async.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS).copyIn(
            new ClientResponseObserver<io.micropod.agent.v1.CopyInRequest, io.micropod.agent.v1.CopyInResponse>() {
              @Override
              public void beforeStart(ClientCallStreamObserver<io.micropod.agent.v1.CopyInRequest> call) {
                holder[0] = call;
                call.setOnReadyHandler(() -> {
                  synchronized (ready) {
                    ready.notifyAll();
                  }
                });
              }

              @Override
              public void onNext(io.micropod.agent.v1.CopyInResponse r) {
                done.complete(r.getEntries());
              }

              @Override
              public void onError(Throwable t) {
                done.completeExceptionally(t instanceof StatusRuntimeException
                    ? map((StatusRuntimeException) t, "CopyIn", null, deadline) : t);
                synchronized (ready) {
                  ready.notifyAll();
                }
              }

              @Override
              public void onCompleted() {
                done.complete(0L);
              }
            });
    ClientCallStreamObserver<io.micropod.agent.v1.CopyInRequest> call = holder[0];
    call.onNext(io.micropod.agent.v1.CopyInRequest.newBuilder()
        .setStart(io.micropod.agent.v1.CopyInStart.newBuilder()
            .setContainerId(containerId).setDestDir(destDir)).build());
    return new java.io.OutputStream() {
      private final byte[] buf = new byte[64 * 1024];
      private int n;
      private boolean closed;

      @Override
      public void write(int b) throws java.io.IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws java.io.IOException {
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

      private void send() throws java.io.IOException {
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
              throw new java.io.InterruptedIOException("interrupted");
            }
          }
        }
        if (done.isDone()) {
          failure();
        }
        call.onNext(io.micropod.agent.v1.CopyInRequest.newBuilder()
            .setTar(com.google.protobuf.ByteString.copyFrom(buf, 0, n)).build());
        n = 0;
      }

      private void failure() throws java.io.IOException {
        try {
          done.get();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new java.io.InterruptedIOException("interrupted");
        } catch (ExecutionException e) {
          throw new java.io.IOException(e.getCause().getMessage(), e.getCause());
        }
        throw new java.io.IOException("the agent ended CopyIn before the stream did");
      }

      @Override
      public void close() throws java.io.IOException {
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
          throw new java.io.InterruptedIOException("interrupted");
        } catch (ExecutionException e) {
          throw new java.io.IOException(e.getCause().getMessage(), e.getCause());
        }
      }
    };
  }

  /**
   * {@code ExecProcess} with stdin attached, written through the returned handle's
   * {@code stdin()} under flow control (writes wait while the call is not ready).
   */
  public io.micropod.ExecProcess execStreaming(String containerId, ProcessSpec process,
      io.micropod.agent.v1.TerminalSize tty) {
    CompletableFuture<ExecResult> result = new CompletableFuture<>();
    ExecObserver observer = new ExecObserver(result);
    io.grpc.stub.StreamObserver<ExecRequest> requests = async.execProcess(observer);
    synchronized (observer) {
      requests.onNext(ExecRequest.newBuilder().setStart(start(containerId, process, tty, true)).build());
    }
    java.io.OutputStream stdin = new java.io.OutputStream() {
      private boolean closed;

      @Override
      public void write(int b) throws java.io.IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public synchronized void write(byte[] b, int off, int len) throws java.io.IOException {
        java.util.Objects.checkFromIndexSize(off, len, b.length);
        if (closed) {
          throw new java.io.IOException("stdin is closed");
        }
        while (len > 0) {
          observer.awaitReady();
          int n = Math.min(len, 32 * 1024);
          synchronized (observer) {
            if (result.isDone()) {
              throw new java.io.IOException("the process exited; its stdin is closed");
            }
            requests.onNext(ExecRequest.newBuilder()
                .setStdin(com.google.protobuf.ByteString.copyFrom(b, off, n)).build());
          }
          off += n;
          len -= n;
        }
      }

      @Override
      public synchronized void close() {
        if (closed) {
          return;
        }
        closed = true;
        synchronized (observer) {
          if (!result.isDone()) {
            requests.onNext(ExecRequest.newBuilder().setCloseStdin(true).build());
          }
        }
      }
    };
    return new io.micropod.ExecProcess() {
      @Override
      public java.io.OutputStream stdin() {
        return stdin;
      }

      @Override
      public java.io.InputStream stdout() {
        return observer.stdout.reader();
      }

      @Override
      public void resize(int columns, int rows) {
        io.micropod.TerminalSize size = io.micropod.TerminalSize.of(columns, rows);
        if (tty == null) {
          throw new IllegalStateException(
              "the exec of " + process.getArgsList() + " was started without a TTY (ExecSpec.Builder.tty)");
        }
        // under the stdin stream's lock: ordered with the stdin writes before it
        synchronized (stdin) {
          synchronized (observer) {
            if (result.isDone()) {
              return;
            }
            requests.onNext(ExecRequest.newBuilder()
                .setResize(io.micropod.agent.v1.TerminalSize.newBuilder()
                    .setColumns(size.columns()).setRows(size.rows()))
                .build());
          }
        }
      }

      @Override
      public ExecResult await() {
        return awaitExec(result, observer, process, null);
      }

      @Override
      public java.util.Optional<ExecResult> await(Duration timeout) {
        try {
          result.get(Math.max(0, timeout.toNanos()), TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
          return java.util.Optional.empty();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new MicroPodException("interrupted while waiting for " + process.getArgsList()
              + " in pod " + podId, e, podId, null);
        } catch (ExecutionException e) {
          // awaitExec maps it
        }
        return java.util.Optional.of(awaitExec(result, observer, process, null));
      }
    };
  }

  /**
   * {@code ExecProcess} feeding {@code stdin} (then closing it): waits for the exit.
   *
   * @param timeout null for none
   */
  public ExecResult exec(String containerId, ProcessSpec process, byte[] stdin, Duration timeout) {
    return exec(containerId, process, null, stdin, timeout);
  }

  /**
   * Like {@link #exec(String, ProcessSpec, byte[], Duration)}, on a terminal of size {@code tty}
   * when not null ({@code process.terminal} must then be set).
   */
  public ExecResult exec(String containerId, ProcessSpec process,
      io.micropod.agent.v1.TerminalSize tty, byte[] stdin, Duration timeout) {
    CompletableFuture<ExecResult> result = new CompletableFuture<>();
    ExecObserver observer = new ExecObserver(result);
    if (stdin == null) {
      synchronized (observer) {
        startExec(containerId, process, tty, false, timeout, observer);
      }
      return awaitExec(result, observer, process, timeout);
    }
    synchronized (observer) {
      io.grpc.stub.StreamObserver<ExecRequest> requests =
          startExec(containerId, process, tty, true, timeout, observer);
      for (int off = 0; off < stdin.length; off += 32 * 1024) {
        requests.onNext(ExecRequest.newBuilder().setStdin(com.google.protobuf.ByteString.copyFrom(
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

  /**
   * An exec's stdout: collected for the result, and readable as it grows through {@link
   * #reader} (readers share the collected bytes: no second copy is kept).
   */
  static final class OutputBuffer extends ByteArrayOutputStream {
    private boolean ended;

    synchronized void append(com.google.protobuf.ByteString data) {
      byte[] bytes = data.toByteArray();
      super.write(bytes, 0, bytes.length);
      notifyAll();
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) {
      super.write(b, off, len);
    }

    synchronized void end() {
      ended = true;
      notifyAll();
    }

    /** Copies bytes from {@code pos}, waiting for some; -1 once ended and all was read. */
    synchronized int read(long pos, byte[] b, int off, int len) throws java.io.InterruptedIOException {
      while (pos >= count && !ended) {
        try {
          wait();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new java.io.InterruptedIOException("interrupted while reading exec output");
        }
      }
      if (pos >= count) {
        return -1;
      }
      int n = (int) Math.min(len, count - pos);
      System.arraycopy(buf, (int) pos, b, off, n);
      return n;
    }

    /** A stream over this buffer from its first byte. */
    java.io.InputStream reader() {
      return new java.io.InputStream() {
        private long pos;
        private boolean closed;

        @Override
        public int read() throws java.io.IOException {
          byte[] one = new byte[1];
          int n = read(one, 0, 1);
          return n < 0 ? -1 : one[0] & 0xFF;
        }

        @Override
        public int read(byte[] b, int off, int len) throws java.io.IOException {
          java.util.Objects.checkFromIndexSize(off, len, b.length);
          if (closed) {
            throw new java.io.IOException("closed");
          }
          if (len == 0) {
            return 0;
          }
          int n = OutputBuffer.this.read(pos, b, off, len);
          if (n > 0) {
            pos += n;
          }
          return n;
        }

        @Override
        public int available() {
          synchronized (OutputBuffer.this) {
            return (int) Math.max(0, count - pos);
          }
        }

        @Override
        public void close() {
          closed = true;
        }
      };
    }
  }

  /** Collects an exec's output; half-closes once the exit arrived. */
  private static final class ExecObserver implements ClientResponseObserver<ExecRequest, ExecResponse> {
    private final CompletableFuture<ExecResult> result;
    private final OutputBuffer stdout = new OutputBuffer();
    private final ByteArrayOutputStream stderr = new ByteArrayOutputStream();
    private ClientCallStreamObserver<ExecRequest> call;
    private final Object ready = new Object();
    private Integer exitCode;

    ExecObserver(CompletableFuture<ExecResult> result) {
      this.result = result;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<ExecRequest> call) {
      this.call = call;
      call.setOnReadyHandler(() -> {
        synchronized (ready) {
          ready.notifyAll();
        }
      });
    }

    /** Waits until the call can take another message (or the exec ended). */
    void awaitReady() throws java.io.InterruptedIOException {
      synchronized (ready) {
        while (!call.isReady() && !result.isDone()) {
          try {
            ready.wait(50);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while writing stdin");
          }
        }
      }
    }

    @Override
    public void onNext(ExecResponse r) {
      switch (r.getKindCase()) {
        case STDOUT:
          stdout.append(r.getStdout());
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
      stdout.end();
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
      stdout.end();
    }

    void cancel(String why) {
      synchronized (this) {
        call.cancel(why, null);
      }
    }
  }
}
