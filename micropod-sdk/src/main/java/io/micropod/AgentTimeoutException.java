package io.micropod;

import io.micropod.event.Phase;
import java.time.Duration;

/**
 * The guest agent did not answer in time. The message names the deadline and the socket the
 * SDK was talking to. {@link #status()} is {@link AgentStatus#DEADLINE_EXCEEDED}.
 */
public final class AgentTimeoutException extends AgentException {
  private static final long serialVersionUID = 1L;

  /** How long the SDK waited. */
  private final Duration deadline;

  /**
   * An agent call that passed its deadline; {@link #status()} is {@link
   * AgentStatus#DEADLINE_EXCEEDED}.
   *
   * @param message what went wrong, naming the deadline and the socket
   * @param cause the underlying failure, or null
   * @param podId the pod whose agent was called
   * @param phase the phase the call was made in, or null after start
   * @param rpc the name of the call, e.g. {@code Ping}
   * @param deadline how long the SDK waited
   */
  public AgentTimeoutException(
      String message, Throwable cause, String podId, Phase phase, String rpc, Duration deadline) {
    super(message, cause, podId, phase, AgentStatus.DEADLINE_EXCEEDED, rpc);
    this.deadline = deadline;
  }

  /**
   * How long the SDK waited.
   *
   * @return the deadline that passed
   */
  public Duration deadline() {
    return deadline;
  }
}
