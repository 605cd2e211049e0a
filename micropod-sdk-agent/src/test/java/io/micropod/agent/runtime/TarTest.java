package io.micropod.agent.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The agent's tar code against commons-compress (what the SDK writes and reads) and escapes. */
class TarTest {
  @TempDir Path tmp;

  private static byte[] commonsTar(String... nameTypeContent) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      for (int i = 0; i < nameTypeContent.length; i += 3) {
        String name = nameTypeContent[i];
        String type = nameTypeContent[i + 1];
        String content = nameTypeContent[i + 2];
        TarArchiveEntry e;
        if (type.equals("l")) {
          e = new TarArchiveEntry(name, TarArchiveEntry.LF_SYMLINK);
          e.setLinkName(content);
        } else if (type.equals("d")) {
          e = new TarArchiveEntry(name + "/");
          e.setMode(040755);
        } else {
          e = new TarArchiveEntry(name);
          e.setMode(0100640);
          e.setSize(content.getBytes(StandardCharsets.UTF_8).length);
        }
        tar.putArchiveEntry(e);
        if (type.equals("f")) {
          tar.write(content.getBytes(StandardCharsets.UTF_8));
        }
        tar.closeArchiveEntry();
      }
    }
    return bytes.toByteArray();
  }

  @Test
  void extractsWhatCommonsCompressWritesIncludingLongNames() throws IOException {
    Path root = Files.createDirectory(tmp.resolve("root"));
    String longName = "d/" + "x".repeat(150) + ".txt";
    byte[] tar = commonsTar("d", "d", "", longName, "f", "long", "d/a.txt", "f", "alpha",
        "d/link", "l", "a.txt");

    long n = Tar.extract(new ByteArrayInputStream(tar), root, root);

    assertThat(n).isEqualTo(4);
    assertThat(Files.readString(root.resolve(longName))).isEqualTo("long");
    assertThat(Files.readString(root.resolve("d/a.txt"))).isEqualTo("alpha");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(root.resolve("d/a.txt"))))
        .isEqualTo("rw-r-----");
    assertThat(Files.readSymbolicLink(root.resolve("d/link")).toString()).isEqualTo("a.txt");
  }

  @Test
  void whatItWritesCommonsCompressReads() throws IOException {
    Path src = Files.createDirectories(tmp.resolve("src/sub"));
    Files.writeString(src.resolve("f.txt"), "hello");
    Files.writeString(src.resolve("n".repeat(120)), "long");
    Files.createSymbolicLink(src.resolve("ln"), Path.of("/etc/passwd"));
    ByteArrayOutputStream out = new ByteArrayOutputStream();

    Tar.create(tmp.resolve("src"), "src", out);

    try (TarArchiveInputStream in = new TarArchiveInputStream(new ByteArrayInputStream(out.toByteArray()))) {
      java.util.Map<String, String> seen = new java.util.TreeMap<>();
      TarArchiveEntry e;
      while ((e = in.getNextEntry()) != null) {
        seen.put(e.getName(), e.isSymbolicLink() ? "->" + e.getLinkName()
            : e.isDirectory() ? "dir" : new String(in.readAllBytes(), StandardCharsets.UTF_8));
      }
      assertThat(seen).containsEntry("src/", "dir").containsEntry("src/sub/", "dir")
          .containsEntry("src/sub/f.txt", "hello")
          .containsEntry("src/sub/" + "n".repeat(120), "long")
          .containsEntry("src/sub/ln", "->/etc/passwd");
    }
  }

  @Test
  void modificationTimesSurviveBothWaysAsDockerCpKeepsThem() throws IOException {
    // what the SDK writes (commons-compress, from host files) keeps its times in the container
    java.nio.file.attribute.FileTime dirTime = java.nio.file.attribute.FileTime.fromMillis(1_500_000_000_000L);
    java.nio.file.attribute.FileTime fileTime = java.nio.file.attribute.FileTime.fromMillis(1_600_000_000_000L);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
      TarArchiveEntry d = new TarArchiveEntry("d/");
      d.setMode(040755);
      d.setModTime(dirTime);
      tar.putArchiveEntry(d);
      tar.closeArchiveEntry();
      TarArchiveEntry f = new TarArchiveEntry("d/f.txt");
      f.setMode(0100644);
      f.setSize(2);
      f.setModTime(fileTime);
      tar.putArchiveEntry(f);
      tar.write("hi".getBytes(StandardCharsets.UTF_8));
      tar.closeArchiveEntry();
    }
    Path root = Files.createDirectory(tmp.resolve("root"));

    Tar.extract(new ByteArrayInputStream(bytes.toByteArray()), root, root);

    // the directory's time is set after its file was written into it
    assertThat(Files.getLastModifiedTime(root.resolve("d"))).isEqualTo(dirTime);
    assertThat(Files.getLastModifiedTime(root.resolve("d/f.txt"))).isEqualTo(fileTime);

    // and what the agent writes carries the container's times to the SDK
    Files.createSymbolicLink(root.resolve("d/ln"), Path.of("f.txt"));
    java.nio.file.attribute.FileTime linkTime = java.nio.file.attribute.FileTime.fromMillis(1_400_000_000_000L);
    Files.getFileAttributeView(root.resolve("d/ln"), java.nio.file.attribute.BasicFileAttributeView.class,
        java.nio.file.LinkOption.NOFOLLOW_LINKS).setTimes(linkTime, null, null);
    Files.setLastModifiedTime(root.resolve("d"), dirTime);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Tar.create(root.resolve("d"), "d", out);
    java.util.Map<String, Long> times = new java.util.TreeMap<>();
    try (TarArchiveInputStream in = new TarArchiveInputStream(new ByteArrayInputStream(out.toByteArray()))) {
      TarArchiveEntry e;
      while ((e = in.getNextEntry()) != null) {
        times.put(e.getName(), e.getModTime().getTime());
      }
    }
    assertThat(times).containsEntry("d/", 1_500_000_000_000L)
        .containsEntry("d/f.txt", 1_600_000_000_000L)
        .containsEntry("d/ln", 1_400_000_000_000L);
  }

  @Test
  void symlinksInsideTheRootCannotRedirectWritesOutOfIt() throws IOException {
    Path root = Files.createDirectory(tmp.resolve("root"));
    Path outside = Files.createDirectory(tmp.resolve("outside"));
    Files.createSymbolicLink(root.resolve("abs"), outside);          // absolute, to the host
    Files.createSymbolicLink(root.resolve("rel"), Path.of("../../outside"));
    byte[] tar = commonsTar("abs/x", "f", "1", "rel/y", "f", "2");

    Tar.extract(new ByteArrayInputStream(tar), root, root);

    try (var s = Files.list(outside)) {
      assertThat(s).isEmpty();
    }
    // abs -> <tmp>/outside read inside the root; rel -> ../../outside clamps at the root
    assertThat(Files.readString(root.resolve("outside/y"))).isEqualTo("2");
    assertThat(Files.exists(root.resolve(outside.toString().substring(1) + "/x"))).isTrue();
  }

  @Test
  void dotDotEntriesAreRefused() throws IOException {
    Path root = Files.createDirectory(tmp.resolve("root"));
    byte[] tar = commonsTar("../evil", "f", "x");

    assertThatThrownBy(() -> Tar.extract(new ByteArrayInputStream(tar), root, root))
        .isInstanceOf(IOException.class).hasMessageContaining("escapes");
  }

  @Test
  void resolveClampsDotDotAndFollowsLinksInsideTheRoot() throws IOException {
    Path root = Files.createDirectory(tmp.resolve("root"));
    Files.createDirectories(root.resolve("a/b"));
    Files.createSymbolicLink(root.resolve("a/up"), Path.of("../../../.."));
    Files.createSymbolicLink(root.resolve("loop"), Path.of("loop"));

    assertThat(ContainerPaths.resolve(root, "/../../etc", true)).isEqualTo(root.resolve("etc"));
    assertThat(ContainerPaths.resolve(root, "/a/up/a/b", true)).isEqualTo(root.resolve("a/b"));
    assertThat(ContainerPaths.resolve(root, "/a/up", false)).isEqualTo(root.resolve("a/up"));
    assertThatThrownBy(() -> ContainerPaths.resolve(root, "/loop/x", true))
        .isInstanceOf(IOException.class).hasMessageContaining("symbolic links");
  }

  @Test
  @Timeout(10)
  void attributesAreNeverAppliedThroughASymlinkSwappedIn() throws IOException {
    // A container process can replace what extract() just created with a symlink before the
    // mode and owner are applied; the mode must then not land on the link's target (here a
    // file outside the container root).
    Path outsideFile = Files.writeString(tmp.resolve("agent-secret"), "s");
    Files.setPosixFilePermissions(outsideFile, PosixFilePermissions.fromString("rw-------"));
    Path root = Files.createDirectory(tmp.resolve("root"));
    Path swapped = Files.createSymbolicLink(root.resolve("f"), outsideFile);
    int uid = (Integer) Files.getAttribute(outsideFile, "unix:uid");
    int gid = (Integer) Files.getAttribute(outsideFile, "unix:gid");

    assertThatThrownBy(() -> Tar.attributes(swapped,
        new Tar.Entry("f", '0', 0777, uid, gid, 0, "", 0))).isInstanceOf(IOException.class);

    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(outsideFile)))
        .isEqualTo("rw-------");
  }
}
