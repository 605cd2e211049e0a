package io.micropod.agent;

import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.micropod.agent.base.Log;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.IntSupplier;

/**
 * The pod's deadlines, enforced in the guest so that they hold for a detached pod whose JVM is
 * gone: a maximum lifetime counted from {@link #arm}, and an idle timeout. Idle means no call
 * of {@link #ACTIVE_METHODS} in flight (an exec, a log reader, a forwarded connection) and no
 * established TCP connection in the guest (connections to a detached pod's published ports reach
 * the guest through QEMU, not the agent), for that long. When a deadline passes it writes one
 * console line, {@code micropod-agent INFO pod ending: <reason> ...}, which the host reads to
 * tell why the pod ended, and runs {@code end} (the agent's shutdown: the VM powers off).
 * Thread-safe.
 */
final class Lifetime {
  /** The full gRPC method names whose calls are activity. */
  static final Set<String> ACTIVE_METHODS = Set.of(
      "micropod.agent.v1.AgentService/ExecProcess",
      "micropod.agent.v1.AgentService/ReadLogs",
      "micropod.agent.v1.AgentService/PortForward");
  static final String MAX_LIFETIME = "max-lifetime";
  static final String IDLE_TIMEOUT = "idle-timeout";
  /** How often the deadlines are checked. */
  static final long TICK_MILLIS = 250;

  private final ScheduledExecutorService timer;
  private final Consumer<String> end;
  private final IntSupplier connections;
  private final java.util.function.LongSupplier nanoClock;
  private final AtomicInteger inFlight = new AtomicInteger();
  private volatile long lastActive;
  private long armedAt;
  private long maxLifetimeMillis;
  private long idleTimeoutMillis;
  private ScheduledFuture<?> tick;
  private boolean ended;

  /**
   * @param end runs once, with the reason, when a deadline passed
   * @param connections established TCP connections in the guest now
   */
  Lifetime(ScheduledExecutorService timer, Consumer<String> end, IntSupplier connections) {
    this(timer, end, connections, System::nanoTime);
  }

  /** @param nanoClock {@link System#nanoTime} but in tests */
  Lifetime(ScheduledExecutorService timer, Consumer<String> end, IntSupplier connections,
      java.util.function.LongSupplier nanoClock) {
    this.timer = timer;
    this.end = end;
    this.connections = connections;
    this.nanoClock = nanoClock;
    this.lastActive = nanoClock.getAsLong();
  }

  /** Starts the deadlines (0: none); a later call replaces them, counted from then. */
  synchronized void arm(long maxLifetimeMillis, long idleTimeoutMillis) {
    if (maxLifetimeMillis <= 0 && idleTimeoutMillis <= 0) {
      return;
    }
    this.armedAt = nanoClock.getAsLong();
    this.lastActive = armedAt;
    this.maxLifetimeMillis = maxLifetimeMillis;
    this.idleTimeoutMillis = idleTimeoutMillis;
    if (tick == null) {
      tick = timer.scheduleWithFixedDelay(this::check, TICK_MILLIS, TICK_MILLIS, TimeUnit.MILLISECONDS);
    }
    Log.info("deadlines: max lifetime " + maxLifetimeMillis + " ms, idle timeout "
        + idleTimeoutMillis + " ms");
  }

  void begin() {
    inFlight.incrementAndGet();
    lastActive = nanoClock.getAsLong();
  }

  void end() {
    inFlight.decrementAndGet();
    lastActive = nanoClock.getAsLong();
  }

  /** Ends the pod when a deadline passed; runs every {@link #TICK_MILLIS}. */
  void check() {
    String reason;
    long limit;
    synchronized (this) {
      if (ended) {
        return;
      }
      long now = nanoClock.getAsLong();
      if (maxLifetimeMillis > 0 && TimeUnit.NANOSECONDS.toMillis(now - armedAt) >= maxLifetimeMillis) {
        reason = MAX_LIFETIME;
        limit = maxLifetimeMillis;
      } else if (idleTimeoutMillis > 0 && idle(now)) {
        reason = IDLE_TIMEOUT;
        limit = idleTimeoutMillis;
      } else {
        return;
      }
      ended = true;
      if (tick != null) {
        tick.cancel(false);
      }
    }
    Log.info("pod ending: " + reason + " (" + limit + " ms)");
    end.accept(reason);
  }

  private boolean idle(long now) {
    if (inFlight.get() > 0) {
      return false;
    }
    if (TimeUnit.NANOSECONDS.toMillis(now - lastActive) < idleTimeoutMillis) {
      return false;
    }
    if (connections.getAsInt() > 0) {
      lastActive = now;
      return false;
    }
    return true;
  }

  /** Counts the calls of {@link #ACTIVE_METHODS} while they are in flight. */
  ServerInterceptor interceptor() {
    return new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(
          ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        if (!ACTIVE_METHODS.contains(call.getMethodDescriptor().getFullMethodName())) {
          return next.startCall(call, headers);
        }
        begin();
        AtomicInteger done = new AtomicInteger();
        Runnable finish = () -> {
          if (done.getAndIncrement() == 0) {
            end();
          }
        };
        ServerCall.Listener<Q> delegate;
        try {
          delegate = next.startCall(call, headers);
        } catch (RuntimeException e) {
          finish.run();
          throw e;
        }
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<Q>(delegate) {
          @Override
          public void onComplete() {
            finish.run();
            super.onComplete();
          }

          @Override
          public void onCancel() {
            finish.run();
            super.onCancel();
          }
        };
      }
    };
  }

  /** Established TCP connections ({@code st} 01) in {@code /proc/net/tcp} and {@code tcp6}. */
  static int establishedConnections(Path procNet) {
    int n = 0;
    for (String file : List.of("tcp", "tcp6")) {
      try {
        for (String line : Files.readAllLines(procNet.resolve(file))) {
          String[] f = line.trim().split("\\s+");
          if (f.length > 3 && f[3].equals("01")) {
            n++;
          }
        }
      } catch (IOException | RuntimeException e) {
        // no IPv6, or no /proc: nothing counted from it
      }
    }
    return n;
  }
}
