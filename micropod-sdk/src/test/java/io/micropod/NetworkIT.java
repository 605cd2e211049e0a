package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Networking on real VMs, four pods shared by the class: {@code web} (network front, alias
 * "web", busybox httpd on 8080) and {@code client} (network front, NAT) on one network,
 * {@code other} on another network, and {@code sealed} in mode NONE.
 */
class NetworkIT {
  private static final int BIG_BYTES = 16 << 20;
  private static HttpServer hostServer;
  /** On every host address (wildcard), never exposed: what a pod must not reach. */
  private static HttpServer privateServer;
  private static Network front;
  private static Network back;
  private static MicroPod web;
  private static MicroPod client;
  private static MicroPod other;
  private static MicroPod sealed;

  @BeforeAll
  static void start() throws Exception {
    hostServer = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    byte[] big = new byte[BIG_BYTES];
    hostServer.createContext("/sink", exchange -> {
      long n = exchange.getRequestBody().transferTo(java.io.OutputStream.nullOutputStream());
      byte[] body = Long.toString(n).getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    hostServer.createContext("/big", exchange -> {
      exchange.sendResponseHeaders(200, big.length);
      exchange.getResponseBody().write(big);
      exchange.close();
    });
    hostServer.createContext("/", exchange -> {
      byte[] body = "hello from the host's loopback\n".getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    hostServer.start();
    privateServer = HttpServer.create(new InetSocketAddress(0), 0);
    privateServer.createContext("/", exchange -> {
      byte[] body = "a private service of the host\n".getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    privateServer.start();
    front = Network.create();
    back = Network.create();
    String udpImage = NetTestImages.busyboxWithUdp();
    web = MicroPod.builder()
        .image(udpImage)
        .network(front)
        .networkAliases("web", "www.example.test")
        .command("sh", "-c", "mkdir -p /www; echo hello from web > /www/index.html;"
            + " (while :; do udp listen 9999 >> /tmp/udp.out 2>&1; done) &"
            + " exec httpd -f -p 8080 -h /www")
        .start();
    client = MicroPod.builder().image(udpImage).network(front)
        .exposeHostPorts(hostServer.getAddress().getPort())
        .command("sleep", "3600").start();
    other = MicroPod.builder().image(TestImages.busybox()).network(back)
        .networkAliases("other").command("sleep", "3600").start();
    sealed = MicroPod.builder().image(TestImages.busybox()).networkMode(NetworkMode.NONE)
        .command("sleep", "3600").start();
  }

  @AfterAll
  static void stop() {
    for (AutoCloseable c : new AutoCloseable[] {sealed, other, client, web, back, front}) {
      if (c != null) {
        try {
          c.close();
        } catch (Exception e) {
          throw new AssertionError(e);
        }
      }
    }
    if (hostServer != null) {
      hostServer.stop(0);
    }
    if (privateServer != null) {
      privateServer.stop(0);
    }
    for (MicroPod p : new MicroPod[] {web, client, other, sealed}) {
      if (p != null) {
        assertThat(Leaks.of(p.id())).isEmpty();
      }
    }
    for (Network n : new Network[] {front, back}) {
      if (n != null) {
        assertThat(TestImages.home().resolve("networks").resolve(n.name() + ".json")).doesNotExist();
      }
    }

  }

  /** Polls {@code probe} until it succeeds or the deadline passes; returns the last result. */
  private static ExecResult until(Duration timeout, Supplier<ExecResult> probe) {
    Instant deadline = Instant.now().plus(timeout);
    ExecResult r = probe.get();
    while (r.exitCode() != 0 && Instant.now().isBefore(deadline)) {
      r = probe.get();
    }
    return r;
  }

  @Test
  void containerReachesAServiceOnTheHostsLoopbackThroughTheHostName() {
    int port = hostServer.getAddress().getPort();

    ExecResult r = client.exec("timeout", "10", "wget", "-q", "-O-",
        "http://" + Network.HOST_NAME + ":" + port + "/");

    assertThat(r.stderr()).isEmpty();
    assertThat(r.stdout()).isEqualTo("hello from the host's loopback\n");
  }

  /** {@code url} fails with "Connection refused" within 5 s (an RST, not a timeout). */
  private static void refusedAtOnce(MicroPod pod, String url) {
    Instant t0 = Instant.now();
    ExecResult r = pod.exec("timeout", "20", "wget", "-q", "-O-", url);
    Duration took = Duration.between(t0, Instant.now());

    assertThat(r.stdout()).as(url).isEmpty();
    assertThat(r.exitCode()).as(url).isNotZero();
    assertThat(r.stderr()).as(url).contains("refused");
    assertThat(took).as(url + " took " + took).isLessThan(Duration.ofSeconds(5));
  }

  @Test
  void anUnexposedPortOfTheHostsLoopbackIsRefusedAtOnceByNameAndByGateway() {
    int port = privateServer.getAddress().getPort();

    refusedAtOnce(client, "http://" + Network.HOST_NAME + ":" + port + "/");
    refusedAtOnce(client, "http://10.0.2.2:" + port + "/");
  }

  @Test
  void cloudMetadataAndLinkLocalAddressesAreRefusedAtOnce() {
    refusedAtOnce(client, "http://169.254.169.254/latest/meta-data/");
  }

  @Test
  void theHostsOwnNonLoopbackAddressIsRefusedAtOnce() throws Exception {
    String own = java.util.Collections.list(java.net.NetworkInterface.getNetworkInterfaces()).stream()
        .filter(i -> {
          try {
            return i.isUp() && !i.isLoopback();
          } catch (java.net.SocketException e) {
            return false;
          }
        })
        .flatMap(i -> java.util.Collections.list(i.getInetAddresses()).stream())
        .filter(a -> a instanceof java.net.Inet4Address && !a.isLinkLocalAddress())
        .map(InetAddress::getHostAddress).findFirst()
        .orElseThrow(() -> new AssertionError("the host has no non-loopback IPv4 address to test with"));

    refusedAtOnce(client, "http://" + own + ":" + privateServer.getAddress().getPort() + "/");
  }

  @Test
  void podsOnOneNetworkReachEachOtherByAliasAndById() {
    ExecResult byAlias = until(Duration.ofSeconds(30),
        () -> client.exec("timeout", "5", "wget", "-q", "-O-", "http://web:8080/"));
    assertThat(byAlias.stdout()).isEqualTo("hello from web\n");

    assertThat(client.exec("timeout", "5", "wget", "-q", "-O-", "http://" + web.id() + ":8080/").stdout())
        .isEqualTo("hello from web\n");
    assertThat(client.exec("timeout", "5", "wget", "-q", "-O-", "http://www.example.test:8080/").stdout())
        .isEqualTo("hello from web\n");
  }

  @Test
  void udpBetweenTwoPodsOnOneNetworkWorksBothWays() {
    ExecResult r = until(Duration.ofSeconds(30),
        () -> client.exec("udp", "send", "web", "9999", "hello over udp"));

    assertThat(r.stderr()).isEmpty();
    assertThat(r.stdout()).isEqualTo("ack:hello over udp\n");
    assertThat(web.exec("cat", "/tmp/udp.out").stdout()).contains("hello over udp\n");
  }

  /** Guest-side seconds (centisecond /proc/uptime) that {@code command} took in {@code pod}. */
  private static double timed(MicroPod pod, String command) {
    ExecResult r = pod.exec("sh", "-c", "a=$(cut -d' ' -f1 /proc/uptime); " + command
        + " || exit 1; b=$(cut -d' ' -f1 /proc/uptime); echo \"$a $b\"");
    assertThat(r.exitCode()).as(r.stderr()).isZero();
    String[] ab = r.stdout().trim().split(" ");
    return Math.max(0.01, Double.parseDouble(ab[1]) - Double.parseDouble(ab[0]));
  }

  /** Figures for the closing note (printed, not asserted beyond the bytes arriving). */
  @Test
  void measuresTcpThroughputAndLatency() {
    assertThat(web.exec("dd", "if=/dev/zero", "of=/www/big", "bs=1M", "count=16").exitCode()).isZero();
    until(Duration.ofSeconds(30), () -> client.exec("timeout", "5", "wget", "-q", "-O", "/dev/null",
        "http://web:8080/"));

    ExecResult size = client.exec("sh", "-c", "wget -q -O- http://web:8080/big | wc -c");
    assertThat(size.stdout().trim()).isEqualTo(String.valueOf(BIG_BYTES));
    double podToPod = timed(client, "wget -q -O /dev/null http://web:8080/big");
    double hostToPod = timed(client, "wget -q -O /dev/null http://" + Network.HOST_NAME + ":"
        + hostServer.getAddress().getPort() + "/big");
    // busybox wget posts its file as a C string: no NUL bytes
    assertThat(client.exec("sh", "-c", "dd if=/dev/zero bs=1M count=16 2>/dev/null | tr '\\0' a"
        + " > /tmp/big").exitCode()).isZero();
    String sink = "http://" + Network.HOST_NAME + ":" + hostServer.getAddress().getPort() + "/sink";
    assertThat(client.exec("wget", "-q", "-O-", "--post-file=/tmp/big", sink).stdout())
        .isEqualTo(String.valueOf(BIG_BYTES));
    double podToHost = timed(client, "wget -q -O /dev/null --post-file=/tmp/big " + sink);
    double requests = timed(client, "for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O /dev/null"
        + " http://web:8080/ || exit 1; done");
    String ping = client.exec("ping", "-c", "5", "-q", "web").stdout();

    System.out.printf("NETWORK-FIGURES pod->pod %.1f MB/s, host->pod %.1f MB/s, pod->host %.1f MB/s"
            + " (16 MiB over HTTP, busybox wget), 10 sequential HTTP requests pod->pod: %.0f ms each (incl. wget start),"
            + " ping pod->pod: %s%n", BIG_BYTES / 1e6 / podToPod, BIG_BYTES / 1e6 / hostToPod, BIG_BYTES / 1e6 / podToHost,
        requests * 100, ping.lines().filter(l -> l.contains("min/avg/max")).findFirst().orElse(ping));
  }

  /**
   * A hostile member (container root keeps CAP_NET_RAW, as in Docker) sends gratuitous ARP that
   * claims web's address for its own MAC, to take over web's alias. The switch drops it: the
   * client's ARP entry for web keeps web's MAC and the client still reaches web.
   */
  @Test
  void aMemberCannotTakeOverAnotherMembersAddressWithForgedArp() throws Exception {
    String webAddress = client.exec("sh", "-c", "grep -w web /etc/hosts | cut -f1").stdout().trim();
    assertThat(until(Duration.ofSeconds(30), () -> client.exec("timeout", "5", "wget", "-q", "-O-",
        "http://web:8080/")).stdout()).isEqualTo("hello from web\n");
    String webMac = web.exec("sh", "-c", "cat /sys/class/net/$(ip -o -4 addr | grep -w " + webAddress
        + " | awk '{print $2}')/address").stdout().trim();
    assertThat(client.exec("ip", "neigh", "show", webAddress).stdout()).contains(webMac);
    try (MicroPod mallory = MicroPod.builder().image(NetTestImages.busyboxWithUdp()).network(front)
        .command("sleep", "3600").start()) {
      String dev = mallory.exec("sh", "-c", "ip -o -4 addr | grep ' 10.89.' | awk '{print $2}'").stdout().trim();
      String malloryMac = mallory.exec("cat", "/sys/class/net/" + dev + "/address").stdout().trim();
      assertThat(malloryMac).isNotEqualTo(webMac);

      Instant deadline = Instant.now().plusSeconds(10);
      while (Instant.now().isBefore(deadline)) {
        ExecResult forged = mallory.exec("garp", dev, webAddress);
        assertThat(forged.exitCode()).as(forged.stderr()).isZero();
        assertThat(client.exec("ip", "neigh", "show", webAddress).stdout())
            .as("the client's ARP entry for web").doesNotContain(malloryMac);
      }
      assertThat(client.exec("timeout", "5", "wget", "-q", "-O-", "http://web:8080/").stdout())
          .isEqualTo("hello from web\n");
    }
  }

  @Test
  void aPodThatJoinedEarlierLearnsTheNamesOfLaterMembers() {
    ExecResult hosts = web.exec("cat", "/etc/hosts");

    assertThat(hosts.stdout()).contains(client.id()).contains(web.id() + " web www.example.test");
    assertThat(until(Duration.ofSeconds(30), () -> web.exec("ping", "-c", "1", "-W", "3", client.id()))
        .exitCode()).isZero();
  }

  @Test
  void aPodOnAnotherNetworkCannotReachWeb() {
    String webAddress = web.exec("sh", "-c", "grep -w web /etc/hosts | cut -f1").stdout().trim();
    assertThat(webAddress).startsWith("10.89.");

    ExecResult byName = other.exec("timeout", "3", "wget", "-q", "-O-", "http://web:8080/");
    ExecResult byAddress = other.exec("timeout", "3", "wget", "-q", "-O-", "http://" + webAddress + ":8080/");

    assertThat(byName.exitCode()).isNotZero();
    assertThat(byName.stderr()).contains("bad address");
    assertThat(byAddress.exitCode()).isNotZero();
    assertThat(byAddress.stdout()).isEmpty();
    assertThat(other.exec("cat", "/etc/hosts").stdout()).doesNotContain(web.id());
  }

  @Test
  void aPodInModeNoneSeesOnlyLoopbackAndCannotConnectOut() {
    int port = hostServer.getAddress().getPort();

    assertThat(sealed.exec("ls", "/sys/class/net").stdout()).isEqualTo("lo\n");
    assertThat(sealed.exec("ip", "-o", "link").stdout().lines().toList())
        .hasSize(1).allSatisfy(l -> assertThat(l).contains("lo:"));
    ExecResult toHost = sealed.exec("timeout", "3", "wget", "-q", "-O-", "http://10.0.2.2:" + port + "/");
    assertThat(toHost.exitCode()).isNotZero();
    assertThat(toHost.stderr()).contains("unreachable");
    ExecResult byName = sealed.exec("timeout", "3", "wget", "-q", "-O-",
        "http://" + Network.HOST_NAME + ":" + port + "/");
    assertThat(byName.exitCode()).isNotZero();
  }

  @Test
  void guestInterfacesCarryTheAssignedAddresses() {
    String addresses = client.exec("ip", "-o", "-4", "addr").stdout();

    assertThat(addresses).contains("10.0.2.15/24").contains(front.subnet().replace(".0/24", "."));
    assertThat(client.exec("cat", "/etc/resolv.conf").stdout()).contains("nameserver 10.0.2.3");
    assertThat(client.exec("ip", "route").stdout()).contains("default via 10.0.2.2");
    assertThat(front.members()).containsExactly(web.id(), client.id());
  }

  @Test
  void anAliasTakenOnTheNetworkFailsTheStartAndLeavesNothing() {
    List<String> before = front.members();
    List<String> podDirsBefore = Leaks.podDirs();

    assertThatThrownBy(() -> MicroPod.builder().image(TestImages.busybox()).network(front)
            .networkAliases("WEB").command("sleep", "1").start())
        .isInstanceOf(NetworkException.class)
        .hasMessageContaining("'web' is already used on network " + front.name())
        .satisfies(e -> assertThat(((NetworkException) e).networkName()).isEqualTo(front.name()));

    assertThat(front.members()).isEqualTo(before);
    assertThat(Leaks.podDirs()).containsExactlyInAnyOrderElementsOf(podDirsBefore);
  }

  @Test
  void joiningAClosedNetworkIsRejected() {
    Network closed = Network.create();
    closed.close();

    assertThatThrownBy(() -> MicroPod.builder().image(TestImages.busybox()).network(closed)
            .command("true").start())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("network " + closed.name() + " is closed");
  }

  @Test
  void aNetworkNameThatExistsIsRejected() {
    assertThatThrownBy(() -> Network.create(front.name()))
        .isInstanceOf(NetworkException.class)
        .hasMessageContaining("a network named '" + front.name() + "' already exists");
    assertThat(front.isClosed()).isFalse();
    assertThat(front.members()).contains(web.id());
  }
}
