package io.micropod.agent.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RuncVersionTest {
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();

  @AfterEach
  void stop() {
    timer.shutdownNow();
  }

  @Test
  void recordedVersionIsReadWithoutRunningTheBinary(@TempDir Path dir) throws Exception {
    Path versions = Files.createDirectory(dir.resolve("version.d"));
    Files.writeString(versions.resolve("runc"), "runc version 1.1.5+ds1\ncommit: x\n");
    // The binary does not exist: running it would fail.
    Runc runc = new Runc(dir.resolve("bin/runc"), null, new Commands(timer));
    assertThat(runc.version(versions)).isEqualTo("runc version 1.1.5+ds1");
  }

  @Test
  void withoutARecordedVersionTheBinaryIsAsked(@TempDir Path dir) throws Exception {
    Path versions = Files.createDirectory(dir.resolve("version.d"));
    Files.writeString(versions.resolve("runc"), "  \n"); // empty: ignored
    Path binary = Files.createDirectory(dir.resolve("bin")).resolve("runc");
    Files.writeString(binary, "#!/bin/sh\necho \"asked $1\"\necho second line\n");
    Files.setPosixFilePermissions(binary, PosixFilePermissions.fromString("rwx------"));
    Runc runc = new Runc(binary, null, new Commands(timer));
    assertThat(runc.version(versions)).isEqualTo("asked --version");
    assertThat(runc.version(dir.resolve("absent"))).isEqualTo("asked --version");
  }
}
