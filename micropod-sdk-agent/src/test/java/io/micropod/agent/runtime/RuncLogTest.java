package io.micropod.agent.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RuncLogTest {
  @Test
  void lastErrorEntryIsTheMessage() {
    String log =
        "{\"level\":\"warning\",\"msg\":\"w\",\"time\":\"t\"}\n"
            + "not json\n"
            + "{\"level\":\"error\",\"msg\":\"first\",\"time\":\"t\"}\n"
            + "{\"level\":\"error\",\"msg\":\"runc run failed: unable to start container process:"
            + " exec: \\\"nope\\\": executable file not found in $PATH\",\"time\":\"t\"}\n";
    assertThat(RuncLog.lastErrorIn(log)).isEqualTo(
        "runc run failed: unable to start container process: exec: \"nope\":"
            + " executable file not found in $PATH");
  }

  @Test
  void noErrorEntryMeansNoRuntimeFailure(@TempDir Path dir) throws Exception {
    assertThat(RuncLog.lastErrorIn("{\"level\":\"info\",\"msg\":\"x\"}\n")).isNull();
    assertThat(RuncLog.lastError(dir.resolve("absent.log"))).isNull();
    Path empty = Files.createFile(dir.resolve("runc.log"));
    assertThat(RuncLog.lastError(empty)).isNull();
  }

  @Test
  void notFoundMessagesAreRecognised() {
    assertThat(RuncLog.isNotFound("exec: \"x\": executable file not found in $PATH")).isTrue();
    assertThat(RuncLog.isNotFound("exec: \"/x\": stat /x: no such file or directory")).isTrue();
    assertThat(RuncLog.isNotFound("exec: \"/\": permission denied")).isFalse();
    // crun
    assertThat(RuncLog.isNotFound("executable file `x` not found in $PATH: No such file or directory")).isTrue();
    assertThat(RuncLog.isNotFound("exec `/x`: No such file or directory")).isTrue();
    assertThat(RuncLog.isNotFound("exec `/`: Permission denied")).isFalse();
  }
}
