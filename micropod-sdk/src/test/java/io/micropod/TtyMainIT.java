package io.micropod;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.OutputStream;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The container's own process on a terminal ({@link MicroPodSpec.Builder#tty}) and with an open
 * stdin ({@link MicroPodSpec.Builder#stdinOpen}), reached through {@link MicroPod#attach()}, on
 * real pods (QEMU, agent, runc run under the guest's micropod-tty helper).
 */
class TtyMainIT {
  private static final Duration DEADLINE = Duration.ofSeconds(120);
  private static final Pattern SIZE = Pattern.compile("size=(\\d+) (\\d+)=");

  @Test
  void aMainProcessOnATerminalHasItsSizeFollowsResizesTakesCtrlCAndReportsItsExitCode() throws Exception {
    // tag::tty-main[]
    try (MicroPod pod = MicroPod.builder()
        .image(TestImages.busybox())
        .command("sh")
        .tty(TerminalSize.of(100, 30)) // docker run -t
        .stdinOpen(true)               // docker run -i
        .start()) {
      ExecProcess main = pod.attach(); // its terminal: output from the first byte, keys, resizes
      main.stdin().write("echo \"size=$(stty size)=\"\r".getBytes(UTF_8)); // size=30 100=
      // end::tty-main[]
      TerminalScreen out = new TerminalScreen(main.stdout(), DEADLINE);
      Matcher first = out.await(SIZE, 0);
      assertThat(first.group(1) + " " + first.group(2)).isEqualTo("30 100");
      main.resize(132, 50); // TIOCSWINSZ: the shell gets SIGWINCH
      main.stdin().write("echo \"size=$(stty size)=\"\r".getBytes(UTF_8));
      Matcher second = out.await(SIZE, first.end());
      assertThat(second.group(1) + " " + second.group(2)).isEqualTo("50 132");

      OutputStream keys = main.stdin();
      keys.write("echo \"go-$((1+1))\"; sleep 1000\r".getBytes(UTF_8));
      Matcher go = out.await(Pattern.compile("go-2"), second.end());
      long deadline = System.nanoTime() + DEADLINE.toNanos();
      String sleepRuns = "for p in /proc/[0-9]*; do "
          + "[ \"$(tr '\\0' ' ' < $p/cmdline 2>/dev/null)\" = 'sleep 1000 ' ] && exit 0; done; exit 1";
      while (pod.exec("sh", "-c", sleepRuns).exitCode() != 0) {
        assertThat(System.nanoTime()).as("sleep 1000 runs in the pod").isLessThan(deadline);
      }
      keys.write(3); // ^C: SIGINT to the terminal's foreground group (sleep), not to the shell
      keys.write("echo \"back-$((2+3))\"; exit 5\r".getBytes(UTF_8));
      // within the deadline, not after sleep's 1000 s: the ^C ended sleep, and the shell lived on
      out.await(Pattern.compile("back-5"), go.end());

      assertThat(pod.waitFor(Duration.ofMinutes(2))).hasValue(5);
      ExecResult r = main.await(DEADLINE).orElseThrow();
      assertThat(r.exitCode()).isEqualTo(5);
      // the log holds the terminal's output too (stdout and stderr merged, "\r\n" line ends)
      assertThat(pod.logs()).contains("back-5\r\n");
      // a second attach after the exit replays the output and the exit
      ExecResult again = pod.attach().await(DEADLINE).orElseThrow();
      assertThat(again.exitCode()).isEqualTo(5);
      assertThat(again.stdout()).contains("back-5");
    }
  }

  @Test
  void anOpenStdinWithoutTerminalStreamsBytesAndEofToTheMainProcess() throws Exception {
    try (MicroPod pod = MicroPod.builder()
        .image(TestImages.busybox())
        .command("sh", "-c", "[ -t 0 ] || echo no-tty; while read l; do echo \"got:$l\"; done; echo eof; exit 4")
        .stdinOpen(true)
        .start()) {
      ExecProcess main = pod.attach();
      main.stdin().write("a\nb\n".getBytes(UTF_8));
      main.stdin().close(); // EOF
      ExecResult r = main.await(DEADLINE).orElseThrow();
      assertThat(r.exitCode()).isEqualTo(4);
      assertThat(r.stdout()).isEqualTo("no-tty\ngot:a\ngot:b\neof\n");
      assertThatThrownBy(() -> main.resize(80, 24)).isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("without a TTY");
    }
  }

  @Test
  void aTerminalWithoutStdinReadsEofAtOnce() throws Exception {
    try (MicroPod pod = MicroPod.builder()
        .image(TestImages.busybox())
        .command("sh", "-c", "tty; stty size; read l || echo read-eof; exit 6")
        .tty(true)
        .start()) {
      assertThat(pod.waitFor(Duration.ofMinutes(2))).hasValue(6);
      assertThat(pod.logs()).contains("/dev/pts/0\r\n24 80\r\nread-eof\r\n");
      ExecProcess main = pod.attach();
      assertThat(main.await(DEADLINE).orElseThrow().exitCode()).isEqualTo(6);
    }
  }
}
