package io.micropod.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.MicroPodSpec;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

/** Parsing and one-line errors of the CLI; nothing here boots a VM. */
class CliTest {
  private static final Map<String, String> HOST_ENV = Map.of("FROM_HOST", "host value");

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    return Main.execute(args, HOST_ENV, new PrintWriter(out, true), new PrintWriter(err, true));
  }

  private RunCommand parseRun(String... args) {
    CommandLine cl = Main.commandLine(new Main(HOST_ENV), new PrintWriter(out), new PrintWriter(err));
    CommandLine.ParseResult parsed = cl.parseArgs(args);
    return (RunCommand) parsed.subcommand().commandSpec().userObject();
  }

  @Test
  void runTakesDockerFlagsAndEverythingAfterTheImageIsTheCommand() {
    RunCommand run = parseRun("run", "--rm", "-e", "A=1", "--env", "B=x=y", "-e", "FROM_HOST",
        "-e", "UNSET", "-m", "1g", "--cpus", "2", "-w", "/tmp", "oci:/images/busybox:v1",
        "sh", "-c", "echo hi", "--rm");

    MicroPodSpec spec = run.spec();

    assertThat(run.rm).isTrue();
    assertThat(spec.image().toString()).isEqualTo("oci:/images/busybox:v1");
    assertThat(spec.command()).containsExactly("sh", "-c", "echo hi", "--rm");
    assertThat(spec.env()).containsExactly(Map.entry("A", "1"), Map.entry("B", "x=y"),
        Map.entry("FROM_HOST", "host value"));
    assertThat(spec.memoryMib()).isEqualTo(1024);
    assertThat(spec.cpus()).isEqualTo(2);
    assertThat(spec.workingDir()).hasValue("/tmp");
  }

  @Test
  void runDefaultsToTheImagesCommandAnd512MiB() {
    MicroPodSpec spec = parseRun("run", "oci:/images/busybox").spec();

    assertThat(spec.command()).isEmpty();
    assertThat(spec.memoryMib()).isEqualTo(512);
    assertThat(spec.cpus()).isEqualTo(1);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "run -d oci:/i                   | detached pods (-d); run in the foreground, without -d",
      "run --name web oci:/i           | pod names (--name)",
      "run -p 8080:80 oci:/i           | port mapping (-p 8080:80)",
      "run alpine:3.20 echo hi         | pulling images from registries (alpine:3.20); run a local OCI image layout: oci:/path/to/layout[:tag]",
      "list                            | listing pods (pods outlive their process only once pod state is kept on disk)",
      "ps -a                           | listing pods (pods outlive their process only once pod state is kept on disk)",
      "stop 0123abcd                   | stopping a pod of another process (0123abcd)",
      "logs -f web                     | logs of a pod of another process (web)",
      "exec web ls -l                  | exec in a pod of another process (web)",
      "pull alpine:3.20                | pulling images from registries (alpine:3.20)",
      "images                          | listing the image store",
      "rmi alpine:3.20                 | removing images from the store (alpine:3.20)",
  })
  void pendingFeaturesFailWithOneLineAndStatus2(String args, String what) {
    int code = run(args.trim().split(" +"));

    assertThat(code).isEqualTo(2);
    assertThat(err.toString()).isEqualTo("micropod: not available yet: " + what + "\n");
    assertThat(out.toString()).isEmpty();
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "run                      | micropod: Missing required parameter: 'IMAGE' (see 'micropod run --help')",
      "frob                     | micropod: Unmatched argument at index 0: 'frob' (see 'micropod --help')",
      "run --memory 64 oci:/i   | micropod: --memory must be 512 to 65536 MiB: 64",
      "run --memory lots oci:/i | micropod: invalid --memory \"lots\": use MiB, e.g. 512, 512m or 1g",
      "run --cpus 0 oci:/i      | micropod: --cpus must be at least 1: 0",
      "run -e =x oci:/i         | micropod: invalid --env \"=x\": use KEY=VALUE with a non-empty KEY",
      "run -w tmp oci:/i        | micropod: --workdir must be an absolute path: tmp",
      "run Bad/Ref              | micropod: invalid image reference \"Bad/Ref\": ",
  })
  void badInputGivesOneLineAndStatus2(String args, String message) {
    int code = run(args.trim().split(" +"));

    assertThat(code).isEqualTo(2);
    assertThat(err.toString()).startsWith(message).endsWith("\n");
    assertThat(err.toString().lines()).hasSize(1);
  }

  @Test
  void helpListsTheCommands() {
    int code = run("--help");

    assertThat(code).isZero();
    assertThat(out.toString()).contains("run", "list", "stop", "logs", "exec", "pull", "images", "rmi");
  }
}
