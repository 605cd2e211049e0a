package io.micropod.agent.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.micropod.agent.Poll;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The exec helper's protocol, stdio and failure handling with the real micropod-exec (compiled
 * here with gcc) and a shell script standing in for {@code crun exec --detach --preserve-fds 2}:
 * it starts the helper from descriptor 4 as the runtime would, without a container (the
 * confinement is {@code ContainerIT}'s and the SDK ITs' business).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ExecHelperTest {
  private static Path binary;

  @TempDir Path dir;
  private ExecHelper helper;
  private Path pidFile;

  @BeforeAll
  static void compile(@TempDir Path out) throws Exception {
    Path gcc = Path.of("/usr/bin/gcc");
    assumeTrue(Files.isExecutable(gcc), "no gcc to compile rootfs-builder/guest/micropod-exec.c");
    binary = out.resolve("micropod-exec");
    Process p = new ProcessBuilder(gcc.toString(), "-std=gnu11", "-O2", "-Wall", "-Wextra",
        "-Werror", "-static", "-o", binary.toString(),
        Path.of("../rootfs-builder/guest/micropod-exec.c").toAbsolutePath().normalize().toString())
        .redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(output).isZero();
  }

  @BeforeEach
  void startHelper() throws Exception {
    helper = start(Duration.ofSeconds(10));
  }

  private ExecHelper start(Duration replyTimeout) throws Exception {
    pidFile = dir.resolve("helper.pid");
    Files.deleteIfExists(pidFile);
    // what `crun exec --detach --pid-file P --preserve-fds 2` does for us: the helper runs from
    // descriptor 4 with its socket on 3, the runtime writes its pid and exits
    List<String> argv = new ArrayList<>(List.of(binary.toString(), "broker", pidFile.toString(),
        "--", "sh", "-c", "/proc/self/fd/4 serve < /dev/null & echo $! > \"$0\"",
        pidFile.toString()));
    return ExecHelper.start(argv, dir.resolve("helper.err"), "test helper", Duration.ofSeconds(30),
        replyTimeout);
  }

  @AfterEach
  void stopHelper() {
    if (helper != null) {
      helper.close();
    }
  }

  private static ProcessConfig process(String... argv) {
    return ProcessConfig.of(List.of(argv), List.of("PATH=/usr/bin:/bin", "FOO=bar"), "/tmp", "", false);
  }

  private record Result(int exit, String out, String err) {}

  private static Result run(Process p) throws Exception {
    p.getOutputStream().close();
    String out;
    String err;
    try (InputStream o = p.getInputStream(); InputStream e = p.getErrorStream()) {
      out = new String(o.readAllBytes(), StandardCharsets.UTF_8);
      err = new String(e.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertThat(p.onExit().get(30, TimeUnit.SECONDS)).isSameAs(p);
    return new Result(p.exitValue(), out, err);
  }

  private int helperPid() throws IOException {
    return Integer.parseInt(Files.readString(pidFile).trim());
  }

  @Test
  void execRunsTheCommandWithItsEnvCwdAndStdioAndReportsItsExitCode() throws Exception {
    Result r = run(helper.exec(
        process("sh", "-c", "echo $FOO; pwd; echo home=$HOME; echo oops >&2; exit 7"), false));
    assertThat(r.out()).isEqualTo("bar\n/tmp\nhome=" + System.getProperty("user.home") + "\n");
    assertThat(r.err()).isEqualTo("oops\n");
    assertThat(r.exit()).isEqualTo(7);
  }

  @Test
  void stdoutIsReadableAsAChannelForADirectPump() throws Exception {
    ExecHelper.HelperProcess p = (ExecHelper.HelperProcess) helper.exec(
        process("sh", "-c", "printf abc; printf def; echo err >&2; exit 3"), false);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (FileChannel stdout = p.stdoutChannel()) {
      ByteBuffer b = ByteBuffer.allocateDirect(1 << 20);
      while (stdout.read(b.clear()) >= 0) {
        b.flip();
        while (b.hasRemaining()) {
          out.write(b.get());
        }
      }
    }
    assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("abcdef");
    assertThat(new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("err\n");
    assertThat(p.onExit().get(30, TimeUnit.SECONDS).exitValue()).isEqualTo(3);
  }

  @Test
  void stdinIsAPipeWhenAttachedAndDevNullOtherwise() throws Exception {
    Process cat = helper.exec(process("cat"), true);
    cat.getOutputStream().write("abc".getBytes(StandardCharsets.UTF_8));
    assertThat(run(cat).out()).isEqualTo("abc");
    assertThat(run(helper.exec(process("sh", "-c", "readlink /proc/self/fd/0"), false)).out())
        .isEqualTo("/dev/null\n");
  }

  @Test
  void theProcessIsASessionLeaderWithNoSignalBlockedAsCrunExecMakesIt() throws Exception {
    Result r = run(helper.exec(process("sh", "-c",
        "echo $$; cut -d' ' -f6 /proc/$$/stat"), false));
    String[] lines = r.out().split("\n");
    assertThat(lines[1]).as("session id = pid").isEqualTo(lines[0]);
    // the exec'd program itself (a shell blocks signals while it forks: not it); SigIgn is
    // ContainerIT's (against the runtime's: glibc refuses to reset signals 32 and 33 in both)
    assertThat(run(helper.exec(process("grep", "^SigBlk", "/proc/self/status"), false)).out())
        .isEqualTo("SigBlk:\t0000000000000000\n");
  }

  @Test
  void aMissingExecutableExits127WithCrunsMessage() throws Exception {
    Result r = run(helper.exec(process("nope"), false));
    assertThat(r.exit()).isEqualTo(127);
    assertThat(r.err()).isEqualTo(
        "executable file `nope` not found in $PATH: No such file or directory\n");
    assertThat(RuncLog.isNotFound(r.err())).isTrue();
    assertThat(run(helper.exec(process("/tmp"), false)).exit()).isEqualTo(126);
  }

  @Test
  void destroySendsSigtermToTheProcess() throws Exception {
    Process sleep = helper.exec(process("sleep", "300"), false);
    sleep.destroy();
    assertThat(run(sleep).exit()).isEqualTo(128 + 15);
  }

  @Test
  void manyExecsRunAtOnce() throws Exception {
    List<Process> ps = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      ps.add(helper.exec(process("sh", "-c", "echo " + i), false));
    }
    for (int i = 0; i < 20; i++) {
      assertThat(run(ps.get(i)).out()).isEqualTo(i + "\n");
    }
  }

  @Test
  void theHelperRunsFromASealedCopyNotTheGuestsBinary() throws Exception {
    Path exe = Path.of("/proc/" + helperPid() + "/exe");
    assertThat(Files.readSymbolicLink(exe).toString()).startsWith("/memfd:micropod-exec");
    // the copy cannot be written (CVE-2019-5736 overwrote runc's binary through /proc/pid/exe)
    assertThatThrownBy(() -> Files.write(exe, new byte[] {0}, java.nio.file.StandardOpenOption.WRITE))
        .isInstanceOf(IOException.class);
  }

  @Test
  void aKilledHelperEndsTheRunningExecWith126AndItsProcessAndRefusesTheNext() throws Exception {
    Process sleep = helper.exec(process("sh", "-c", "echo started; exec sleep 300"), false);
    InputStream out = sleep.getInputStream();
    assertThat(new String(out.readNBytes(8), StandardCharsets.UTF_8)).isEqualTo("started\n");
    // what a hostile process in the container can do: kill the helper
    new ProcessBuilder("kill", "-9", Integer.toString(helperPid())).start().waitFor();
    assertThat(sleep.onExit().get(30, TimeUnit.SECONDS).exitValue()).isEqualTo(126);
    assertThat(((ExecHelper.HelperProcess) sleep).failure()).contains("went away");
    // the exec's process died with the helper (parent-death signal): its stdout ends
    assertThat(out.read()).isEqualTo(-1);
    Poll.until("the helper is seen gone", Duration.ofSeconds(30), () -> !helper.alive());
    assertThatThrownBy(() -> helper.exec(process("true"), false))
        .isInstanceOf(ExecHelper.Unavailable.class).hasMessageContaining("gone");
  }

  @Test
  void aStoppedHelperIsGivenUpWithinTheReplyTimeoutAndNothingRunsLater() throws Exception {
    helper.close();
    helper = start(Duration.ofMillis(1500));
    Path marker = dir.resolve("ran");
    new ProcessBuilder("kill", "-STOP", Integer.toString(helperPid())).start().waitFor();
    long t0 = System.nanoTime();
    assertThatThrownBy(() -> helper.exec(process("touch", marker.toString()), false))
        .isInstanceOf(ExecHelper.Unavailable.class).hasMessageContaining("no start reply");
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
    // the helper was killed before the caller falls back: the request can never run late
    Poll.until("the stopped helper is killed", Duration.ofSeconds(10),
        () -> !Files.exists(Path.of("/proc/" + pidQuietly())) || zombie(pidQuietly()));
    assertThat(Files.exists(marker)).isFalse();
    assertThat(helper.alive()).isFalse();
  }

  private int pidQuietly() {
    try {
      return helperPid();
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  private static boolean zombie(int pid) {
    try {
      return Files.readString(Path.of("/proc/" + pid + "/stat")).contains(") Z ");
    } catch (IOException e) {
      return true;
    }
  }

  @Test
  void aRuntimeThatFailsMakesTheHelperUnavailable() {
    List<String> argv = List.of(binary.toString(), "broker", dir.resolve("p").toString(), "--",
        "sh", "-c", "exit 3");
    assertThatThrownBy(() -> ExecHelper.start(argv, dir.resolve("e"), "test helper",
        Duration.ofSeconds(30)))
        .isInstanceOf(ExecHelper.Unavailable.class).hasMessageContaining("exited with 3");
  }

  @Test
  void waitStatusesBecomeJavaExitValues() {
    assertThat(ExecHelper.exitValue(7 << 8)).isEqualTo(7);
    assertThat(ExecHelper.exitValue(9)).isEqualTo(137);
    assertThat(ExecHelper.exitValue(0)).isZero();
  }
}
