package io.micropod;

import io.micropod.event.Phase;
import java.time.Duration;

/**
 * The guest agent did not answer in time. The message names the deadline and the socket the
 * SDK was talking to. {@link #status()} is {@link AgentStatus#DEADLINE_EXCEEDED}.
 */
public final class AgentTimeoutException extends AgentException {
  private static final long serialVersionUID = 1L;

  private final Duration deadline;

  public AgentTimeoutException(
      String message, Throwable cause, String podId, Phase phase, String rpc, Duration deadline) {
    super(message, cause, podId, phase, AgentStatus.DEADLINE_EXCEEDED, rpc);
    this.deadline = deadline;
  }

  /** How long the SDK waited. */
  public Duration deadline() {
    return deadline;
  }
}
