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

  private final String registry;

  public RegistryAuthenticationException(String ref, String registry, String message) {
    this(ref, registry, message, null, null, null);
  }

  public RegistryAuthenticationException(
      String ref, String registry, String message, Throwable cause, String podId, Phase phase) {
    super(ref, message, cause, podId, phase);
    this.registry = registry;
  }

  /** The registry host (and port) that refused, e.g. {@code registry-1.docker.io}. */
  public String registry() {
    return registry;
  }
}
