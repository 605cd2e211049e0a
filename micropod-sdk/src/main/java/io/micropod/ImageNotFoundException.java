package io.micropod;

import io.micropod.event.Phase;

/**
 * The registry answered that the image does not exist: no such repository, tag or digest
 * (HTTP 404, {@code MANIFEST_UNKNOWN}, {@code NAME_UNKNOWN}). Check the spelling of
 * {@link #ref()}, or push the image first.
 */
public final class ImageNotFoundException extends ImageException {
  private static final long serialVersionUID = 1L;

  /**
   * Image {@code ref} does not exist, outside of any pod's start.
   *
   * @param ref the image reference as normalised
   * @param message what the registry answered and what to do next
   */
  public ImageNotFoundException(String ref, String message) {
    super(ref, message);
  }

  /**
   * Image {@code ref} does not exist.
   *
   * @param ref the image reference as normalised
   * @param message what the registry answered and what to do next
   * @param cause the underlying failure, or null
   * @param podId the pod whose start needed the image, or null
   * @param phase the phase that failed, or null
   */
  public ImageNotFoundException(String ref, String message, Throwable cause, String podId, Phase phase) {
    super(ref, message, cause, podId, phase);
  }
}
