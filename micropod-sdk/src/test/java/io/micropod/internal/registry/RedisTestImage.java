package io.micropod.internal.registry;

import io.micropod.internal.files.FileTrees;
import java.io.ByteArrayOutputStream;
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
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * A real database server image, made offline: the busybox test layout plus one layer with
 * Debian's redis server ({@code redis-tools} ships the binary; {@code redis-server} is only its
 * configuration and init scripts) and the shared libraries it links, fetched with {@code apt-get
 * download} (Debian's mirror is reachable where Docker Hub is not) and unpacked with
 * {@code dpkg-deb -x}, as rootfs-builder does for the guest. Its command is Docker's
 * {@code redis} image's default: {@code redis-server --protected-mode no} (listening on all
 * addresses, no password), and no persistence.
 *
 * <p>Built once per MicroPod home into {@code <home>/oci/redis} (about 5 s here, 8 MB of downloads),
 * under a file lock so that parallel test JVMs build it once; {@code .redis.built} names the
 * recipe version, so a changed recipe rebuilds it.
 */
public final class RedisTestImage {
  /** Bump when the recipe below changes: the cached layout is rebuilt. */
  private static final String RECIPE = "redis-2";

  /** redis-tools and what its binary links, transitively (Debian bookworm). */
  static final List<String> PACKAGES = List.of("redis-tools", "libc6", "libatomic1", "libjemalloc2", "liblzf1",
      "libssl3", "libsystemd0", "libcap2", "libgcrypt20", "libgpg-error0", "liblz4-1", "liblzma5", "libzstd1",
      "libgcc-s1", "libstdc++6");

  private static final String LIB = "lib/x86_64-linux-gnu/";

  private RedisTestImage() {}

  /**
   * The layout ({@code <home>/oci/redis}), built from {@code busyboxLayout} when missing or
   * stale.
   *
   * @throws IllegalStateException when the packages cannot be downloaded or unpacked, saying why
   */
  public static synchronized Path layout(Path home, Path busyboxLayout) {
    Path oci = home.resolve("oci");
    Path out = oci.resolve("redis");
    Path stamp = oci.resolve(".redis.built");
    try {
      Files.createDirectories(oci);
      try (FileChannel ch = FileChannel.open(oci.resolve(".redis.lock"), StandardOpenOption.CREATE,
          StandardOpenOption.WRITE); FileLock lock = ch.lock()) {
        if (Files.isRegularFile(out.resolve("index.json")) && Files.isRegularFile(stamp)
            && Files.readString(stamp).strip().equals(RECIPE)) {
          return out;
        }
        Path work = oci.resolve(".redis-build-" + ProcessHandle.current().pid());
        FileTrees.deleteTree(work);
        Files.createDirectories(work);
        try {
          Path tree = unpack(download(work), work.resolve("tree"));
          byte[] layer = layer(tree);
          TestImage.extendLayout(busyboxLayout, layer, config -> {
            var c = (com.fasterxml.jackson.databind.node.ObjectNode) config.get("config");
            c.putArray("Cmd").add("redis-server").add("--protected-mode").add("no").add("--save").add("")
                .add("--appendonly").add("no");
            c.putObject("ExposedPorts").putObject("6379/tcp");
            config.withArray("history").addObject().put("created", "1970-01-01T00:00:00Z")
                .put("created_by", "micropod tests: Debian " + String.join(" ", PACKAGES));
          }, out);
          Files.writeString(stamp, RECIPE + "\n");
          return out;
        } finally {
          FileTrees.deleteTree(work);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot build the redis test image in " + out + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while building the redis test image", e);
    }
  }

  private static List<Path> download(Path work) throws IOException, InterruptedException {
    Path debs = work.resolve("debs");
    Files.createDirectories(debs);
    // apt's sandbox user _apt must be able to write there (as in rootfs-builder/build-guest.sh)
    debs.toFile().setWritable(true, false);
    List<String> cmd = new ArrayList<>(List.of("apt-get", "-q"));
    if ("root".equals(System.getProperty("user.name"))) {
      cmd.addAll(List.of("-o", "APT::Sandbox::User=root"));
    }
    cmd.add("download");
    cmd.addAll(PACKAGES);
    run(debs, cmd, "download Debian's redis-tools and its libraries (apt needs its package lists: "
        + "`apt-get update` as root; the build's guest image is made the same way)");
    try (var s = Files.list(debs)) {
      List<Path> found = s.filter(p -> p.toString().endsWith(".deb")).sorted().toList();
      if (found.size() != PACKAGES.size()) {
        throw new IllegalStateException("apt-get download gave " + found.size() + " packages for "
            + PACKAGES.size() + ": " + found);
      }
      return found;
    }
  }

  private static Path unpack(List<Path> debs, Path tree) throws IOException, InterruptedException {
    Files.createDirectories(tree);
    for (Path deb : debs) {
      run(tree, List.of("dpkg-deb", "-x", deb.toString(), tree.toString()), "unpack " + deb.getFileName());
    }
    // every library the server needs must come from the tree: ld.so lists where it finds each (a
    // library it takes from the host's own directories instead would be missing in the image)
    Path ld = tree.resolve(LIB + "ld-linux-x86-64.so.2");
    String libs = tree.resolve(LIB) + ":" + tree.resolve("usr/" + LIB);
    String listed = run(tree, List.of(ld.toString(), "--inhibit-cache", "--library-path", libs, "--list",
        tree.resolve("usr/bin/redis-check-rdb").toString()), "list redis-server's libraries");
    List<String> missing = listed.lines().filter(l -> l.contains("=>") && !l.contains("=> " + tree))
        .map(String::strip).toList();
    if (!missing.isEmpty()) {
      throw new IllegalStateException("redis-server needs libraries that none of " + PACKAGES + " has: " + missing);
    }
    return tree;
  }

  /**
   * The layer: {@code /usr/bin/redis-server} (Debian's {@code redis-check-rdb}: one binary that
   * is the server unless its name says otherwise), every shared library of the packages in
   * {@code /lib/x86_64-linux-gnu} (symlinks kept), and the dynamic loader's
   * {@code /lib64/ld-linux-x86-64.so.2}. Sorted, owner 0:0, mtime 0.
   */
  private static byte[] layer(Path tree) throws IOException {
    TreeMap<String, Path> libs = new TreeMap<>();
    for (String dir : List.of(LIB, "usr/" + LIB)) {
      try (var s = Files.list(tree.resolve(dir))) {
        s.filter(p -> p.getFileName().toString().contains(".so")
                && !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS))
            .forEach(p -> libs.put(p.getFileName().toString(), p));
      }
    }
    ByteArrayOutputStream bos = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bos)) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      for (String dir : List.of("lib/", LIB, "lib64/", "usr/", "usr/bin/")) {
        TarArchiveEntry e = new TarArchiveEntry(dir);
        e.setMode(040755);
        put(tar, e, null);
      }
      for (var lib : libs.entrySet()) {
        if (Files.isSymbolicLink(lib.getValue())) {
          put(tar, link(LIB + lib.getKey(), Files.readSymbolicLink(lib.getValue()).toString()), null);
        } else {
          put(tar, new TarArchiveEntry(LIB + lib.getKey()), lib.getValue());
        }
      }
      put(tar, link("lib64/ld-linux-x86-64.so.2", "/" + LIB + "ld-linux-x86-64.so.2"), null);
      put(tar, new TarArchiveEntry("usr/bin/redis-server"), tree.resolve("usr/bin/redis-check-rdb"));
    }
    return bos.toByteArray();
  }

  private static TarArchiveEntry link(String name, String target) {
    TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_SYMLINK);
    e.setLinkName(target);
    e.setMode(0120777);
    return e;
  }

  private static void put(TarArchiveOutputStream tar, TarArchiveEntry e, Path file) throws IOException {
    e.setIds(0, 0);
    e.setModTime(0);
    if (file != null) {
      e.setMode(0100755);
      e.setSize(Files.size(file));
    }
    tar.putArchiveEntry(e);
    if (file != null) {
      Files.copy(file, tar);
    }
    tar.closeArchiveEntry();
  }

  /** Runs {@code cmd} in {@code dir}; its output, or an exception naming what failed and the output. */
  private static String run(Path dir, List<String> cmd, String what) throws IOException, InterruptedException {
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
