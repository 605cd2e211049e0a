package io.micropod.internal.files;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Deleting trees on the host, the one rule for all of them: the pod dirs, the image store, the
 * guest image. Trees here often hold what an image or a guest wrote, so a symlink is deleted, never
 * followed, and a directory an image made read-only is still emptied. A leaf: it depends on nothing
 * of the SDK.
 */
public final class FileTrees {
  private FileTrees() {}

  /**
   * Deletes {@code root} and, for a directory, everything under it, without following links. An
   * absent root, and entries that vanish meanwhile (a concurrent reaper), are fine.
   */
  public static void deleteTree(Path root) throws IOException {
    BasicFileAttributes a;
    try {
      a = Files.readAttributes(root, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      return;
    }
    if (!a.isDirectory()) { // NOFOLLOW: a symlink to a directory is a link here
      Files.deleteIfExists(root);
      return;
    }
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
        try {
          // Make sure the directory can be emptied even when an image made it read-only.
          Files.setAttribute(dir, "unix:mode", 0700, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
          return FileVisitResult.SKIP_SUBTREE;
        }
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        Files.deleteIfExists(file);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFileFailed(Path file, IOException exc) throws IOException {
        if (exc instanceof NoSuchFileException) {
          return FileVisitResult.CONTINUE;
        }
        throw exc;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
        if (exc != null && !(exc instanceof NoSuchFileException)) {
          throw exc;
        }
        Files.deleteIfExists(dir);
        return FileVisitResult.CONTINUE;
      }
    });
  }
}
