package io.micropod;

import io.micropod.event.Phase;

/**
 * The registry refused access to {@link #ref()} (HTTP 401 or 403): it wants credentials and none
 * were found, or the ones found were rejected. The message names the registry and where
 * MicroPod looked for credentials ({@code $DOCKER_CONFIG/config.json} or
 * {@code ~/.docker/config.json}: {@code auths}, {@code credsStore}, {@code credHelpers}); it
 * never contains a user name's password or a token. Log in with {@code docker login <registry>}
 * (or write the {@code auths} entry) and try again.
 */
public final class RegistryAuthenticationException extends ImageException {
  private static final long serialVersionUID = 1L;

  /** The registry that refused. */
  private final String registry;

  /**
   * A refusal outside of any pod's start.
   *
   * @param ref the image reference as normalised
   * @param registry the registry host and port that refused
   * @param message what went wrong, where credentials were looked for, and what to do next; never a
   *     secret
   */
  public RegistryAuthenticationException(String ref, String registry, String message) {
    this(ref, registry, message, null, null, null);
  }

  /**
   * A refusal.
   *
   * @param ref the image reference as normalised
   * @param registry the registry host and port that refused
   * @param message what went wrong, where credentials were looked for, and what to do next; never a
   *     secret
   * @param cause the underlying failure, or null
   * @param podId the pod whose start needed the image, or null
   * @param phase the phase that failed, or null
   */
  public RegistryAuthenticationException(
      String ref, String registry, String message, Throwable cause, String podId, Phase phase) {
    super(ref, message, cause, podId, phase);
    this.registry = registry;
  }

  /**
   * The registry host (and port) that refused, e.g. {@code registry-1.docker.io}.
   *
   * @return the registry's host, with {@code :port} when not the default
   */
  public String registry() {
    return registry;
  }
}
