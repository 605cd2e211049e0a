package io.micropod.agent.rpc;

import io.grpc.stub.StreamObserver;
import io.micropod.agent.v1.ShutdownRequest;
import io.micropod.agent.v1.ShutdownResponse;

/** Shutdown: replies first, then starts the agent's (asynchronous) shutdown. */
final class ShutdownHandler {
  private final Runnable shutdown;

  /** @param shutdown starts the shutdown and returns at once */
  ShutdownHandler(Runnable shutdown) {
    this.shutdown = shutdown;
  }

  void shutdown(ShutdownRequest request, StreamObserver<ShutdownResponse> observer) {
    observer.onNext(ShutdownResponse.getDefaultInstance());
    observer.onCompleted();
    shutdown.run();
  }
}
