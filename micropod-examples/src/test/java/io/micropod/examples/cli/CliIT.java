package io.micropod.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The real CLI as a separate process: bin/micropod and target/micropod-cli.jar. */
class CliIT {
  private static final Path ROOT = Path.of(System.getProperty("micropod.repo.root", "..")).toAbsolutePath().normalize();
  private static final Path LAUNCHER = ROOT.resolve("bin/micropod");
  private static final String IMAGE = "oci:" + io.micropod.examples.HelloAccess.busyboxLayout();
  private static final Pattern POD_ID = Pattern.compile("micropod-([0-9a-f]{12})");

  /** A finished CLI process. */
  static final class Result {
    final int exit;
    final String out;
    final String err;

    Result(int exit, String out, String err) {
      this.exit = exit;
      this.out = out;
      this.err = err;
    }
  }

  private static ProcessBuilder cli(String... args) {
    List<String> cmd = new ArrayList<>();
    // env --default-signal: the JVM must see SIGINT even when this test runs in a background job
    cmd.add("env");
    cmd.add("--default-signal=INT");
    cmd.add(LAUNCHER.toString());
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().put("MICROPOD_HOME", io.micropod.examples.HelloAccess.home().toString());
    pb.environment().remove("MICROPOD_DEBUG");
    return pb;
  }

  private static Result run(String... args) throws Exception {
    Process p = cli(args).start();
    CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> readAll(p.getInputStream()));
    String err = readAll(p.getErrorStream());
    assertThat(p.waitFor(300, TimeUnit.SECONDS)).as("micropod %s ended", List.of(args)).isTrue();
    return new Result(p.exitValue(), out.get(), err);
  }

  private static String readAll(java.io.InputStream in) {
    try {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void runPassesEnvAndMemoryAndExitsWithTheContainersExitCode() throws Exception {
    Result r = run("run", "--rm", "-e", "GREETING=hi there", "--memory", "640", IMAGE,
        "sh", "-c", "echo $GREETING; echo to-stderr >&2; grep MemTotal /proc/meminfo; exit 3");

    assertThat(r.exit).isEqualTo(3);
    assertThat(r.out).startsWith("hi there\nto-stderr\nMemTotal:");
    assertThat(r.err).isEmpty();
  }

  @Test
  void errorsAreOneLineWithANonZeroExitStatus() throws Exception {
    Result badRef = run("run", "oci:/nonexistent/layout", "true");
    assertThat(badRef.exit).isEqualTo(125);
    assertThat(badRef.err.lines()).hasSize(1);
    assertThat(badRef.err).startsWith("micropod: ").contains("/nonexistent/layout");

    Result unknownPod = run("stop", "0123456789ab");
    assertThat(unknownPod.exit).isEqualTo(2);
    assertThat(unknownPod.err).isEqualTo("micropod: not available yet: stopping a pod of another process (0123456789ab)\n");
  }

  @Test
  void theJarRunsWithoutTheLauncher() throws Exception {
    Path jar = Path.of(System.getProperty("micropod.cli.jar", "target/micropod-cli.jar"));
    Process p = new ProcessBuilder(javaBin(), "-jar", jar.toString(), "--help").start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();

    assertThat(p.exitValue()).isZero();
    assertThat(out).contains("Usage: micropod", "run", "list");
  }

  @Test
  void ctrlCStopsThePodAndRemovesItsFiles() throws Exception {
    Process p = cli("run", IMAGE, "sh", "-c", "echo started; exec sleep 600").start();
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    try {
      assertThat(out.readLine()).isEqualTo("started");   // blocks until the container runs
      String podId = podIdOf(p).orElseThrow(() -> new AssertionError("no VMM under the CLI process"));
      assertThat(Path.of("/tmp", "micropod-" + podId)).isDirectory();

      new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();

      assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("the CLI ended after SIGINT").isTrue();
      assertThat(p.exitValue()).isEqualTo(130);
      assertThat(new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8))
          .contains("micropod: stopping pod " + podId);
      assertThat(Path.of("/tmp", "micropod-" + podId)).doesNotExist();
      assertThat(io.micropod.examples.HelloAccess.home().resolve("pods").resolve(podId)).doesNotExist();
      assertThat(ProcessHandle.allProcesses().filter(ProcessHandle::isAlive)
          .filter(h -> h.info().commandLine().orElse("").contains(podId))).isEmpty();
    } finally {
      p.destroyForcibly();
    }
  }

  /** The pod id, from the command line of the QEMU process the CLI started. */
  private static Optional<String> podIdOf(Process p) {
    return p.descendants()
        .map(h -> h.info().commandLine().orElse(""))
        .map(POD_ID::matcher)
        .filter(Matcher::find)
        .map(m -> m.group(1))
        .findFirst();
  }

  private static String javaBin() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }
}
