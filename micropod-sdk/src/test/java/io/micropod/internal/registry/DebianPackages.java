package io.micropod.internal.registry;

import io.micropod.internal.files.FileTrees;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * What the test images made offline from Debian (bookworm) packages share ({@link RedisTestImage},
 * {@link DebianTestImage}): the packages fetched with {@code apt-get download} (Debian's mirror is
 * reachable where Docker Hub is not) and unpacked with {@code dpkg-deb -x}, as rootfs-builder does
 * for the guest; the layout built once per MicroPod home and recipe, under a file lock so that
 * parallel test JVMs build it once; tar entries owned by 0:0 with mtime 0.
 */
final class DebianPackages {
  static final String LIB = "lib/x86_64-linux-gnu/";

  /** Writes the layout {@code out} from scratch, {@code work} being an empty directory it may use. */
  interface Recipe {
    void build(Path work, Path out) throws IOException, InterruptedException;
  }

  private DebianPackages() {}

  /**
   * {@code <home>/oci/<name>}, built by {@code recipe} when missing or when {@code .<name>.built}
   * names another {@code version} than the given one.
   *
   * @throws IllegalStateException when the packages cannot be downloaded or unpacked, saying why
   */
  static Path cachedLayout(Path home, String name, String version, Recipe recipe) {
    Path oci = home.resolve("oci");
    Path out = oci.resolve(name);
    Path stamp = oci.resolve("." + name + ".built");
    try {
      Files.createDirectories(oci);
      try (FileChannel ch = FileChannel.open(oci.resolve("." + name + ".lock"), StandardOpenOption.CREATE,
          StandardOpenOption.WRITE); FileLock lock = ch.lock()) {
        if (Files.isRegularFile(out.resolve("index.json")) && Files.isRegularFile(stamp)
            && Files.readString(stamp).strip().equals(version)) {
          return out;
        }
        Path work = oci.resolve("." + name + "-build-" + ProcessHandle.current().pid());
        FileTrees.deleteTree(work);
        Files.createDirectories(work);
        try {
          recipe.build(work, out);
          Files.writeString(stamp, version + "\n");
          return out;
        } finally {
          FileTrees.deleteTree(work);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot build the " + name + " test image in " + out + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while building the " + name + " test image", e);
    }
  }

  /** Downloads {@code packages} into {@code <work>/debs}; the .deb files, sorted by name. */
  static List<Path> download(Path work, List<String> packages) throws IOException, InterruptedException {
    Path debs = work.resolve("debs");
    Files.createDirectories(debs);
    // apt's sandbox user _apt must be able to write there (as in rootfs-builder/build-guest.sh)
    debs.toFile().setWritable(true, false);
    List<String> cmd = new ArrayList<>(List.of("apt-get", "-q"));
    if ("root".equals(System.getProperty("user.name"))) {
      cmd.addAll(List.of("-o", "APT::Sandbox::User=root"));
    }
    cmd.add("download");
    cmd.addAll(packages);
    run(debs, cmd, "download Debian packages " + packages + " (apt needs its package lists: "
        + "`apt-get update` as root; the build's guest image is made the same way)");
    try (var s = Files.list(debs)) {
      List<Path> found = s.filter(p -> p.toString().endsWith(".deb")).sorted().toList();
      if (found.size() != packages.size()) {
        throw new IllegalStateException("apt-get download gave " + found.size() + " packages for "
            + packages.size() + ": " + found);
      }
      return found;
    }
  }

  /** Unpacks every .deb into {@code tree} ({@code dpkg-deb -x}: files only, no maintainer scripts). */
  static Path unpack(List<Path> debs, Path tree) throws IOException, InterruptedException {
    Files.createDirectories(tree);
    for (Path deb : debs) {
      run(tree, List.of("dpkg-deb", "-x", deb.toString(), tree.toString()), "unpack " + deb.getFileName());
    }
    return tree;
  }

  /**
   * Fails unless every library {@code binary} (a path inside {@code tree}) links comes from the
   * tree: ld.so lists where it finds each, and one it takes from the host's own directories
   * instead would be missing in the image.
   */
  static void requireLibrariesInTree(Path tree, String binary, List<String> packages)
      throws IOException, InterruptedException {
    Path ld = tree.resolve(LIB + "ld-linux-x86-64.so.2");
    String libs = tree.resolve(LIB) + ":" + tree.resolve("usr/" + LIB);
    String listed = run(tree, List.of(ld.toString(), "--inhibit-cache", "--library-path", libs, "--list",
        tree.resolve(binary).toString()), "list the libraries of " + binary);
    List<String> missing = listed.lines().filter(l -> l.contains("=>") && !l.contains("=> " + tree))
        .map(String::strip).toList();
    if (!missing.isEmpty()) {
      throw new IllegalStateException(binary + " needs libraries that none of " + packages + " has: " + missing);
    }
  }

  static TarArchiveEntry link(String name, String target) {
    TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_SYMLINK);
    e.setLinkName(target);
    e.setMode(0120777);
    return e;
  }

  /** A regular file entry with mode 0755 (libraries and binaries alike, as the loader needs). */
  static TarArchiveEntry executable(String name) {
    TarArchiveEntry e = new TarArchiveEntry(name);
    e.setMode(0100755);
    return e;
  }

  /** Writes {@code e} owned by 0:0 with mtime 0; {@code file} (null: none) is its content. */
  static void put(TarArchiveOutputStream tar, TarArchiveEntry e, Path file) throws IOException {
    e.setIds(0, 0);
    e.setModTime(0);
    if (file != null) {
      e.setSize(Files.size(file));
    }
    tar.putArchiveEntry(e);
    if (file != null) {
      Files.copy(file, tar);
    }
    tar.closeArchiveEntry();
  }

  /**
   * Every directory, file and symbolic link under {@code tree}, sorted, with its mode kept (setuid
   * bits included); hard links are written as copies.
   */
  static void putTree(TarArchiveOutputStream tar, Path tree) throws IOException {
    List<Path> all;
    try (var s = Files.walk(tree)) {
      all = s.filter(p -> !p.equals(tree)).sorted().toList();
    }
    for (Path p : all) {
      String name = tree.relativize(p).toString();
      int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
      if (Files.isSymbolicLink(p)) {
        put(tar, link(name, Files.readSymbolicLink(p).toString()), null);
      } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
        TarArchiveEntry e = new TarArchiveEntry(name + "/");
        e.setMode(040000 | (mode & 07777));
        put(tar, e, null);
      } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
        TarArchiveEntry e = new TarArchiveEntry(name);
        e.setMode(0100000 | (mode & 07777));
        put(tar, e, p);
      }
    }
  }

  /** Runs {@code cmd} in {@code dir}; its output, or an exception naming what failed and the output. */
  static String run(Path dir, List<String> cmd, String what) throws IOException, InterruptedException {
    Path log = Files.createTempFile(dir.getParent(), "cmd-", ".log");
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
        .redirectOutput(log.toFile()).start();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("cannot " + what + ": " + String.join(" ", cmd) + " took over 120 s");
    }
    String out = Files.readString(log, StandardCharsets.UTF_8);
    Files.delete(log);
    if (p.exitValue() != 0) {
      throw new IllegalStateException("cannot " + what + ": " + String.join(" ", cmd) + " exited with "
          + p.exitValue() + ": " + out.strip());
    }
    return out;
  }
}
