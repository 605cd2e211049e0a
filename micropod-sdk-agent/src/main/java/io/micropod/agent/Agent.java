package io.micropod.agent;

import io.grpc.Server;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.micropod.agent.base.GuestClock;
import io.micropod.agent.base.GuestInfo;
import io.micropod.agent.base.Log;
import io.micropod.agent.channel.ChannelRelay;
import io.micropod.agent.rpc.AgentService;
import io.micropod.agent.runtime.CommandMounter;
import io.micropod.agent.runtime.Commands;
import io.micropod.agent.runtime.ContainerManager;
import io.micropod.agent.runtime.Mounter;
import io.micropod.agent.runtime.OutputLog;
import io.micropod.agent.runtime.Runc;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The running agent: gRPC server on the Unix socket, container manager, optional channel relay.
 * {@code AgentMain}, {@code --train} and tests all start it through {@link #start}.
 *
 * <p>Threads (all daemons): Netty boss and worker (one each), {@code micropod-agent-work-N}
 * (cached: gRPC calls and blocking container steps, created on demand),
 * {@code micropod-agent-timer} (polls and timeouts), the relay's, and two output pumps per
 * running process.
 */
public final class Agent implements AutoCloseable {
  private final AgentConfig config;
  private final GuestInfo info;
  private final EventLoopGroup boss;
  private final EventLoopGroup worker;
  private final ExecutorService work;
  private final ScheduledThreadPoolExecutor timer;
  private final ContainerManager containers;
  private final Runc runc;
  private final Runnable onStopped;
  private final Lifetime lifetime;
  /** Why the pod ended by itself (a deadline), or null. */
  private volatile String endReason;
  private final CompletableFuture<Void> stopped = new CompletableFuture<>();
  private final AtomicInteger stopping = new AtomicInteger();
  private Server server;
  private volatile ChannelRelay relay;

  private Agent(AgentConfig config, GuestInfo info, Mounter mounter, Runnable onStopped) {
    this.config = config;
    this.info = info;
    this.onStopped = onStopped;
    this.work = Executors.newCachedThreadPool(daemons("micropod-agent-work-"));
    this.timer = new ScheduledThreadPoolExecutor(1, daemons("micropod-agent-timer"));
    timer.setRemoveOnCancelPolicy(true);
    Commands commands = new Commands(timer);
    this.runc = new Runc(config.runtime(), config.runtimeRoot(), commands);
    this.containers =
        new ContainerManager(
            config.containersDir(),
            runc,
            mounter != null ? mounter : new CommandMounter(commands),
            timer,
            work,
            OutputLog.DEFAULT_MAX_BYTES,
            config.nofileLimit());
    this.lifetime = new Lifetime(timer, reason -> {
      endReason = reason;
      shutdownAsync();
    }, () -> Lifetime.establishedConnections(Path.of("/proc/net")));
    this.boss = UdsTransport.eventLoops(1, "micropod-agent-boss");
    this.worker = UdsTransport.eventLoops(1, "micropod-agent-io");
  }

  /**
   * Starts serving on {@code config.socket()} (a stale socket file is replaced) and records the
   * ready time. The relay is started separately ({@link #startRelay}).
   *
   * @param agentMainMs guest uptime when main() began
   * @param mounter null for the {@code mount} command
   * @param onStopped runs (on a shutdown thread) after a Shutdown RPC stopped everything
   */
  public static Agent start(
      AgentConfig config, long agentMainMs, Mounter mounter, Runnable onStopped)
      throws IOException {
    Agent agent =
        new Agent(config, new GuestInfo(agentMainMs, config.initStartedFile()), mounter, onStopped);
    try {
      agent.serve();
    } catch (IOException | RuntimeException e) {
      agent.close();
      throw e;
    }
    return agent;
  }

  private void serve() throws IOException {
    Path socket = config.socket();
    Path parent = socket.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    Files.deleteIfExists(socket);
    server =
        UdsTransport.startServer(
            socket, interceptedService(), boss, worker, work);
    info.ready(GuestClock.uptimeMillis());
    info.lookUpRuntimeVersion(runc::version, work);
  }

  private io.grpc.BindableService interceptedService() {
    AgentService service =
        new AgentService(info, containers, this::shutdownAsync, work, lifetime::arm);
    io.grpc.ServerServiceDefinition definition =
        io.grpc.ServerInterceptors.intercept(service, lifetime.interceptor());
    return () -> definition;
  }

  /** Why the pod ended by itself ({@code max-lifetime}, {@code idle-timeout}), or null. */
  public String endReason() {
    return endReason;
  }

  /** Starts relaying {@code config.channel()} to the socket; does nothing when it is unset. */
  public void startRelay() throws IOException {
    if (config.channel() != null) {
      relay = ChannelRelay.open(config.channel(), config.socket()).start();
    }
  }

  public GuestInfo info() {
    return info;
  }

  public ContainerManager containers() {
    return containers;
  }

  /** Completes once a shutdown finished (before {@code onStopped} runs). */
  public CompletableFuture<Void> stopped() {
    return stopped;
  }

  /**
   * Removes every container, stops the server (letting answered calls flush), closes the relay
   * and then runs {@code onStopped}; on its own thread, once. Returns at once.
   */
  public void shutdownAsync() {
    if (stopping.getAndIncrement() != 0) {
      return;
    }
    Thread t = new Thread(this::shutdownNow, "micropod-agent-shutdown");
    t.setDaemon(true);
    t.start();
  }

  private void shutdownNow() {
    Log.info("shutting down");
    try {
      containers.removeAll();
    } catch (RuntimeException e) {
      Log.warn("removing containers at shutdown", e);
    }
    close();
    stopped.complete(null);
    onStopped.run();
  }

  /** Blocks until a shutdown finished. */
  public void awaitStopped() throws InterruptedException {
    try {
      stopped.get();
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    }
  }

  /** Stops the server, the relay and the threads; does not touch containers. Idempotent. */
  @Override
  public void close() {
    if (server != null) {
      server.shutdown();
      try {
        if (!server.awaitTermination(3, TimeUnit.SECONDS)) {
          server.shutdownNow();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        server.shutdownNow();
      }
    }
    ChannelRelay r = relay;
    if (r != null) {
      r.awaitOutputDrained(1000);
      try {
        r.close();
      } catch (IOException e) {
        Log.debug("closing the agent channel: " + e.getMessage());
      }
    }
    boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    worker.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    timer.shutdownNow();
    work.shutdown();
    try {
      Files.deleteIfExists(config.socket());
    } catch (IOException e) {
      Log.debug("cannot delete " + config.socket() + ": " + e.getMessage());
    }
  }

  private static ThreadFactory daemons(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      String name = prefix.endsWith("-") ? prefix + n.incrementAndGet() : prefix;
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }
}
