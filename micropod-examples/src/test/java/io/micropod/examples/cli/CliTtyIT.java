package io.micropod.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.TerminalScreen;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code micropod run -it} under a real pseudo-terminal: util-linux {@code script} gives the CLI
 * one (this test types into it and reads its screen), {@code stty} sets and changes its size.
 */
class CliTtyIT {
  private static final Duration DEADLINE = Duration.ofSeconds(180);
  private static final Pattern SIZE = Pattern.compile("size=(\\d+) (\\d+)=");

  @Test
  void runItGivesTheContainerThisTerminalsSizeFollowsResizesDeliversCtrlCAndExitsWithItsCode(@TempDir Path dir)
      throws Exception {
    Path ttyName = dir.resolve("tty");
    String name = "tty-" + UUID.randomUUID().toString().substring(0, 8);
    ProcessBuilder cli = CliIT.cli("run", "-it", "--rm", "--name", name, CliIT.IMAGE, "sh");
    String inner = "tty > " + quote(ttyName.toString()) + "; stty rows 30 cols 100; exec "
        + cli.command().stream().map(CliTtyIT::quote).collect(Collectors.joining(" "));
    ProcessBuilder pb = new ProcessBuilder("script", "-qefc", inner, "/dev/null");
    pb.environment().putAll(cli.environment());
    pb.redirectErrorStream(true);
    Process script = pb.start();
    try {
      TerminalScreen screen = new TerminalScreen(script.getInputStream(), DEADLINE);
      OutputStream keys = script.getOutputStream();
      int at = screen.await(Pattern.compile("/ # "), 0).end(); // the container's shell prompt

      type(keys, "echo \"size=$(stty size)=\"\r");
      Matcher first = screen.await(SIZE, at);
      assertThat(first.group(1) + " " + first.group(2)).as("the pod's terminal has this one's size").isEqualTo("30 100");

      // resize this terminal: the CLI gets SIGWINCH and resizes the container's
      Process stty = new ProcessBuilder("stty", "-F", Files.readString(ttyName).strip(), "rows", "50", "cols", "132")
          .redirectErrorStream(true).start();
      assertThat(stty.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(stty.exitValue()).as(new String(stty.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).isZero();
      at = first.end();
      String size;
      long deadline = System.nanoTime() + DEADLINE.toNanos();
      do { // the resize travels on its own: look until the shell sees it
        assertThat(System.nanoTime()).as("the container's terminal became 50x132").isLessThan(deadline);
        type(keys, "echo \"size=$(stty size)=\"\r");
        Matcher m = screen.await(SIZE, at);
        size = m.group(1) + " " + m.group(2);
        at = m.end();
      } while (!size.equals("50 132"));

      type(keys, "echo \"go-$((1+1))\"; sleep 1000\r");
      at = screen.await(Pattern.compile("go-2"), at).end();
      String sleepRuns = "for p in /proc/[0-9]*; do "
          + "[ \"$(tr '\\0' ' ' < $p/cmdline 2>/dev/null)\" = 'sleep 1000 ' ] && exit 0; done; exit 1";
      while (CliIT.run("exec", name, "sh", "-c", sleepRuns).exit != 0) {
        assertThat(System.nanoTime()).as("sleep 1000 runs in the pod").isLessThan(deadline);
      }
      keys.write(3); // Ctrl-C on this terminal: raw mode hands it to the container's terminal
      type(keys, "echo \"back-$((2+3))\"; exit 5\r");
      // within the deadline rather than after 1000 s: the ^C ended sleep, and the shell (and pod) lived on
      screen.await(Pattern.compile("back-5"), at);

      assertThat(script.waitFor(DEADLINE.toSeconds(), TimeUnit.SECONDS)).as("micropod run -it ended").isTrue();
      assertThat(script.exitValue()).as(screen.snapshot()).isEqualTo(5);
      assertThat(CliIT.run("list", "-q").out.lines()).as("--rm removed the pod").noneMatch(l -> l.contains(name));
    } finally {
      script.destroyForcibly();
    }
  }

  @Test
  void runIStreamsStdinToTheContainerUntilEofWithoutATerminal() throws Exception {
    CliIT.Result r = CliIT.run("a\nb\n".getBytes(StandardCharsets.UTF_8), "run", "-i", "--rm", CliIT.IMAGE,
        "sh", "-c", "[ -t 0 ] || echo no-tty; while read l; do echo \"got:$l\"; done; echo eof >&2; exit 4");
    assertThat(r.exit).as(r.err).isEqualTo(4);
    assertThat(r.out).isEqualTo("no-tty\ngot:a\ngot:b\n");
    assertThat(r.err).isEqualTo("eof\n");
  }

  private static void type(OutputStream keys, String text) throws IOException {
    keys.write(text.getBytes(StandardCharsets.UTF_8));
    keys.flush();
  }

  private static String quote(String s) {
    return "'" + s.replace("'", "'\\''") + "'";
  }
}
