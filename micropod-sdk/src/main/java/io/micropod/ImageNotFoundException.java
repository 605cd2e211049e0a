package io.micropod;

import io.micropod.event.Phase;

/**
 * The registry answered that the image does not exist: no such repository, tag or digest
 * (HTTP 404, {@code MANIFEST_UNKNOWN}, {@code NAME_UNKNOWN}). Check the spelling of
 * {@link #ref()}, or push the image first.
 */
public final class ImageNotFoundException extends ImageException {
  private static final long serialVersionUID = 1L;

  public ImageNotFoundException(String ref, String message) {
    super(ref, message);
  }

  public ImageNotFoundException(String ref, String message, Throwable cause, String podId, Phase phase) {
    super(ref, message, cause, podId, phase);
  }
}
