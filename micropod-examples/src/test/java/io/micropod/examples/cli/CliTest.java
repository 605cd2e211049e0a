package io.micropod.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micropod.ImageInfo;
import io.micropod.MicroPodSpec;
import io.micropod.PortMapping;
import io.micropod.PullPolicy;
import io.micropod.event.Phase;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
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

  /** {@link #run} with empty {@code out} and {@code err} before. */
  private int runAnew(String... args) {
    out.getBuffer().setLength(0);
    err.getBuffer().setLength(0);
    return run(args);
  }

  private RunCommand parseRun(String... args) {
    CommandLine cl = Main.commandLine(new Main(HOST_ENV), new PrintWriter(out), new PrintWriter(err));
    CommandLine.ParseResult parsed = cl.parseArgs(args);
    return (RunCommand) parsed.subcommand().commandSpec().userObject();
  }

  @Test
  void volumesBecomeMountsReadWriteUnlessRo(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
    MicroPodSpec spec = parseRun("run", "-v", dir + ":/data:ro", "--volume", dir + ":/out",
        "-v", dir + ":/out2:rw", "oci:/i").spec();

    assertThat(spec.mounts()).extracting(Object::toString).containsExactly(
        dir + ":/data:ro", dir + ":/out:rw", dir + ":/out2:rw");
    for (String bad : new String[] {"/nope-" + System.nanoTime() + ":/d", dir + ":relative", dir.toString(),
        ":/d", dir + ":/"}) {
      assertThat(run("run", "-v", bad, "oci:/i")).as(bad).isEqualTo(ExitCodes.USAGE);
      assertThat(err.toString()).contains("invalid --volume");
    }
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
  void runTakesEntrypointUserHostnameLabelsAndEnvFilesAsDockerDoes(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws java.io.IOException {
    java.nio.file.Path envFile = java.nio.file.Files.writeString(dir.resolve("app.env"),
        "# comment\n\nA=from-file\nC=only in file = yes\nFROM_HOST\n");
    MicroPodSpec spec = parseRun("run", "--entrypoint", "/bin/sh", "-u", "1000:1000", "--hostname", "web1",
        "-l", "team=a", "--label", "k=v=w", "--env-file", envFile.toString(), "-e", "A=from-flag",
        "oci:/i", "-c", "echo hi").spec();

    assertThat(spec.entrypoint()).hasValue(java.util.List.of("/bin/sh"));
    assertThat(spec.command()).containsExactly("-c", "echo hi");
    assertThat(spec.user()).hasValue("1000:1000");
    assertThat(spec.hostname()).hasValue("web1");
    assertThat(spec.labels()).containsExactly(Map.entry("team", "a"), Map.entry("k", "v=w"));
    assertThat(spec.env()).as("--env wins over --env-file; KEY alone takes this shell's value")
        .containsExactly(Map.entry("A", "from-flag"), Map.entry("C", "only in file = yes"),
            Map.entry("FROM_HOST", "host value"));
    assertThatThrownBy(() -> parseRun("run", "--label", "=x", "oci:/i").spec())
        .hasMessageContaining("--label");
    assertThatThrownBy(() -> parseRun("run", "--env-file", dir.resolve("missing.env").toString(), "oci:/i").spec())
        .hasMessageContaining("cannot read --env-file");
    assertThatThrownBy(() -> parseRun("run", "-u", "a b", "oci:/i").spec())
        .hasMessageContaining("user");
  }

  @Test
  void snapshotsAreListedRestoredByNameAndRemoved() throws java.io.IOException {
    java.nio.file.Path home;
    try (io.micropod.MicroPodRuntime r = io.micropod.MicroPodRuntime.builder().build()) {
      home = r.home();
    }
    String name = "clitest-" + System.nanoTime();
    java.nio.file.Path dir = java.nio.file.Files.createDirectories(home.resolve("snapshots").resolve(name));
    try {
      java.nio.file.Files.writeString(dir.resolve("manifest.json"), "{\"format\":1,\"name\":\"" + name
          + "\",\"image\":\"oci:/images/busybox\",\"sourcePodId\":\"abc123\",\"containerId\":\"abc123\","
          + "\"createdAt\":\"2026-01-01T00:00:00Z\",\"sizeBytes\":1000000,\"memoryMib\":768,\"cpus\":2,"
          + "\"guestVersion\":\"g\",\"sdkVersion\":\"s\",\"machine\":\"microvm\",\"hostnameSet\":false,"
          + "\"blockImage\":\"/x\",\"blockImageBytes\":1,\"ramBytes\":1,\"stateSha256\":\"sha256:00\"}");

      assertThat(runAnew("snapshot", "ls")).isZero();
      assertThat(out.toString()).contains("NAME").contains(name).contains("oci:/images/busybox")
          .contains("abc123").contains("768 MiB");

      MicroPodSpec spec = parseRun("run", "-d", "--name", "w", "-p", "8080:80", "--from-snapshot", name).spec();
      assertThat(spec.fromSnapshot()).hasValue(name);
      assertThat(spec.snapshottable()).isTrue();
      assertThat(spec.image().toString()).isEqualTo("oci:/images/busybox:latest");
      assertThat(spec.memoryMib()).isEqualTo(768);
      assertThat(spec.cpus()).isEqualTo(2);
      assertThat(spec.detached()).isTrue();
      assertThat(spec.name()).hasValue("w");

      assertThat(runAnew("run", "--from-snapshot", name, "oci:/i")).isEqualTo(ExitCodes.USAGE);
      assertThat(err.toString()).contains("--from-snapshot takes no IMAGE");
      assertThat(runAnew("run", "--from-snapshot", "nope-" + name)).isEqualTo(ExitCodes.USAGE);
      assertThat(err.toString()).contains("no snapshot named nope-" + name);

      assertThat(runAnew("snapshot", "rm", name)).isZero();
      assertThat(out.toString()).isEqualTo(name + "\n");
      assertThat(dir).doesNotExist();
      assertThat(runAnew("snapshot", "rm", name)).isEqualTo(ExitCodes.FAILURE);
      assertThat(err.toString()).contains("no snapshot named " + name);
    } finally {
      if (java.nio.file.Files.exists(dir)) {
        try (var w = java.nio.file.Files.walk(dir)) {
          for (java.nio.file.Path q : w.sorted(java.util.Comparator.reverseOrder()).toList()) {
            java.nio.file.Files.delete(q);
          }
        }
      }
    }
  }

  @Test
  void runSnapshottableBootsAPodThatSnapshotCreateCanTakeAndRefusesVolumes(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
    assertThat(parseRun("run", "-d", "--snapshottable", "oci:/i").spec().snapshottable()).isTrue();
    assertThat(parseRun("run", "-d", "oci:/i").spec().snapshottable()).isFalse();

    assertThat(runAnew("run", "--snapshottable", "-v", dir + ":/d", "oci:/i")).isEqualTo(ExitCodes.USAGE);
    assertThat(err.toString()).contains("--snapshottable: a snapshottable pod cannot have host directory mounts");
  }

  @Test
  void snapshotCreateNeedsAPodAndAName() {
    assertThat(runAnew("snapshot", "create")).isEqualTo(ExitCodes.USAGE);
    assertThat(err.toString()).contains("Missing required parameters: 'ID|NAME', 'SNAPSHOT'");
    assertThat(runAnew("snapshot", "create", "nope-pod-" + System.nanoTime(), "s1")).isEqualTo(ExitCodes.NO_SUCH_POD);
    assertThat(err.toString()).contains("no such pod: nope-pod-");
    assertThat(runAnew("snapshot", "--help")).isZero();
    assertThat(out.toString()).contains("create").contains("Snapshot a running pod started with --snapshottable");
  }

  @Test
  void runWithoutAnImageOrSnapshotSaysWhatIsMissing() {
    assertThat(runAnew("run")).isEqualTo(ExitCodes.USAGE);
    assertThat(err.toString()).contains("Missing required parameter: 'IMAGE'");
  }

  @Test
  void pauseAndResumeNeedAPod() {
    assertThat(runAnew("pause")).isEqualTo(ExitCodes.USAGE);
    assertThat(runAnew("resume")).isEqualTo(ExitCodes.USAGE);
    // as stop, logs and exec (and Docker): exit 1 and "no such pod"
    String missing = "no-such-pod-" + System.nanoTime();
    assertThat(runAnew("pause", missing)).isEqualTo(ExitCodes.NO_SUCH_POD);
    assertThat(err.toString()).isEqualTo("micropod: no such pod: " + missing + "\n");
  }

  @Test
  void runDefaultsToTheImagesCommandAnd512MiB() {
    MicroPodSpec spec = parseRun("run", "oci:/images/busybox").spec();

    assertThat(spec.command()).isEmpty();
    assertThat(spec.memoryMib()).isEqualTo(512);
    assertThat(spec.cpus()).isEqualTo(1);
  }

  private <T> T parse(Class<T> type, String... args) {
    CommandLine cl = Main.commandLine(new Main(HOST_ENV), new PrintWriter(out), new PrintWriter(err));
    CommandLine.ParseResult parsed = cl.parseArgs(args);
    return type.cast(parsed.subcommand().commandSpec().userObject());
  }

  @Test
  void runDetachedWithANameMakesADetachedNamedSpec() {
    RunCommand run = parseRun("run", "-d", "--name", "web", "oci:/i", "sleep", "600");
    MicroPodSpec spec = run.spec();

    assertThat(run.detach).isTrue();
    assertThat(spec.detached()).isTrue();
    assertThat(spec.name()).contains("web");
    assertThat(spec.command()).containsExactly("sleep", "600");
    assertThat(parseRun("run", "oci:/i").spec().detached()).isFalse();
  }

  @Test
  void securityOptSeccompUnconfinedRelaxesTheDefaultProfileAndOtherOptionsAreRefused() {
    assertThat(parseRun("run", "oci:/i").spec().seccomp()).isEqualTo(io.micropod.SeccompProfile.DEFAULT);
    assertThat(parseRun("run", "--security-opt", "seccomp=unconfined", "oci:/i").spec().seccomp())
        .isEqualTo(io.micropod.SeccompProfile.UNCONFINED);
    assertThat(parseRun("run", "--security-opt", "seccomp:unconfined", "oci:/i").spec().seccomp())
        .as("Docker's older colon form").isEqualTo(io.micropod.SeccompProfile.UNCONFINED);
    assertThat(parseRun("run", "--security-opt", "seccomp=builtin", "oci:/i").spec().seccomp())
        .isEqualTo(io.micropod.SeccompProfile.DEFAULT);
    for (String bad : new String[] {"seccomp=/etc/profile.json", "apparmor=unconfined", "no-new-privileges"}) {
      assertThat(run("run", "--security-opt", bad, "oci:/i")).as(bad).isEqualTo(ExitCodes.USAGE);
      assertThat(err.toString()).contains("unsupported --security-opt \"" + bad + "\"");
    }
  }

  @Test
  void exposeHostPortIsRepeatableAndReachesTheSpec() {
    MicroPodSpec spec = parseRun("run", "--expose-host-port", "5432", "--expose-host-port", "8080", "oci:/i").spec();
    assertThat(spec.exposedHostPorts()).containsExactly(5432, 8080);
    assertThat(parseRun("run", "oci:/i").spec().exposedHostPorts()).isEmpty();
    assertThatThrownBy(() -> parseRun("run", "--expose-host-port", "0", "oci:/i").spec())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0");
  }

  @Test
  void psIsListAndTakesQuietAndAll() {
    ListCommand ps = parse(ListCommand.class, "ps", "-q", "-a");
    assertThat(ps.quiet).isTrue();
    assertThat(ps.all).isTrue();
    assertThat(parse(ListCommand.class, "list").quiet).isFalse();
  }

  @Test
  void stopTakesSeveralPodsAndATimeout() {
    StopCommand stop = parse(StopCommand.class, "stop", "-t", "3", "web", "0123456789ab");
    assertThat(stop.timeout.seconds).isEqualTo(3);
    assertThat(stop.pods).containsExactly("web", "0123456789ab");
    assertThat(parse(StopCommand.class, "stop", "web").timeout.seconds).isEqualTo(10);
  }

  @Test
  void logsTakesFollow() {
    LogsCommand logs = parse(LogsCommand.class, "logs", "-f", "web");
    assertThat(logs.follow).isTrue();
    assertThat(logs.pod).isEqualTo("web");
  }

  @Test
  void everythingAfterTheExecPodIsTheCommand() {
    ExecCommand exec = parse(ExecCommand.class, "exec", "-e", "A=1", "-w", "/tmp", "web", "sh", "-c", "ls -l", "-e");
    assertThat(exec.pod).isEqualTo("web");
    assertThat(exec.command).containsExactly("sh", "-c", "ls -l", "-e");
    io.micropod.ExecSpec spec = exec.execSpec();
    assertThat(spec.env()).containsExactly(Map.entry("A", "1"));
    assertThat(spec.workingDir()).contains("/tmp");
    assertThat(spec.command()).containsExactly("sh", "-c", "ls -l", "-e");
    assertThat(spec.tty()).isEmpty();

    ExecCommand it = parse(ExecCommand.class, "exec", "-it", "web", "sh", "-i");
    assertThat(it.interactive).isTrue();
    assertThat(it.tty).isTrue();
    assertThat(it.command).containsExactly("sh", "-i");
    // the test's stdin is no terminal: the default size
    assertThat(it.execSpec().tty()).contains(io.micropod.TerminalSize.DEFAULT);
  }

  @Test
  void execTimeoutTakesTheCliDurationsAndIsNoneByDefault() {
    assertThat(parse(ExecCommand.class, "exec", "web", "ls").execSpec().timeout()).isEmpty();
    assertThat(parse(ExecCommand.class, "exec", "--timeout", "1m30s", "web", "sleep", "99").execSpec().timeout())
        .contains(java.time.Duration.ofSeconds(90));
    assertThat(parse(ExecCommand.class, "exec", "--timeout", "500ms", "web", "ls").execSpec().timeout())
        .contains(java.time.Duration.ofMillis(500));
    // after the pod, --timeout is the command's own argument
    assertThat(parse(ExecCommand.class, "exec", "web", "ls", "--timeout", "5s").command)
        .containsExactly("ls", "--timeout", "5s");
    assertThat(parse(ExecCommand.class, "exec", "--timeout", "5", "web", "ls").execSpec().timeout())
        .as("plain seconds, as stop -t and timeout(1)").contains(java.time.Duration.ofSeconds(5));
    assertThatThrownBy(() -> parse(ExecCommand.class, "exec", "--timeout", "5x", "web", "ls").execSpec())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--timeout").hasMessageContaining("5x");
    assertThatThrownBy(() -> parse(ExecCommand.class, "exec", "--timeout", "0s", "web", "ls").execSpec())
        .isInstanceOf(IllegalArgumentException.class).hasMessage("--timeout must be more than 0: 0s");
    assertThatThrownBy(() -> parse(ExecCommand.class, "exec", "--timeout", "0", "web", "ls").execSpec())
        .isInstanceOf(IllegalArgumentException.class).hasMessage("--timeout must be more than 0: 0");
  }

  @Test
  void egressFlagsBecomeTheSpecsRules() {
    MicroPodSpec spec = parseRun("run", "--egress-allow", "198.51.100.0/24", "--egress-allow", "*.Example.org",
        "--egress-deny", "bad.example.org", "--egress-deny-all", "oci:/i").spec();

    assertThat(spec.egress().allowed()).containsExactly("198.51.100.0/24", "*.example.org");
    assertThat(spec.egress().denied()).containsExactly("bad.example.org");
    assertThat(spec.egress().defaultAction()).isEqualTo(io.micropod.EgressPolicy.Action.DENY);
    assertThat(parseRun("run", "oci:/i").spec().egress().isAllowAll()).isTrue();
  }

  @Test
  void aMalformedEgressRuleIsAOneLineErrorNamingTheFlag() {
    assertThatThrownBy(() -> parseRun("run", "--egress-allow", "198.51.100.0/33", "oci:/i").spec())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("--egress-allow: egress rule '198.51.100.0/33'").hasMessageNotContaining("\n");
    assertThatThrownBy(() -> parseRun("run", "--egress-deny", "a.*.org", "oci:/i").spec())
        .hasMessageStartingWith("--egress-deny: egress rule 'a.*.org'");
  }

  /** A template directory as a warm start leaves it, with a sparse RAM file of 64 MiB (one page in use). */
  private static java.nio.file.Path fakeTemplate(java.nio.file.Path home, String id) throws java.io.IOException {
    java.nio.file.Path dir = java.nio.file.Files.createDirectories(home.resolve("templates").resolve(id));
    java.nio.file.Files.writeString(dir.resolve("state"), "device state");
    try (java.io.RandomAccessFile ram = new java.io.RandomAccessFile(dir.resolve("ram").toFile(), "rw")) {
      ram.setLength(64L << 20);
      ram.write(new byte[4096]);
    }
    java.nio.file.Files.writeString(dir.resolve("manifest.json"), "{\"format\":1,\"name\":\"" + id + "\","
        + "\"image\":\"oci:/images/busybox:latest\",\"sourcePodId\":\"abc123\",\"containerId\":\"\","
        + "\"createdAt\":\"2026-01-01T00:00:00Z\",\"sizeBytes\":4096,\"memoryMib\":768,\"cpus\":2,"
        + "\"guestVersion\":\"g\",\"sdkVersion\":\"s\",\"machine\":\"microvm\",\"vmm\":\"qemu\",\"hostnameSet\":false,"
        + "\"networkMode\":\"NAT\",\"blockImage\":\"/x\",\"blockImageBytes\":1,\"ramBytes\":1,\"stateSha256\":\"sha256:00\"}");
    return dir;
  }

  private static String randomTemplateId() {
    return java.util.HexFormat.of().formatHex(java.nio.ByteBuffer.allocate(16)
        .putLong(System.nanoTime()).putLong(new java.util.Random().nextLong()).array());
  }

  @Test
  void templateLsShowsEachTemplatesConfigurationAndSizeAsATableOrJsonAndRmRemovesIt() throws java.io.IOException {
    java.nio.file.Path home;
    try (io.micropod.MicroPodRuntime r = io.micropod.MicroPodRuntime.builder().build()) {
      home = r.home();
    }
    String id = randomTemplateId();
    String broken = randomTemplateId();
    java.nio.file.Path dir = fakeTemplate(home, id);
    java.nio.file.Path brokenDir = java.nio.file.Files.createDirectories(home.resolve("templates").resolve(broken));
    try {
      assertThat(runAnew("template", "ls")).isZero();
      assertThat(out.toString()).startsWith("ID ").contains("IMAGE").contains("SIZE").contains("LAST USED");
      String row = out.toString().lines().filter(l -> l.startsWith(id)).findFirst().orElseThrow();
      assertThat(row).contains("oci:/images/busybox:latest").contains("768 MiB").contains(" 2 ").contains("nat")
          .contains("qemu").contains("never").doesNotContain("67.1MB");
      assertThat(out.toString().lines().filter(l -> l.startsWith(broken))).singleElement()
          .satisfies(l -> assertThat(l).contains("(broken: ").contains("manifest.json"));

      assertThat(runAnew("template", "ls", "--format", "json")).isZero();
      assertThat(out.toString()).startsWith("[").contains("\"ID\": \"" + id + "\"")
          .contains("\"MemoryMiB\": 768").contains("\"Cpus\": 2").contains("\"NetworkMode\": \"nat\"")
          .contains("\"Driver\": \"qemu\"").contains("\"LastUsedAt\": null");
      assertThat(runAnew("template", "ls", "--format", "{{.ID}}")).isEqualTo(ExitCodes.USAGE);
      assertThat(err.toString()).contains("invalid --format \"{{.ID}}\": only json is supported");

      assertThat(runAnew("template", "rm", id, broken)).isZero();
      assertThat(out.toString()).isEqualTo(id + "\n" + broken + "\n");
      assertThat(dir).doesNotExist();
      assertThat(brokenDir).doesNotExist();
      assertThat(runAnew("template", "rm", id)).isEqualTo(ExitCodes.FAILURE);
      assertThat(err.toString()).contains("no template with ID " + id + ": see `micropod template ls`");
    } finally {
      for (java.nio.file.Path d : List.of(dir, brokenDir)) {
        if (java.nio.file.Files.exists(d)) {
          try (var w = java.nio.file.Files.walk(d)) {
            for (java.nio.file.Path q : w.sorted(java.util.Comparator.reverseOrder()).toList()) {
              java.nio.file.Files.delete(q);
            }
          }
        }
      }
    }
  }

  @Test
  void templateRmRefusesAnIdThatIsAPathWithOneLineAndStatus2() {
    assertThat(runAnew("template", "rm", "../snapshots")).isEqualTo(ExitCodes.USAGE);
    assertThat(err.toString()).isEqualTo("micropod: template id must be 32 hex digits as MicroPodRuntime.templates()"
        + " and `micropod template ls` list them: ../snapshots\n");
    assertThat(runAnew("template", "rm")).isEqualTo(ExitCodes.USAGE);
    assertThat(runAnew("template")).isEqualTo(ExitCodes.USAGE);
    assertThat(err.toString()).contains("ls").contains("rm").contains("prune");
  }

  @Test
  void templatePruneSaysWhichTemplatesItRemovedAndTheSpaceItFreedAsDockerPruneDoes() {
    io.micropod.PodTemplate a = new io.micropod.PodTemplate("0123456789abcdef0123456789abcdef",
        java.nio.file.Path.of("/h/templates/a"), "oci:/i", null, 512, 1, null, "qemu", "s", "g", 153_000_000L,
        Instant.EPOCH, null, null);
    io.micropod.PodTemplate b = new io.micropod.PodTemplate("fedcba9876543210fedcba9876543210",
        java.nio.file.Path.of("/h/templates/b"), "", null, 0, 0, null, "", "", "", 4096, Instant.EPOCH, null, "broken");

    assertThat(TemplateCommand.pruned(List.of(a, b))).isEqualTo("Deleted Templates:\n"
        + "0123456789abcdef0123456789abcdef\nfedcba9876543210fedcba9876543210\n\nTotal reclaimed space: 153MB\n");
    assertThat(TemplateCommand.pruned(List.of())).isEqualTo("Total reclaimed space: 0B\n");
    assertThat(runAnew("template", "prune", "--help")).isZero();
    assertThat(out.toString()).contains("Remove every template");
  }

  @Test
  void inspectIsDockerShapedJsonWithTheSpecWithoutEnvValuesTheStateAndTheTimings() {
    Instant now = Instant.parse("2026-11-28T12:00:00Z");
    io.micropod.PodInfo base = new io.micropod.PodInfo("0123456789ab", "we\"b", "oci:/images/busybox", "qemu",
        io.micropod.PodInfo.Status.RUNNING, true, 42, 43, Map.of(80, 28080), now.minusSeconds(90),
        now.minusSeconds(80), null, 0, 3, null);
    io.micropod.PodInfo.Config config = new io.micropod.PodInfo.Config(null, List.of("sh", "-c", "exit 3"),
        "1000", null, "/srv", Map.of("app", "web"), List.of("/data:/srv/data:ro"),
        List.of("backend"), List.of("db"), io.micropod.RestartPolicy.onFailure(2),
        io.micropod.HealthCheck.builder().command("true").interval(Duration.ofSeconds(5)).build(),
        io.micropod.EgressPolicy.builder().defaultAction(io.micropod.EgressPolicy.Action.DENY)
            .allow("198.51.100.0/24", "*.example.org").build(),
        io.micropod.NetworkMode.NAT, 0, 0);
    io.micropod.PodInfo exited = new io.micropod.PodInfo(base, io.micropod.PodInfo.Status.EXITED,
        now.minusSeconds(60), config, io.micropod.BootTimings.of(Duration.ofMillis(100), Duration.ofMillis(2000),
            Duration.ofMillis(2500), Duration.ofMillis(300), Duration.ofMillis(3000)));

    String json = InspectCommand.json(exited);

    assertThat(json).doesNotContain("host value").isEqualTo(""
        + "  {\n"
        + "    \"Id\": \"0123456789ab\",\n"
        + "    \"Name\": \"we\\\"b\",\n"
        + "    \"Created\": \"2026-11-28T11:58:30Z\",\n"
        + "    \"State\": {\n"
        + "      \"Status\": \"exited\",\n"
        + "      \"Running\": false,\n"
        + "      \"Paused\": false,\n"
        + "      \"ExitCode\": 3,\n"
        + "      \"StartedAt\": \"2026-11-28T11:58:40Z\",\n"
        + "      \"FinishedAt\": \"2026-11-28T11:59:00Z\",\n"
        + "      \"Health\": null,\n"
        + "      \"EndReason\": null\n"
        + "    },\n"
        + "    \"RestartCount\": 0,\n"
        + "    \"Config\": {\n"
        + "      \"Image\": \"oci:/images/busybox\",\n"
        + "      \"Entrypoint\": null,\n"
        + "      \"Cmd\": [\n"
        + "        \"sh\",\n"
        + "        \"-c\",\n"
        + "        \"exit 3\"\n"
        + "      ],\n"
        + "      \"User\": \"1000\",\n"
        + "      \"Hostname\": \"\",\n"
        + "      \"WorkingDir\": \"/srv\",\n"
        + "      \"Labels\": {\n"
        + "        \"app\": \"web\"\n"
        + "      },\n"
        + "      \"Healthcheck\": {\n"
        + "        \"Test\": [\n"
        + "          \"CMD\",\n"
        + "          \"true\"\n"
        + "        ],\n"
        + "        \"Interval\": 5000000000,\n"
        + "        \"Timeout\": 30000000000,\n"
        + "        \"Retries\": 3,\n"
        + "        \"StartPeriod\": 0\n"
        + "      }\n"
        + "    },\n"
        + "    \"HostConfig\": {\n"
        + "      \"Memory\": null,\n"
        + "      \"NanoCpus\": null,\n"
        + "      \"NetworkMode\": \"nat\",\n"
        + "      \"RestartPolicy\": {\n"
        + "        \"Name\": \"on-failure\",\n"
        + "        \"MaximumRetryCount\": 2\n"
        + "      },\n"
        + "      \"Egress\": {\n"
        + "        \"Default\": \"deny\",\n"
        + "        \"Allow\": [\n"
        + "          \"198.51.100.0/24\",\n"
        + "          \"*.example.org\"\n"
        + "        ],\n"
        + "        \"Deny\": []\n"
        + "      }\n"
        + "    },\n"
        + "    \"Mounts\": [\n"
        + "      {\n"
        + "        \"Type\": \"bind\",\n"
        + "        \"Source\": \"/data\",\n"
        + "        \"Destination\": \"/srv/data\",\n"
        + "        \"Mode\": \"ro\",\n"
        + "        \"RW\": false\n"
        + "      }\n"
        + "    ],\n"
        + "    \"NetworkSettings\": {\n"
        + "      \"Ports\": {\n"
        + "        \"80/tcp\": [\n"
        + "          {\n"
        + "            \"HostIp\": \"127.0.0.1\",\n"
        + "            \"HostPort\": \"28080\"\n"
        + "          }\n"
        + "        ]\n"
        + "      },\n"
        + "      \"Networks\": {\n"
        + "        \"backend\": {\n"
        + "          \"Aliases\": [\n"
        + "            \"db\"\n"
        + "          ]\n"
        + "        }\n"
        + "      }\n"
        + "    },\n"
        + "    \"Driver\": \"qemu\",\n"
        + "    \"Detached\": true,\n"
        + "    \"OwnerPid\": 42,\n"
        + "    \"VmmPid\": 43,\n"
        + "    \"BootTimings\": {\n"
        + "      \"ImageMs\": 100,\n"
        + "      \"VmBootMs\": 2000,\n"
        + "      \"AgentReadyMs\": 2500,\n"
        + "      \"ContainerStartMs\": 300,\n"
        + "      \"TotalMs\": 3000\n"
        + "    }\n"
        + "  }");
  }

  @Test
  void inspectShowsMemoryInBytesCpusInNanoCpusAndTheNetworkModeAsDockersHostConfig() {
    Instant now = Instant.parse("2026-11-28T12:00:00Z");
    io.micropod.PodInfo base = new io.micropod.PodInfo("0123456789ab", null, "oci:/images/busybox", "qemu",
        io.micropod.PodInfo.Status.RUNNING, false, 42, 43, Map.of(), now, now, null, 0, 0, null);
    io.micropod.PodInfo.Config config = new io.micropod.PodInfo.Config(null, List.of("sleep", "60"), null, null,
        null, Map.of(), List.of(), List.of(), List.of(), io.micropod.RestartPolicy.no(), null,
        io.micropod.EgressPolicy.allowAll(), io.micropod.NetworkMode.NONE, 768, 2);

    Map<String, Object> tree = InspectCommand.tree(new io.micropod.PodInfo(base, io.micropod.PodInfo.Status.RUNNING,
        null, config, null));

    @SuppressWarnings("unchecked")
    Map<String, Object> hostConfig = (Map<String, Object>) tree.get("HostConfig");
    assertThat(hostConfig).containsEntry("Memory", 768L * 1024 * 1024).containsEntry("NanoCpus", 2_000_000_000L)
        .containsEntry("NetworkMode", "none");
    assertThat(InspectCommand.json(new io.micropod.PodInfo(base, io.micropod.PodInfo.Status.RUNNING, null, config,
        null))).contains("\"Memory\": 805306368,").contains("\"NanoCpus\": 2000000000,")
        .contains("\"NetworkMode\": \"none\",");
  }

  @Test
  void inspectOfAStartingPodHasNoSpecYet() {
    Instant now = Instant.parse("2026-11-28T12:00:00Z");
    String json = InspectCommand.json(new io.micropod.PodInfo("0123456789ab", null, "oci:/images/busybox", "qemu",
        io.micropod.PodInfo.Status.STARTING, false, 42, 0, Map.of(), now, null));

    assertThat(json).contains("\"Status\": \"starting\"", "\"Config\": {\n      \"Image\": \"oci:/images/busybox\"\n    }",
        "\"NetworkSettings\": {\n      \"Ports\": {}\n    }", "\"VmmPid\": null")
        .doesNotContain("Mounts", "BootTimings", "HostConfig");
  }

  @Test
  void listShowsAnExitedPodAsDockerDoes() {
    Instant now = Instant.parse("2026-11-28T12:00:00Z");
    io.micropod.PodInfo base = new io.micropod.PodInfo("0123456789ab", "job", "oci:/images/busybox", "qemu",
        io.micropod.PodInfo.Status.RUNNING, true, 42, 43, Map.of(), now.minusSeconds(400), now.minusSeconds(390),
        null, 0, 3, null);
    io.micropod.PodInfo exited = new io.micropod.PodInfo(base, io.micropod.PodInfo.Status.EXITED,
        now.minusSeconds(200), null, null);

    assertThat(ListCommand.status(exited, now)).isEqualTo("Exited (3) 3 minutes ago");
    assertThat(ListCommand.table(List.of(exited), now)).contains("Exited (3) 3 minutes ago");
  }

  @Test
  void statsRowGivesCpuPercentOverTheIntervalMemoryAgainstTheLimitAndNetworkInOut() {
    io.micropod.PodStats before = new io.micropod.PodStats(1_000_000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    io.micropod.PodStats now = new io.micropod.PodStats(1_250_000, 50_000_000, 200_000_000, 1_000_000, 2_000, 512_000_000,
        400_000_000, 0.1, 0, 1_234, 10, 3_400, 12);

    assertThat(StatsCommand.row("0123456789ab", "web", before, now, 1_000_000_000L)).containsExactly(
        "0123456789ab", "web", "25.00%", "50MB / 200MB", "25.00%", "1.23kB / 3.4kB", "1MB / 2kB", "400MB");
  }

  @Test
  void cpNeedsExactlyOnePodPathAndAnAbsoluteContainerPath() {
    assertThat(CpCommand.PodPath.parse("web:/etc/hosts")).isEqualTo(new CpCommand.PodPath("web", "/etc/hosts"));
    assertThat(CpCommand.PodPath.parse("./a:b")).isNull();
    assertThat(CpCommand.PodPath.parse("/tmp/x")).isNull();
    assertThat(run("cp", "a", "b")).isEqualTo(ExitCodes.USAGE);
    assertThat(err.toString()).contains("exactly one of SRC and DEST must be POD:PATH");
    assertThat(run("cp", "web:etc", "b")).isEqualTo(ExitCodes.USAGE);
    assertThat(err.toString()).contains("give the container path absolute, e.g. web:/etc");
  }

  @ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"rm", "inspect", "stats", "cp", "top", "restart", "rename", "version"})
  void newVerbsHaveHelp(String verb) {
    assertThat(run(verb, "--help")).isZero();
    assertThat(out.toString()).startsWith("Usage: micropod " + verb);
  }

  @ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"network", "network create", "network ls",
      "network rm", "network inspect"})
  void networkVerbsHaveHelp(String verb) {
    assertThat(run((verb + " --help").split(" "))).isZero();
    assertThat(out.toString()).startsWith("Usage: micropod " + verb);
  }

  @Test
  void networkNoneIsOnlyLoopbackAndBridgeOrDefaultIsTheNat() {
    assertThat(parseRun("run", "--network", "none", "oci:/i").spec().networkMode()).isEqualTo(io.micropod.NetworkMode.NONE);
    for (String nat : new String[] {"bridge", "default"}) {
      MicroPodSpec spec = parseRun("run", "--network", nat, "oci:/i").spec();
      assertThat(spec.networkMode()).as(nat).isEqualTo(io.micropod.NetworkMode.NAT);
      assertThat(spec.networks()).as(nat).isEmpty();
    }
    assertThat(parseRun("run", "oci:/i").spec().networkMode()).isEqualTo(io.micropod.NetworkMode.NAT);
  }

  @Test
  void networkLsAndInspectAreDockerShaped() {
    Instant now = Instant.parse("2026-11-28T12:00:00Z");
    io.micropod.NetworkInfo backend = new io.micropod.NetworkInfo("backend", "10.89.1.0/24", 4711,
        now.minusSeconds(90), List.of("0123456789ab", "ba9876543210"));
    assertThat(NetworkCommand.Ls.table(List.of(backend), now)).isEqualTo(""
        + "NAME      DRIVER   SCOPE   SUBNET         PODS   OWNER   CREATED\n"
        + "backend   switch   local   10.89.1.0/24   2      4711    About a minute ago\n");
    io.micropod.PodInfo web = new io.micropod.PodInfo("0123456789ab", "web", "oci:/images/busybox", "qemu",
        io.micropod.PodInfo.Status.RUNNING, false, 42, 43, Map.of(), now, now);
    assertThat(NetworkCommand.Inspect.json(backend, List.of(web))).isEqualTo(""
        + "  {\n"
        + "    \"Name\": \"backend\",\n"
        + "    \"Created\": \"2026-11-28T11:58:30Z\",\n"
        + "    \"Scope\": \"local\",\n"
        + "    \"Driver\": \"switch\",\n"
        + "    \"IPAM\": {\"Config\": [{\"Subnet\": \"10.89.1.0/24\"}]},\n"
        + "    \"Containers\": {\n"
        + "      \"0123456789ab\": {\"Name\": \"web\"},\n"
        + "      \"ba9876543210\": {\"Name\": null}\n"
        + "    },\n"
        + "    \"OwnerPid\": 4711\n"
        + "  }");
  }

  /**
   * The whole life of a network without a VM: create starts a holder process that outlives the
   * command, a second create is refused, ls and inspect show it, rm ends the holder and the record.
   */
  @Test
  @org.junit.jupiter.api.Timeout(120)
  void networkCreateLsInspectRmAcrossCommands() {
    String name = "cli-test-" + Long.toHexString(System.nanoTime());
    assertThat(runAnew("network", "create", name)).as(err.toString()).isZero();
    assertThat(out.toString()).isEqualTo(name + "\n");
    long holder;
    try (io.micropod.MicroPodRuntime runtime = io.micropod.MicroPodRuntime.builder().build()) {
      holder = NetworkCommand.find(runtime.networks(), name).orElseThrow().ownerPid();
    }
    try {
      assertThat(holder).isNotEqualTo(ProcessHandle.current().pid());
      assertThat(ProcessHandle.of(holder)).as("the holder outlives create").isPresent();

      assertThat(runAnew("network", "create", name)).isEqualTo(1);
      assertThat(err.toString()).isEqualTo("micropod: network with name " + name + " already exists (held by process "
          + holder + "): choose another name, or remove it with `micropod network rm " + name + "`\n");

      assertThat(runAnew("network", "ls", "-q")).isZero();
      assertThat(out.toString().lines()).contains(name);
      assertThat(runAnew("network", "inspect", name)).isZero();
      assertThat(out.toString()).contains("\"Name\": \"" + name + "\"", "\"Containers\": {}", "\"OwnerPid\": " + holder);

      assertThat(runAnew("network", "rm", name, "nope-" + name)).isEqualTo(1);
      assertThat(out.toString()).as(err.toString()).isEqualTo(name + "\n");
      assertThat(err.toString()).isEqualTo("micropod: network nope-" + name + " not found\n");
      assertThat(ProcessHandle.of(holder).map(ProcessHandle::isAlive)).as("rm ends the holder").isIn(
          java.util.Optional.empty(), java.util.Optional.of(false));
      assertThat(runAnew("network", "ls", "-q")).isZero();
      assertThat(out.toString().lines()).doesNotContain(name);
    } finally {
      ProcessHandle.of(holder).ifPresent(ProcessHandle::destroyForcibly);
    }
  }

  @Test
  @org.junit.jupiter.api.Timeout(60)
  void networkRmLeavesANetworkOfAnotherProgramAlone() {
    String name = "cli-app-" + Long.toHexString(System.nanoTime());
    try (io.micropod.MicroPodRuntime runtime = io.micropod.MicroPodRuntime.builder().build();
        io.micropod.Network net = runtime.newNetwork(name)) {
      assertThat(runAnew("network", "rm", name)).isEqualTo(1);
      assertThat(err.toString()).isEqualTo("micropod: network " + name + " belongs to process "
          + ProcessHandle.current().pid() + " (an application or a `micropod run`), not to a network holder"
          + " (`micropod network create`): it ends when that process closes it or exits\n");
      assertThat(net.isClosed()).isFalse();
    }
  }

  @Test
  void listIsATableLikeDockerPs() {
    Instant now = Instant.parse("2026-11-28T12:00:00Z");
    String table = ListCommand.table(List.of(
        new io.micropod.PodInfo("0123456789ab", "web", "oci:/images/busybox", "qemu", io.micropod.PodInfo.Status.RUNNING,
            true, 42, 43, Map.of(8443, 28443, 80, 28080), now.minusSeconds(90), now.minusSeconds(80)),
        new io.micropod.PodInfo("ba9876543210", null, "alpine:3.20", "qemu", io.micropod.PodInfo.Status.STARTING,
            false, 44, -1, Map.of(), now.minusSeconds(5), null)), now);

    assertThat(table).isEqualTo(""
        + "ID             NAME     IMAGE                 STATUS     CREATED              PORTS\n"
        + "0123456789ab   web      oci:/images/busybox   running    About a minute ago   127.0.0.1:28080->80/tcp, 127.0.0.1:28443->8443/tcp\n"
        + "ba9876543210   <none>   alpine:3.20           starting   5 seconds ago\n");
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "run                      | micropod: Missing required parameter: 'IMAGE' (see 'micropod run --help')",
      "frob                     | micropod: Unmatched argument at index 0: 'frob' (see 'micropod --help')",
      "run --memory 64 oci:/i   | micropod: --memory must be 160 to 65536 MiB: 64",
      "run --memory lots oci:/i | micropod: invalid --memory \"lots\": use MiB, e.g. 512, 512m or 1g",
      "run --cpus 0 oci:/i      | micropod: --cpus must be at least 1: 0",
      "run -e =x oci:/i         | micropod: invalid --env \"=x\": use KEY=VALUE with a non-empty KEY",
      "run -w tmp oci:/i        | micropod: --workdir must be an absolute path: tmp",
      "run Bad/Ref              | micropod: invalid image reference \"Bad/Ref\": ",
      "run --pull sometimes oci:/i | micropod: invalid --pull \"sometimes\": use always, missing or never",
      "run -p 80/udp oci:/i     | micropod: invalid --publish \"80/udp\": only TCP ports can be published",
      "run -p 0.0.0.0:80:80 oci:/i | micropod: invalid --publish \"0.0.0.0:80:80\": ports are published on 127.0.0.1 only; drop the address",
      "run -p 8080:0 oci:/i     | micropod: invalid --publish \"8080:0\": use [HOST:]CONTAINER with ports 1..65535",
      "run -p web oci:/i        | micropod: invalid --publish \"web\": use [HOST:]CONTAINER with ports 1..65535",
      "run -p 1:2:3:4 oci:/i    | micropod: invalid --publish \"1:2:3:4\": use [HOST:]CONTAINER, e.g. 8080:80 or 80",
      "run --stop-timeout -1 oci:/i | micropod: --stop-timeout must be 0 or more seconds: -1",
      "run --insecure-registry http://r:5000 r:5000/a | micropod: invalid --insecure-registry \"http://r:5000\": use host or host:port",
      "pull oci:/images/busybox | micropod: pull takes a registry reference, not oci:/images/busybox",
      "rmi Bad/Ref              | micropod: invalid image reference \"Bad/Ref\": ",
      "stop                     | micropod: Missing required parameter: 'ID|NAME' (see 'micropod stop --help')",
      "stop -t -1 web           | micropod: --time must be 0 or more seconds: -1",
      "exec web                 | micropod: Missing required parameter: 'CMD' (see 'micropod exec --help')",
      "exec -w tmp web ls       | micropod: --workdir must be an absolute path: tmp",
      "logs                     | micropod: Missing required parameter: 'ID|NAME' (see 'micropod logs --help')",
      "run --network host oci:/i | micropod: --network host is not supported: a pod is a VM with its own network stack",
      "run --network container:web oci:/i | micropod: --network container:web is not supported",
      "run --network-alias web oci:/i | micropod: --network-alias web needs a network made with `micropod network create`",
      "run --network bridge --network-alias web oci:/i | micropod: --network-alias web needs a network",
      "run --network none --network backend oci:/i | micropod: --network none (only loopback) cannot be combined",
      "run --network nope-cli-test oci:/i | micropod: network nope-cli-test not found: create it with `micropod network create nope-cli-test`",
      "network create none      | micropod: network name \"none\" is reserved (--network bridge and default mean the NAT",
      "network create           | micropod: Missing required parameter: 'NAME' (see 'micropod network create --help')",
      "network rm               | micropod: Missing required parameter: 'NAME' (see 'micropod network rm --help')",
      "network inspect          | micropod: Missing required parameter: 'NAME' (see 'micropod network inspect --help')",
  })
  void badInputGivesOneLineAndStatus2(String args, String message) {
    int code = run(args.trim().split(" +"));

    assertThat(code).isEqualTo(2);
    assertThat(err.toString()).startsWith(message).endsWith("\n");
    assertThat(err.toString().lines()).hasSize(1);
  }

  @Test
  void runTakesRegistryReferencesPullPolicyPortsAndInsecureRegistries() {
    RunCommand run = parseRun("run", "--pull", "never", "-p", "8080", "-p", "0:8081", "-p", "9090:80/tcp",
        "-p", "127.0.0.1:9091:81", "--stop-timeout", "3", "--insecure-registry", "registry.lan:5000",
        "registry.lan:5000/team/app:1.2", "serve");

    MicroPodSpec spec = run.spec();

    assertThat(spec.image().registry()).hasValue("registry.lan:5000");
    assertThat(spec.image().toString()).isEqualTo("registry.lan:5000/team/app:1.2");
    assertThat(spec.pullPolicy()).isEqualTo(PullPolicy.NEVER);
    assertThat(spec.ports()).containsExactly(PortMapping.ofContainerPort(8080), PortMapping.ofContainerPort(8081),
        PortMapping.of(9090, 80), PortMapping.of(9091, 81));
    assertThat(run.stopTimeout).isEqualTo(3);
    assertThat(run.registry.insecureRegistries(HOST_ENV)).containsExactly("registry.lan:5000");
  }

  @ParameterizedTest
  @CsvSource({"always, ALWAYS", "missing, IF_MISSING", "never, NEVER", "Always, ALWAYS"})
  void pullPoliciesAreDockers(String flag, PullPolicy policy) {
    assertThat(RunCommand.pullPolicy(flag)).isEqualTo(policy);
  }

  @Test
  void runDefaultsToPullIfMissingAndATenSecondStopTimeout() {
    RunCommand run = parseRun("run", "alpine:3.20");

    assertThat(run.spec().pullPolicy()).isEqualTo(PullPolicy.IF_MISSING);
    assertThat(run.spec().image().toString()).isEqualTo("docker.io/library/alpine:3.20");
    assertThat(run.stopTimeout).isEqualTo(10);
  }

  @Test
  void insecureRegistriesAlsoComeFromTheEnvironment() {
    RegistryOptions options = new RegistryOptions();
    options.insecure.add("a:1");

    assertThat(options.insecureRegistries(Map.of(RegistryOptions.ENV, "b:2, c ,,")))
        .containsExactly("a:1", "b:2", "c");
  }

  @Test
  void imagesIsATableLikeDockers() {
    Instant now = Instant.parse("2026-11-28T12:00:00Z");
    String table = ImagesCommand.table(List.of(
        new ImageInfo("127.0.0.1:5000/busybox:latest", "sha256:0123456789abcdef0123", "linux/amd64", 2_160_000,
            now.minus(Duration.ofHours(3))),
        new ImageInfo("docker.io/library/alpine@sha256:" + "feed".repeat(16), "sha256:feedfacecafe1234", "linux/amd64", 999,
            now.minus(Duration.ofDays(20)))), now, false);

    assertThat(table).isEqualTo(""
        + "REPOSITORY               TAG      DIGEST         SIZE     CREATED\n"
        + "127.0.0.1:5000/busybox   latest   0123456789ab   2.16MB   3 hours ago\n"
        + "alpine                   <none>   feedfacecafe   999B     2 weeks ago\n");
  }

  @ParameterizedTest
  @CsvSource({
      "0, 0B", "999, 999B", "1000, 1kB", "1234, 1.23kB", "4260000, 4.26MB", "12345678, 12.3MB",
      "999999999, 1GB", "1500000000, 1.5GB"})
  void sizesAreDecimalWithThreeDigits(long bytes, String text) {
    assertThat(Units.bytes(bytes)).isEqualTo(text);
  }

  @ParameterizedTest
  @CsvSource({
      "0, Less than a second ago", "5, 5 seconds ago", "90, About a minute ago", "600, 10 minutes ago",
      "5400, About an hour ago", "36000, 10 hours ago", "259200, 3 days ago", "2592000, 4 weeks ago",
      "10368000, 4 months ago", "94608000, 3 years ago"})
  void agesAreDockers(long seconds, String text) {
    Instant now = Instant.parse("2026-11-28T12:00:00Z");
    assertThat(Units.ago(now.minusSeconds(seconds), now)).isEqualTo(text);
  }

  @Test
  void progressIsABarOnATerminalAndPlainLinesOtherwise() {
    assertThat(PullProgress.line(1_000_000, 4_000_000, true))
        .isEqualTo("[=======>                      ] 1MB/4MB         ");
    assertThat(PullProgress.line(4_000_000, 4_000_000, true)).startsWith("[==============================] 4MB/4MB");
    assertThat(PullProgress.line(1_000_000, 4_000_000, false)).isEqualTo("downloaded 1MB of 4MB (25%)");
  }

  @Test
  void progressPrintsNothingWhenNothingIsDownloadedAndTheLastStateOnClose() {
    StringWriter quiet = new StringWriter();
    new PullProgress(new PrintWriter(quiet), false, "r/a:1").close();
    StringWriter plain = new StringWriter();
    try (PullProgress p = new PullProgress(new PrintWriter(plain), false, "r/a:1")) {
      p.progress("r/a:1", Phase.IMAGE_PULL, 0, 2000);
      p.progress("r/a:1", Phase.IMAGE_PULL, 2000, 2000);
      assertThat(p.downloaded()).isTrue();
    }
    StringWriter bar = new StringWriter();
    try (PullProgress p = new PullProgress(new PrintWriter(bar), true, "r/a:1")) {
      p.progress("r/a:1", Phase.IMAGE_PULL, 2000, 2000);
    }

    assertThat(quiet.toString()).isEmpty();
    assertThat(plain.toString()).isEqualTo("Pulling r/a:1\ndownloaded 2kB of 2kB (100%)\n");
    assertThat(bar.toString()).startsWith("Pulling r/a:1\n\r[====").endsWith("\n");
  }

  @Test
  void helpListsTheCommands() {
    int code = run("--help");

    assertThat(code).isZero();
    assertThat(out.toString()).contains("run", "list", "stop", "logs", "exec", "pull", "images", "rmi", "doctor",
        "top", "restart", "rename", "version", "--version");
  }

  @Test
  void versionFlagPrintsTheSdkVersionOnOneLineAtOnce() {
    for (String flag : new String[] {"--version", "-v"}) {
      assertThat(runAnew(flag)).as(flag).isZero();
      assertThat(out.toString()).as(flag).isEqualTo("MicroPod version " + io.micropod.MicroPodRuntime.sdkVersion() + "\n");
      assertThat(err.toString()).isEmpty();
    }
    assertThat(io.micropod.MicroPodRuntime.sdkVersion()).matches("[0-9]+\\.[0-9]+.*");
  }

  @Test
  @org.junit.jupiter.api.Timeout(60)
  void versionShowsTheClientTheGuestImageTheVmmAndTheAcceleratorAsTextOrJson(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) {
    String path = System.getenv("PATH");
    org.junit.jupiter.api.Assumptions.assumeTrue(java.util.Arrays.stream(path.split(":"))
        .anyMatch(d -> java.nio.file.Files.isExecutable(java.nio.file.Path.of(d, "qemu-system-x86_64"))),
        "needs qemu-system-x86_64 on PATH");
    Map<String, String> env = Map.of("PATH", path, "MICROPOD_HOME", tmp.resolve("home").toString());
    String version = io.micropod.MicroPodRuntime.sdkVersion();

    int code = Main.execute(new String[] {"version"}, env, new PrintWriter(out, true), new PrintWriter(err, true));

    assertThat(code).as(out + "" + err).isZero();
    assertThat(out.toString()).startsWith("Client:\n Version:     " + version + "\n Java:        ")
        .contains("\n\nGuest image:\n Version:     " + version + "\n Image:       not installed yet: ")
        .containsPattern("\nVMM:\n Driver: +\\S")
        .containsPattern("(?m)^ QEMU: +/\\S*qemu-system-x86_64, version \\d+\\.\\d+")
        .containsPattern("(?m)^ Accelerator: +(KVM \\(|WARN: TCG \\([^)]+\\))");

    out.getBuffer().setLength(0);
    code = Main.execute(new String[] {"version", "--format", "json"}, env, new PrintWriter(out, true),
        new PrintWriter(err, true));

    assertThat(code).as(out + "" + err).isZero();
    assertThat(out.toString()).startsWith("{\n  \"Client\": {\n    \"Version\": \"" + version + "\",\n")
        .contains("\"Guest image\": {", "\"VMM\": {", "\"Accelerator\": ").endsWith("}\n");
    assertThat(tmp.resolve("home")).as("version writes nothing").doesNotExist();
    assertThat(runAnew("version", "--format", "{{.Client.Version}}")).isEqualTo(ExitCodes.USAGE);
    assertThat(err.toString()).isEqualTo("micropod: invalid --format \"{{.Client.Version}}\": only json is supported"
        + " (Go templates are not)\n");
  }

  @Test
  void topRunsPsInThePodWithTheOptionsAfterItOrDashEf() {
    CommandLine cl = Main.commandLine(new Main(HOST_ENV), new PrintWriter(out), new PrintWriter(err));
    TopCommand top = (TopCommand) cl.parseArgs("top", "web").subcommand().commandSpec().userObject();
    assertThat(top.argv()).containsExactly("ps", "-ef");
    cl = Main.commandLine(new Main(HOST_ENV), new PrintWriter(out), new PrintWriter(err));
    top = (TopCommand) cl.parseArgs("top", "web", "-o", "pid,comm", "--help").subcommand().commandSpec().userObject();
    assertThat(top.pod).isEqualTo("web");
    assertThat(top.argv()).containsExactly("ps", "-o", "pid,comm", "--help");

    assertThat(runAnew("top")).isEqualTo(ExitCodes.USAGE);
    assertThat(err.toString()).isEqualTo("micropod: Missing required parameter: 'ID|NAME' (see 'micropod top --help')\n");
    String missing = "no-such-pod-" + System.nanoTime();
    assertThat(runAnew("top", missing)).isEqualTo(ExitCodes.NO_SUCH_POD);
    assertThat(err.toString()).isEqualTo("micropod: no such pod: " + missing + "\n");
    assertThat(TopCommand.noPs("web")).contains("its image has no ps", "micropod exec web");
  }

  @Test
  void restartTakesSeveralPodsAndATimeoutAndReportsEachMissingOne() {
    CommandLine cl = Main.commandLine(new Main(HOST_ENV), new PrintWriter(out), new PrintWriter(err));
    RestartCommand restart = (RestartCommand) cl.parseArgs("restart", "-t", "3", "a", "b").subcommand()
        .commandSpec().userObject();
    assertThat(restart.timeout.duration()).isEqualTo(Duration.ofSeconds(3));
    assertThat(restart.pods).containsExactly("a", "b");

    assertThat(runAnew("restart")).isEqualTo(ExitCodes.USAGE);
    assertThat(runAnew("restart", "-t", "-1", "a")).isEqualTo(ExitCodes.USAGE);
    assertThat(err.toString()).isEqualTo("micropod: --time must be 0 or more seconds: -1\n");
    String one = "no-such-pod-" + System.nanoTime();
    String two = one + "-2";
    assertThat(runAnew("restart", one, two)).isEqualTo(ExitCodes.NO_SUCH_POD);
    assertThat(err.toString()).isEqualTo("micropod: no such pod: " + one + "\nmicropod: no such pod: " + two + "\n");
    assertThat(out.toString()).isEmpty();
  }

  @Test
  void renameNeedsAPodAndAValidNewNameAndSaysWhichPodIsMissing() {
    assertThat(runAnew("rename", "web")).isEqualTo(ExitCodes.USAGE);
    assertThat(err.toString()).isEqualTo("micropod: Missing required parameter: 'NEW_NAME' (see 'micropod rename --help')\n");
    assertThat(runAnew("rename", "web", "bad name")).isEqualTo(ExitCodes.USAGE);
    assertThat(err.toString()).isEqualTo("micropod: invalid NEW_NAME: name must be 1-63 of [A-Za-z0-9_.-], starting"
        + " with a letter or digit: bad name\n");
    String missing = "no-such-pod-" + System.nanoTime();
    assertThat(runAnew("rename", missing, "web2")).isEqualTo(ExitCodes.NO_SUCH_POD);
    assertThat(err.toString()).isEqualTo("micropod: no such pod: " + missing + "\n");
    assertThat(out.toString()).isEmpty();
  }

  @Test
  void everyVerbOfSeveralPodsReportsEachMissingPodAndGoesOn() {
    String one = "no-such-pod-" + System.nanoTime();
    String two = one + "-2";
    for (String verb : new String[] {"stop", "rm -f", "pause", "resume", "kill", "wait", "restart"}) {
      List<String> args = new java.util.ArrayList<>(List.of(verb.split(" ")));
      args.addAll(List.of(one, two));
      assertThat(runAnew(args.toArray(String[]::new))).as(verb).isEqualTo(ExitCodes.NO_SUCH_POD);
      assertThat(err.toString()).as(verb).isEqualTo("micropod: no such pod: " + one + "\nmicropod: no such pod: "
          + two + "\n");
    }
  }

  @Test
  void restartRebuildsTheRecordedSpecDetachedWithTheEnvironmentGivenAndTheSameHostPorts() {
    io.micropod.PodInfo base = new io.micropod.PodInfo("0123456789ab", "web", "oci:/images/busybox", "qemu",
        io.micropod.PodInfo.Status.RUNNING, false, 42, 43, Map.of(80, 28080), Instant.now(), Instant.now(),
        null, 0, null, null);
    io.micropod.PodInfo.Config config = new io.micropod.PodInfo.Config(List.of("/bin/sh", "-c"), List.of("exec httpd -f"),
        "1000", "box", "/srv", Map.of("app", "web"), List.of("/tmp:/srv/data:ro"), List.of(), List.of(),
        io.micropod.RestartPolicy.onFailure(2),
        io.micropod.HealthCheck.builder().command("true").interval(Duration.ofSeconds(5)).build(),
        io.micropod.EgressPolicy.builder().defaultAction(io.micropod.EgressPolicy.Action.DENY)
            .allow("198.51.100.0/24").build(), io.micropod.NetworkMode.NAT, 640, 2);
    io.micropod.PodInfo info = new io.micropod.PodInfo(base, io.micropod.PodInfo.Status.RUNNING, null, config, null);

    try (io.micropod.MicroPodRuntime runtime = io.micropod.MicroPodRuntime.builder().build()) {
      MicroPodSpec spec = RestartCommand.spec(info, Map.of("GREETING", "hi"), runtime);

      assertThat(spec.detached()).isTrue();
      assertThat(spec.name()).hasValue("web");
      assertThat(spec.image().toString()).isEqualTo("oci:/images/busybox:latest");
      assertThat(spec.entrypoint()).hasValue(List.of("/bin/sh", "-c"));
      assertThat(spec.command()).containsExactly("exec httpd -f");
      assertThat(spec.env()).containsExactly(Map.entry("GREETING", "hi"));
      assertThat(spec.user()).hasValue("1000");
      assertThat(spec.hostname()).hasValue("box");
      assertThat(spec.workingDir()).hasValue("/srv");
      assertThat(spec.labels()).containsExactly(Map.entry("app", "web"));
      assertThat(spec.mounts()).extracting(Object::toString).containsExactly("/tmp:/srv/data:ro");
      assertThat(spec.ports()).containsExactly(PortMapping.of(28080, 80));
      assertThat(spec.restart()).isEqualTo(io.micropod.RestartPolicy.onFailure(2));
      assertThat(spec.healthcheck()).isEqualTo(config.healthcheck());
      assertThat(spec.egress()).isEqualTo(config.egress());
      assertThat(spec.memoryMib()).isEqualTo(640);
      assertThat(spec.cpus()).isEqualTo(2);
      assertThat(spec.networkMode()).isEqualTo(io.micropod.NetworkMode.NAT);

      io.micropod.PodInfo.Config loopbackOnly = new io.micropod.PodInfo.Config(null, List.of(), null, null, null,
          Map.of(), List.of(), List.of(), List.of(), io.micropod.RestartPolicy.no(), null,
          io.micropod.EgressPolicy.allowAll(), io.micropod.NetworkMode.NONE, 0, 0);
      io.micropod.PodInfo none = new io.micropod.PodInfo(new io.micropod.PodInfo("0123456789ac", null,
          "oci:/images/busybox", "qemu", io.micropod.PodInfo.Status.RUNNING, false, 42, 43, Map.of(), Instant.now(),
          Instant.now()), io.micropod.PodInfo.Status.RUNNING, null, loopbackOnly, null);
      MicroPodSpec isolated = RestartCommand.spec(none, Map.of(), runtime);
      assertThat(isolated.networkMode()).isEqualTo(io.micropod.NetworkMode.NONE);
      assertThat(isolated.memoryMib()).as("not recorded: the default").isEqualTo(MicroPodSpec.DEFAULT_MEMORY_MIB);
    }
    io.micropod.PodInfo starting = new io.micropod.PodInfo(base, io.micropod.PodInfo.Status.STARTING, null, null, null);
    assertThatThrownBy(() -> RestartCommand.spec(starting, Map.of(), null)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("still starting");
  }

  @Test
  void restartReadsTheEnvironmentAsProcEnvironHoldsIt() {
    assertThat(RestartCommand.environ("PATH=/bin:/usr/bin\0A=x=y\0EMPTY=\0MULTI=one\ntwo\0"))
        .containsExactly(Map.entry("PATH", "/bin:/usr/bin"), Map.entry("A", "x=y"), Map.entry("EMPTY", ""),
            Map.entry("MULTI", "one\ntwo"));
  }

  /** The real host, with an empty home: the guest image is installable from the classpath, not installed. */
  private int doctor(java.nio.file.Path home, String path) {
    Map<String, String> env = new java.util.HashMap<>();
    env.put("PATH", path);
    env.put("MICROPOD_HOME", home.toString());
    return Main.execute(new String[] {"doctor"}, env, new PrintWriter(out, true), new PrintWriter(err, true));
  }

  @Test
  @org.junit.jupiter.api.Timeout(60)
  void doctorOnThisHostNamesTheAcceleratorAndWhyAndExitsZero(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) {
    String path = System.getenv("PATH");
    org.junit.jupiter.api.Assumptions.assumeTrue(java.util.Arrays.stream(path.split(":"))
        .anyMatch(d -> java.nio.file.Files.isExecutable(java.nio.file.Path.of(d, "qemu-system-x86_64"))),
        "needs qemu-system-x86_64 on PATH");
    java.nio.file.Path home = tmp.resolve("home");

    int code = doctor(home, path);

    String report = out.toString();
    assertThat(code).as(report + err).isZero();
    // here: TCG, and why (no /dev/kvm, not accessible, or a CPU without vmx/svm); KVM elsewhere
    assertThat(report).containsPattern("(?m)^(OK      accelerator +KVM \\(|WARN    accelerator +TCG \\([^)]+\\): )");
    if (report.contains("TCG (")) {
      assertThat(report).containsPattern("(?m)^ +fix: ");
    }
    assertThat(report).containsPattern("(?m)^OK      qemu +/\\S*qemu-system-x86_64, version \\d+\\.\\d+")
        .containsPattern("(?m)^OK      guest image +not installed yet: the first start unpacks io.micropod:micropod-guest:")
        .containsPattern("(?m)^(OK|WARN) +firecracker ")
        .contains("network: NAT", "network: port mapping", "network: pod networks", "micropod-fsguard")
        .containsPattern("Pods can start on this host(\\.|, degraded: )");
    assertThat(home).as("doctor writes nothing").doesNotExist();
  }

  @Test
  @org.junit.jupiter.api.Timeout(60)
  void doctorWithoutQemuOnPathNamesWhatIsMissingAndExitsNonZero(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) {
    int code = doctor(tmp.resolve("home"), tmp.resolve("empty-bin").toString());

    String report = out.toString();
    assertThat(code).as(report + err).isEqualTo(ExitCodes.HOST_NOT_READY).isNotZero();
    assertThat(report).containsPattern("(?m)^MISSING qemu +qemu-system-x86_64 binary not found on PATH \\(" + tmp)
        .containsPattern("(?m)^ +fix: apt-get install qemu-system-x86")
        .contains("No pod can start on this host: missing qemu.");
  }

  @ParameterizedTest
  @CsvSource({"KILL,9", "kill,9", "SIGKILL,9", "TERM,15", "sigterm,15", "USR1,10", "HUP,1", "15,15", "64,64",
      "RTMIN,34", "RTMIN+3,37", "RTMAX,64", "RTMAX-2,62", "WINCH,28"})
  void killTakesDockersSignalNamesAndNumbers(String given, int number) {
    assertThat(KillCommand.number(given)).isEqualTo(number);
  }

  @Test
  void killWaitAndPortRefuseBadArgumentsAndUnknownPodsInOneLine() {
    for (String bad : new String[] {"0", "65", "SIGNOPE", "RTMIN+40", "-9", ""}) {
      assertThat(runAnew("kill", "-s", bad, "some-pod")).as(bad).isEqualTo(ExitCodes.USAGE);
      assertThat(err.toString()).as(bad).contains("invalid signal").contains("KILL").hasLineCount(1);
    }
    String missing = "no-such-pod-" + System.nanoTime();
    assertThat(runAnew("kill", missing)).isEqualTo(ExitCodes.NO_SUCH_POD);
    assertThat(err.toString()).isEqualTo("micropod: no such pod: " + missing + "\n");
    assertThat(runAnew("wait", missing)).isEqualTo(ExitCodes.NO_SUCH_POD);
    assertThat(err.toString()).isEqualTo("micropod: no such pod: " + missing + "\n");
    assertThat(runAnew("port", missing)).isEqualTo(ExitCodes.NO_SUCH_POD);
    assertThat(err.toString()).startsWith("micropod: no such pod: " + missing).hasLineCount(1);
    for (String bad : new String[] {"0", "65536", "80/udp", "http"}) {
      assertThat(runAnew("port", missing, bad)).as(bad).isEqualTo(ExitCodes.USAGE);
      assertThat(err.toString()).as(bad).contains("invalid port").hasLineCount(1);
    }
  }
}
