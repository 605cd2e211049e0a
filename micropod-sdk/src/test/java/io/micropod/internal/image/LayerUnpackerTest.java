package io.micropod.internal.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micropod.ImageException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.apache.commons.compress.compressors.zstandard.ZstdCompressorOutputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

class LayerUnpackerTest {

  /** Builds layer tarballs in memory, hostile ones included (names are written verbatim). */
  static final class Tar {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final TarArchiveOutputStream out = new TarArchiveOutputStream(bytes);
    static final Instant MTIME = Instant.parse("2024-01-02T03:04:05Z");

    Tar() {
      out.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      out.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
    }

    Tar dir(String name, int mode) {
      TarArchiveEntry e = new TarArchiveEntry(name.endsWith("/") ? name : name + "/", true);
      e.setMode(040000 | mode);
      return put(e, null);
    }

    Tar file(String name, String content) {
      return file(name, content, 0644);
    }

    Tar file(String name, String content, int mode) {
      TarArchiveEntry e = new TarArchiveEntry(name, true);
      e.setMode(0100000 | mode);
      return put(e, content.getBytes(StandardCharsets.UTF_8));
    }

    Tar symlink(String name, String target) {
      TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_SYMLINK, true);
      e.setLinkName(target);
      e.setMode(0120777);
      return put(e, null);
    }

    Tar hardlink(String name, String target) {
      TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_LINK, true);
      e.setLinkName(target);
      return put(e, null);
    }

    Tar fifo(String name) {
      TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_FIFO, true);
      return put(e, null);
    }

    Tar charDevice(String name) {
      TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_CHR, true);
      e.setDevMajor(1);
      e.setDevMinor(3);
      return put(e, null);
    }

    Tar whiteout(String dir, String name) {
      return file((dir.isEmpty() ? "" : dir + "/") + ".wh." + name, "");
    }

    Tar opaque(String dir) {
      return file(dir + "/.wh..wh..opq", "");
    }

    private Tar put(TarArchiveEntry e, byte[] content) {
      try {
        e.setModTime(FileTime.from(MTIME));
        if (content != null) {
          e.setSize(content.length);
        }
        out.putArchiveEntry(e);
        if (content != null) {
          out.write(content);
        }
        out.closeArchiveEntry();
        return this;
      } catch (IOException x) {
        throw new UncheckedIOException(x);
      }
    }

    byte[] bytes() {
      try {
        out.finish();
        out.close();
        return bytes.toByteArray();
      } catch (IOException x) {
        throw new UncheckedIOException(x);
      }
    }

    byte[] gzipped() {
      ByteArrayOutputStream gz = new ByteArrayOutputStream();
      try (GZIPOutputStream g = new GZIPOutputStream(gz)) {
        g.write(bytes());
      } catch (IOException x) {
        throw new UncheckedIOException(x);
      }
      return gz.toByteArray();
    }
  }

  @TempDir Path tmp;
  private Path root;
  private Path outside;
  private LayerUnpacker unpacker;

  @BeforeEach
  void setUp() throws IOException {
    root = Files.createDirectory(tmp.resolve("root"));
    outside = Files.createDirectory(tmp.resolve("outside"));
    unpacker = new LayerUnpacker(root, "oci:/test:latest", false);
  }

  private void apply(Tar tar) throws IOException {
    unpacker.apply(new ByteArrayInputStream(tar.bytes()), "sha256:layer");
  }

  private static String read(Path p) throws IOException {
    return Files.readString(p);
  }

  @Test
  void unpacksFilesDirectoriesSymlinksHardlinksModesAndTimes() throws IOException {
    unpacker.apply(new ByteArrayInputStream(new Tar()
        .dir("./", 0755)
        .dir("bin", 0755)
        .file("bin/busybox", "ELF", 04755)
        .symlink("bin/sh", "busybox")
        .hardlink("bin/ash", "bin/busybox")
        .dir("tmp", 01777)
        .dir("ro", 0555)
        .file("ro/inside", "x", 0444)
        .file("deep/auto/created", "implicit parents")
        .gzipped()), "sha256:gz");
    unpacker.finish();

    assertThat(read(root.resolve("bin/busybox"))).isEqualTo("ELF");
    assertThat(Files.getAttribute(root.resolve("bin/busybox"), "unix:mode")).isEqualTo(0100000 | 04755);
    assertThat(Files.readSymbolicLink(root.resolve("bin/sh"))).isEqualTo(Path.of("busybox"));
    assertThat(Files.isSameFile(root.resolve("bin/ash"), root.resolve("bin/busybox"))).isTrue();
    assertThat(Files.getAttribute(root.resolve("tmp"), "unix:mode")).isEqualTo(040000 | 01777);
    assertThat(Files.getAttribute(root.resolve("ro"), "unix:mode")).isEqualTo(040000 | 0555);
    assertThat(Files.getAttribute(root, "unix:mode")).isEqualTo(040000 | 0755);
    assertThat(read(root.resolve("deep/auto/created"))).isEqualTo("implicit parents");
    assertThat(Files.getLastModifiedTime(root.resolve("bin/busybox")).toInstant()).isEqualTo(Tar.MTIME);
    assertThat(Files.getLastModifiedTime(root.resolve("ro")).toInstant()).isEqualTo(Tar.MTIME);
  }

  @Test
  void upperLayerReplacesFilesAndSymlinksWithoutWritingThroughThem() throws IOException {
    Files.writeString(outside.resolve("victim"), "safe");
    apply(new Tar().file("etc/conf", "old").symlink("etc/link", outside.resolve("victim").toString()));
    apply(new Tar().file("etc/conf", "new").file("etc/link", "replaced"));

    assertThat(read(root.resolve("etc/conf"))).isEqualTo("new");
    assertThat(Files.isSymbolicLink(root.resolve("etc/link"))).isFalse();
    assertThat(read(root.resolve("etc/link"))).isEqualTo("replaced");
    assertThat(read(outside.resolve("victim"))).isEqualTo("safe");
  }

  @Test
  void whiteoutDeletesALowerFileOrDirectory() throws IOException {
    apply(new Tar().file("etc/keep", "k").file("etc/gone", "g").file("var/cache/x/y", "z"));
    apply(new Tar().whiteout("etc", "gone").whiteout("var/cache", "x"));

    assertThat(root.resolve("etc/keep")).exists();
    assertThat(root.resolve("etc/gone")).doesNotExist();
    assertThat(root.resolve("etc/.wh.gone")).doesNotExist();
    assertThat(root.resolve("var/cache/x")).doesNotExist();
    assertThat(root.resolve("var/cache")).isDirectory();
  }

  @Test
  void whiteoutOfSomethingMissingIsIgnored() throws IOException {
    apply(new Tar().whiteout("nowhere", "thing").whiteout("", "nothing"));

    assertThat(root.resolve("nowhere")).doesNotExist();
  }

  @Test
  void opaqueWhiteoutHidesLowerContentButKeepsTheLayersOwn() throws IOException {
    apply(new Tar().file("app/old1", "1").file("app/sub/old2", "2").file("other", "o"));
    apply(new Tar().dir("app", 0755).file("app/new", "n").opaque("app").file("app/newer", "nn"));

    assertThat(root.resolve("app/old1")).doesNotExist();
    assertThat(root.resolve("app/sub")).doesNotExist();
    assertThat(read(root.resolve("app/new"))).isEqualTo("n");
    assertThat(read(root.resolve("app/newer"))).isEqualTo("nn");
    assertThat(root.resolve("app/.wh..wh..opq")).doesNotExist();
    assertThat(root.resolve("other")).exists();
  }

  @Test
  void symlinksInsideTheRootAreFollowedAsInAChroot() throws IOException {
    apply(new Tar().dir("usr/lib", 0755).symlink("lib", "usr/lib").symlink("abs", "/usr/lib"));
    apply(new Tar().file("lib/libc.so", "c").file("abs/libm.so", "m"));

    assertThat(read(root.resolve("usr/lib/libc.so"))).isEqualTo("c");
    assertThat(read(root.resolve("usr/lib/libm.so"))).isEqualTo("m");
    assertThat(Files.isSymbolicLink(root.resolve("lib"))).isTrue();
  }

  @Test
  void absoluteSymlinkTargetsResolveInsideTheRootNotOnTheHost() throws IOException {
    apply(new Tar().symlink("hostdir", outside.toString()).file("hostdir/pwned", "x"));

    assertThat(outside.resolve("pwned")).doesNotExist();
    assertThat(read(root.resolve(outside.toString().substring(1)).resolve("pwned"))).isEqualTo("x");
  }

  @Test
  void deviceNodesAndFifosAreSkipped() throws IOException {
    apply(new Tar().charDevice("dev/null").fifo("run/fifo").file("ok", "y"));

    assertThat(root.resolve("dev/null")).doesNotExist();
    assertThat(root.resolve("run/fifo")).doesNotExist();
    assertThat(root.resolve("ok")).exists();
  }

  @Test
  void rejectsDotDotEscape() {
    assertThatThrownBy(() -> apply(new Tar().file("ok", "y").file("../escaped", "x")))
        .isInstanceOf(ImageException.class)
        .hasMessageContaining("\"../escaped\"").hasMessageContaining("'..'")
        .hasMessageContaining("refusing the layer");
    assertThat(tmp.resolve("escaped")).doesNotExist();
  }

  @Test
  void rejectsDotDotInTheMiddle() {
    assertThatThrownBy(() -> apply(new Tar().file("a/../../escaped", "x")))
        .isInstanceOf(ImageException.class)
        .hasMessageContaining("a/../../escaped");
    assertThat(tmp.resolve("escaped")).doesNotExist();
  }

  @Test
  void rejectsAbsolutePaths() {
    Path target = outside.resolve("abs");
    assertThatThrownBy(() -> apply(new Tar().file(target.toString(), "x")))
        .isInstanceOf(ImageException.class)
        .hasMessageContaining(target.toString()).hasMessageContaining("absolute");
    assertThat(target).doesNotExist();
  }

  @Test
  void rejectsWritingThroughASymlinkThatLeavesTheRoot() {
    assertThatThrownBy(() -> apply(new Tar()
        .symlink("evil", "../outside")
        .file("evil/pwned", "x")))
        .isInstanceOf(ImageException.class)
        .hasMessageContaining("evil/pwned")
        .hasMessageContaining("outside the root");
    assertThat(outside.resolve("pwned")).doesNotExist();
  }

  @Test
  void rejectsASymlinkEscapeHiddenInALowerLayer() throws IOException {
    apply(new Tar().dir("a", 0755).symlink("a/b", "../../../../../../../../tmp"));

    assertThatThrownBy(() -> apply(new Tar().file("a/b/pwned", "x")))
        .isInstanceOf(ImageException.class)
        .hasMessageContaining("a/b/pwned");
  }

  @Test
  void rejectsAHardlinkToOutsideTheRoot() throws IOException {
    Files.writeString(outside.resolve("secret"), "s");

    assertThatThrownBy(() -> apply(new Tar().hardlink("stolen", "../outside/secret")))
        .isInstanceOf(ImageException.class).hasMessageContaining("../outside/secret");
    assertThatThrownBy(() -> apply(new Tar().hardlink("stolen", outside.resolve("secret").toString())))
        .isInstanceOf(ImageException.class).hasMessageContaining("absolute");
    assertThat(root.resolve("stolen")).doesNotExist();
  }

  @Test
  void rejectsAHardlinkThroughASymlinkThatLeavesTheRoot() throws IOException {
    Files.writeString(outside.resolve("secret"), "s");

    assertThatThrownBy(() -> apply(new Tar().symlink("up", "..").hardlink("stolen", "up/outside/secret")))
        .isInstanceOf(ImageException.class).hasMessageContaining("outside the root");
    assertThat(root.resolve("stolen")).doesNotExist();
  }

  @Test
  void rejectsAHardlinkToSomethingMissing() {
    assertThatThrownBy(() -> apply(new Tar().hardlink("link", "nothing/here")))
        .isInstanceOf(ImageException.class).hasMessageContaining("does not exist");
  }

  @Test
  void hardlinkToASymlinkLinksTheSymlinkItself() throws IOException {
    Files.writeString(outside.resolve("secret"), "s");
    apply(new Tar().symlink("ln", outside.resolve("secret").toString()).hardlink("hard", "ln"));

    assertThat(Files.isSymbolicLink(root.resolve("hard"))).isTrue();
    assertThat(Files.readAttributes(root.resolve("hard"), "unix:nlink", LinkOption.NOFOLLOW_LINKS))
        .containsEntry("nlink", 2);
  }

  @Test
  void rejectsWhiteoutOfDotDot() {
    assertThatThrownBy(() -> apply(new Tar().file("dir/.wh..", "")))
        .isInstanceOf(ImageException.class).hasMessageContaining("whiteout");
  }

  @Test
  void unpacksZstdLayers() throws IOException {
    byte[] tar = new Tar().dir("etc", 0755).file("etc/hello", "zstd!", 04755).bytes();
    ByteArrayOutputStream z = new ByteArrayOutputStream();
    try (ZstdCompressorOutputStream out = new ZstdCompressorOutputStream(z)) {
      out.write(tar);
    }

    unpacker.apply(new ByteArrayInputStream(z.toByteArray()), "sha256:z");

    assertThat(read(root.resolve("etc/hello"))).isEqualTo("zstd!");
    assertThat(Files.getAttribute(root.resolve("etc/hello"), "unix:mode")).isEqualTo(0104755);
  }

  @Test
  void rejectsATruncatedZstdLayer() {
    byte[] zstd = {0x28, (byte) 0xb5, 0x2f, (byte) 0xfd, 0, 0, 0, 0};

    assertThatThrownBy(() -> unpacker.apply(new ByteArrayInputStream(zstd), "sha256:z"))
        .isInstanceOf(IOException.class);
  }

  @Test
  void deviceNodesAndFifosAreNeverCreatedAndReplaceLowerEntries() throws IOException {
    apply(new Tar().dir("dev", 0755).file("dev/null", "lower").file("dev/keep", "k"));
    // a block device of the host's first disk, a character device and a FIFO
    Tar upper = new Tar().charDevice("dev/null").fifo("dev/fifo").charDevice("dev/sda");
    apply(upper);

    assertThat(root.resolve("dev/null")).doesNotExist();
    assertThat(root.resolve("dev/fifo")).doesNotExist();
    assertThat(root.resolve("dev/sda")).doesNotExist();
    assertThat(read(root.resolve("dev/keep"))).isEqualTo("k");
  }

  @Test
  void aDeviceNodeUnderASymlinkThatLeavesTheRootIsRejected() throws IOException {
    Files.writeString(outside.resolve("victim"), "v");

    assertThatThrownBy(() -> apply(new Tar().symlink("up", "..").charDevice("up/outside/victim")))
        .isInstanceOf(ImageException.class).hasMessageContaining("outside the root");
    assertThat(read(outside.resolve("victim"))).isEqualTo("v");
  }

  // ---- attributes applied after the fact (finish()) must never follow links ----------------

  private static String perms(Path p) throws IOException {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
  }

  private Path outsideVictim() throws IOException {
    Path victim = Files.createDirectory(outside.resolve("victim"));
    Files.setPosixFilePermissions(victim, PosixFilePermissions.fromString("rwx------"));
    Files.setLastModifiedTime(victim, FileTime.from(Instant.parse("2020-01-01T00:00:00Z")));
    return victim;
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.SECONDS)
  void pendingDirectoryModeIsNotAppliedThroughAParentReplacedBySymlinkInTheSameLayer()
      throws IOException {
    Path victim = outsideVictim();

    // a/victim is remembered for finish(); then a becomes a symlink to a host directory, so the
    // path root/a/victim now names the host's outside/victim.
    apply(new Tar().dir("a", 0755).dir("a/victim", 0777).symlink("a", outside.toString()));
    unpacker.finish();

    assertThat(perms(victim)).isEqualTo("rwx------");
    assertThat(Files.getLastModifiedTime(victim).toInstant()).isEqualTo(Instant.parse("2020-01-01T00:00:00Z"));
    assertThat(Files.isSymbolicLink(root.resolve("a"))).isTrue();
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.SECONDS)
  void pendingDirectoryModeIsNotAppliedThroughAParentReplacedBySymlinkInALaterLayer()
      throws IOException {
    Path victim = outsideVictim();

    apply(new Tar().dir("a", 0755).dir("a/victim", 0777));
    apply(new Tar().whiteout("", "a").symlink("a", outside.toString()));
    unpacker.finish();

    assertThat(perms(victim)).isEqualTo("rwx------");
    assertThat(Files.getLastModifiedTime(victim).toInstant()).isEqualTo(Instant.parse("2020-01-01T00:00:00Z"));
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.SECONDS)
  void pendingDirectoryModeIsNotAppliedThroughAParentSymlinkedToAnotherDirectoryOfTheRoot()
      throws IOException {
    // Inside the root too: the mode of the replaced a/sub must not land on b/sub.
    // (b/sub first, so that its own pending mode cannot hide a wrong one applied after it)
    apply(new Tar().dir("b", 0755).dir("b/sub", 0750).dir("a", 0755).dir("a/sub", 0777)
        .symlink("a", "b"));
    unpacker.finish();

    assertThat(perms(root.resolve("b/sub"))).isEqualTo("rwxr-x---");
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.SECONDS)
  void pendingAttributesOfARemovedDirectoryDoNotApplyToItsRecreation() throws IOException {
    apply(new Tar().dir("a", 0755).dir("a/sub", 0700));
    apply(new Tar().whiteout("", "a"));
    // A later layer creates a/sub again, implicitly: it gets the default 0755, not the mode of
    // the directory that was deleted.
    apply(new Tar().file("a/sub/f", "x"));
    unpacker.finish();

    assertThat(perms(root.resolve("a/sub"))).isEqualTo("rwxr-xr-x");
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.SECONDS)
  void pendingDirectoryReplacedByASymlinkToAHostDirectoryIsNotChmodded() throws IOException {
    Path victim = outsideVictim();

    apply(new Tar().dir("d", 0777));
    apply(new Tar().symlink("d", victim.toString()));
    unpacker.finish();

    assertThat(perms(victim)).isEqualTo("rwx------");
  }
}
