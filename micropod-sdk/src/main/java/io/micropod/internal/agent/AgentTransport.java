package io.micropod.internal.agent;

import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import java.nio.file.Path;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * The I/O of every agent channel of one runtime: one epoll event loop (one thread), created on
 * first use and shut down by {@link #close()}. Thread-safe.
 */
public final class AgentTransport implements AutoCloseable {
  private final ThreadFactory threads;
  private EventLoopGroup eventLoop;
  private boolean closed;

  /** @param threads makes the event loop's thread (a daemon) */
  public AgentTransport(ThreadFactory threads) {
    this.threads = threads;
  }

  /** Why the native transport the agent channels need cannot load here, or null when it can. */
  public static String unavailableReason() {
    if (Epoll.isAvailable()) {
      return null;
    }
    Throwable cause = Epoll.unavailabilityCause();
    return "the native epoll transport of grpc-netty-shaded, which MicroPod uses for Unix sockets (Linux on "
        + "x86_64 or aarch64 only): " + (cause == null ? "unavailable" : cause.toString());
  }

  /** A client of the agent of pod {@code podId} over the Unix socket {@code socket}. */
  public AgentClient connect(String podId, Path socket, Executor executor) {
    return AgentClient.overUnixSocket(podId, socket, eventLoop(), executor);
  }

  /**
   * Serves {@code agent}'s connection to other processes of the user on the relay socket in
   * {@code socketDir} ({@link AgentRelay}), on this transport's I/O thread.
   */
  public AgentRelay serveRelay(String podId, AgentClient agent, Path socketDir, Executor executor)
      throws java.io.IOException {
    return AgentRelay.start(podId, agent.channel(), socketDir, eventLoop(), executor);
  }

  private synchronized EventLoopGroup eventLoop() {
    if (closed) {
      throw new IllegalStateException("the agent transport is closed");
    }
    if (eventLoop == null) {
      eventLoop = new MultiThreadIoEventLoopGroup(1, threads, EpollIoHandler.newFactory());
    }
    return eventLoop;
  }

  @Override
  public void close() {
    EventLoopGroup g;
    synchronized (this) {
      closed = true;
      g = eventLoop;
    }
    if (g != null) {
      g.shutdownGracefully(0, 2, TimeUnit.SECONDS);
    }
  }
}
