package io.micropod;

import io.micropod.event.Phase;
import java.util.Optional;

/**
 * The root of every exception MicroPod throws for something that went wrong with a pod, its
 * image, its VM or its guest agent. Unchecked. Misuse of the API throws
 * {@link IllegalArgumentException} or {@link IllegalStateException} instead, and a non-zero
 * exit code is data ({@link ExecResult#exitCode()}), never an exception.
 *
 * <p>Subtypes split failures by domain and carry what is known about them; messages say what to
 * do next.
 */
public class MicroPodException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The pod's id, or null when not known. */
  private final String podId;
  /** The phase, or null when not during start or close. */
  private final Phase phase;

  /**
   * An exception about no particular pod or phase.
   *
   * @param message what went wrong and what to do next
   */
  public MicroPodException(String message) {
    this(message, null, null, null);
  }

  /**
   * An exception about no particular pod or phase.
   *
   * @param message what went wrong and what to do next
   * @param cause the underlying failure, or null
   */
  public MicroPodException(String message, Throwable cause) {
    this(message, cause, null, null);
  }

  /**
   * @param message what went wrong and what to do next
   * @param cause the underlying failure, or null
   * @param podId the pod this happened to, or null when not known (e.g. an image-level failure)
   * @param phase the phase this happened in, or null when not during start or close
   */
  public MicroPodException(String message, Throwable cause, String podId, Phase phase) {
    super(message, cause);
    this.podId = podId;
    this.phase = phase;
  }

  /**
   * The id of the pod this happened to, or null when not known (e.g. an image failure outside of
   * any pod, or a host check before a pod got an id).
   *
   * @return the pod's id, or null
   */
  public String podId() {
    return podId;
  }

  /**
   * The phase of the pod's life this happened in, when known.
   *
   * @return the phase, or empty when it happened outside of start and close
   */
  public Optional<Phase> phase() {
    return Optional.ofNullable(phase);
  }
}
