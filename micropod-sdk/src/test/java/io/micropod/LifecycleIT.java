package io.micropod;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import com.sun.net.httpserver.HttpServer;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The lifecycle API on two real pods running at once (QEMU, agent, runc), shared by the tests:
 * {@code web} serves HTTP on a random host port and ignores SIGTERM; {@code oom} serves on a
 * fixed host port with a 64 MiB container memory limit, reaches a host HTTP server on loopback
 * ({@code exposeHostPorts}) and, when told, outgrows its memory limit. The tests
 * that end a main process run last ({@link Order}).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LifecycleIT {
  private static final HttpClient http = HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(30)).build();
  private static MicroPod web;
  private static MicroPod oom;
  private static int fixedPort;
  private static final List<LogLine> webLines = new CopyOnWriteArrayList<>();
  private static MicroPod.LogFollower webFollower;
  /** 64 KiB on 127.0.0.1 that {@code oom} downloads over its network interface. */
  private static HttpServer hostServer;
  private static final int HOST_BODY_BYTES = 64 * 1024;

  @BeforeAll
  static void startPods() throws IOException {
    hostServer = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    hostServer.createContext("/", exchange -> {
      exchange.sendResponseHeaders(200, HOST_BODY_BYTES);
      exchange.getResponseBody().write(new byte[HOST_BODY_BYTES]);
      exchange.close();
    });
    hostServer.start();
    web = MicroPod.builder()
        .image(TestImages.busybox())
        .entrypoint("sh", "-c")
        .command("trap '' TERM; trap 'echo got-usr1' USR1; httpd -f -v -p 8080 -h /www & "
            + "while true; do wait; done")
        .name("lifecycle-web")
        .hostname("web-host")
        .label("role", "web")
        .port(8080)
        .copyToContainer("hello from web\n".getBytes(UTF_8), "/www/index.html", 0644)
        .start();
    webFollower = web.followLogs(line -> {
      synchronized (webLines) {
        webLines.add(line);
        webLines.notifyAll();
      }
    });
    try (ServerSocket s = new ServerSocket(0)) {
      fixedPort = s.getLocalPort();
    }
    oom = MicroPod.builder()
        .image(TestImages.busybox())
        .command("sh", "-c", "httpd -p 9090 -h /www; while [ ! -e /tmp/go ]; do sleep 1; done; "
            // the main process itself allocates (exec), doubling a string: it passes the 64 MiB
            // limit in a few large steps, where a byte-wise `head | tr` into a variable crept up
            // to it and thrashed the container's page cache for ~40 s before the OOM kill
            + "echo allocating; exec awk 'BEGIN { s = \"a\"; while (length(s) < 300 * 1048576) s = s s;"
            + " print \"survived\" }'")
        .containerMemoryMib(64)
        .port(fixedPort, 9090)
        .exposeHostPorts(hostServer.getAddress().getPort())
        .copyToContainer("hello from oom\n".getBytes(UTF_8), "/www/index.html", 0644)
        .start();
  }

  @AfterAll
  static void closePods() {
    if (webFollower != null) {
      webFollower.close();
    }
    for (MicroPod p : new MicroPod[] {web, oom}) {
      if (p != null) {
        p.close();
        assertThat(Leaks.of(p.id())).isEmpty();
      }
    }
    if (hostServer != null) {
      hostServer.stop(0);
    }
  }

  private static HttpResponse<String> get(MicroPod pod, int containerPort, String path)
      throws IOException, InterruptedException {
    URI uri = URI.create("http://" + pod.host() + ":" + pod.mappedPort(containerPort) + path);
    return http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(60)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void twoPodsServeOnTheirOwnMappedPorts() throws Exception {
    assertThat(oom.mappedPort(9090)).isEqualTo(fixedPort);
    assertThat(web.mappedPort(8080)).isNotEqualTo(fixedPort);

    assertThat(get(web, 8080, "/index.html").body()).isEqualTo("hello from web\n");
    assertThat(get(oom, 9090, "/index.html").body()).isEqualTo("hello from oom\n");
  }

  @Test
  void manyConcurrentConnectionsAllGetTheirAnswer() {
    List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      URI uri = URI.create("http://127.0.0.1:" + web.mappedPort(8080) + "/index.html?n=" + i);
      // a new client per request: 20 TCP connections, not one multiplexed one
      all.add(HttpClient.newHttpClient().sendAsync(
          HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(120)).build(),
          HttpResponse.BodyHandlers.ofString()));
    }
    for (CompletableFuture<HttpResponse<String>> f : all) {
      HttpResponse<String> r = f.join();
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("hello from web\n");
    }
  }

  @Test
  void fiftyMegabytesArriveIntact() throws Exception {
    ExecResult made = web.exec("sh", "-c",
        "head -c 52428800 /dev/urandom > /www/big.bin && sha256sum /www/big.bin");
    assertThat(made.exitCode()).as(made.stderr()).isZero();
    String expected = made.stdout().split(" ")[0];

    URI uri = URI.create("http://127.0.0.1:" + web.mappedPort(8080) + "/big.bin");
    long t0 = System.nanoTime();
    HttpResponse<InputStream> r = http.send(
        HttpRequest.newBuilder(uri).timeout(Duration.ofMinutes(5)).build(),
        HttpResponse.BodyHandlers.ofInputStream());
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    long n = 0;
    try (InputStream in = r.body()) {
      byte[] buf = new byte[1 << 16];
      int k;
      while ((k = in.read(buf)) > 0) {
        sha.update(buf, 0, k);
        n += k;
      }
    }
    double secs = (System.nanoTime() - t0) / 1e9;
    System.out.printf("port forward: %d bytes in %.1f s = %.1f MB/s%n", n, secs, n / secs / 1e6);
    assertThat(n).isEqualTo(52428800L);
    assertThat(HexFormat.of().formatHex(sha.digest())).isEqualTo(expected);
    web.exec("rm", "/www/big.bin");
  }

  @Test
  void execHonoursEnvWorkdirUserAndStdin() {
    byte[] input = new byte[1 << 20];
    new Random(42).nextBytes(input);
    ExecResult r = web.exec(ExecSpec.builder("sh", "-c", "echo $A; pwd; id -u; sha256sum; echo done")
        .env("A", "from-exec").workingDir("/tmp").user("65534").stdin(input).build());

    assertThat(r.exitCode()).as(r.stderr()).isZero();
    String[] lines = r.stdout().split("\n");
    assertThat(lines[0]).isEqualTo("from-exec");
    assertThat(lines[1]).isEqualTo("/tmp");
    assertThat(lines[2]).isEqualTo("65534");
    assertThat(lines[3]).startsWith(sha256(input));
    assertThat(lines[4]).isEqualTo("done");
  }

  @Test
  void stdinStreamedToCatComesBackUnchanged() throws IOException {
    // 1 MiB of printable text (the result is decoded as UTF-8), written in uneven pieces
    StringBuilder sb = new StringBuilder(1 << 20);
    Random random = new Random(7);
    while (sb.length() < (1 << 20)) {
      sb.append(random.nextInt(10) == 0 ? '\n' : (char) ('a' + random.nextInt(26)));
    }
    byte[] input = sb.toString().getBytes(UTF_8);
    ExecProcess cat = web.execStreaming(ExecSpec.of("cat"));
    try (java.io.OutputStream stdin = cat.stdin()) {
      for (int off = 0; off < input.length; ) {
        int n = Math.min(1 + random.nextInt(20_000), input.length - off);
        stdin.write(input, off, n);
        off += n;
      }
    }
    ExecResult r = cat.await();

    assertThat(r.exitCode()).isZero();
    assertThat(r.stdout().length()).isEqualTo(input.length);
    assertThat(r.stdout()).isEqualTo(sb.toString());
  }

  @Test
  void specHostnameEntrypointAndCopiedFileAreApplied() {
    assertThat(web.exec("hostname").stdout()).isEqualTo("web-host\n");
    assertThat(web.exec("stat", "-c", "%a", "/www/index.html").stdout()).isEqualTo("644\n");
    assertThat(web.spec().labels()).containsEntry("role", "web");
  }

  @Test
  void aSecondPodWithTheSameNameIsRefused() {
    assertThatThrownBy(() -> MicroPod.builder().image(TestImages.busybox()).name("lifecycle-web").start())
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("lifecycle-web");
  }

  @Test
  void aFixedPortInUseFailsTheStartClearly() {
    assertThatThrownBy(() -> MicroPod.builder().image(TestImages.busybox())
            .port(fixedPort, 80).start())
        .isInstanceOf(VmStartException.class)
        .hasMessageContaining("127.0.0.1:" + fixedPort)
        .hasMessageContaining("in use");
    assertThat(oom.exec("true").exitCode()).isZero();
  }

  @Test
  void unpublishedPortAndMissingHostPathAreClearErrors() {
    assertThatThrownBy(() -> web.mappedPort(1234)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("1234");
    assertThatThrownBy(() -> web.copyIn(Path.of("/nonexistent/x"), "/tmp/x"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("/nonexistent/x");
    assertThat(web.exec("true").exitCode()).isZero();
  }

  @Test
  void copyInAndOutRoundTripsADirectory(@TempDir Path tmp) throws IOException {
    Path src = tmp.resolve("src");
    Files.createDirectories(src.resolve("sub"));
    Files.writeString(src.resolve("a.txt"), "alpha");
    Files.write(src.resolve("sub/b.bin"), new byte[300_000]);
    Files.createSymbolicLink(src.resolve("link"), Path.of("a.txt"));
    Files.setPosixFilePermissions(src.resolve("a.txt"),
        java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-x---"));
    Files.setLastModifiedTime(src.resolve("a.txt"),
        java.nio.file.attribute.FileTime.fromMillis(1_600_000_000_000L));

    web.copyIn(src, "/data/copied");
    // modification times cross both ways, as docker cp keeps them
    assertThat(web.exec("stat", "-c", "%Y", "/data/copied/a.txt").stdout()).isEqualTo("1600000000\n");
    assertThat(web.exec("touch", "-t", "201707140240.00", "/data/copied/sub/b.bin").exitCode()).isZero();
    assertThat(web.exec("sh", "-c", "cat /data/copied/a.txt; stat -c %a /data/copied/a.txt; "
        + "wc -c < /data/copied/sub/b.bin; readlink /data/copied/link").stdout())
        .isEqualTo("alpha750\n300000\na.txt\n".replace("alpha750", "alpha750"));

    Path back = tmp.resolve("back");
    web.copyOut("/data/copied", back);
    assertThat(Files.readString(back.resolve("a.txt"))).isEqualTo("alpha");
    assertThat(Files.size(back.resolve("sub/b.bin"))).isEqualTo(300_000);
    assertThat(Files.getLastModifiedTime(back.resolve("sub/b.bin")).toInstant())
        .isEqualTo(java.time.Instant.ofEpochSecond(1_500_000_000L));
    assertThat(Files.getLastModifiedTime(back.resolve("a.txt")).toInstant())
        .isEqualTo(java.time.Instant.ofEpochSecond(1_600_000_000L));
    assertThat(Files.readSymbolicLink(back.resolve("link"))).isEqualTo(Path.of("a.txt"));
  }

  @Test
  void symlinksInTheContainerCannotLeadACopyOutOfItsRoot(@TempDir Path tmp) throws IOException {
    // /escape -> / (absolute) and /up -> ../../.. : both must stay in the container's root
    web.exec("sh", "-c", "ln -sfn / /escape; ln -sfn ../../.. /up; echo inside > /marker");
    Path f = tmp.resolve("f");
    Files.writeString(f, "payload");
    web.copyIn(f, "/escape/run/micropod/pwned");
    web.copyIn(f, "/up/pwned2");

    assertThat(web.exec("cat", "/run/micropod/pwned", "/pwned2").stdout()).isEqualTo("payloadpayload");
    Path out = tmp.resolve("marker");
    web.copyOut("/up/marker", out);
    assertThat(Files.readString(out)).isEqualTo("inside\n");
  }

  @Test
  void copyOutOfAMissingPathIsNotFound(@TempDir Path tmp) {
    assertThatThrownBy(() -> web.copyOut("/no/such/file", tmp.resolve("x")))
        .isInstanceOf(AgentException.class).hasMessageContaining("/no/such/file");
  }

  @Test
  void statsReportTheContainerTheVmAndThePodsNetworkTraffic() {
    PodStats s = oom.stats();
    assertThat(s.memoryLimitBytes()).isEqualTo(64L << 20);
    assertThat(s.memoryUsageBytes()).isPositive();
    assertThat(s.cpuUsageMicros()).isPositive();
    assertThat(s.vmMemoryTotalBytes()).isGreaterThan(256L << 20);
    assertThat(s.vmMemoryAvailableBytes()).isPositive().isLessThan(s.vmMemoryTotalBytes());

    // a download from the host through the NAT crosses the pod's NIC (published ports would not:
    // they travel over the agent channel)
    // (this busybox's wget exited 139, a segfault, with -T 60 here: timeout bounds it instead)
    ExecResult wget = oom.exec("timeout", "60", "wget", "-q", "-O", "/dev/null",
        "http://" + Network.HOST_NAME + ":" + hostServer.getAddress().getPort() + "/");
    assertThat(wget.exitCode()).as("%s", wget).isZero();
    PodStats after = oom.stats();

    assertThat(after.netRxBytes() - s.netRxBytes()).isGreaterThanOrEqualTo(HOST_BODY_BYTES);
    assertThat(after.netRxPackets()).isGreaterThan(s.netRxPackets());
    assertThat(after.netTxBytes()).isGreaterThan(s.netTxBytes());
    assertThat(after.netTxPackets()).isGreaterThan(s.netTxPackets());
  }

  @Test
  void followLogsDeliversTaggedLinesLive() throws Exception {
    // httpd -v logs each answer on stderr ("<ip>:<port>: response:404"); only this test gets a 404
    assertThat(get(web, 8080, "/follow-marker.html").statusCode()).isEqualTo(404);
    web.signal(10); // SIGUSR1: the main shell echoes got-usr1
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    synchronized (webLines) {
      while (System.nanoTime() < deadline
          && !(hasLine(LogLine.Stream.STDOUT, "got-usr1") && hasLine(LogLine.Stream.STDERR, "response:404"))) {
        webLines.wait(200); // woken by each new line; the timeout only bounds a missed wake-up
      }
    }
    assertThat(hasLine(LogLine.Stream.STDOUT, "got-usr1")).as("%s", webLines).isTrue();
    assertThat(hasLine(LogLine.Stream.STDERR, "response:404")).as("%s", webLines).isTrue();
  }

  private static boolean hasLine(LogLine.Stream stream, String text) {
    return webLines.stream().anyMatch(l -> l.stream() == stream && l.text().contains(text));
  }

  @Test
  @Order(Integer.MAX_VALUE - 1) // after every unordered test (those sort at MAX_VALUE / 2)
  void aContainerOverItsMemoryLimitIsOomKilledAndTheVmSurvives(@TempDir Path tmp) {
    oom.exec("touch", "/tmp/go");
    ExitStatus status = oom.waitForExit();

    assertThat(status.exitCode()).isEqualTo(137);
    assertThat(status.oomKilled()).isTrue();
    assertThat(oom.logs()).contains("allocating").doesNotContain("survived");
    // the VM and agent still answer
    assertThat(oom.stats().vmMemoryTotalBytes()).isPositive();
    oom.copyOut("/www/index.html", tmp.resolve("index.html"));
    // exec needs a running container: a clear error, and the pod keeps answering
    assertThatThrownBy(() -> oom.exec("true")).isInstanceOf(AgentException.class)
        .satisfies(e -> assertThat(((AgentException) e).status()).isEqualTo(AgentStatus.FAILED_PRECONDITION));
    assertThat(oom.waitFor()).isEqualTo(137);
  }

  @Test
  @Order(Integer.MAX_VALUE)
  void stopEscalatesToSigkillWhenSigtermIsIgnored() {
    long t0 = System.nanoTime();
    int code = web.stop(Duration.ofSeconds(2));
    long tookMs = (System.nanoTime() - t0) / 1_000_000;

    assertThat(code).isEqualTo(137);
    assertThat(tookMs).isGreaterThanOrEqualTo(2000);
    assertThat(web.stop(Duration.ofSeconds(2))).isEqualTo(137); // already stopped: at once
    assertThat(webFollower.awaitEnd(Duration.ofSeconds(30))).isTrue();
  }

  private static String sha256(byte[] b) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }
}
