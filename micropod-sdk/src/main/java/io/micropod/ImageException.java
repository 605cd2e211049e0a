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

  private final String ref;

  public ImageException(String ref, String message) {
    this(ref, message, null, null, null);
  }

  public ImageException(String ref, String message, Throwable cause) {
    this(ref, message, cause, null, null);
  }

  public ImageException(String ref, String message, Throwable cause, String podId, Phase phase) {
    super(message, cause, podId, phase);
    this.ref = ref;
  }

  /** The image reference as MicroPod normalised it, e.g. {@code oci:/images/busybox:latest}. */
  public String ref() {
    return ref;
  }
}
