package io.micropod.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Runs every example the way its main() does (without System.exit) and checks what it did. */
class ExamplesIT {
  private static final String IMAGE = "oci:" + Hello.Samples.busyboxLayout();

  @Test
  void helloPrintsTheContainersOutputAndTimings() {
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    PrintStream original = System.out;
    int exit;
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      exit = Hello.run(IMAGE, List.of("sh", "-c", "echo hello from $(hostname); exit 4"));
    } finally {
      System.setOut(original);
    }
    String out = captured.toString(StandardCharsets.UTF_8);

    assertThat(exit).isEqualTo(4);
    assertThat(out).containsPattern("hello from [0-9a-f]{12}\n")
        .containsPattern("pod [0-9a-f]{12} exited with 4")
        .contains("boot timings: image ");
  }

  @Test
  void execAndFilesShowsEnvExitCodesPrivateFilesAndCopies() throws Exception {
    assertThat(ExecAndFiles.run(IMAGE)).containsExactly(
        "env:     mode=demo cwd=/tmp",
        "failing: exit 3, stderr oops",
        "file:    written by exec 1",
        "missing: exit 127",
        "copied:  COPIED IN FROM THE HOST");
  }

  @Test
  void sharedDirectoriesAreReadOnlyOrWrittenThroughToTheHost() throws Exception {
    assertThat(SharedDirectories.run(IMAGE)).containsExactly(
        "read-only: exit 1, sh: can't create /input/words.txt: Read-only file system",
        "on host:   SHARED FROM THE HOST");
  }

  @Test
  void webServerIsReachedFromTheHostThroughItsMappedPort() throws Exception {
    List<String> printed = WebServer.run(IMAGE);

    assertThat(printed.get(0)).matches("GET http://127\\.0\\.0\\.1:[0-9]+/index\\.html -> 200 hello");
    assertThat(printed.subList(1, printed.size())).satisfiesExactly(
        l -> assertThat(l).isEqualTo("QUIET WORDS"),
        l -> assertThat(l).isEqualTo("65534"),
        l -> assertThat(l).isEqualTo("copied back: <p>copied in</p>"),
        l -> assertThat(l).matches("container: [0-9]+ KiB of 131072 KiB, [0-9]+ ms CPU; VM: [0-9]+ MiB available"),
        l -> assertThat(l).matches("httpd exited with [0-9]+"));
  }

  @Test
  void sandboxKillsCodeThatRunsPastItsDeadlineAndHasNoNetwork() {
    Sandbox.Outcome o = Sandbox.run(IMAGE,
        "ls /sys/class/net; grep MemTotal /proc/meminfo; echo spinning; while :; do :; done",
        Duration.ofSeconds(5));

    assertThat(o.timedOut).isTrue();
    // only loopback: no network interface to reach the host or the internet
    assertThat(o.output).startsWith("lo\nMemTotal:").contains("spinning");
  }
}
