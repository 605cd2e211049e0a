package io.micropod.internal.tar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

class TarStreamsTest {
  @TempDir Path tmp;

  @Test
  void aDirectoryTreeRoundTripsWithModesAndSymlinks() throws IOException {
    Path src = Files.createDirectories(tmp.resolve("src/sub"));
    Files.writeString(src.resolve("x.sh"), "#!/bin/sh\n");
    Files.setPosixFilePermissions(src.resolve("x.sh"), PosixFilePermissions.fromString("rwxr-x---"));
    Files.createSymbolicLink(src.resolve("ln"), Path.of("x.sh"));
    ByteArrayOutputStream out = new ByteArrayOutputStream();

    TarStreams.write(tmp.resolve("src"), "renamed", out);
    Path back = tmp.resolve("back");
    TarStreams.extract(new ByteArrayInputStream(out.toByteArray()), back);

    assertThat(Files.readString(back.resolve("sub/x.sh"))).isEqualTo("#!/bin/sh\n");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(back.resolve("sub/x.sh"))))
        .isEqualTo("rwxr-x---");
    assertThat(Files.readSymbolicLink(back.resolve("sub/ln"))).isEqualTo(Path.of("x.sh"));
  }

  @Test
  void modificationTimesRoundTripAsDockerCpKeepsThem() throws IOException {
    java.nio.file.attribute.FileTime dirTime = java.nio.file.attribute.FileTime.fromMillis(1_500_000_000_000L);
    java.nio.file.attribute.FileTime fileTime = java.nio.file.attribute.FileTime.fromMillis(1_600_000_000_000L);
    java.nio.file.attribute.FileTime linkTime = java.nio.file.attribute.FileTime.fromMillis(1_400_000_000_000L);
    Path src = Files.createDirectories(tmp.resolve("src/sub"));
    Files.writeString(src.resolve("f.txt"), "x");
    Files.createSymbolicLink(src.resolve("ln"), Path.of("f.txt"));
    Files.setLastModifiedTime(src.resolve("f.txt"), fileTime);
    Files.getFileAttributeView(src.resolve("ln"), java.nio.file.attribute.BasicFileAttributeView.class,
        LinkOption.NOFOLLOW_LINKS).setTimes(linkTime, null, null);
    Files.setLastModifiedTime(src, dirTime);
    ByteArrayOutputStream out = new ByteArrayOutputStream();

    TarStreams.write(tmp.resolve("src"), "src", out);
    Path back = tmp.resolve("back");
    TarStreams.extract(new ByteArrayInputStream(out.toByteArray()), back);

    assertThat(Files.getLastModifiedTime(back.resolve("sub/f.txt"))).isEqualTo(fileTime);
    assertThat(Files.getLastModifiedTime(back.resolve("sub/ln"), LinkOption.NOFOLLOW_LINKS)).isEqualTo(linkTime);
    // set after its entries were written into it
    assertThat(Files.getLastModifiedTime(back.resolve("sub"))).isEqualTo(dirTime);
  }

  @Test
  void entriesThatWouldEscapeTheTargetAreRefused() throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
      TarArchiveEntry dir = new TarArchiveEntry("top/");
      tar.putArchiveEntry(dir);
      tar.closeArchiveEntry();
      TarArchiveEntry link = new TarArchiveEntry("top/ln", TarArchiveEntry.LF_SYMLINK);
      link.setLinkName(tmp.toString());
      tar.putArchiveEntry(link);
      tar.closeArchiveEntry();
      TarArchiveEntry through = new TarArchiveEntry("top/ln/evil");
      through.setSize(1);
      tar.putArchiveEntry(through);
      tar.write('x');
      tar.closeArchiveEntry();
    }

    assertThatThrownBy(() -> TarStreams.extract(new ByteArrayInputStream(bytes.toByteArray()),
        tmp.resolve("t"))).isInstanceOf(IOException.class).hasMessageContaining("symlink");
    assertThat(tmp.resolve("evil")).doesNotExist();
  }

  /** A stream as a hostile guest could send it for CopyOut (names written verbatim). */
  private static byte[] hostile(TarArchiveEntry... entries) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
      for (TarArchiveEntry e : entries) {
        tar.putArchiveEntry(e);
        if (e.getSize() > 0) {
          tar.write(new byte[(int) e.getSize()]);
        }
        tar.closeArchiveEntry();
      }
    }
    return bytes.toByteArray();
  }

  private static TarArchiveEntry entry(String name, byte type, int mode) {
    TarArchiveEntry e = new TarArchiveEntry(name, type, true);
    e.setMode(mode);
    return e;
  }

  @Test
  @Timeout(10)
  void setuidSetgidAndStickyBitsFromTheGuestAreNotAppliedOnTheHost() throws IOException {
    TarArchiveEntry file = entry("top/suid", TarConstants.LF_NORMAL, 0106755);
    file.setSize(1);
    byte[] tar = hostile(entry("top/", TarConstants.LF_DIR, 043777), file);

    TarStreams.extract(new ByteArrayInputStream(tar), tmp.resolve("t"));

    assertThat((int) Files.getAttribute(tmp.resolve("t/suid"), "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07000)
        .isZero();
    assertThat((int) Files.getAttribute(tmp.resolve("t"), "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07000)
        .isZero();
  }

  @Test
  @Timeout(10)
  void deviceNodesFifosAndHardlinksFromTheGuestAreNotCreatedOnTheHost() throws IOException {
    Files.writeString(tmp.resolve("secret"), "s");
    TarArchiveEntry dev = entry("top/mem", TarConstants.LF_CHR, 020666);
    dev.setDevMajor(1);
    dev.setDevMinor(1);
    TarArchiveEntry hard = entry("top/stolen", TarConstants.LF_LINK, 0100644);
    hard.setLinkName(tmp.resolve("secret").toString());
    byte[] tar = hostile(entry("top/", TarConstants.LF_DIR, 040755), dev,
        entry("top/fifo", TarConstants.LF_FIFO, 010644), hard);

    TarStreams.extract(new ByteArrayInputStream(tar), tmp.resolve("t"));

    assertThat(tmp.resolve("t/mem")).doesNotExist();
    assertThat(tmp.resolve("t/fifo")).doesNotExist();
    assertThat(tmp.resolve("t/stolen")).doesNotExist();
    assertThat(Files.readString(tmp.resolve("secret"))).isEqualTo("s");
  }

  @Test
  @Timeout(10)
  void aDirectoryReplacedByASymlinkIsNotWrittenOrChmoddedThrough() throws IOException {
    Path victim = Files.createDirectory(tmp.resolve("victim"));
    Files.setPosixFilePermissions(victim, PosixFilePermissions.fromString("rwx------"));
    TarArchiveEntry link = entry("top/a", TarConstants.LF_SYMLINK, 0120777);
    link.setLinkName(victim.toString());
    TarArchiveEntry file = entry("top/a/pwned", TarConstants.LF_NORMAL, 0100644);
    file.setSize(1);
    byte[] tar = hostile(entry("top/", TarConstants.LF_DIR, 040755),
        entry("top/a/", TarConstants.LF_DIR, 040755), link,
        entry("top/a/", TarConstants.LF_DIR, 040777), file);

    assertThatThrownBy(() -> TarStreams.extract(new ByteArrayInputStream(tar), tmp.resolve("t")))
        .isInstanceOf(IOException.class);
    assertThat(victim.resolve("pwned")).doesNotExist();
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(victim))).isEqualTo("rwx------");
  }
}
