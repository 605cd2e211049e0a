package io.micropod;

/**
 * When {@code start()} contacts the registry for a registry image. Local sources ({@code oci:},
 * {@code oci-archive:}, {@code docker-archive:}) are always read from their files.
 */
public enum PullPolicy {
  /**
   * Ask the registry for the manifest on every start (layers already in the store are not
   * downloaded again). For tags that move, such as {@code latest}.
   */
  ALWAYS,
  /**
   * The default: use the image from the local store when this reference (and platform) was pulled
   * before, or when the store holds the manifest of a digest reference; pull otherwise.
   */
  IF_MISSING,
  /**
   * Never contact the registry: use the local store or fail with an {@link ImageException} that
   * says to pull the image first.
   */
  NEVER
}
