package io.micropod.internal.agent;

import io.micropod.agent.v1.GetInfoResponse;

/**
 * What the agent says about its guest in its {@code GetInfo} answer: versions, and the guest's
 * boot milestones in milliseconds of guest uptime (0 where the agent reported none).
 *
 * @param runtimeVersion the OCI runtime's {@code --version} line, e.g. {@code runc version 1.1.5}
 * @param nowMs guest uptime when the agent built the answer (maps guest uptime onto the host clock)
 */
public record GuestInfo(String agentVersion, String kernelRelease, String runtimeVersion,
    long initStartedMs, long agentMainMs, long agentReadyMs, long nowMs) {

  static GuestInfo of(GetInfoResponse r) {
    var t = r.getBootTimings();
    return new GuestInfo(r.getAgentVersion(), r.getKernelRelease(), r.getRuntimeVersion(),
        t.getInitStartedMs(), t.getAgentMainMs(), t.getAgentReadyMs(), t.getNowMs());
  }
}
