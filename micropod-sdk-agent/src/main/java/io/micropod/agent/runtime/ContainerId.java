package io.micropod.agent.runtime;

import java.util.regex.Pattern;

/** Container ids: {@code [a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}}, safe as a directory and runc id. */
public final class ContainerId {
  private static final Pattern VALID = Pattern.compile("[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}");

  private ContainerId() {}

  /** Returns {@code id}, or throws INVALID_ARGUMENT naming the bad value. */
  public static String validate(String id) {
    if (id == null || !VALID.matcher(id).matches()) {
      throw ContainerException.invalid(
          "invalid container id '" + id + "': must match [a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}");
    }
    return id;
  }
}
