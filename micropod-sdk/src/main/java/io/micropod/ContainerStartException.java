package io.micropod;

import io.micropod.event.Phase;

/**
 * The VM and its agent are fine, but the container's process could not be started: typically the
 * command does not exist in the image, is not executable, or the working directory is missing.
 * {@link #runtimeMessage()} is the OCI runtime's own explanation.
 */
public final class ContainerStartException extends MicroPodException {
  private static final long serialVersionUID = 1L;

  /** The OCI runtime's message; empty when it said nothing. */
  private final String runtimeMessage;

  /**
   * A container process that could not start.
   *
   * @param message what went wrong and what to do next
   * @param cause the underlying failure, or null
   * @param podId the pod whose container failed
   * @param phase the phase that failed, normally {@link Phase#CONTAINER_START}
   * @param runtimeMessage the OCI runtime's explanation; null counts as empty
   */
  public ContainerStartException(
      String message, Throwable cause, String podId, Phase phase, String runtimeMessage) {
    super(message, cause, podId, phase);
    this.runtimeMessage = runtimeMessage == null ? "" : runtimeMessage;
  }

  /**
   * What the OCI runtime in the guest said, e.g. {@code exec: "nope": executable file not found in
   * $PATH}.
   *
   * @return the OCI runtime's message, never null; empty when it said nothing
   */
  public String runtimeMessage() {
    return runtimeMessage;
  }
}
