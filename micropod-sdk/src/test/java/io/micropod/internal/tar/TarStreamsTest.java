package io.micropod.internal.tar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;
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
}
