package io.micropod.agent.rpc;

import io.grpc.stub.StreamObserver;
import io.micropod.agent.base.GuestInfo;
import io.micropod.agent.runtime.ContainerManager;
import io.micropod.agent.v1.AgentServiceGrpc;
import io.micropod.agent.v1.CreateContainerRequest;
import io.micropod.agent.v1.CreateContainerResponse;
import io.micropod.agent.v1.ExecRequest;
import io.micropod.agent.v1.ExecResponse;
import io.micropod.agent.v1.GetInfoRequest;
import io.micropod.agent.v1.GetInfoResponse;
import io.micropod.agent.v1.LogChunk;
import io.micropod.agent.v1.ReadLogsRequest;
import io.micropod.agent.v1.RemoveContainerRequest;
import io.micropod.agent.v1.RemoveContainerResponse;
import io.micropod.agent.v1.ShutdownRequest;
import io.micropod.agent.v1.ShutdownResponse;
import io.micropod.agent.v1.SignalContainerRequest;
import io.micropod.agent.v1.SignalContainerResponse;
import io.micropod.agent.v1.StartContainerRequest;
import io.micropod.agent.v1.StartContainerResponse;
import io.micropod.agent.v1.UpdateHostsRequest;
import io.micropod.agent.v1.UpdateHostsResponse;
import io.micropod.agent.v1.WaitContainerRequest;
import io.micropod.agent.v1.WaitContainerResponse;

/**
 * {@code micropod.agent.v1.AgentService}: dispatches each RPC to the small handler for its kind
 * of thing (info, containers, logs, exec, shutdown), as the Kata agent does.
 */
public final class AgentService extends AgentServiceGrpc.AgentServiceImplBase {
  private final InfoHandler info;
  private final ContainerHandler containers;
  private final LogsHandler logs;
  private final ExecHandler exec;
  private final ShutdownHandler shutdown;
  private final PortForwardHandler forward;
  private final CopyHandler copy;

  /** @param shutdown starts the agent's shutdown and returns at once */
  public AgentService(GuestInfo info, ContainerManager containers, Runnable shutdown) {
    this(info, containers, shutdown, r -> {
      Thread t = new Thread(r);
      t.setDaemon(true);
      t.start();
    });
  }

  /**
   * @param shutdown starts the agent's shutdown and returns at once
   * @param work runs the blocking pumps of PortForward, CopyIn and CopyOut (one task each)
   */
  public AgentService(GuestInfo info, ContainerManager containers, Runnable shutdown,
      java.util.concurrent.Executor work) {
    this(info, containers, shutdown, work, (maxLifetimeMs, idleTimeoutMs) -> {});
  }

  /**
   * @param deadlines arms the pod's max lifetime and idle timeout (ms, 0: none) when a container
   *     is created with them
   */
  public AgentService(GuestInfo info, ContainerManager containers, Runnable shutdown,
      java.util.concurrent.Executor work, java.util.function.BiConsumer<Long, Long> deadlines) {
    this.info = new InfoHandler(info);
    this.containers = new ContainerHandler(containers, deadlines);
    this.logs = new LogsHandler(containers);
    this.exec = new ExecHandler(containers, ExecHandler.lazy(() -> io.micropod.agent.channel.BulkPort.find(
        java.nio.file.Path.of("/sys/class/virtio-ports"), java.nio.file.Path.of("/dev"))));
    this.shutdown = new ShutdownHandler(shutdown);
    this.forward = new PortForwardHandler(work);
    this.copy = new CopyHandler(containers, work);
  }

  @Override
  public void getInfo(GetInfoRequest request, StreamObserver<GetInfoResponse> observer) {
    info.getInfo(request, observer);
  }

  @Override
  public void createContainer(
      CreateContainerRequest request, StreamObserver<CreateContainerResponse> observer) {
    containers.create(request, observer);
  }

  @Override
  public void startContainer(
      StartContainerRequest request, StreamObserver<StartContainerResponse> observer) {
    containers.start(request, observer);
  }

  @Override
  public void waitContainer(
      WaitContainerRequest request, StreamObserver<WaitContainerResponse> observer) {
    containers.await(request, observer);
  }

  @Override
  public void signalContainer(
      SignalContainerRequest request, StreamObserver<SignalContainerResponse> observer) {
    containers.signal(request, observer);
  }

  @Override
  public void removeContainer(
      RemoveContainerRequest request, StreamObserver<RemoveContainerResponse> observer) {
    containers.remove(request, observer);
  }

  @Override
  public void readLogs(ReadLogsRequest request, StreamObserver<LogChunk> observer) {
    logs.readLogs(request, observer);
  }

  @Override
  public StreamObserver<ExecRequest> execProcess(StreamObserver<ExecResponse> observer) {
    return exec.exec(observer);
  }

  @Override
  public void shutdown(ShutdownRequest request, StreamObserver<ShutdownResponse> observer) {
    shutdown.shutdown(request, observer);
  }

  @Override
  public StreamObserver<io.micropod.agent.v1.PortForwardRequest> portForward(
      StreamObserver<io.micropod.agent.v1.PortForwardResponse> observer) {
    return forward.forward(observer);
  }

  @Override
  public void getStats(io.micropod.agent.v1.GetStatsRequest request,
      StreamObserver<io.micropod.agent.v1.GetStatsResponse> observer) {
    copy.stats(request, observer);
  }

  @Override
  public StreamObserver<io.micropod.agent.v1.CopyInRequest> copyIn(
      StreamObserver<io.micropod.agent.v1.CopyInResponse> observer) {
    return copy.copyIn(observer);
  }

  @Override
  public void copyOut(io.micropod.agent.v1.CopyOutRequest request,
      StreamObserver<io.micropod.agent.v1.CopyOutChunk> observer) {
    copy.copyOut(request, observer);
  }

  @Override
  public void updateHosts(UpdateHostsRequest request, StreamObserver<UpdateHostsResponse> observer) {
    containers.updateHosts(request, observer);
  }

  @Override
  public void getContainerState(io.micropod.agent.v1.GetContainerStateRequest request,
      StreamObserver<io.micropod.agent.v1.ContainerState> observer) {
    containers.state(request, observer);
  }

  @Override
  public void restored(io.micropod.agent.v1.RestoredRequest request,
      StreamObserver<io.micropod.agent.v1.RestoredResponse> observer) {
    containers.restored(request, observer);
  }

  @Override
  public void prepareSnapshot(io.micropod.agent.v1.PrepareSnapshotRequest request,
      StreamObserver<io.micropod.agent.v1.PrepareSnapshotResponse> observer) {
    containers.prepareSnapshot(request, observer);
  }
}
