package io.micropod;

import io.micropod.event.Phase;

/** A call to the guest agent failed. {@link #status()} says how, {@link #rpc()} which call. */
public class AgentException extends MicroPodException {
  private static final long serialVersionUID = 1L;

  /** How the call failed. */
  private final AgentStatus status;
  /** The name of the call that failed. */
  private final String rpc;

  /**
   * A failed agent call.
   *
   * @param message what went wrong and what to do next
   * @param cause the underlying failure, or null
   * @param podId the pod whose agent was called
   * @param phase the phase the call was made in, or null after start
   * @param status how the call failed
   * @param rpc the name of the call, e.g. {@code ExecProcess}
   */
  public AgentException(
      String message, Throwable cause, String podId, Phase phase, AgentStatus status, String rpc) {
    super(message, cause, podId, phase);
    this.status = status;
    this.rpc = rpc;
  }

  /**
   * How the call failed.
   *
   * @return how the call failed
   */
  public AgentStatus status() {
    return status;
  }

  /**
   * The agent call that failed, e.g. {@code GetInfo} or {@code ExecProcess}.
   *
   * @return the call's name
   */
  public String rpc() {
    return rpc;
  }
}
