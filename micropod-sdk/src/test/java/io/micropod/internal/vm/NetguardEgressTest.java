package io.micropod.internal.vm;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * QEMU's network guard with egress rules, compiled from {@code rootfs-builder/host} with the
 * host's gcc: its own unit tests ({@code src/test/c/netguard_test.c}: the rules parser and matcher,
 * DNS messages with compression loops, truncation and huge counts, 200,000 random messages, the
 * events file's rate limit and cap, re-reading changed rules), under AddressSanitizer and UBSan;
 * and the real preload in a probe process that calls {@code connect}/{@code sendto} as slirp does.
 * The probe only meets refusals or the test's own loopback listener: no packet leaves the host.
 */
@Timeout(120)
class NetguardEgressTest {
  private static final Path GUARD_SOURCE = Path.of("..", "rootfs-builder", "host", "libmicropod-netguard.c");
  private static Path work;

  @BeforeAll
  static void compile() throws IOException, InterruptedException {
    work = Files.createDirectories(Path.of("target", "netguard-test").toAbsolutePath());
    gcc("-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-o",
        work.resolve("libmicropod-netguard.so").toString(), GUARD_SOURCE.toAbsolutePath().toString(), "-ldl");
    gcc("-O2", "-Wall", "-o", work.resolve("netguard_probe").toString(),
        Path.of("src", "test", "c", "netguard_probe.c").toAbsolutePath().toString());
  }

  @Test
  void theGuardsOwnTestsPassUnderTheSanitizers() throws IOException, InterruptedException {
    gcc("-std=gnu11", "-O1", "-g", "-Wall", "-Wextra", "-fsanitize=address,undefined",
        "-fno-sanitize-recover=all", "-I", GUARD_SOURCE.getParent().toAbsolutePath().toString(), "-o",
        work.resolve("netguard_test").toString(), Path.of("src", "test", "c", "netguard_test.c").toAbsolutePath().toString(),
        "-ldl");

    String out = run(List.of(work.resolve("netguard_test").toString()), Map.of());

    assertThat(out).as(out).startsWith("ok ").doesNotContain("FAIL");
  }

  @Test
  void aDeniedCidrIsRefusedAtOnceAndReportedInTheEventsFile(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("egress.rules"), "default allow\ndeny cidr 192.0.2.0/24\n");

    String out = probe(dir, "", "connect", "192.0.2.1", "80");

    assertThat(out).startsWith("error ECONNREFUSED ");
    assertThat(Long.parseLong(out.trim().split(" ")[2])).isLessThan(1000);
    assertThat(Files.readString(dir.resolve("egress.events"))).matches("\\d+ deny tcp 192\\.0\\.2\\.1 80 rule\n");
  }

  @Test
  void inDenyAllModeAnythingNotAllowedIsRefused(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("egress.rules"), "default deny\nallow cidr 198.51.100.0/24\n");

    assertThat(probe(dir, "", "connect", "192.0.2.1", "443")).startsWith("error ECONNREFUSED ");
    assertThat(probe(dir, "", "connect", "203.0.113.9", "443")).startsWith("error ECONNREFUSED ");
  }

  @Test
  void anExposedHostPortStaysReachableInDenyAllMode(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("egress.rules"), "default deny\n");
    try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      int port = server.getLocalPort();

      assertThat(probe(dir, String.valueOf(port), "connect", "127.0.0.1", String.valueOf(port))).isEqualTo("connected\n");
      assertThat(probe(dir, "", "connect", "127.0.0.1", String.valueOf(port))).startsWith("error ECONNREFUSED ");
    }
    assertThat(Files.readString(dir.resolve("egress.events"))).contains(" deny tcp 127.0.0.1 ").contains(" host\n");
  }

  @Test
  void aQueryForADeniedNameIsAnsweredNxdomainByTheGuardWithoutBeingSentAndIsReported(@TempDir Path dir)
      throws Exception {
    Files.writeString(dir.resolve("egress.rules"), "allow cidr 192.0.2.53/32\ndeny name *.example.org\n");

    String out = probe(dir, "", "dns", "192.0.2.53", "www.Example.org");

    // from the server's address, as slirp must see it; the guard's wake-up went to the socket itself
    assertThat(out).matches("sent\nanswer rcode 3 id 1234 from 192\\.0\\.2\\.53:53 \\d+\n");
    String[] words = out.trim().split("\\s+");
    assertThat(Long.parseLong(words[words.length - 1])).as("ms").isLessThan(1000);
    assertThat(Files.readString(dir.resolve("egress.events"))).matches("\\d+ deny dns www\\.example\\.org 53 rule\n");
  }

  @Test
  void aQueryThatCannotBeReadIsRefusedWhileNameRulesApply(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("egress.rules"), "allow cidr 192.0.2.53/32\ndeny name *.example.org\n");

    // a label of 63 bytes is fine, a 64-byte one is not a label: the probe sends it as a length byte 64
    assertThat(probe(dir, "", "dns", "192.0.2.53", "a".repeat(64) + ".example.org")).startsWith("error EPERM ");
    assertThat(Files.readString(dir.resolve("egress.events"))).contains(" deny dns ? 53 rule");
  }

  @Test
  void withoutARulesFileOnlyTheHostRulesApply(@TempDir Path dir) throws Exception {
    assertThat(probe(dir, "", "connect", "127.0.0.1", "9")).startsWith("error ECONNREFUSED ");
    assertThat(probe(dir, "", "connect", "169.254.169.254", "80")).startsWith("error ECONNREFUSED ");
    assertThat(Files.readString(dir.resolve("egress.events"))).contains("deny tcp 169.254.169.254 80 host");
  }

  private static String probe(Path dir, String hostPorts, String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(work.resolve("netguard_probe").toString()));
    cmd.addAll(List.of(args));
    return run(cmd, Map.of("LD_PRELOAD", work.resolve("libmicropod-netguard.so").toString(),
        "MICROPOD_NETGUARD_DIR", dir.toString(), "MICROPOD_NETGUARD_HOST_PORTS", hostPorts));
  }

  private static void gcc(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("gcc"));
    cmd.addAll(List.of(args));
    String out = run(cmd, Map.of());
    assertThat(out).as("gcc (install gcc and libc6-dev: bin/setup-host)").isEmpty();
  }

  private static String run(List<String> cmd, Map<String, String> env) throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().putAll(env);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(100, TimeUnit.SECONDS)).as(String.join(" ", cmd)).isTrue();
    assertThat(p.exitValue()).as(cmd.get(0) + ": " + out).isZero();
    return out;
  }
}
