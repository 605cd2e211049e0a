package io.micropod;

import io.micropod.event.Phase;

/**
 * An image could not be resolved, read or unpacked: the layout or tag does not exist, a blob is
 * missing or corrupted, a layer is hostile (a path that escapes the root filesystem), or the
 * source is not supported yet. {@link #ref()} names the image; credentials never appear.
 *
 * <p>Subtypes: {@link ImageNotFoundException} (the registry has no such repository, tag or
 * digest) and {@link RegistryAuthenticationException} (the registry refused the credentials, or
 * wants some and none were found).
 */
public class ImageException extends MicroPodException {
  private static final long serialVersionUID = 1L;

  /** The image reference. */
  private final String ref;

  /**
   * A failure of image {@code ref}, outside of any pod's start.
   *
   * @param ref the image reference as normalised
   * @param message what went wrong and what to do next
   */
  public ImageException(String ref, String message) {
    this(ref, message, null, null, null);
  }

  /**
   * A failure of image {@code ref}, outside of any pod's start.
   *
   * @param ref the image reference as normalised
   * @param message what went wrong and what to do next
   * @param cause the underlying failure, or null
   */
  public ImageException(String ref, String message, Throwable cause) {
    this(ref, message, cause, null, null);
  }

  /**
   * A failure of image {@code ref}.
   *
   * @param ref the image reference as normalised
   * @param message what went wrong and what to do next
   * @param cause the underlying failure, or null
   * @param podId the pod whose start needed the image, or null
   * @param phase the phase that failed, or null
   */
  public ImageException(String ref, String message, Throwable cause, String podId, Phase phase) {
    super(message, cause, podId, phase);
    this.ref = ref;
  }

  /**
   * The image reference as MicroPod normalised it, e.g. {@code oci:/images/busybox:latest}.
   *
   * @return the normalised image reference
   */
  public String ref() {
    return ref;
  }
}
