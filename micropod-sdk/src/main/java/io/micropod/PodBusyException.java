package io.micropod;

import io.micropod.event.Phase;

/**
 * The pod is held by another live JVM (its owner): the agent channel of a QEMU pod accepts one
 * client at a time, so a second process cannot talk to it until the owner exits or closes its
 * handle. {@link #ownerPid()} names the owner.
 */
public final class PodBusyException extends MicroPodException {
  private static final long serialVersionUID = 1L;

  private final long ownerPid;

  public PodBusyException(String podId, long ownerPid, String message) {
    super(message, null, podId, Phase.AGENT_CONNECT);
    this.ownerPid = ownerPid;
  }

  /** The pid of the JVM that holds the pod. */
  public long ownerPid() {
    return ownerPid;
  }
}
