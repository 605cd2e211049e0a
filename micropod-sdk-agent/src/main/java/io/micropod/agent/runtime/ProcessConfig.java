package io.micropod.agent.runtime;

import java.util.ArrayList;
import java.util.List;

/**
 * The process of a container or exec, validated: argv, complete environment, working directory
 * and numeric user. Immutable.
 *
 * @param args argv, not empty
 * @param env "KEY=value" entries; a default {@code PATH} is added when none is given
 * @param cwd absolute working directory
 * @param uid numeric user id
 * @param gid numeric group id
 */
public record ProcessConfig(List<String> args, List<String> env, String cwd, int uid, int gid) {
  /** The PATH that runc and Docker give a process whose environment has none. */
  public static final String DEFAULT_PATH =
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

  public ProcessConfig {
    args = List.copyOf(args);
    env = List.copyOf(env);
  }

  /**
   * Validates the request's values. Errors name the field, never an environment value.
   *
   * @param cwd empty means "/"
   * @param user "uid" or "uid:gid", numeric; empty means 0:0
   * @param terminal must be false: a container's own process has no TTY (only exec has)
   */
  public static ProcessConfig of(
      List<String> args, List<String> env, String cwd, String user, boolean terminal) {
    if (terminal) {
      throw new ContainerException(
          ContainerException.Reason.UNIMPLEMENTED, "a terminal (TTY) is supported for exec only, not for a container's process");
    }
    if (args.isEmpty() || args.get(0).isEmpty()) {
      throw ContainerException.invalid("process.args must not be empty");
    }
    List<String> checkedEnv = new ArrayList<>(env.size() + 1);
    boolean hasPath = false;
    for (int i = 0; i < env.size(); i++) {
      String entry = env.get(i);
      if (entry.indexOf('=') <= 0) {
        throw ContainerException.invalid("process.env[" + i + "] is not KEY=value");
      }
      hasPath |= entry.startsWith("PATH=");
      checkedEnv.add(entry);
    }
    if (!hasPath) {
      checkedEnv.add(0, DEFAULT_PATH);
    }
    String dir = cwd == null || cwd.isEmpty() ? "/" : cwd;
    if (!dir.startsWith("/")) {
      throw ContainerException.invalid("process.cwd must be absolute: " + dir);
    }
    int[] ids = parseUser(user);
    return new ProcessConfig(args, checkedEnv, dir, ids[0], ids[1]);
  }

  /** Parses "uid" or "uid:gid" (numeric, empty = 0:0) into {uid, gid}. */
  static int[] parseUser(String user) {
    if (user == null || user.isEmpty()) {
      return new int[] {0, 0};
    }
    int colon = user.indexOf(':');
    String uid = colon < 0 ? user : user.substring(0, colon);
    String gid = colon < 0 ? "0" : user.substring(colon + 1);
    try {
      int u = Integer.parseUnsignedInt(uid);
      int g = Integer.parseUnsignedInt(gid);
      if (u < 0 || g < 0) {
        throw new NumberFormatException();
      }
      return new int[] {u, g};
    } catch (NumberFormatException e) {
      throw ContainerException.invalid(
          "process.user must be numeric \"uid\" or \"uid:gid\": '" + user + "'");
    }
  }

  /**
   * The process of an exec in a container that runs {@code container}: an empty env means the
   * container's env, an empty cwd the container's cwd.
   */
  public static ProcessConfig forExec(
      ProcessConfig container,
      List<String> args,
      List<String> env,
      String cwd,
      String user,
      boolean terminal) {
    List<String> effectiveEnv = env.isEmpty() ? container.env() : env;
    String effectiveCwd = cwd == null || cwd.isEmpty() ? container.cwd() : cwd;
    return of(args, effectiveEnv, effectiveCwd, user, terminal);
  }
}
