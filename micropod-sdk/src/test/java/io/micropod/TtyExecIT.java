package io.micropod;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Exec with a TTY on one real pod (QEMU, agent, runc, the guest's micropod-tty helper), shared by
 * the tests: window size and resize, merged output, isatty, stdin typed into a shell, CR/LF.
 */
class TtyExecIT {
  /** Generous: every exec is a runc exec under TCG on a loaded 2-core host. */
  private static final Duration DEADLINE = Duration.ofSeconds(120);
  /** A size the shell prints; the echoed command line only holds the unexpanded text. */
  private static final Pattern SIZE = Pattern.compile("size=(\\d+) (\\d+)=");

  private static MicroPod pod;

  @BeforeAll
  static void startPod() {
    pod = MicroPod.builder()
        .image(TestImages.busybox())
        .command("sh", "-c", "while true; do sleep 1; done")
        .start();
  }

  @AfterAll
  static void closePod() {
    if (pod != null) {
      pod.close();
      assertThat(Leaks.of(pod.id())).isEmpty();
    }
  }

  @Test
  void aTtyExecReportsItsWindowSizeAndTheNewSizeAfterResize() throws Exception {
    // tag::tty-start[]
    ExecProcess sh = pod.execStreaming(ExecSpec.builder("sh").tty(100, 30).build());
    InputStream screen = sh.stdout(); // what the terminal shows, live, from the first byte
    OutputStream keys = sh.stdin();   // typed into the terminal
    keys.write("echo \"size=$(stty size)=\"\r".getBytes(UTF_8)); // the shell prints size=30 100=
    keys.flush();
    // end::tty-start[]
    TerminalScreen out = new TerminalScreen(screen, DEADLINE);
    Matcher first = out.await(SIZE, 0);
    assertThat(first.group(1) + " " + first.group(2)).isEqualTo("30 100");

    // tag::tty-resize[]
    sh.resize(132, 50); // TIOCSWINSZ on the terminal: the shell gets SIGWINCH
    keys.write("echo \"size=$(stty size)=\"\r".getBytes(UTF_8)); // size=50 132=
    keys.write("echo hi-$((40+2)); exit 3\r".getBytes(UTF_8));
    keys.flush();
    ExecResult r = sh.await(Duration.ofMinutes(2)).orElseThrow();
    // r.exitCode() is 3; r.stdout() is everything the terminal showed, "\r\n" line ends
    // end::tty-resize[]
    Matcher second = out.await(SIZE, first.end());
    assertThat(second.group(1) + " " + second.group(2)).isEqualTo("50 132");
    assertThat(r.exitCode()).isEqualTo(3);
    // the terminal turns the shell's "\n" into "\r\n" (ONLCR); stdin reached the shell
    assertThat(r.stdout()).contains("hi-42\r\n");
    assertThat(out.text()).isEqualTo(r.stdout());
    sh.resize(10, 10); // after the exit: a no-op
  }

  @Test
  void outputIsMergedOnStdoutAndEveryStreamIsATerminal() {
    ExecResult r = pod.exec(ExecSpec.builder("sh", "-c",
            "[ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-tty; echo to-err >&2; echo to-out; stty size")
        .tty(TerminalSize.DEFAULT).build());

    assertThat(r.exitCode()).isZero();
    assertThat(r.stdout()).isEqualTo("all-tty\r\nto-err\r\nto-out\r\n24 80\r\n");
    assertThat(r.stderr()).isEmpty();
  }

  @Test
  void withoutTtyNothingIsATerminalAndResizeIsRefused() throws Exception {
    ExecResult r = pod.exec("sh", "-c", "[ -t 1 ] && echo tty || echo no-tty; echo err >&2");
    assertThat(r.stdout()).isEqualTo("no-tty\n");
    assertThat(r.stderr()).isEqualTo("err\n");

    ExecProcess cat = pod.execStreaming(ExecSpec.of("cat"));
    assertThatThrownBy(() -> cat.resize(80, 24))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("without a TTY");
    cat.stdin().close();
    assertThat(cat.await(DEADLINE).orElseThrow().exitCode()).isZero();
  }

  @Test
  void stdinBytesAreTypedAndClosingStdinTypesEof() {
    // the terminal echoes the typed line, cat prints it; then EOF (Ctrl-D) ends cat
    ExecResult r = pod.exec(ExecSpec.builder("cat").tty(80, 24).stdin("abc\n".getBytes(UTF_8)).build());
    assertThat(r.exitCode()).isZero();
    assertThat(r.stdout()).isEqualTo("abc\r\nabc\r\n");

    // no stdin at all: EOF at once, like /dev/null without a TTY
    ExecResult none = pod.exec(ExecSpec.builder("cat").tty(80, 24).build());
    assertThat(none.exitCode()).isZero();
    assertThat(none.stdout()).isEmpty();
  }

  @Test
  void ctrlCInterruptsTheForegroundCommand() throws Exception {
    ExecProcess sh = pod.execStreaming(ExecSpec.builder("sh").tty(80, 24).build());
    TerminalScreen out = new TerminalScreen(sh.stdout(), DEADLINE);
    OutputStream in = sh.stdin();
    in.write("echo \"go-$((1+1))\"; sleep 1000\r".getBytes(UTF_8));
    in.flush();
    Matcher go = out.await(Pattern.compile("go-2"), 0);
    // sleep runs (exec'd after the shell made its group the terminal's foreground): else the
    // ^C could reach the shell between the two commands, and sleep would then start anyway
    long deadline = System.nanoTime() + DEADLINE.toNanos();
    String sleepRuns = "for p in /proc/[0-9]*; do "
        + "[ \"$(tr '\\0' ' ' < $p/cmdline 2>/dev/null)\" = 'sleep 1000 ' ] && exit 0; done; exit 1";
    while (pod.exec("sh", "-c", sleepRuns).exitCode() != 0) {
      assertThat(System.nanoTime()).as("sleep 1000 runs in the pod").isLessThan(deadline);
    }
    in.write(3); // ^C: SIGINT to the foreground process group (sleep)
    in.write("exit 7\r".getBytes(UTF_8));
    in.flush();
    ExecResult r = sh.await(DEADLINE).orElseThrow();
    assertThat(r.exitCode()).isEqualTo(7);
    assertThat(r.stdout().substring(go.end())).contains("^C");
  }
}
