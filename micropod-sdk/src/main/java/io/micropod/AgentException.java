package io.micropod;

import io.micropod.event.Phase;

/** A call to the guest agent failed. {@link #status()} says how, {@link #rpc()} which call. */
public class AgentException extends MicroPodException {
  private static final long serialVersionUID = 1L;

  private final AgentStatus status;
  private final String rpc;

  public AgentException(
      String message, Throwable cause, String podId, Phase phase, AgentStatus status, String rpc) {
    super(message, cause, podId, phase);
    this.status = status;
    this.rpc = rpc;
  }

  /** How the call failed. */
  public AgentStatus status() {
    return status;
  }

  /** The agent call that failed, e.g. {@code GetInfo} or {@code ExecProcess}. */
  public String rpc() {
    return rpc;
  }
}
