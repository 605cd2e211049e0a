package io.micropod.internal.agent;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.HandlerRegistry;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lets other processes of the user reach a pod that this JVM holds: QEMU's agent channel takes one
 * client at a time (docs/reliability.md), so the owner serves a gRPC relay on a Unix socket in the
 * pod's 0700 socket directory ({@code control.sock}, made 0600) and passes every call, whatever
 * its method, through its own agent connection, as opaque bytes with flow control in both
 * directions. Another process speaks to it exactly as to the agent (same protocol, same
 * {@link AgentClient}); the agent sees one more HTTP/2 stream of the owner's connection.
 *
 * <p>Who may connect: the socket's mode and its directory's keep other users out; the same user
 * could reach the agent socket anyway. Messages are bounded as from the agent
 * ({@link AgentLimits}). A caller's deadline is kept on the relayed call; a caller that cancels
 * cancels it. Stops with the pod: {@link #close()} ends every relayed call.
 */
public final class AgentRelay implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AgentRelay.class);
  /** The relay's socket in a pod's socket directory. */
  public static final String SOCKET_NAME = "control.sock";
  /** How long {@link #close()} lets relayed calls finish before it ends them. */
  static final java.time.Duration DRAIN = java.time.Duration.ofSeconds(2);

  private final Server server;
  private final Path socket;

  private AgentRelay(Server server, Path socket) {
    this.server = server;
    this.socket = socket;
  }

  /** The relay socket of the pod whose socket directory is {@code socketDir}. */
  public static Path socketOf(Path socketDir) {
    return socketDir.resolve(SOCKET_NAME);
  }

  /**
   * Serves {@code agent} on {@code socketOf(socketDir)}, replacing a stale socket of an owner that
   * is gone.
   */
  public static AgentRelay start(String podId, Channel agent, Path socketDir, EventLoopGroup group,
      Executor executor) throws IOException {
    Path socket = socketOf(socketDir);
    Files.deleteIfExists(socket);
    Server server = NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
        .channelType(EpollServerDomainSocketChannel.class)
        .bossEventLoopGroup(group).workerEventLoopGroup(group)
        .executor(executor)
        .maxInboundMessageSize(AgentLimits.MAX_INBOUND_MESSAGE_BYTES)
        .maxInboundMetadataSize(AgentLimits.MAX_INBOUND_METADATA_BYTES)
        .fallbackHandlerRegistry(new Registry(agent))
        // a TCP option that gRPC sets on accepted channels; Netty warns about it on Unix sockets
        .withChildOption(io.grpc.netty.shaded.io.netty.channel.ChannelOption.SO_KEEPALIVE, null)
        .build();
    server.start();
    try {
      Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
    } catch (IOException e) {
      server.shutdownNow();
      throw e;
    }
    log.debug("pod {}: relaying its agent to other processes on {}", podId, socket);
    return new AgentRelay(server, socket);
  }

  public Path socket() {
    return socket;
  }

  /**
   * Stops taking calls, lets the calls in flight finish for up to {@link #DRAIN}, then ends the
   * rest. The drain is for answers the agent has already sent: when a foreground pod's container
   * exits (say, after a visitor's {@code stop} sent SIGTERM), the agent answers the owner's wait
   * and the visitor's at once, and the owner closes the pod at once; ending the relay outright
   * cancelled the visitor's answer on its way (its {@code stop} failed with the pod gone). Calls
   * that would run on (a visitor following the logs of a container that is being removed) end
   * with the container or at the bound.
   */
  @Override
  public void close() {
    server.shutdown();
    try {
      if (!server.awaitTermination(DRAIN.toMillis(), TimeUnit.MILLISECONDS)) {
        log.debug("relay {}: calls still open after {} ms, ending them", socket, DRAIN.toMillis());
      }
      server.shutdownNow();
      server.awaitTermination(2, TimeUnit.SECONDS);
      Files.deleteIfExists(socket);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException e) {
      log.debug("cannot remove {}: {}", socket, e.toString());
    }
  }

  /** Every method name maps to a pass-through of raw bytes. */
  private static final class Registry extends HandlerRegistry {
    private final Channel agent;

    Registry(Channel agent) {
      this.agent = agent;
    }

    @Override
    public ServerMethodDefinition<?, ?> lookupMethod(String methodName, String authority) {
      MethodDescriptor<byte[], byte[]> method = MethodDescriptor.<byte[], byte[]>newBuilder()
          .setFullMethodName(methodName)
          .setType(MethodDescriptor.MethodType.UNKNOWN)
          .setRequestMarshaller(BYTES)
          .setResponseMarshaller(BYTES)
          .build();
      return ServerMethodDefinition.create(method, new Handler(agent));
    }
  }

  private static final class Handler implements ServerCallHandler<byte[], byte[]> {
    private final Channel agent;

    Handler(Channel agent) {
      this.agent = agent;
    }

    @Override
    public ServerCall.Listener<byte[]> startCall(ServerCall<byte[], byte[]> in, Metadata headers) {
      CallOptions options = CallOptions.DEFAULT;
      Deadline deadline = Context.current().getDeadline();
      if (deadline != null) {
        options = options.withDeadline(deadline);
      }
      ClientCall<byte[], byte[]> out = agent.newCall(in.getMethodDescriptor(), options);
      Pipe pipe = new Pipe(in, out);
      out.start(pipe.fromAgent, headers);
      out.request(1);
      in.request(1);
      return pipe.fromCaller;
    }
  }

  /** One relayed call: a message is asked for on one side only when the other can take it. */
  private static final class Pipe {
    private final ServerCall<byte[], byte[]> in;
    private final ClientCall<byte[], byte[]> out;

    Pipe(ServerCall<byte[], byte[]> in, ClientCall<byte[], byte[]> out) {
      this.in = in;
      this.out = out;
    }

    final ServerCall.Listener<byte[]> fromCaller = new ServerCall.Listener<>() {
      @Override
      public void onMessage(byte[] message) {
        out.sendMessage(message);
        synchronized (Pipe.this) {
          if (out.isReady()) {
            in.request(1);
          } else {
            callerWaiting = true;
          }
        }
      }

      @Override
      public void onHalfClose() {
        out.halfClose();
      }

      @Override
      public void onCancel() {
        out.cancel("the relay's caller cancelled", null);
      }

      @Override
      public void onReady() {
        synchronized (Pipe.this) {
          if (agentWaiting) {
            agentWaiting = false;
            out.request(1);
          }
        }
      }
    };

    final ClientCall.Listener<byte[]> fromAgent = new ClientCall.Listener<>() {
      @Override
      public void onHeaders(Metadata headers) {
        in.sendHeaders(headers);
      }

      @Override
      public void onMessage(byte[] message) {
        in.sendMessage(message);
        synchronized (Pipe.this) {
          if (in.isReady()) {
            out.request(1);
          } else {
            agentWaiting = true;
          }
        }
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        in.close(status, trailers);
      }

      @Override
      public void onReady() {
        synchronized (Pipe.this) {
          if (callerWaiting) {
            callerWaiting = false;
            in.request(1);
          }
        }
      }
    };

    private boolean callerWaiting;
    private boolean agentWaiting;
  }

  private static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw Status.INTERNAL.withDescription("cannot read a relayed message").withCause(e).asRuntimeException();
      }
    }
  };
}
