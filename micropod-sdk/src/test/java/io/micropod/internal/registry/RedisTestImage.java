package io.micropod.internal.registry;

import static io.micropod.internal.registry.DebianPackages.executable;
import static io.micropod.internal.registry.DebianPackages.link;
import static io.micropod.internal.registry.DebianPackages.put;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.TreeMap;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * A real database server image, made offline: the busybox test layout plus one layer with
 * Debian's redis server ({@code redis-tools} ships the binary; {@code redis-server} is only its
 * configuration and init scripts) and the shared libraries it links, fetched with {@code apt-get
 * download} and unpacked with {@code dpkg-deb -x} ({@link DebianPackages}). Its command is Docker's
 * {@code redis} image's default: {@code redis-server --protected-mode no} (listening on all
 * addresses, no password), and no persistence.
 *
 * <p>Built once per MicroPod home into {@code <home>/oci/redis} (about 5 s here, 8 MB of downloads);
 * {@code .redis.built} names the recipe version, so a changed recipe rebuilds it.
 */
public final class RedisTestImage {
  /** Bump when the recipe below changes: the cached layout is rebuilt. */
  private static final String RECIPE = "redis-2";

  /** redis-tools and what its binary links, transitively (Debian bookworm). */
  static final List<String> PACKAGES = List.of("redis-tools", "libc6", "libatomic1", "libjemalloc2", "liblzf1",
      "libssl3", "libsystemd0", "libcap2", "libgcrypt20", "libgpg-error0", "liblz4-1", "liblzma5", "libzstd1",
      "libgcc-s1", "libstdc++6");

  private static final String LIB = DebianPackages.LIB;

  private RedisTestImage() {}

  /**
   * The layout ({@code <home>/oci/redis}), built from {@code busyboxLayout} when missing or
   * stale.
   *
   * @throws IllegalStateException when the packages cannot be downloaded or unpacked, saying why
   */
  public static synchronized Path layout(Path home, Path busyboxLayout) {
    return DebianPackages.cachedLayout(home, "redis", RECIPE, (work, out) -> {
      Path tree = DebianPackages.unpack(DebianPackages.download(work, PACKAGES), work.resolve("tree"));
      DebianPackages.requireLibrariesInTree(tree, "usr/bin/redis-check-rdb", PACKAGES);
      TestImage.extendLayout(busyboxLayout, layer(tree), config -> {
        var c = (com.fasterxml.jackson.databind.node.ObjectNode) config.get("config");
        c.putArray("Cmd").add("redis-server").add("--protected-mode").add("no").add("--save").add("")
            .add("--appendonly").add("no");
        c.putObject("ExposedPorts").putObject("6379/tcp");
        config.withArray("history").addObject().put("created", "1970-01-01T00:00:00Z")
            .put("created_by", "micropod tests: Debian " + String.join(" ", PACKAGES));
      }, out);
    });
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
          put(tar, executable(LIB + lib.getKey()), lib.getValue());
        }
      }
      put(tar, link("lib64/ld-linux-x86-64.so.2", "/" + LIB + "ld-linux-x86-64.so.2"), null);
      put(tar, executable("usr/bin/redis-server"), tree.resolve("usr/bin/redis-check-rdb"));
    }
    return bos.toByteArray();
  }
}
