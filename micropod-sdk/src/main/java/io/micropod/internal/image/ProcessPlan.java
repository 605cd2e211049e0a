package io.micropod.internal.image;

import io.micropod.ImageException;
import io.micropod.MicroPodSpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * How the container's main process runs: the image config merged with the spec, as Docker
 * merges them. The spec's command replaces {@code Cmd} (the {@code Entrypoint} stays in front);
 * the spec's env overrides the image's by key (image order first, new keys after); the spec's
 * working directory overrides the image's; {@code PATH} gets Docker's default when neither sets
 * it. A user name is resolved to numeric ids against the image's {@code /etc/passwd} and
 * {@code /etc/group}.
 *
 * @param args argv, never empty
 * @param env complete {@code KEY=value} entries
 * @param cwd absolute working directory
 * @param user "" (root), "uid" or "uid:gid"
 */
public record ProcessPlan(List<String> args, List<String> env, String cwd, String user) {
  public static final String DEFAULT_PATH =
      "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  private static final Pattern NUMERIC_USER = Pattern.compile("\\d+(:\\d+)?");

  public ProcessPlan {
    args = List.copyOf(args);
    env = List.copyOf(env);
  }

  /**
   * Merges {@code config} with {@code spec}.
   *
   * @param rootfs the unpacked image tree, to resolve user names
   * @throws ImageException when there is nothing to run, or the user cannot be resolved
   */
  public static ProcessPlan merge(ImageConfig config, MicroPodSpec spec, Path rootfs, String ref) {
    List<String> args = new ArrayList<>(spec.entrypoint().orElse(config.entrypoint()));
    if (!spec.command().isEmpty()) {
      args.addAll(spec.command());
    } else if (spec.entrypoint().isEmpty()) {
      args.addAll(config.cmd());
    }
    if (args.isEmpty()) {
      throw new ImageException(ref, "the image has neither Entrypoint nor Cmd and the spec has no "
          + "command: set one with MicroPod.builder().command(...)");
    }
    Map<String, String> env = envMap(config.env());
    env.putAll(spec.env());
    env.putIfAbsent("PATH", DEFAULT_PATH);
    List<String> envList = envList(env);
    String cwd = spec.workingDir().orElse(config.workingDir());
    if (cwd.isEmpty()) {
      cwd = "/";
    }
    if (!cwd.startsWith("/")) {
      cwd = "/" + cwd; // Docker resolves a relative WorkingDir against /
    }
    return new ProcessPlan(args, envList, cwd,
        resolveUser(spec.user().orElse(config.user()), rootfs, ref));
  }

  /**
   * The plan of another process in the same container ({@code exec}): {@code args}; this plan's
   * env overridden by {@code env} by key (this plan's order first, new keys after); {@code cwd}
   * and {@code user} (already resolved) where present, else this plan's.
   */
  public ProcessPlan withExec(List<String> args, Map<String, String> env, Optional<String> cwd,
      Optional<String> user) {
    Map<String, String> merged = envMap(this.env);
    merged.putAll(env);
    return new ProcessPlan(args, envList(merged), cwd.orElse(this.cwd), user.orElse(this.user));
  }

  /** {@code KEY=value} entries by key, in order; an entry without {@code =} is a key with "". */
  private static Map<String, String> envMap(List<String> entries) {
    Map<String, String> env = new LinkedHashMap<>();
    for (String kv : entries) {
      int eq = kv.indexOf('=');
      if (eq > 0) {
        env.put(kv.substring(0, eq), kv.substring(eq + 1));
      } else if (!kv.isEmpty()) {
        env.put(kv, "");
      }
    }
    return env;
  }

  private static List<String> envList(Map<String, String> env) {
    List<String> list = new ArrayList<>();
    env.forEach((k, v) -> list.add(k + "=" + v));
    return list;
  }

  public static String resolveUser(String user, Path rootfs, String ref) {
    if (user.isEmpty() || NUMERIC_USER.matcher(user).matches()) {
      return user;
    }
    int colon = user.indexOf(':');
    String u = colon < 0 ? user : user.substring(0, colon);
    String g = colon < 0 ? null : user.substring(colon + 1);
    String uid;
    String gid;
    if (u.matches("\\d+")) {
      uid = u;
      gid = null;
    } else {
      String[] pw = lookup(rootfs, "passwd", u, ref, user);
      uid = pw[2];
      gid = pw[3];
    }
    if (g != null && !g.isEmpty()) {
      gid = g.matches("\\d+") ? g : lookup(rootfs, "group", g, ref, user)[2];
    }
    return gid == null ? uid : uid + ":" + gid;
  }

  private static String[] lookup(Path rootfs, String db, String name, String ref, String user) {
    Path file = rootfs.resolve("etc").resolve(db);
    try {
      // Never read through a symlink: the file could point at the host's.
      if (Files.isSymbolicLink(rootfs.resolve("etc")) || Files.isSymbolicLink(file)
          || !Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
        throw new ImageException(ref, "the image's User \"" + user + "\" is a name, but the image has no "
            + "regular /etc/" + db + " to resolve it; use a numeric uid[:gid]");
      }
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        String[] f = line.split(":", -1);
        if (f.length >= 3 && f[0].equals(name) && f[2].matches("\\d+")
            && (db.equals("group") || (f.length >= 4 && f[3].matches("\\d+")))) {
          return f;
        }
      }
    } catch (IOException e) {
      throw new ImageException(ref, "cannot read /etc/" + db + " of the image: " + e, e);
    }
    throw new ImageException(ref, "the image's User \"" + user + "\" names \"" + name
        + "\", which is not in its /etc/" + db);
  }
}
