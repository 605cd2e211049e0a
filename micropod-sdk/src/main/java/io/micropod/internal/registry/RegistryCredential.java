package io.micropod.internal.registry;

/**
 * A user name and secret for one registry, or an identity token (a refresh token, when the user
 * name is {@code <token>} as Docker writes it). {@link #toString()} never shows the secret.
 */
public record RegistryCredential(String username, String secret, String source) {

  /** Docker's marker user name for an identity (refresh) token. */
  public static final String TOKEN_USER = "<token>";

  public boolean isIdentityToken() {
    return TOKEN_USER.equals(username);
  }

  @Override
  public String toString() {
    return "RegistryCredential{username=" + username + ", from " + source + "}";
  }
}
