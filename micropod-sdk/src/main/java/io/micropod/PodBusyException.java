package io.micropod;

import io.micropod.event.Phase;

/**
 * The pod is held by a live JVM (its owner) and cannot be reached from here: this JVM is the owner
 * (use the handle it has), or the owner did not answer on its relay (it may be exiting). Other
 * processes normally reach a held pod through the owner's relay (see
 * {@link MicroPodRuntime#attach(String)}). {@link #ownerPid()} names the owner.
 */
public final class PodBusyException extends MicroPodException {
  private static final long serialVersionUID = 1L;

  /** The owner's pid. */
  private final long ownerPid;

  /**
   * Pod {@code podId} is held by process {@code ownerPid}; the phase is {@link
   * Phase#AGENT_CONNECT}.
   *
   * @param podId the pod's id
   * @param ownerPid the pid of the JVM that holds it
   * @param message what went wrong and what to do next
   */
  public PodBusyException(String podId, long ownerPid, String message) {
    super(message, null, podId, Phase.AGENT_CONNECT);
    this.ownerPid = ownerPid;
  }

  /**
   * The pid of the JVM that holds the pod.
   *
   * @return the owner's process id
   */
  public long ownerPid() {
    return ownerPid;
  }
}
