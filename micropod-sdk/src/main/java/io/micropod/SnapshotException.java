package io.micropod;

/**
 * A snapshot could not be taken, found or restored: the message says why and what to do. When
 * taking one failed, the pod it was taken of keeps running and no snapshot of that name is left.
 */
public class SnapshotException extends MicroPodException {
  /** Serialisation version. */
  private static final long serialVersionUID = 1L;

  /** The snapshot concerned. */
  private final String snapshot;

  /**
   * For the SDK; not meant to be called by applications.
   *
   * @param message what failed and what to do
   * @param cause the underlying failure, or null
   * @param podId the pod concerned, or null
   * @param snapshot the snapshot's name
   */
  public SnapshotException(String message, Throwable cause, String podId, String snapshot) {
    super(message, cause, podId, null);
    this.snapshot = snapshot;
  }

  /** {@return the snapshot's name} */
  public String snapshot() {
    return snapshot;
  }
}
