package io.micropod.internal.files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class FileTreesTest {
  @TempDir Path tmp;

  @Test
  void emptiesReadOnlyDirectoriesAndNeverFollowsSymlinks() throws IOException {
    Path outside = Files.createDirectory(tmp.resolve("outside"));
    Files.writeString(outside.resolve("keep"), "k");
    Path ro = Files.createDirectory(tmp.resolve("ro"));
    Files.writeString(ro.resolve("f"), "x");
    Files.createSymbolicLink(ro.resolve("out"), outside);
    Files.createDirectory(ro.resolve("sub"));
    Files.setPosixFilePermissions(ro.resolve("sub"), PosixFilePermissions.fromString("r-xr-xr-x"));
    Files.setPosixFilePermissions(ro.resolve("f"), PosixFilePermissions.fromString("r--r--r--"));
    Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("r-xr-xr-x"));

    FileTrees.deleteTree(ro);

    assertThat(ro).doesNotExist();
    assertThat(outside.resolve("keep")).hasContent("k");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(outside)))
        .as("the mode of the link's target is untouched").isEqualTo("rwxr-xr-x");
  }

  @Test
  void aRootThatIsASymlinkIsUnlinkedNotFollowed() throws IOException {
    Path target = Files.createDirectory(tmp.resolve("target"));
    Files.writeString(target.resolve("keep"), "k");
    Path link = Files.createSymbolicLink(tmp.resolve("link"), target);

    FileTrees.deleteTree(link);

    assertThat(Files.exists(link, LinkOption.NOFOLLOW_LINKS)).isFalse();
    assertThat(target.resolve("keep")).hasContent("k");
  }

  @Test
  void anAbsentRootAndAPlainFileAreFine() throws IOException {
    assertThatCode(() -> FileTrees.deleteTree(tmp.resolve("never-was"))).doesNotThrowAnyException();
    Path file = Files.writeString(tmp.resolve("file"), "x");
    FileTrees.deleteTree(file);
    assertThat(file).doesNotExist();
  }
}
