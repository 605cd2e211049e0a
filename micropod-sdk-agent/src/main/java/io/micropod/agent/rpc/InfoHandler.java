package io.micropod.agent.rpc;

import io.grpc.stub.StreamObserver;
import io.micropod.agent.base.GuestClock;
import io.micropod.agent.base.GuestInfo;
import io.micropod.agent.v1.GetInfoRequest;
import io.micropod.agent.v1.GetInfoResponse;
import io.micropod.agent.v1.GuestBootTimings;

/** GetInfo: identity and guest boot timings. Answers at once; never blocks. */
final class InfoHandler {
  private final GuestInfo info;

  InfoHandler(GuestInfo info) {
    this.info = info;
  }

  void getInfo(GetInfoRequest request, StreamObserver<GetInfoResponse> observer) {
    Statuses.reply(
        observer,
        () ->
            GetInfoResponse.newBuilder()
                .setAgentVersion(info.agentVersion())
                .setKernelRelease(info.kernelRelease())
                .setRuntimeVersion(info.runtimeVersion())
                .setBootTimings(
                    GuestBootTimings.newBuilder()
                        .setInitStartedMs(info.initStartedMs())
                        .setAgentMainMs(info.agentMainMs())
                        .setAgentReadyMs(info.agentReadyMs())
                        .setNowMs(GuestClock.uptimeMillis()))
                .build());
  }
}
