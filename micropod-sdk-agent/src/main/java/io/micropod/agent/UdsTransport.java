package io.micropod.agent;

import io.grpc.BindableService;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * gRPC over Unix domain sockets with grpc-netty-shaded's epoll transport: the agent's server,
 * and the client that {@code --train} and tests use (the same classes the host SDK uses).
 */
public final class UdsTransport {
  /**
   * grpc sets SO_KEEPALIVE on every channel, which Netty's domain socket channels do not know;
   * Netty then logs a two-line warning per connection. Held strongly: JUL keeps loggers weakly.
   */
  private static final Logger BOOTSTRAP_LOGGER =
      Logger.getLogger("io.grpc.netty.shaded.io.netty.bootstrap");

  static {
    BOOTSTRAP_LOGGER.setLevel(Level.SEVERE);
  }

  private UdsTransport() {}

  /** A group of {@code threads} daemon epoll event loops named {@code name}. */
  public static EventLoopGroup eventLoops(int threads, String name) {
    return new MultiThreadIoEventLoopGroup(
        threads, new DefaultThreadFactory(name, true), EpollIoHandler.newFactory());
  }

  /**
   * Starts a server for {@code service} on the filesystem socket {@code socket}: one boss
   * thread accepts, one worker thread does the I/O, {@code executor} runs the calls.
   */
  public static Server startServer(
      Path socket,
      BindableService service,
      EventLoopGroup boss,
      EventLoopGroup worker,
      Executor executor)
      throws IOException {
    return NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
        .channelType(EpollServerDomainSocketChannel.class)
        .bossEventLoopGroup(boss)
        .workerEventLoopGroup(worker)
        .executor(executor)
        // The one host connection must never be dropped for pinging "too often" (the default
        // policy allows one ping per 5 minutes): over the serial relay it cannot come back
        // until the host reconnects the port.
        .permitKeepAliveTime(1, TimeUnit.SECONDS)
        .permitKeepAliveWithoutCalls(true)
        .addService(service)
        .build()
        .start();
  }

  /** A plaintext client channel to the server on {@code socket}. */
  public static ManagedChannel channel(Path socket, EventLoopGroup group) {
    return NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
        .channelType(EpollDomainSocketChannel.class)
        .eventLoopGroup(group)
        .usePlaintext()
        .build();
  }
}
