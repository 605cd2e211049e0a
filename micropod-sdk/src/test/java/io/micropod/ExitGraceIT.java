package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/**
 * A JVM that ends normally or on SIGTERM gives a pod with an exit grace period an orderly stop:
 * its container sees SIGTERM (and reports it to a server on the host's loopback through
 * {@code host.micropod.internal}) before the VM goes, and nothing is left behind.
 */
class ExitGraceIT {

  @Test
  void terminatedJvmStopsItsPodsGracefully() throws Exception {
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    CountDownLatch termSeen = new CountDownLatch(1);
    server.createContext("/term", exchange -> {
      termSeen.countDown();
      exchange.sendResponseHeaders(204, -1);
      exchange.close();
    });
    server.start();
    String url = "http://host.micropod.internal:" + server.getAddress().getPort() + "/term";
    ChildJvm child = ChildJvm.start("exit-grace", url, "PT20S");
    String id = null;
    try {
      id = child.await("POD ", Duration.ofMinutes(4));
      child.process().destroy(); // SIGTERM: the JVM's shutdown hooks run
      assertThat(child.process().waitFor(60, TimeUnit.SECONDS))
          .as("child JVM exits within the grace period; output:%n%s", child.output()).isTrue();
      assertThat(termSeen.await(0, TimeUnit.SECONDS))
          .as("the container saw SIGTERM before its VM went; child output:%n%s", child.output()).isTrue();
    } finally {
      child.process().destroyForcibly();
      server.stop(0);
    }
    String podId = id;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (!Leaks.of(podId).isEmpty() && System.nanoTime() < deadline) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
    }
    assertThat(Leaks.of(podId)).isEmpty();
    assertThat(MicroPodRuntime.defaultRuntime().list()).noneMatch(i -> i.id().equals(podId));
  }
}
