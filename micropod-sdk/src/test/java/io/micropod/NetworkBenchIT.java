package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Network figures for the networking issue's closing note and docs/networking.md, not run in CI
 * (minutes under TCG): {@code -Dit.test=NetworkBenchIT -Dmicropod.bench=true}
 * [{@code -Dmicropod.bench.n=200}]. Timed inside the guest by {@code /bin/tcpb}
 * (src/test/c/tcpb.c, CLOCK_MONOTONIC), so no process start or exec round trip is counted:
 * TCP throughput pod -> pod on one network (through the switch) and pod -> host loopback
 * (through the NAT), 64 MiB per run, median of 3; connection latency (connect + first byte)
 * over N fresh connections, median and p90, on both paths.
 */
@EnabledIfSystemProperty(named = "micropod.bench", matches = "true")
class NetworkBenchIT {
  private static final int N = Integer.getInteger("micropod.bench.n", 200);
  private static final int MIB = 64;

  /** The tcpb protocol on the host's loopback: one byte at once, then the count of what came. */
  private static ServerSocket hostServer() throws IOException {
    ServerSocket server = new ServerSocket(0, 64, InetAddress.getLoopbackAddress());
    Thread t = new Thread(() -> {
      byte[] buf = new byte[1 << 16];
      while (!server.isClosed()) {
        try (Socket c = server.accept()) {
          c.setTcpNoDelay(true);
          OutputStream out = c.getOutputStream();
          out.write('!');
          out.flush();
          InputStream in = c.getInputStream();
          long total = 0;
          for (int n; (n = in.read(buf)) > 0; ) {
            total += n;
          }
          out.write((total + "\n").getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
          // the latency client closes after the first byte
        }
      }
    }, "bench-host-server");
    t.setDaemon(true);
    t.start();
    return server;
  }

  private static String loadavg() throws IOException {
    return Files.readString(Path.of("/proc/loadavg")).trim();
  }

  private static double mbps(MicroPod pod, String host, int port) {
    List<Double> runs = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      ExecResult r = pod.exec("tcpb", "send", host, Integer.toString(port), Integer.toString(MIB));
      assertThat(r.exitCode()).as(r.stderr()).isZero();
      runs.add(Double.parseDouble(r.stdout().trim().split(" ")[1]));
    }
    runs.sort(null);
    return runs.get(1);
  }

  private static String latency(MicroPod pod, String host, int port) {
    ExecResult r = pod.exec("tcpb", "latency", host, Integer.toString(port), Integer.toString(N));
    assertThat(r.exitCode()).as(r.stderr()).isZero();
    return r.stdout().trim();
  }

  @Test
  void tcpThroughputAndConnectionLatencyPodToPodAndPodToHost() throws Exception {
    String image = NetTestImages.busyboxWithUdp();
    String loadBefore = loadavg();
    try (ServerSocket host = hostServer();
         Network net = Network.create();
         MicroPod server = MicroPod.builder().image(image).network(net).networkAliases("srv")
             .command("tcpb", "serve", "7000").start();
         MicroPod client = MicroPod.builder().image(image).network(net).exposeHostPorts(host.getLocalPort())
             .command("sleep", "3600").start()) {
      int hostPort = host.getLocalPort();
      // warm up: the server is listening, ARP and the switch's MAC table are filled
      ExecResult warm;
      long deadline = System.nanoTime() + 60_000_000_000L;
      do {
        warm = client.exec("tcpb", "latency", "srv", "7000", "3");
      } while (warm.exitCode() != 0 && System.nanoTime() - deadline < 0);
      assertThat(warm.exitCode()).as(warm.stderr()).isZero();

      double podToPod = mbps(client, "srv", 7000);
      double podToHost = mbps(client, Network.HOST_NAME, hostPort);
      String latPodToPod = latency(client, "srv", 7000);
      String latPodToHost = latency(client, Network.HOST_NAME, hostPort);
      String loadAfter = loadavg();
      System.out.printf("NETWORK-BENCH tcp pod->pod %.1f MB/s, pod->host %.1f MB/s (%d MiB, median of 3);"
              + " connect+first byte pod->pod: %s; pod->host: %s; host %d cpus, loadavg before %s, after %s%n",
          podToPod, podToHost, MIB, latPodToPod, latPodToHost, Runtime.getRuntime().availableProcessors(),
          loadBefore, loadAfter);
      assertThat(podToPod).isPositive();
      assertThat(podToHost).isPositive();
    }
  }
}
