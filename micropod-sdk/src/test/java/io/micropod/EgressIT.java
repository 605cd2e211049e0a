package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.micropod.event.MicroPodListener;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Egress rules on a real VM: one pod shared by the class, started deny-all-but-198.51.100.20, its
 * rules changed by each test on the running pod. The destinations are the test's own servers in a
 * network namespace it creates ({@link TestNetns}, {@link EgressTestServers}): HTTP on
 * 198.51.100.10, .20, .30 and .40 port 8080, and a DNS server on 198.51.100.53 that answers
 * www.allowed.test = .30 and www.denied.test = .40. No traffic goes anywhere else.
 */
@Timeout(600)
class EgressIT {
  private static final String NET = "198.51.100.";
  private static final List<String> denials = new CopyOnWriteArrayList<>();
  private static final List<String> serverOutput = new CopyOnWriteArrayList<>();
  private static TestNetns ns;
  private static MicroPod pod;
  private static HttpServer hostServer;

  @BeforeAll
  static void start() throws Exception {
    ns = TestNetns.create(NET + "10", NET + "20", NET + "30", NET + "40", NET + "53");
    Process servers = ns.start(List.of(ProcessHandle.current().info().command().orElse("java"),
        "-cp", System.getProperty("java.class.path"), EgressTestServers.class.getName(),
        "http:" + NET + "10:8080", "http:" + NET + "20:8080", "http:" + NET + "30:8080", "http:" + NET + "40:8080",
        "dns:" + NET + "53", "www.allowed.test=" + NET + "30", "www.denied.test=" + NET + "40"));
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(servers.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = r.readLine()) != null; ) {
          serverOutput.add(line);
        }
      } catch (java.io.IOException e) {
        serverOutput.add("EXCEPTION " + e);
      }
    }, "egress-it-servers");
    reader.setDaemon(true);
    reader.start();
    poll(Duration.ofSeconds(60), () -> serverOutput, out -> out.contains("READY") || !servers.isAlive());
    assertThat(serverOutput).as("the test's servers in the namespace").contains("READY");
    hostServer = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    hostServer.createContext("/", x -> {
      x.sendResponseHeaders(200, -1);
      x.close();
    });
    hostServer.start();
    MicroPodListener recorder = new MicroPodListener() {
      @Override
      public void egressDenied(String podId, String protocol, String destination, int port, long count) {
        denials.add(protocol + " " + destination + " " + port);
      }
    };
    pod = MicroPod.builder().image(TestImages.busybox()).listener(recorder)
        .egressDefault(EgressPolicy.Action.DENY).egressAllow(NET + "20")
        .command("sleep", "3600").start();
  }

  @AfterAll
  static void stop() {
    try {
      if (pod != null) {
        pod.close();
      }
    } finally {
      if (hostServer != null) {
        hostServer.stop(0);
      }
      if (ns != null) {
        ns.close();
      }
    }
  }

  @Test
  void aDenyAllPodReachesOnlyWhatItsRulesAllowAndADeniedConnectionIsRefusedAtOnce() {
    pod.updateEgress(pod.spec().egress()); // the rules it started with, whatever ran before

    ExecResult allowed = poll(Duration.ofSeconds(30), () -> wget(NET + "20"), r -> r.exitCode() == 0);
    long started = System.nanoTime();
    ExecResult denied = wget(NET + "10");
    Duration took = Duration.ofNanos(System.nanoTime() - started);

    System.out.println("EGRESS-TCP denied connection: " + took.toMillis() + " ms, " + denied.stderr().trim());
    assertThat(allowed.stdout()).isEqualTo("hello from " + NET + "20\n");
    assertThat(denied.exitCode()).isNotZero();
    assertThat(denied.stderr()).contains("Connection refused");
    assertThat(took).as("refused, not timed out").isLessThan(Duration.ofSeconds(10));
    poll(Duration.ofSeconds(10), () -> denials, d -> d.contains("tcp " + NET + "10 8080"));
    assertThat(denials).contains("tcp " + NET + "10 8080");
  }

  @Test
  void aRuleChangedOnTheRunningPodTakesEffect() {
    EgressPolicy changed = EgressPolicy.builder().deny(NET + "20/32").build();

    pod.updateEgress(changed);

    ExecResult denied = poll(Duration.ofSeconds(30), () -> wget(NET + "20"),
        r -> r.stderr().contains("Connection refused"));
    assertThat(denied.stderr()).contains("Connection refused");
    assertThat(wget(NET + "10").stdout()).isEqualTo("hello from " + NET + "10\n");
    PodInfo info = MicroPodRuntime.defaultRuntime().list().stream().filter(p -> p.id().equals(pod.id()))
        .findFirst().orElseThrow();
    assertThat(info.config().orElseThrow().egress()).isEqualTo(changed);
    assertThat(pod.spec().egress().defaultAction()).isEqualTo(EgressPolicy.Action.DENY); // the spec stays
  }

  @Test
  void aDeniedNameIsAnsweredNxdomainWithoutReachingTheServerAndAnAllowedNamesAddressesBecomeReachable() {
    pod.updateEgress(EgressPolicy.builder().defaultAction(EgressPolicy.Action.DENY)
        .allow(NET + "53", "*.allowed.test").build());
    poll(Duration.ofSeconds(30), () -> wget(NET + "20"), r -> r.stderr().contains("Connection refused"));

    assertThat(wget(NET + "30").stderr()).as("not resolved yet: not allowed").contains("Connection refused");
    ExecResult resolved = pod.exec("timeout", "20", "nslookup", "www.allowed.test", NET + "53");
    long started = System.nanoTime();
    ExecResult denied = pod.exec("timeout", "20", "nslookup", "www.denied.test", NET + "53");
    Duration took = Duration.ofNanos(System.nanoTime() - started);

    System.out.println("EGRESS-DNS denied name: " + took.toMillis() + " ms, exit " + denied.exitCode() + ", "
        + (denied.stdout() + denied.stderr()).replace('\n', '|'));
    assertThat(resolved.stdout()).contains(NET + "30");
    assertThat(wget(NET + "30").stdout()).isEqualTo("hello from " + NET + "30\n");
    assertThat(denied.stdout() + denied.stderr()).doesNotContain(NET + "40").contains("NXDOMAIN");
    assertThat(took).as("failed fast, not after the resolver's time-outs").isLessThan(Duration.ofSeconds(15));
    assertThat(serverOutput).contains("QUERY www.allowed.test").doesNotContain("QUERY www.denied.test");
    assertThat(wget(NET + "40").stderr()).contains("Connection refused");
    poll(Duration.ofSeconds(10), () -> denials, d -> d.contains("dns www.denied.test 53"));
    assertThat(denials).contains("dns www.denied.test 53");
  }

  @Test
  void theHostsOwnServicesStayRefusedWhateverTheRulesAllow() {
    pod.updateEgress(EgressPolicy.builder().allow("0.0.0.0/0", TestNetns.HOST_END, "10.0.2.2").build());
    poll(Duration.ofSeconds(30), () -> wget(NET + "20"), r -> r.exitCode() == 0);

    ExecResult loopback = pod.exec("timeout", "20", "wget", "-q", "-O-",
        "http://10.0.2.2:" + hostServer.getAddress().getPort() + "/");
    ExecResult hostAddress = pod.exec("timeout", "20", "wget", "-q", "-O-", "http://" + TestNetns.HOST_END + ":8080/");

    assertThat(loopback.stderr()).contains("Connection refused");
    assertThat(hostAddress.stderr()).contains("Connection refused");
  }

  private static ExecResult wget(String address) {
    return pod.exec("timeout", "20", "wget", "-q", "-O-", "http://" + address + ":8080/");
  }

  private static <T> T poll(Duration timeout, Supplier<T> probe, Predicate<T> done) {
    Instant deadline = Instant.now().plus(timeout);
    T r = probe.get();
    while (!done.test(r) && Instant.now().isBefore(deadline)) {
      java.util.concurrent.locks.LockSupport.parkNanos(20_000_000); // between polls, not a wait for an outcome
      r = probe.get();
    }
    return r;
  }
}
