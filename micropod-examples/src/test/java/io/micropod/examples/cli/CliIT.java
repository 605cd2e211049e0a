package io.micropod.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.internal.net.TcpListeners;
import io.micropod.internal.registry.LocalRegistry;
import io.micropod.internal.registry.RedisTestImage;
import io.micropod.internal.registry.TestImage;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The real CLI as a separate process: bin/micropod and target/micropod-cli.jar. */
class CliIT {
  private static final Path ROOT = Path.of(System.getProperty("micropod.repo.root", "..")).toAbsolutePath().normalize();
  private static final Path LAUNCHER = ROOT.resolve("bin/micropod");
  static final String IMAGE = "oci:" + io.micropod.examples.HelloAccess.busyboxLayout();
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

  static ProcessBuilder cli(String... args) {
    return cliWith(FastStart.JAVA_OPTS, args);
  }

  /**
   * JVM options of the CLI processes (the launcher's MICROPOD_JAVA_OPTS): a CLI call here is mostly
   * a JVM start, some 200 of them a run. C1 only, the serial GC and a class-data archive of what
   * {@code micropod images} loads halve a start (~1.1 s to ~0.5 s, half the CPU) and change nothing
   * the CLI does. The archive is made once per test JVM, next to the jar, and used only after a JVM
   * with {@code -Xshare:on} took it; else the CLI starts without one (said on stderr).
   */
  private static final class FastStart {
    static final String JAVA_OPTS = javaOpts();

    private static String javaOpts() {
      String fast = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC";
      Path archive = Path.of(System.getProperty("micropod.cli.jar", "target/micropod-cli.jar")).toAbsolutePath()
          .resolveSibling("micropod-cli.jsa");
      String shared = fast + " -XX:SharedArchiveFile=" + archive + " -Xlog:cds*=off";
      try {
        java.nio.file.Files.deleteIfExists(archive); // one of an earlier jar would not map
        Result made = finish(cliWith(fast + " -XX:ArchiveClassesAtExit=" + archive, "images").start(), null,
            List.of("images"));
        Result taken = finish(cliWith(shared + " -Xshare:on", "--version").start(), null, List.of("--version"));
        if (made.exit == 0 && taken.exit == 0 && taken.out.startsWith("MicroPod version ")) {
          return shared;
        }
        System.err.println("CliIT: the CLI starts without a class-data archive: " + made.err + taken.err);
      } catch (Exception e) {
        System.err.println("CliIT: the CLI starts without a class-data archive: " + e);
      }
      return fast;
    }
  }

  private static ProcessBuilder cliWith(String javaOpts, String... args) {
    List<String> cmd = new ArrayList<>();
    // env --default-signal: the JVM must see SIGINT even when this test runs in a background job
    cmd.add("env");
    cmd.add("--default-signal=INT");
    cmd.add(LAUNCHER.toString());
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().put("MICROPOD_HOME", io.micropod.examples.HelloAccess.home().toString());
    pb.environment().remove("MICROPOD_DEBUG");
    pb.environment().put("MICROPOD_JAVA_OPTS", javaOpts);
    return pb;
  }

  static Result run(String... args) throws Exception {
    return run(null, args);
  }

  /** A stdin for {@link #run(byte[], String...)}. */
  private static byte[] stdin(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  /** Runs the CLI; {@code stdin} (null: none) is written to it, then closed. */
  static Result run(byte[] stdin, String... args) throws Exception {
    return finish(cli(args).start(), stdin, List.of(args));
  }

  /** Writes {@code stdin} (null: none) to CLI process {@code p}, closes it and waits for the end. */
  private static Result finish(Process p, byte[] stdin, List<String> args) throws Exception {
    try (java.io.OutputStream in = p.getOutputStream()) {
      if (stdin != null) {
        in.write(stdin);
      }
    }
    CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> readAll(p.getInputStream()));
    String err = readAll(p.getErrorStream());
    assertThat(p.waitFor(300, TimeUnit.SECONDS)).as("micropod %s ended", args).isTrue();
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
    // 256 MiB: what a Docker user types; the guest image boots in it (MicroPodSpec.MIN_MEMORY_MIB)
    Result r = run("run", "--rm", "-e", "GREETING=hi there", "--memory", "256m", IMAGE,
        "sh", "-c", "echo $GREETING; echo to-stderr >&2; grep MemTotal /proc/meminfo; exit 3");

    assertThat(r.exit).isEqualTo(3);
    assertThat(r.out).startsWith("hi there\nMemTotal:");
    long kib = Long.parseLong(r.out.lines().skip(1).findFirst().orElseThrow().replaceAll("[^0-9]", ""));
    assertThat(kib).isBetween(128L * 1024, 256L * 1024);
    assertThat(r.err).isEqualTo("to-stderr\n");
  }

  @Test
  void errorsAreOneLineWithANonZeroExitStatus() throws Exception {
    Result badRef = run("run", "oci:/nonexistent/layout", "true");
    assertThat(badRef.exit).isEqualTo(125);
    assertThat(badRef.err.lines()).hasSize(1);
    assertThat(badRef.err).startsWith("micropod: ").contains("/nonexistent/layout");

    for (String command : new String[] {"stop", "exec", "logs"}) {
      Result unknownPod = command.equals("exec") ? run(command, "nope-" + UUID.randomUUID(), "true")
          : run(command, "nope-0123456789ab");
      assertThat(unknownPod.exit).as(command).isEqualTo(1);
      assertThat(unknownPod.err).as(command).matches("micropod: no such pod: nope-[0-9a-f-]+\n");
    }
  }

  /**
   * Pods outlive the CLI process that started them: run -d, then ps, exec, logs and stop each in a
   * process of its own; one VM boot.
   */
  @Test
  void detachedPodsAreListedExecedLoggedAndStoppedByLaterProcesses() throws Exception {
    String name = "web-" + UUID.randomUUID().toString().substring(0, 8);
    Result started = run("run", "-d", "--name", name, "-p", "0:8080", IMAGE, "sh", "-c",
        "echo started; mkdir -p /www; echo hi-web > /www/index.html; exec httpd -f -p 8080 -h /www");
    assertThat(started.exit).as(started.err).isZero();
    String id = started.out.strip();
    assertThat(id).matches("[0-9a-f]{12}");
    try {
      assertThat(vmmProcessesOf(id)).as("the pod's VM outlives the CLI that started it").isNotEmpty();

      Result ps = run("ps");
      assertThat(ps.exit).as(ps.err).isZero();
      assertThat(ps.out).startsWith("ID ").contains("NAME", "IMAGE", "STATUS", "CREATED");
      String line = ps.out.lines().filter(l -> l.startsWith(id)).findFirst().orElseThrow();
      assertThat(line).contains(name, "running");
      // the published port serves although the CLI that started the pod exited (QEMU's NAT)
      Matcher port = Pattern.compile("127\\.0\\.0\\.1:(\\d+)->8080/tcp").matcher(line);
      assertThat(port.find()).as(line).isTrue();
      assertThat(httpGet(Integer.parseInt(port.group(1)), Duration.ofSeconds(60))).isEqualTo("hi-web\n");
      assertThat(run("list", "-q").out.lines()).contains(id);

      Result hi = run("exec", name, "echo", "hi");
      assertThat(hi.exit).as(hi.err).isZero();
      assertThat(hi.out).isEqualTo("hi\n");
      Result three = run("exec", id, "sh", "-c", "echo out; echo err >&2; exit 3");
      assertThat(three.exit).isEqualTo(3);
      assertThat(three.out).isEqualTo("out\n");
      assertThat(three.err).isEqualTo("err\n");
      // --timeout: killed at the deadline, what it printed before, one line on stderr, 124 as timeout(1)
      Result late = run("exec", "--timeout", "2s", name, "sh", "-c", "echo before; sleep 60");
      assertThat(late.exit).as(late.err).isEqualTo(124);
      assertThat(late.out).isEqualTo("before\n");
      assertThat(late.err).isEqualTo("micropod: sh -c echo before; sleep 60 ran past --timeout 2s and was killed\n");
      Result piped = run(stdin("abc\n"), "exec", "-i", name, "cat");
      assertThat(piped.out).isEqualTo("abc\n");
      // -t: a terminal (80x24: this test's stdin is no terminal), output merged, "\r\n" line ends
      Result typed = run(stdin("[ -t 1 ] && stty size; echo err >&2; exit 3\n"), "exec", "-it", name, "sh");
      assertThat(typed.exit).as(typed.err).isEqualTo(3);
      assertThat(typed.out).contains("24 80\r\nerr\r\n");
      assertThat(typed.err).isEmpty();

      // pause: the vCPUs stop, ps says so, exec is refused; resume: it answers again
      Result paused = run("pause", name);
      assertThat(paused.exit).as(paused.err).isZero();
      assertThat(paused.out).isEqualTo(name + "\n");
      assertThat(run("ps").out.lines().filter(l -> l.startsWith(id)).findFirst().orElseThrow()).contains("paused");
      Result whilePaused = run("exec", name, "true");
      assertThat(whilePaused.exit).isNotZero();
      assertThat(whilePaused.err).contains("paused");
      Result resumed = run("resume", name);
      assertThat(resumed.exit).as(resumed.err).isZero();
      assertThat(run("exec", name, "echo", "back").out).isEqualTo("back\n");
      assertThat(run("ps").out.lines().filter(l -> l.startsWith(id)).findFirst().orElseThrow()).contains("running");

      Result logs = run("logs", name);
      assertThat(logs.exit).as(logs.err).isZero();
      assertThat(logs.out).isEqualTo("started\n");

      Result stop = run("stop", "-t", "1", name);
      assertThat(stop.exit).as(stop.err).isZero();
      assertThat(stop.out).isEqualTo(name + "\n");
      assertThat(run("ps", "-q").out.lines()).doesNotContain(id);
      assertThat(vmmProcessesOf(id)).as("qemu and virtiofsd of the stopped pod").isEmpty();
      assertThat(io.micropod.examples.HelloAccess.home().resolve("pods").resolve(id)).doesNotExist();
      assertThat(Path.of("/tmp", "micropod-" + id)).doesNotExist();
      Result again = run("exec", name, "true");
      assertThat(again.exit).isEqualTo(1);
      assertThat(again.err).isEqualTo("micropod: no such pod: " + name + "\n");
    } finally {
      if (!vmmProcessesOf(id).isEmpty()) {
        run("stop", "-t", "0", id);
      }
    }
  }

  /**
   * The verbs a Docker user types without thinking, against one detached pod: version and
   * --version, top (ps in the container), rename (the id stays), restart (a new VM with a new id,
   * the same name, environment and host port). One VM boot, then the restart's.
   */
  @Test
  void versionTopRenameAndRestartWorkOnADetachedPod() throws Exception {
    String sdk = io.micropod.MicroPodRuntime.sdkVersion();
    Result flag = run("--version");
    assertThat(flag.exit).as(flag.err).isZero();
    assertThat(flag.out).isEqualTo("MicroPod version " + sdk + "\n");
    Result version = run("version");
    assertThat(version.exit).as(version.err).isZero();
    assertThat(version.out).startsWith("Client:\n Version:     " + sdk + "\n")
        .contains("Guest image:\n Version:     " + sdk + "\n", "\nVMM:\n Driver:      qemu")
        .containsPattern("(?m)^ Accelerator: +\\S");

    String name = "verbs-" + UUID.randomUUID().toString().substring(0, 8);
    String renamed = name + "-b";
    Result started = run("run", "-d", "--name", name, "-e", "GREETING=hello again", "-p", "0:8080", IMAGE, "sh",
        "-c", "mkdir -p /www; echo hi > /www/index.html; exec httpd -f -p 8080 -h /www");
    assertThat(started.exit).as(started.err).isZero();
    String id = started.out.strip();
    String newId = null;
    try {
      Result top = run("top", name);
      assertThat(top.exit).as(top.err).isZero();
      assertThat(top.out.lines().findFirst().orElseThrow()).contains("PID");
      assertThat(top.out).contains("httpd -f -p 8080");
      Result columns = run("top", name, "-o", "pid,comm");
      assertThat(columns.exit).as(columns.err).isZero();
      assertThat(columns.out.lines().findFirst().orElseThrow()).contains("PID").contains("COMMAND");
      assertThat(columns.out).contains("httpd").doesNotContain("-p 8080");
      Result noPs = run("top", name, "--no-such-ps-option");
      assertThat(noPs.exit).as("ps's own status for a bad option").isNotZero();

      Result rename = run("rename", name, renamed);
      assertThat(rename.exit).as(rename.err).isZero();
      assertThat(rename.out).isEmpty();
      assertThat(run("ps").out.lines().filter(l -> l.startsWith(id)).findFirst().orElseThrow()).contains(renamed);
      assertThat(run("top", name).err).isEqualTo("micropod: no such pod: " + name + "\n");
      Result port = run("port", renamed, "8080");
      assertThat(port.exit).as(port.err).isZero();

      Result restart = run("restart", "-t", "1", renamed);
      assertThat(restart.exit).as(restart.err).isZero();
      assertThat(restart.err).isEmpty();
      newId = restart.out.strip();
      assertThat(newId).matches("[0-9a-f]{12}").isNotEqualTo(id);
      assertThat(vmmProcessesOf(id)).as("the old pod's VM").isEmpty();
      assertThat(run("ps", "-q").out.lines()).contains(newId).doesNotContain(id);
      Result env = run("exec", renamed, "sh", "-c", "echo $GREETING");
      assertThat(env.exit).as(env.err).isZero();
      assertThat(env.out).as("the environment, carried in memory").isEqualTo("hello again\n");
      assertThat(run("port", renamed, "8080").out).as("the same host port").isEqualTo(port.out);
      assertThat(httpGet(Integer.parseInt(port.out.strip().replaceAll(".*:", "")), Duration.ofSeconds(60)))
          .isEqualTo("hi\n");
    } finally {
      for (String pod : new String[] {id, newId}) {
        if (pod != null && !vmmProcessesOf(pod).isEmpty()) {
          run("rm", "-f", pod);
        }
      }
    }
  }

  /**
   * {@code snapshot create} in a process of its own snapshots a pod that another process started
   * detached and {@code --snapshottable}; {@code run -d --from-snapshot} in a third restores it:
   * the restored pod has the file written before the snapshot, not the one written after, and a
   * new id; the source runs on.
   */
  @Test
  void snapshotCreateTakesADetachedPodOfAnotherProcessAndRunRestoresIt() throws Exception {
    String name = "snap-" + UUID.randomUUID().toString().substring(0, 8);
    String snapshot = name + "-s1";
    Result started = run("run", "-d", "--snapshottable", "--name", name, IMAGE, "sleep", "600");
    assertThat(started.exit).as(started.err).isZero();
    String id = started.out.strip();
    String restoredId = null;
    try {
      Result marked = run("exec", name, "sh", "-c", "echo before > /tmp/mark");
      assertThat(marked.exit).as(marked.err).isZero();

      Result created = run("snapshot", "create", name, snapshot);
      assertThat(created.exit).as(created.err).isZero();
      assertThat(created.out).isEqualTo(snapshot + "\n");
      assertThat(run("snapshot", "ls").out.lines().filter(l -> l.startsWith(snapshot + " ")).findFirst()
          .orElseThrow()).contains(id);
      // the source runs on, and what it writes now is not in the snapshot
      assertThat(run("exec", name, "sh", "-c", "echo after > /tmp/mark; cat /tmp/mark").out).isEqualTo("after\n");
      Result again = run("snapshot", "create", name, snapshot);
      assertThat(again.exit).isEqualTo(ExitCodes.FAILURE);
      assertThat(again.err).contains("a snapshot named \"" + snapshot + "\" exists");

      Result restored = run("run", "-d", "--from-snapshot", snapshot);
      assertThat(restored.exit).as(restored.err).isZero();
      restoredId = restored.out.strip();
      assertThat(restoredId).matches("[0-9a-f]{12}").isNotEqualTo(id);
      assertThat(run("exec", restoredId, "cat", "/tmp/mark").out).isEqualTo("before\n");
      assertThat(run("exec", restoredId, "hostname").out).isEqualTo(restoredId + "\n");
      assertThat(run("exec", name, "cat", "/tmp/mark").out).isEqualTo("after\n");

    } finally {
      run("stop", "-t", "0", id);
      if (restoredId != null) {
        run("stop", "-t", "0", restoredId);
      }
      run("snapshot", "rm", snapshot);
    }
    assertThat(vmmProcessesOf(id)).isEmpty();
    assertThat(vmmProcessesOf(restoredId)).isEmpty();
  }

  @Test
  void inspectStatsCpAndRmForceWorkOnADetachedPod(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
    String name = "tools-" + UUID.randomUUID().toString().substring(0, 8);
    Result started = run("run", "-d", "--name", name, "-p", "0:80", IMAGE, "sh", "-c",
        "mkdir -p /data; echo inside > /data/file; exec sleep 600");
    assertThat(started.exit).as(started.err).isZero();
    String id = started.out.strip();
    try {
      Result inspect = run("inspect", name);
      assertThat(inspect.exit).as(inspect.err).isZero();
      assertThat(inspect.out).startsWith("[\n  {\n    \"Id\": \"" + id + "\",")
          .contains("\"Name\": \"" + name + "\"", "\"Status\": \"running\"", "\"Detached\": true")
          .containsPattern("\"80/tcp\": \\[\\s*\\{\\s*\"HostIp\": \"127.0.0.1\",\\s*\"HostPort\": \"[0-9]+\"\\s*}\\s*]");

      Result ports = run("port", name);
      assertThat(ports.exit).as(ports.err).isZero();
      assertThat(ports.out).matches("80/tcp -> 127\\.0\\.0\\.1:[0-9]+\n");
      String hostPort = ports.out.strip().substring(ports.out.indexOf(':') + 1);
      assertThat(run("port", name, "80/tcp").out).isEqualTo("127.0.0.1:" + hostPort + "\n");
      Result unpublished = run("port", name, "81");
      assertThat(unpublished.exit).isEqualTo(1);
      assertThat(unpublished.err).isEqualTo("micropod: no public port '81/tcp' published for " + name
          + " (published: 80/tcp)\n");

      Result stats = run("stats", "--no-stream", name);
      assertThat(stats.exit).as(stats.err).isZero();
      assertThat(stats.out).startsWith("ID ").contains("CPU %", "MEM USAGE / LIMIT");
      assertThat(stats.out.lines().skip(1).findFirst()).hasValueSatisfying(l -> assertThat(l).startsWith(id)
          .contains(name).containsPattern("[0-9.]+% +[0-9.]+[kMG]?B / "));

      Result out = run("cp", name + ":/data/file", dir.resolve("copied").toString());
      assertThat(out.exit).as(out.err).isZero();
      assertThat(java.nio.file.Files.readString(dir.resolve("copied"))).isEqualTo("inside\n");
      java.nio.file.Files.writeString(dir.resolve("up"), "from host\n");
      Result in = run("cp", dir.resolve("up").toString(), name + ":/data/up");
      assertThat(in.exit).as(in.err).isZero();
      assertThat(run("exec", name, "cat", "/data/up").out).isEqualTo("from host\n");
      // '-': a tar on stdout, named from the base name (docker cp POD:PATH -), and one from stdin
      Path tar = dir.resolve("data.tar");
      Process tarOut = cli("cp", name + ":/data", "-").redirectOutput(tar.toFile())
          .redirectError(ProcessBuilder.Redirect.DISCARD).start();
      assertThat(tarOut.waitFor(300, TimeUnit.SECONDS)).isTrue();
      assertThat(tarOut.exitValue()).isZero();
      Process list = new ProcessBuilder("tar", "-tf", tar.toString()).redirectErrorStream(true).start();
      assertThat(readAll(list.getInputStream()).lines().sorted()).containsExactly("data/", "data/file", "data/up");
      Result tarIn = run(java.nio.file.Files.readAllBytes(tar), "cp", "-", name + ":/tmp");
      assertThat(tarIn.exit).as(tarIn.err).isZero();
      assertThat(run("exec", name, "cat", "/tmp/data/file", "/tmp/data/up").out).isEqualTo("inside\nfrom host\n");

      Result refused = run("rm", name);
      assertThat(refused.exit).isEqualTo(1);
      assertThat(refused.err).contains("it is running; stop it first", "micropod rm -f " + name);
      Result rm = run("rm", "-f", name);
      assertThat(rm.exit).as(rm.err).isZero();
      assertThat(rm.out).isEqualTo(name + "\n");
      assertThat(vmmProcessesOf(id)).isEmpty();
      assertThat(run("inspect", name).exit).isEqualTo(1);
    } finally {
      if (!vmmProcessesOf(id).isEmpty()) {
        run("stop", "-t", "0", id);
      }
    }
  }

  @Test
  void aDetachedPodsEgressRulesHoldAfterTheCliExitedAndInspectShowsThem() throws Exception {
    String name = "egress-" + UUID.randomUUID().toString().substring(0, 8);
    Result started = run("run", "-d", "--name", name, "--egress-deny-all", "--egress-allow", "198.51.100.0/24",
        "--egress-deny", "*.example.org", IMAGE, "sleep", "600");
    assertThat(started.exit).as(started.err).isZero();
    String id = started.out.strip();
    try {
      Result inspect = run("inspect", name);
      assertThat(inspect.out).containsPattern("\"Egress\": \\{\\s*\"Default\": \"deny\",\\s*\"Allow\": \\[\\s*"
          + "\"198.51.100.0/24\"\\s*],\\s*\"Deny\": \\[\\s*\"\\*.example.org\"\\s*]");
      // the run -d process is gone: QEMU's guard holds the rules. A refused connection sends nothing.
      long t0 = System.nanoTime();
      Result denied = run("exec", name, "timeout", "20", "wget", "-q", "-O-", "http://203.0.113.9/");
      assertThat(denied.exit).isNotZero();
      assertThat(denied.err).contains("Connection refused");
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(20));
      Result bad = run("run", "--egress-allow", "198.51.100.0/33", IMAGE, "true");
      assertThat(bad.exit).isNotZero();
      assertThat(bad.err.strip()).contains("--egress-allow: egress rule '198.51.100.0/33'").doesNotContain("\n");
    } finally {
      run("rm", "-f", id);
    }
    assertThat(vmmProcessesOf(id)).isEmpty();
  }

  @Test
  void anExitedDetachedPodKeepsItsExitCodeAndLogsUntilRmAndIsListedOnlyWithA() throws Exception {
    String name = "job-" + UUID.randomUUID().toString().substring(0, 8);
    // it runs until `micropod kill -s TERM`, then exits 3 (its trap: as PID 1 it ignores an untrapped TERM)
    Result started = run("run", "-d", "--name", name, "-e", "SECRET=do-not-show", IMAGE, "sh", "-c",
        "echo done-its-work; echo on-stderr >&2; trap 'exit 3' TERM; while :; do sleep 1; done");
    assertThat(started.exit).as(started.err).isZero();
    String id = started.out.strip();
    try {
      // `wait` blocks until the main process exits, in a process of its own, as docker wait
      Process waiting = cli("wait", name).redirectError(ProcessBuilder.Redirect.DISCARD).start();
      CompletableFuture<String> waited = CompletableFuture.supplyAsync(() -> readAll(waiting.getInputStream()));
      assertThat(waiting.waitFor(3, TimeUnit.SECONDS)).as("wait returned before the pod exited").isFalse();
      Result port = run("port", name);
      assertThat(port.exit).as(port.err).isZero();
      assertThat(port.out).as("no ports published").isEmpty();
      Result killed = run("kill", "--signal", "SIGTERM", name);
      assertThat(killed.exit).as(killed.err).isZero();
      assertThat(killed.out).isEqualTo(name + "\n");
      assertThat(waiting.waitFor(120, TimeUnit.SECONDS)).isTrue();
      assertThat(waiting.exitValue()).isZero();
      assertThat(waited.get(10, TimeUnit.SECONDS)).isEqualTo("3\n");

      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      Result all = run("list", "-a");
      while (!all.out.contains("Exited (3)")) {
        assertThat(System.nanoTime() - deadline).as("pod %s not listed as exited: %s", id, all.out).isNegative();
        java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(500));
        all = run("list", "-a");
      }
      assertThat(all.out.lines().filter(l -> l.startsWith(id)).findFirst()).hasValueSatisfying(l ->
          assertThat(l).contains(name).containsPattern("Exited \\(3\\) (Less than a second|1 second|[0-9]+ seconds|About a minute) ago"));
      assertThat(run("list").out).doesNotContain(id);
      assertThat(run("list", "-q").out.lines()).doesNotContain(id);
      assertThat(run("list", "-a", "-q").out.lines()).contains(id);

      Result logs = run("logs", name);
      assertThat(logs.exit).as(logs.err).isZero();
      assertThat(logs.out).contains("done-its-work", "on-stderr");
      // attaching for the logs did not end it: still listed, still exited
      assertThat(run("list", "-a").out).contains(id).contains("Exited (3)");

      // exec has nothing to run in: Docker's answer ("container ... is not running"), with what to do
      String notRunning = "micropod: pod " + name + " is not running: its main process exited with status 3;"
          + " see why with `micropod logs " + name + "`, remove it with `micropod rm " + name + "`"
          + " (an exited pod cannot be started again: `micropod run` a new one)\n";
      for (String[] exec : List.of(new String[] {"exec", name, "echo", "hi"}, new String[] {"exec", "-i", id, "cat"})) {
        Result refused = run(exec);
        assertThat(refused.exit).as("%s: %s", List.of(exec), refused.err).isEqualTo(1);
        assertThat(refused.err).isEqualTo(exec[1].equals("-i") ? notRunning.replace("pod " + name, "pod " + id)
            .replace(" " + name + "`", " " + id + "`") : notRunning);
        assertThat(refused.out).isEmpty();
      }
      assertThat(run("list", "-a").out).contains(id).contains("Exited (3)");
      // an exited pod: `wait` prints the status it kept at once, `kill` is Docker's "is not running"
      Result again = run("wait", id);
      assertThat(again.exit).as(again.err).isZero();
      assertThat(again.out).isEqualTo("3\n");
      Result notKilled = run("kill", name);
      assertThat(notKilled.exit).isEqualTo(1);
      assertThat(notKilled.err).startsWith("micropod: cannot kill pod ").contains("main process is not running");

      Result inspect = run("inspect", name);
      assertThat(inspect.exit).as(inspect.err).isZero();
      assertThat(inspect.out).contains("\"Status\": \"exited\"", "\"Running\": false", "\"ExitCode\": 3",
          "\"Name\": \"no\"", "\"BootTimings\": {")
          .containsPattern("\"FinishedAt\": \"20[0-9-]+T")
          .doesNotContain("do-not-show").doesNotContain("SECRET");

      Result rm = run("rm", name);
      assertThat(rm.exit).as(rm.err).isZero();
      assertThat(rm.out).isEqualTo(name + "\n");
      assertThat(vmmProcessesOf(id)).isEmpty();
      assertThat(run("list", "-a", "-q").out.lines()).doesNotContain(id);
      Path config = io.micropod.examples.HelloAccess.home().resolve("config");
      assertThat(config.resolve("pods").resolve(id + ".json")).doesNotExist();
      assertThat(config.resolve("logs").resolve(id + ".log")).doesNotExist();
      assertThat(run("logs", name).exit).isNotZero();
    } finally {
      if (!vmmProcessesOf(id).isEmpty()) {
        run("stop", "-t", "0", id);
      }
    }
  }

  /**
   * The headline case: a real database server reached by its own client through a detached
   * pod's fixed published port. {@code run -d --name db -p PORT:6379} of an image with Debian's
   * redis server (built offline from Debian packages: {@link RedisTestImage}); the CLI exits; the
   * host speaks redis's protocol to it: 2000 keys pipelined, an 8 MiB value intact, 48 connections
   * open at once, each counting on one key; only 127.0.0.1 listens. A {@code logs -f} that holds
   * the pod is SIGKILLed: the server and its data stay. {@code stop} from another process, then
   * nothing listens on the port and no QEMU or virtiofsd is left. One VM boot.
   */
  @Test
  void aDetachedRedisServerServesItsOwnProtocolThroughAFixedPublishedPortUntilStopped() throws Exception {
    Path layout = RedisTestImage.layout(io.micropod.examples.HelloAccess.home(),
        io.micropod.examples.HelloAccess.busyboxLayout());
    int port;
    try (java.net.ServerSocket free = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = free.getLocalPort();
    }
    String name = "db-" + UUID.randomUUID().toString().substring(0, 8);
    Result started = run("run", "-d", "--name", name, "-p", port + ":6379", "oci:" + layout);
    assertThat(started.exit).as(started.err).isZero();
    String id = started.out.strip();
    try {
      awaitPong(port, Duration.ofSeconds(120));
      assertThat(TcpListeners.of(port)).as("the published port, bound to loopback only")
          .containsExactly("127.0.0.1:" + port);
      assertThat(run("ps").out.lines().filter(l -> l.startsWith(id)).findFirst().orElseThrow())
          .contains(name, "running", "127.0.0.1:" + port + "->6379/tcp");

      try (RespClient c = RespClient.connect(port)) {
        int keys = 2000;
        for (int i = 0; i < keys; i++) {
          c.send("SET", "key:" + i, "value-" + i);
        }
        for (int i = 0; i < keys; i++) {
          assertThat(c.read()).isEqualTo("OK");
        }
        for (int i = 0; i < keys; i++) {
          c.send("GET", "key:" + i);
        }
        for (int i = 0; i < keys; i++) {
          assertThat(c.readString()).isEqualTo("value-" + i);
        }
        assertThat(c.call("DBSIZE")).isEqualTo((long) keys);

        byte[] big = new byte[8 << 20];
        new java.util.Random(16).nextBytes(big);
        assertThat(c.call("SET", "big", big)).isEqualTo("OK");
        assertThat(c.call("STRLEN", "big")).isEqualTo((long) big.length);
        assertThat((byte[]) c.call("GET", "big")).as("the 8 MiB value read back").isEqualTo(big);
      }

      int clients = 48;
      int increments = 25;
      List<RespClient> open = new ArrayList<>();
      try {
        for (int i = 0; i < clients; i++) {
          open.add(RespClient.connect(port));
        }
        List<CompletableFuture<Void>> each = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
          RespClient c = open.get(i);
          String own = "client:" + i;
          each.add(CompletableFuture.runAsync(() -> {
            try {
              for (int n = 0; n < increments; n++) {
                c.send("INCR", "counter").send("APPEND", own, "x");
              }
              for (int n = 0; n < increments; n++) {
                assertThat(c.read()).isInstanceOf(Long.class);
                assertThat(c.read()).isEqualTo((long) n + 1);
              }
            } catch (IOException e) {
              throw new java.io.UncheckedIOException(e);
            }
          }));
        }
        CompletableFuture.allOf(each.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
      } finally {
        for (RespClient c : open) {
          c.close();
        }
      }
      try (RespClient c = RespClient.connect(port)) {
        assertThat(c.send("GET", "counter").readString()).isEqualTo(Long.toString((long) clients * increments));
      }

      // a process that holds the pod (logs -f attaches: it owns the pod now) is SIGKILLed: the
      // server and its data stay
      Process follower = cli("logs", "-f", name).redirectError(ProcessBuilder.Redirect.DISCARD).start();
      try {
        BufferedReader logs = new BufferedReader(new InputStreamReader(follower.getInputStream(),
            StandardCharsets.UTF_8));
        CompletableFuture<Boolean> ready = CompletableFuture.supplyAsync(() -> logs.lines()
            .anyMatch(l -> l.contains("Ready to accept connections")));
        assertThat(ready.get(120, TimeUnit.SECONDS)).as("logs -f printed redis's ready line").isTrue();
      } finally {
        follower.destroyForcibly();
      }
      assertThat(follower.waitFor(30, TimeUnit.SECONDS)).isTrue();
      try (RespClient c = RespClient.connect(port)) {
        assertThat(c.send("GET", "key:1999").readString()).isEqualTo("value-1999");
        assertThat(c.call("STRLEN", "big")).isEqualTo((long) (8 << 20));
      }

      Result stop = run("stop", "-t", "5", name);
      assertThat(stop.exit).as(stop.err).isZero();
      assertThat(stop.out).isEqualTo(name + "\n");
      assertThat(TcpListeners.of(port)).as("listeners on the port after stop").isEmpty();
      assertThatRefused(port);
      assertThat(vmmProcessesOf(id)).as("qemu and virtiofsd of the stopped pod").isEmpty();
      assertThat(run("ps", "-a", "-q").out.lines()).doesNotContain(id);
    } finally {
      if (!vmmProcessesOf(id).isEmpty()) {
        run("rm", "-f", id);
      }
    }
  }

  /** PING on 127.0.0.1:port until PONG (redis may still be starting: QEMU accepts, then closes) or the deadline. */
  private static void awaitPong(int port, Duration timeout) throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      try (RespClient c = RespClient.connect(port)) {
        if ("PONG".equals(c.call("PING"))) {
          return;
        }
      } catch (IOException notYet) {
        if (System.nanoTime() - deadline > 0) {
          throw new AssertionError("redis on 127.0.0.1:" + port + " did not answer PING within " + timeout, notYet);
        }
      }
      java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
    }
  }

  private static void assertThatRefused(int port) throws IOException {
    try (java.net.Socket s = new java.net.Socket()) {
      s.connect(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), port), 5_000);
      throw new AssertionError("127.0.0.1:" + port + " still accepts connections after stop");
    } catch (java.net.ConnectException refused) {
      // nothing listens
    }
  }

  /** GET / on 127.0.0.1:port, retried until it answers 200 (the server may still be starting) or the deadline. */
  private static String httpGet(int port, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    HttpClient client = HttpClient.newHttpClient();
    while (true) {
      try {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/"))
            .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200) {
          return r.body();
        }
      } catch (IOException notYet) {
        if (System.nanoTime() - deadline > 0) {
          throw notYet;
        }
      }
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("127.0.0.1:" + port + " gave no 200 within " + timeout);
      }
      java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
    }
  }

  /**
   * A network made by one CLI process serves pods of others: network create (its holder outlives
   * the command), a foreground pod with alias web in one process, a second pod in another fetches
   * http://web:8080/ by that alias; network rm is refused while web is on it and done after stop.
   * Two VM boots.
   */
  @Test
  void podsOfTwoProcessesReachEachOtherByAliasOnANetworkTheCliCreated() throws Exception {
    String suffix = UUID.randomUUID().toString().substring(0, 8);
    String net = "net-" + suffix;
    String name = "web-" + suffix;
    Result created = run("network", "create", net);
    assertThat(created.exit).as(created.err).isZero();
    assertThat(created.out).isEqualTo(net + "\n");
    Process web = null;
    try {
      web = cli("run", "--name", name, "--network", net, "--network-alias", "web", IMAGE, "sh", "-c",
          "mkdir -p /www; echo hi-net > /www/index.html; exec httpd -f -p 8080 -h /www")
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
      while (!run("network", "inspect", net).out.contains("\"Name\": \"" + name + "\"")) {
        assertThat(web.isAlive()).as("the web pod's run").isTrue();
        assertThat(System.nanoTime()).as("web joined the network").isLessThan(deadline);
        java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(500));
      }

      Result client = run("run", "--rm", "--network", net, IMAGE, "sh", "-c",
          "for i in $(seq 120); do wget -q -O- http://web:8080/ && exit 0; sleep 1; done; exit 1");
      assertThat(client.exit).as(client.err).isZero();
      assertThat(client.out).isEqualTo("hi-net\n");

      Result inUse = run("network", "rm", net);
      assertThat(inUse.exit).isEqualTo(1);
      assertThat(inUse.err).isEqualTo("micropod: network " + net + " is in use by pod " + name + ": stop it first"
          + " (micropod stop " + name + ")\n");

      Result stopped = run("stop", name);
      assertThat(stopped.exit).as(stopped.err).isZero();
      assertThat(web.waitFor(120, TimeUnit.SECONDS)).as("the web pod's run ends after stop").isTrue();
      long left = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (run("network", "inspect", net).out.contains(name)) {
        assertThat(System.nanoTime()).as("web left the network").isLessThan(left);
        java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
      }
      Result removed = run("network", "rm", net);
      assertThat(removed.exit).as(removed.err).isZero();
      assertThat(removed.out).isEqualTo(net + "\n");
      assertThat(run("network", "ls", "-q").out.lines()).doesNotContain(net);
    } finally {
      if (web != null) {
        web.destroyForcibly();
      }
      run("network", "rm", net);
    }
  }

  /**
   * Detached pods on a network the CLI created keep reaching each other after the CLI processes
   * that started them exited: run -d --network --network-alias db, run -d --network, exec into the
   * second fetches http://db:8080/; network rm is refused while they run; after stop, rm leaves
   * no process (no holder, no qemu). Two VM boots.
   */
  @Test
  void detachedPodsOnANetworkReachEachOtherAfterTheirCliExitedAndRmLeavesNothing() throws Exception {
    String suffix = UUID.randomUUID().toString().substring(0, 8);
    String net = "dnet-" + suffix;
    String db = "db-" + suffix;
    String app = "app-" + suffix;
    Result created = run("network", "create", net);
    assertThat(created.exit).as(created.err).isZero();
    try {
      Result dbRun = run("run", "-d", "--name", db, "--memory", "256m", "--network", net, "--network-alias", "db",
          IMAGE, "sh", "-c", "mkdir -p /www; echo hi-db > /www/index.html; exec httpd -f -p 8080 -h /www");
      assertThat(dbRun.exit).as(dbRun.err).isZero();
      Result appRun = run("run", "-d", "--name", app, "--memory", "256m", "--network", net, IMAGE, "sleep", "600");
      assertThat(appRun.exit).as(appRun.err).isZero();

      Result fetched = run("exec", app, "sh", "-c",
          "for i in $(seq 60); do wget -q -O- http://db:8080/ && exit 0; sleep 1; done; exit 1");
      assertThat(fetched.exit).as(fetched.err).isZero();
      assertThat(fetched.out).isEqualTo("hi-db\n");
      assertThat(run("network", "ls").out.lines().filter(l -> l.startsWith(net + " ")).findFirst().orElseThrow())
          .contains(" 2 ");

      Result inUse = run("network", "rm", net);
      assertThat(inUse.exit).isEqualTo(1);
      assertThat(inUse.err).startsWith("micropod: network " + net + " is in use by pods ").contains(db, app);

      Result stopped = run("stop", "-t", "1", db, app);
      assertThat(stopped.exit).as(stopped.err).isZero();
      long left = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      // by id too: once a stopped pod's record is gone, the network lists it by id until it left
      // (CI's `network rm` met "in use by pod <id>" when this loop looked for the names only)
      String dbId = dbRun.out.strip();
      String appId = appRun.out.strip();
      for (String inspect = run("network", "inspect", net).out; inspect.contains(db) || inspect.contains(app)
          || inspect.contains(dbId) || inspect.contains(appId); inspect = run("network", "inspect", net).out) {
        assertThat(System.nanoTime()).as("the stopped pods left the network").isLessThan(left);
        java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
      }
      Result removed = run("network", "rm", net);
      assertThat(removed.exit).as(removed.err).isZero();
      assertThat(run("network", "ls", "-q").out.lines()).doesNotContain(net);
      assertThat(ProcessHandle.allProcesses().filter(h -> h.info().commandLine().orElse("")
          .contains("-Dmicropod.network-holder=" + net + " ")).toList()).as("the network's holder").isEmpty();
      assertThat(vmmProcessesOf(dbRun.out.strip())).as("db's qemu and virtiofsd").isEmpty();
      assertThat(vmmProcessesOf(appRun.out.strip())).as("app's qemu and virtiofsd").isEmpty();
    } finally {
      run("stop", "-t", "0", db, app);
      run("network", "rm", net);
    }
  }

  /** The host processes whose command line names the pod (QEMU, virtiofsd). */
  private static List<ProcessHandle> vmmProcessesOf(String id) {
    return ProcessHandle.allProcesses()
        .filter(h -> h.info().commandLine().orElse("").contains("micropod-" + id))
        .toList();
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

  /**
   * Against a real docker-registry: pull (progress as plain lines, not a terminal), images, then
   * a pod of the pulled image (--pull never) serving HTTP through -p 0:8080, fetched from the host;
   * Ctrl-C sends SIGTERM (the container's trap prints and exits) and removes the pod; rmi and
   * rmi --prune empty the store again. One VM boot.
   */
  @Test
  void pullImagesRunWithAPublishedPortCtrlCAndRmiAgainstARealRegistry() throws Exception {
    try (LocalRegistry registry = LocalRegistry.start()) {
      String token = UUID.randomUUID().toString();
      TestImage.Image base = TestImage.fromLayout(io.micropod.examples.HelloAccess.busyboxLayout());
      List<byte[]> layers = new ArrayList<>();
      for (TestImage.Blob l : base.layers()) {
        layers.add(l.bytes());
      }
      layers.add(TestImage.gzip(TestImage.tar(TestImage.files("www/index.html", "hello " + token + "\n"))));
      TestImage.Image image = TestImage.image("amd64", layers, false);
      registry.push("busybox", "latest", image);
      String ref = registry.host() + "/busybox:latest";

      try {
        pullRunAndRemove(registry, image, token, ref);
      } finally {
        run("rmi", ref);  // when the test failed half-way: leave the shared store as it was
      }
    }
  }

  private static void pullRunAndRemove(LocalRegistry registry, TestImage.Image image, String token, String ref)
      throws Exception {
    Path ownLayer = io.micropod.examples.HelloAccess.home().resolve("store/blobs/sha256")
        .resolve(image.layers().get(image.layers().size() - 1).digest().substring("sha256:".length()));

    Result pull = run("pull", ref);
    assertThat(pull.exit).as(pull.err).isZero();
    assertThat(pull.out).isEqualTo("Digest: " + image.manifest().digest() + "\n"
        + "Status: Downloaded newer image for " + ref + "\n" + ref + "\n");
    assertThat(pull.err).startsWith("Pulling " + ref + "\ndownloaded ").endsWith("(100%)\n");
    assertThat(ownLayer).exists();

    Result images = run("images");
    assertThat(images.exit).isZero();
    assertThat(images.out).startsWith("REPOSITORY").containsPattern("(?m)^" + Pattern.quote(registry.host())
        + "/busybox +latest +" + image.manifest().digest().substring(7, 19) + " +[0-9.]+[kM]?B +");

    Process p = cli("run", "--pull", "never", "--stop-timeout", "5", "-p", "0:8080", ref, "sh", "-c",
        "httpd -p 8080 -h /www; trap 'echo got TERM; exit 7' TERM; echo started; while :; do sleep 1; done").start();
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    BufferedReader err = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8));
    try {
      Matcher mapping = Pattern.compile("8080/tcp -> 127\\.0\\.0\\.1:([0-9]+)").matcher(String.valueOf(err.readLine()));
      assertThat(mapping.matches()).as("the mapping line on stderr").isTrue();
      assertThat(out.readLine()).isEqualTo("started");   // blocks until the container runs
      String podId = podIdOf(p).orElseThrow(() -> new AssertionError("no VMM under the CLI process"));

      HttpResponse<String> page = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
              URI.create("http://127.0.0.1:" + mapping.group(1) + "/index.html")).timeout(Duration.ofSeconds(60)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(page.statusCode()).isEqualTo(200);
      assertThat(page.body()).isEqualTo("hello " + token + "\n");

      new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();

      assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("the CLI ended after SIGINT").isTrue();
      assertThat(p.exitValue()).isEqualTo(130);
      assertThat(rest(out)).isEqualTo("got TERM\n");  // SIGTERM reached the container
      assertThat(rest(err)).contains("micropod: stopping pod " + podId);
      assertThat(Path.of("/tmp", "micropod-" + podId)).doesNotExist();
      assertThat(io.micropod.examples.HelloAccess.home().resolve("pods").resolve(podId)).doesNotExist();
      assertThat(ProcessHandle.allProcesses().filter(ProcessHandle::isAlive)
          .filter(h -> h.info().commandLine().orElse("").contains(podId))).isEmpty();
    } finally {
      p.destroyForcibly();
    }

    Result rmi = run("rmi", ref);
    assertThat(rmi.exit).isZero();
    assertThat(rmi.out).isEqualTo("Untagged: " + ref + "\n");
    assertThat(run("images").out).doesNotContain(registry.host());

    Result again = run("rmi", "--prune", ref);
    assertThat(again.exit).isEqualTo(1);
    assertThat(again.err).isEqualTo("micropod: no such image: " + ref + " (`micropod images` lists the store)\n");
    assertThat(again.out).startsWith("Deleted: ");
    assertThat(ownLayer).doesNotExist();

    Result missing = run("pull", registry.host() + "/busybox:nope");
    assertThat(missing.exit).isEqualTo(125);
    assertThat(missing.err.lines()).hasSize(1);
    assertThat(missing.err).startsWith("micropod: ").contains("busybox:nope");
  }

  private static String rest(BufferedReader r) throws IOException {
    StringBuilder sb = new StringBuilder();
    char[] buf = new char[8192];
    for (int n; (n = r.read(buf)) >= 0; ) {
      sb.append(buf, 0, n);
    }
    return sb.toString();
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

  @Test
  void restartOnFailureRunsThreeTimesAndExitsWithTheLastStatus() throws Exception {
    Result r = run("run", "--restart", "on-failure:2", IMAGE, "sh", "-c", "echo run; exit 1");
    assertThat(r.exit).as(r.err).isEqualTo(1);
    assertThat(r.out).isEqualTo("run\nrun\nrun\n");
  }

  @Test
  void aDetachedPodPastItsMaxLifetimeIsGoneFromListWithinAMinuteWithNoVmmLeft() throws Exception {
    // 8 s from the container's start (the agent arms it), waited out whole: the list below comes
    // within a second of run -d's exit
    Result started = run("run", "-d", "--max-lifetime", "8s", IMAGE, "sleep", "3600");
    assertThat(started.exit).as(started.err).isZero();
    String id = started.out.strip();
    try {
      assertThat(run("list", "-q").out.lines()).contains(id);
      long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
      while (run("list", "-q").out.lines().anyMatch(id::equals) || !vmmProcessesOf(id).isEmpty()) {
        assertThat(System.nanoTime() - deadline).as("pod %s still listed or running", id).isNegative();
        java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(1));
      }
      assertThat(io.micropod.examples.HelloAccess.home().resolve("pods").resolve(id)).doesNotExist();
    } finally {
      if (!vmmProcessesOf(id).isEmpty()) {
        run("stop", "-t", "0", id);
      }
    }
  }
}
