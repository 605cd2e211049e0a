package io.micropod.internal.registry;

import io.micropod.internal.files.FileTrees;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * A slim Debian bookworm image, made offline: one layer with Debian's essential userland (libc,
 * bash, dash as {@code /bin/sh}, coreutils, grep, sed, findutils, tar, gzip, dpkg and the
 * libraries they link; no apt, whose TLS and keyring libraries would triple the download), as
 * Docker's {@code debian:bookworm-slim} without apt, documentation, manuals and locales. The
 * packages are fetched with {@code apt-get download} and unpacked with {@code dpkg-deb -x}
 * ({@link DebianPackages}); dpkg's database ({@code /var/lib/dpkg/status}) lists them as installed,
 * so {@code dpkg-query -W libc6} answers as it does in Docker's image, and {@code /etc/passwd} and
 * {@code /etc/group} are base-passwd's masters (what its maintainer script would install). Its
 * command is {@code bash}, its {@code PATH} Docker's.
 *
 * <p>Built once per MicroPod home into {@code <home>/oci/debian} (about 5 MB of downloads);
 * {@code .debian.built} names the recipe version, so a changed recipe rebuilds it.
 */
public final class DebianTestImage {
  /** Bump when the recipe below changes: the cached layout is rebuilt. */
  private static final String RECIPE = "debian-1";

  /** The userland and what it depends on, transitively (Debian bookworm; apt-cache depends). */
  static final List<String> PACKAGES = List.of("base-files", "base-passwd", "bash", "coreutils", "dash",
      "debianutils", "dpkg", "findutils", "grep", "gzip", "mawk", "sed", "tar", "libc6", "libgcc-s1",
      "libtinfo6", "libacl1", "libattr1", "libgmp10", "libselinux1", "libpcre2-8-0", "libbz2-1.0", "liblzma5",
      "libmd0", "libzstd1", "zlib1g", "libdebconfclient0");

  /** What Docker's slim images leave out: documentation, manuals, translations. */
  private static final List<String> LEFT_OUT = List.of("usr/share/doc", "usr/share/man", "usr/share/info",
      "usr/share/locale", "usr/share/lintian");

  private DebianTestImage() {}

  /**
   * The layout ({@code <home>/oci/debian}), built when missing or stale.
   *
   * @throws IllegalStateException when the packages cannot be downloaded or unpacked, saying why
   */
  public static synchronized Path layout(Path home) {
    return DebianPackages.cachedLayout(home, "debian", RECIPE, (work, out) -> {
      List<Path> debs = DebianPackages.download(work, PACKAGES);
      Path tree = DebianPackages.unpack(debs, work.resolve("tree"));
      for (String binary : List.of("bin/bash", "bin/cat", "usr/bin/dpkg-query", "bin/grep", "bin/tar")) {
        DebianPackages.requireLibrariesInTree(tree, binary, PACKAGES);
      }
      for (String dir : LEFT_OUT) {
        FileTrees.deleteTree(tree.resolve(dir));
      }
      installed(work, debs, tree);
      Path etc = tree.resolve("etc");
      Files.copy(tree.resolve("usr/share/base-passwd/passwd.master"), etc.resolve("passwd"));
      Files.copy(tree.resolve("usr/share/base-passwd/group.master"), etc.resolve("group"));
      if (!Files.exists(tree.resolve("bin/sh"), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
        Files.createSymbolicLink(tree.resolve("bin/sh"), Path.of("dash"));
      }
      ByteArrayOutputStream bos = new ByteArrayOutputStream();
      try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bos)) {
        tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
        tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
        DebianPackages.putTree(tar, tree);
      }
      TestImage.extendLayout(null, bos.toByteArray(), config -> {
        var c = config.putObject("config");
        c.putArray("Env").add("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        c.putArray("Cmd").add("bash");
        config.withArray("history").addObject().put("created", "1970-01-01T00:00:00Z")
            .put("created_by", "micropod tests: Debian " + String.join(" ", PACKAGES));
      }, out);
    });
  }

  /**
   * dpkg's database: {@code var/lib/dpkg/status} with each package's control fields and
   * {@code Status: install ok installed}, as dpkg writes it after an install.
   */
  private static void installed(Path work, List<Path> debs, Path tree) throws IOException, InterruptedException {
    Path dpkg = tree.resolve("var/lib/dpkg");
    Files.createDirectories(dpkg.resolve("info"));
    Files.createDirectories(dpkg.resolve("updates"));
    Files.createDirectories(dpkg.resolve("triggers"));
    Files.writeString(dpkg.resolve("available"), "");
    StringBuilder status = new StringBuilder();
    for (Path deb : debs) {
      String fields = DebianPackages.run(work, List.of("dpkg-deb", "-f", deb.toString()), "read the control of "
          + deb.getFileName()).strip();
      int eol = fields.indexOf('\n');
      // Status right after Package, where dpkg puts it
      status.append(fields, 0, eol + 1).append("Status: install ok installed\n").append(fields.substring(eol + 1))
          .append("\n\n");
    }
    Files.writeString(dpkg.resolve("status"), status.toString());
  }
}
