package io.micropod.agent.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Resolves a path of a container against the container's root as the container would see it:
 * {@code ..} stops at the root and symlinks (absolute or relative) are followed inside the root,
 * never out of it, as {@code filepath-securejoin} does. The result is a path under the root that
 * the agent may open. Like that library it does not guard against a container that swaps a
 * directory for a symlink while the agent works: callers that write freeze the container first
 * ({@link ContainerManager#freezeForCopy}).
 */
public final class ContainerPaths {
  /** As Linux's MAXSYMLINKS. */
  static final int MAX_LINKS = 40;

  private ContainerPaths() {}

  /**
   * @param root the container's root filesystem
   * @param path the container path (absolute or relative to the root)
   * @param followLast whether a symlink in the last component is followed
   * @throws IOException when too many symlinks are followed
   */
  public static Path resolve(Path root, String path, boolean followLast) throws IOException {
    Deque<String> todo = new ArrayDeque<>();
    push(todo, path);
    Deque<String> done = new ArrayDeque<>();
    int links = 0;
    while (!todo.isEmpty()) {
      String c = todo.pop();
      if (c.isEmpty() || c.equals(".")) {
        continue;
      }
      if (c.equals("..")) {
        done.pollLast();
        continue;
      }
      Path candidate = join(root, done).resolve(c);
      boolean last = todo.stream().allMatch(s -> s.isEmpty() || s.equals("."));
      if ((!last || followLast) && Files.isSymbolicLink(candidate)) {
        if (++links > MAX_LINKS) {
          throw new IOException("too many levels of symbolic links in " + path);
        }
        String target = Files.readSymbolicLink(candidate).toString();
        if (target.startsWith("/")) {
          done.clear();
        }
        push(todo, target);
        continue;
      }
      done.addLast(c);
    }
    return join(root, done);
  }

  private static void push(Deque<String> todo, String path) {
    String[] parts = path.split("/");
    for (int i = parts.length - 1; i >= 0; i--) {
      todo.push(parts[i]);
    }
  }

  private static Path join(Path root, Deque<String> parts) {
    Path p = root;
    for (String s : parts) {
      p = p.resolve(s);
    }
    return p;
  }

  /** {@code mkdir -p} inside the root; returns the resolved directory. */
  public static Path mkdirs(Path root, String path) throws IOException {
    Path dir = root;
    StringBuilder sofar = new StringBuilder();
    for (String part : path.split("/")) {
      if (part.isEmpty() || part.equals(".")) {
        continue;
      }
      sofar.append('/').append(part);
      dir = resolve(root, sofar.toString(), true);
      if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
        // every existing component of dir is resolved already; the missing ones are plain names
        Files.createDirectories(dir);
      } else if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
        throw new IOException(sofar + " exists and is not a directory");
      }
    }
    return dir;
  }
}
