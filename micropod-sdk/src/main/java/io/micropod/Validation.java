package io.micropod;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The one rule for each input that a pod spec and an exec spec share (argv, env, working
 * directory, user) or that a spec and the runtime share (a pod's name), so that a value one builder accepts the other does too, with the same message.
 * Package-private: the rules are part of the builders' contracts, not API of their own.
 */
final class Validation {
  /** {@code name|uid[:group|gid]}: what runc and crun resolve from the image's passwd/group. */
  private static final Pattern USER =
      Pattern.compile("[A-Za-z0-9_.][A-Za-z0-9_.-]*(:[A-Za-z0-9_.][A-Za-z0-9_.-]*)?");

  private Validation() {}

  /**
   * A pod's name: 1 to 63 of {@code [A-Za-z0-9_.-]}, starting with a letter or digit.
   *
   * @throws IllegalArgumentException naming the bad value
   */
  static String podName(String name) {
    Objects.requireNonNull(name, "name");
    if (!name.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")) {
      throw new IllegalArgumentException("name must be 1-63 of [A-Za-z0-9_.-], starting with a "
          + "letter or digit: " + name);
    }
    return name;
  }

  /**
   * A copy of {@code argv}: no null element, a non-empty first element, and at least one element
   * unless {@code mayBeEmpty} (a pod's command may be empty: the image's default).
   */
  static List<String> argv(List<String> argv, String what, boolean mayBeEmpty) {
    Objects.requireNonNull(argv, what);
    if (argv.isEmpty() && !mayBeEmpty) {
      throw new IllegalArgumentException(what + " is empty");
    }
    for (int i = 0; i < argv.size(); i++) {
      if (argv.get(i) == null) {
        throw new IllegalArgumentException(what + "[" + i + "] is null");
      }
    }
    if (!argv.isEmpty() && argv.get(0).isEmpty()) {
      throw new IllegalArgumentException(what + "[0] is empty");
    }
    return new ArrayList<>(argv);
  }

  /** An environment variable: a non-empty key without '=' or NUL, a value without NUL. */
  static void env(String key, String value) {
    Objects.requireNonNull(key, "env key");
    Objects.requireNonNull(value, () -> "env value of " + key);
    if (key.isEmpty()) {
      throw new IllegalArgumentException("env key is empty");
    }
    if (key.indexOf('=') >= 0 || key.indexOf('\0') >= 0) {
      throw new IllegalArgumentException("env key contains '=' or NUL: " + key);
    }
    if (value.indexOf('\0') >= 0) {
      throw new IllegalArgumentException("env value of " + key + " contains NUL");
    }
  }

  /** {@code d} when it is more than zero; else IAE naming {@code what} and the value. */
  static Duration positive(Duration d, String what) {
    Objects.requireNonNull(d, what);
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(what + " is not positive: " + d);
    }
    return d;
  }

  static String workingDir(String absPath) {
    Objects.requireNonNull(absPath, "workingDir");
    if (!absPath.startsWith("/")) {
      throw new IllegalArgumentException("workingDir is not absolute: " + absPath);
    }
    return absPath;
  }

  static String user(String user) {
    Objects.requireNonNull(user, "user");
    if (!USER.matcher(user).matches()) {
      throw new IllegalArgumentException("user is not name|uid[:group|gid]: " + user);
    }
    return user;
  }
}
