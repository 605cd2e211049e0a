package io.micropod.agent.rpc;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.micropod.agent.runtime.ContainerManager;
import io.micropod.agent.runtime.NetworkFiles;
import io.micropod.agent.runtime.ProcessRequest;
import io.micropod.agent.runtime.Supervision;
import io.micropod.agent.v1.CreateContainerRequest;
import io.micropod.agent.v1.CreateContainerResponse;
import io.micropod.agent.v1.ProcessSpec;
import io.micropod.agent.v1.RemoveContainerRequest;
import io.micropod.agent.v1.RemoveContainerResponse;
import io.micropod.agent.v1.SignalContainerRequest;
import io.micropod.agent.v1.SignalContainerResponse;
import io.micropod.agent.v1.StartContainerRequest;
import io.micropod.agent.v1.StartContainerResponse;
import io.micropod.agent.v1.UpdateHostsRequest;
import io.micropod.agent.v1.UpdateHostsResponse;
import io.micropod.agent.v1.WaitContainerRequest;
import io.micropod.agent.v1.WaitContainerResponse;

/**
 * Container lifecycle: Create, Start, Wait, Signal, Remove. Create, Signal and Remove block the
 * calling gRPC executor thread for their (bounded) commands; Start and Wait answer when their
 * future completes and hold no thread meanwhile.
 */
final class ContainerHandler {
  private final ContainerManager containers;
  private final java.util.function.BiConsumer<Long, Long> deadlines;

  ContainerHandler(ContainerManager containers) {
    this(containers, (maxLifetimeMs, idleTimeoutMs) -> {});
  }

  ContainerHandler(ContainerManager containers, java.util.function.BiConsumer<Long, Long> deadlines) {
    this.containers = containers;
    this.deadlines = deadlines;
  }

  /** The request's restart policy and health check; INVALID_ARGUMENT for bad values. */
  static Supervision supervision(CreateContainerRequest request) {
    io.micropod.agent.v1.RestartPolicy r = request.getRestart();
    Supervision.Restart restart;
    switch (r.getMode()) {
      case RESTART_ON_FAILURE: restart = Supervision.Restart.ON_FAILURE; break;
      case RESTART_ALWAYS: restart = Supervision.Restart.ALWAYS; break;
      case RESTART_UNLESS_STOPPED: restart = Supervision.Restart.UNLESS_STOPPED; break;
      default: restart = Supervision.Restart.NO;
    }
    io.micropod.agent.v1.HealthCheck h = request.getHealthcheck();
    Supervision.Probe probe = h.getArgsCount() == 0 ? null
        : new Supervision.Probe(h.getArgsList(), h.getIntervalMs(), h.getTimeoutMs(), h.getRetries(),
            h.getStartPeriodMs());
    return new Supervision(restart, r.getMaxRetries(), probe);
  }

  static ProcessRequest toRequest(ProcessSpec p) {
    return new ProcessRequest(
        p.getArgsList(), p.getEnvList(), p.getCwd(), p.getUser(), p.getTerminal());
  }

  void create(CreateContainerRequest request, StreamObserver<CreateContainerResponse> observer) {
    Statuses.reply(
        observer,
        () -> {
          Supervision supervision = supervision(request);
          if (request.getMaxLifetimeMs() < 0 || request.getIdleTimeoutMs() < 0) {
            throw new io.micropod.agent.runtime.ContainerException(
                io.micropod.agent.runtime.ContainerException.Reason.INVALID_ARGUMENT,
                "max_lifetime_ms and idle_timeout_ms must not be negative");
          }
          CreateContainerResponse response = CreateContainerResponse.newBuilder()
                .setBundlePath(
                    containers
                        .create(
                            request.getContainerId(),
                            request.getImageRootfs(),
                            toRequest(request.getProcess()),
                            request.getHostname(),
                            new io.micropod.agent.runtime.OciSpec.Resources(
                                request.getMemoryLimitBytes(), request.getCpuMillis()),
                            new NetworkFiles(request.getHosts(), request.getResolvConf()),
                            new io.micropod.agent.runtime.HostMounts(request.getMountsList().stream()
                                .map(m -> new io.micropod.agent.runtime.HostMounts.Mount(
                                    m.getTag(), m.getContainerPath(), m.getReadOnly()))
                                .toList()),
                            request.getSeccomp() != io.micropod.agent.v1.Seccomp.SECCOMP_UNCONFINED,
                            new io.micropod.agent.runtime.MainStdio(request.getProcess().getTerminal(),
                                request.getOpenStdin(), request.getTerminalSize().getRows(),
                                request.getTerminalSize().getColumns()))
                        .toString())
                .build();
          containers.supervise(request.getContainerId(), supervision);
          deadlines.accept(request.getMaxLifetimeMs(), request.getIdleTimeoutMs());
          return response;
        });
  }

  void state(io.micropod.agent.v1.GetContainerStateRequest request,
      StreamObserver<io.micropod.agent.v1.ContainerState> observer) {
    Statuses.reply(
        observer,
        () -> {
          ContainerManager.Snapshot s = containers.snapshot(request.getContainerId());
          io.micropod.agent.v1.ContainerState.Builder b = io.micropod.agent.v1.ContainerState.newBuilder()
              .setState(s.state())
              .setRestartCount(s.restarts())
              .setHealth(io.micropod.agent.v1.HealthStatus.forNumber(s.health().ordinal()))
              .setFailingStreak(s.failingStreak())
              .setLastHealthOutput(s.lastHealthOutput());
          if (s.lastExit() != null) {
            b.setExited(true).setLastExitCode(s.lastExit().exitCode());
          }
          return b.build();
        });
  }

  /** The answer may come after the client gave up (deadline): then it is dropped quietly. */
  private static void ignoreCancellation(StreamObserver<?> observer) {
    ((ServerCallStreamObserver<?>) observer).setOnCancelHandler(() -> {});
  }

  void start(StartContainerRequest request, StreamObserver<StartContainerResponse> observer) {
    ignoreCancellation(observer);
    try {
      containers
          .start(request.getContainerId())
          .whenComplete(
              (pid, failure) ->
                  Statuses.reply(
                      observer,
                      failure == null ? StartContainerResponse.newBuilder().setPid(pid).build()
                          : null,
                      failure));
    } catch (RuntimeException e) {
      observer.onError(Statuses.toStatus(e));
    }
  }

  void await(WaitContainerRequest request, StreamObserver<WaitContainerResponse> observer) {
    ignoreCancellation(observer);
    try {
      containers
          .await(request.getContainerId())
          .whenComplete(
              (exit, failure) ->
                  Statuses.reply(
                      observer,
                      failure == null
                          ? WaitContainerResponse.newBuilder()
                              .setExitCode(exit.exitCode())
                              .setSignal(exit.signal())
                              .setOomKilled(oomKilled(request.getContainerId()))
                              .build()
                          : null,
                      failure));
    } catch (RuntimeException e) {
      observer.onError(Statuses.toStatus(e));
    }
  }

  private boolean oomKilled(String id) {
    try {
      return containers.oomKilled(id);
    } catch (RuntimeException e) {
      return false;
    }
  }

  void signal(SignalContainerRequest request, StreamObserver<SignalContainerResponse> observer) {
    Statuses.reply(
        observer,
        () -> {
          containers.signal(request.getContainerId(), request.getSignal());
          return SignalContainerResponse.getDefaultInstance();
        });
  }

  void remove(RemoveContainerRequest request, StreamObserver<RemoveContainerResponse> observer) {
    Statuses.reply(
        observer,
        () -> {
          containers.remove(request.getContainerId());
          return RemoveContainerResponse.getDefaultInstance();
        });
  }

  void updateHosts(UpdateHostsRequest request, StreamObserver<UpdateHostsResponse> observer) {
    Statuses.reply(
        observer,
        () -> {
          containers.updateHosts(request.getContainerId(), request.getHosts());
          return UpdateHostsResponse.getDefaultInstance();
        });
  }

  void restored(io.micropod.agent.v1.RestoredRequest request,
      StreamObserver<io.micropod.agent.v1.RestoredResponse> observer) {
    Statuses.reply(
        observer,
        () -> {
          containers.restored(request.getContainerId(), request.getNewContainerId(), request.getHostname(),
              request.getEntropy().toByteArray(), request.getUnixTimeNanos());
          return io.micropod.agent.v1.RestoredResponse.getDefaultInstance();
        });
  }

  /** Not a container id (ids start with a letter or digit): no container can ever have it. */
  private static final String WARM_UP_ID = "-warm-up";

  void prepareSnapshot(io.micropod.agent.v1.PrepareSnapshotRequest request,
      StreamObserver<io.micropod.agent.v1.PrepareSnapshotResponse> observer) {
    Statuses.reply(
        observer,
        () -> {
          containers.prepareSnapshot();
          warmRestored();
          return io.micropod.agent.v1.PrepareSnapshotResponse.getDefaultInstance();
        });
  }

  /**
   * A restored guest's first {@code Restored} then finds its message classes loaded and its call
   * sites (the reply lambda's invokedynamic, the error path) linked: the interpreted guest JVM pays
   * tens of milliseconds for each on first use, and the snapshot keeps the linked state. Runs the
   * handler with {@link #WARM_UP_ID}, which it refuses before it changes anything.
   */
  private void warmRestored() {
    io.micropod.agent.v1.RestoredRequest request;
    try {
      request = io.micropod.agent.v1.RestoredRequest.parseFrom(io.micropod.agent.v1.RestoredRequest.newBuilder()
          .setContainerId(WARM_UP_ID).setNewContainerId(WARM_UP_ID).setHostname("h")
          .setEntropy(com.google.protobuf.ByteString.copyFrom(new byte[32])).setUnixTimeNanos(1).build()
          .toByteArray());
      io.micropod.agent.v1.RestoredResponse.getDefaultInstance().toByteArray();
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new IllegalStateException("a RestoredRequest of our own does not parse", e);
    }
    restored(request, new StreamObserver<>() {
      @Override
      public void onNext(io.micropod.agent.v1.RestoredResponse value) {}

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {}
    });
  }
}
