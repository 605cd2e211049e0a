package io.micropod;

import io.micropod.event.Phase;

/**
 * The VM and its agent are fine, but the container's process could not be started: typically the
 * command does not exist in the image, is not executable, or the working directory is missing.
 * {@link #runtimeMessage()} is the OCI runtime's own explanation.
 */
public final class ContainerStartException extends MicroPodException {
  private static final long serialVersionUID = 1L;

  private final String runtimeMessage;

  public ContainerStartException(
      String message, Throwable cause, String podId, Phase phase, String runtimeMessage) {
    super(message, cause, podId, phase);
    this.runtimeMessage = runtimeMessage == null ? "" : runtimeMessage;
  }

  /** What the OCI runtime in the guest said, e.g. {@code exec: "nope": executable file not found in $PATH}. */
  public String runtimeMessage() {
    return runtimeMessage;
  }
}
