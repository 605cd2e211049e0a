package io.micropod.agent.runtime;

import io.micropod.agent.base.Log;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Mounts with the {@code mount} and {@code umount} commands: the util-linux ones or busybox's
 * applets, whichever the guest has ({@code /bin}, {@code /sbin}, {@code /usr/bin},
 * {@code /usr/sbin}, then {@code PATH}, then {@code busybox mount}). They are located on first
 * use, not at agent start.
 */
public final class CommandMounter implements Mounter {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final Path MOUNTINFO = Path.of("/proc/self/mountinfo");
  private static final List<String> DIRS = List.of("/bin", "/sbin", "/usr/bin", "/usr/sbin");

  private final Commands commands;
  private volatile List<String> mount;
  private volatile List<String> umount;

  public CommandMounter(Commands commands) {
    this.commands = commands;
  }

  @Override
  public void mountOverlay(Path lower, Path upper, Path work, Path target) throws IOException {
    if (mount == null) {
      mount = locate("mount");
    }
    List<String> argv = new ArrayList<>(mount);
    argv.add("-t");
    argv.add("overlay");
    argv.add("-o");
    argv.add("lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work);
    argv.add("overlay");
    argv.add(target.toString());
    Commands.Result r = commands.run(argv, TIMEOUT);
    if (!r.ok()) {
      throw new IOException(
          "mount overlay on " + target + " failed (exit " + r.exitCode() + "): " + r.output());
    }
  }

  @Override
  public void mountVirtiofs(String tag, Path target, boolean readOnly) throws IOException {
    if (mount == null) {
      mount = locate("mount");
    }
    List<String> argv = new ArrayList<>(mount);
    argv.add("-t");
    argv.add("virtiofs");
    argv.add("-o");
    argv.add(readOnly ? "ro" : "rw");
    argv.add(tag);
    argv.add(target.toString());
    Commands.Result r = commands.run(argv, TIMEOUT);
    if (!r.ok()) {
      throw new IOException(
          "mount virtiofs " + tag + " on " + target + " failed (exit " + r.exitCode() + "): " + r.output());
    }
  }

  @Override
  public void unmount(Path target) throws IOException {
    if (!isMountPoint(target)) {
      return;
    }
    if (umount == null) {
      umount = locate("umount");
    }
    List<String> argv = new ArrayList<>(umount);
    argv.add(target.toString());
    Commands.Result r = commands.run(argv, TIMEOUT);
    if (r.ok()) {
      return;
    }
    Log.debug("umount " + target + " failed (" + r.output() + "), detaching it lazily");
    argv.add(argv.size() - 1, "-l");
    Commands.Result lazy = commands.run(argv, TIMEOUT);
    if (!lazy.ok()) {
      throw new IOException(
          "umount " + target + " failed (exit " + lazy.exitCode() + "): " + lazy.output());
    }
  }

  /** Whether {@code dir} is a mount point of this mount namespace. */
  public static boolean isMountPoint(Path dir) throws IOException {
    String wanted = dir.toAbsolutePath().normalize().toString();
    for (String line : Files.readAllLines(MOUNTINFO, StandardCharsets.UTF_8)) {
      String[] fields = line.split(" ", 6);
      if (fields.length > 4 && unescape(fields[4]).equals(wanted)) {
        return true;
      }
    }
    return false;
  }

  /** Mount points in mountinfo escape space, tab, newline and backslash as \ooo. */
  static String unescape(String field) {
    if (field.indexOf('\\') < 0) {
      return field;
    }
    StringBuilder sb = new StringBuilder(field.length());
    for (int i = 0; i < field.length(); i++) {
      char c = field.charAt(i);
      if (c == '\\' && i + 3 < field.length()) {
        sb.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
        i += 3;
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }

  private static List<String> locate(String name) throws IOException {
    for (String dir : DIRS) {
      Path p = Path.of(dir, name);
      if (Files.isExecutable(p)) {
        return List.of(p.toString());
      }
    }
    String path = System.getenv("PATH");
    if (path != null) {
      for (String dir : path.split(":")) {
        if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) {
          return List.of(Path.of(dir, name).toString());
        }
      }
    }
    for (String dir : DIRS) {
      Path busybox = Path.of(dir, "busybox");
      if (Files.isExecutable(busybox)) {
        return List.of(busybox.toString(), name);
      }
    }
    throw new IOException("no '" + name + "' command in " + DIRS + ", PATH or busybox");
  }
}
