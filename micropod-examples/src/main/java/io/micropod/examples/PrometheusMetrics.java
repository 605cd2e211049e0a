package io.micropod.examples;

import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.micropod.MicroPod;
import io.micropod.micrometer.MicroPodMetrics;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;

/**
 * MicroPod's meters on a Prometheus endpoint: Micrometer's Prometheus registry, bound to a
 * {@link MicroPodMetrics}, served by the JDK's HTTP server on {@code 127.0.0.1}. Run it with
 * {@code mvn -q exec:java -pl micropod-examples -Dexec.mainClass=io.micropod.examples.PrometheusMetrics}
 * (an argument picks the port, default 9464), then {@code curl http://127.0.0.1:9464/metrics};
 * Enter stops it.
 */
public final class PrometheusMetrics {

  public static void main(String[] args) throws IOException {
    String image = System.getProperty("micropod.image", "oci:" + Hello.Samples.busyboxLayout());
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 9464;
    try (Endpoint endpoint = Endpoint.start(port);
         MicroPod pod = endpoint.startPod(image)) {
      pod.exec("true");
      System.out.println("metrics of pod " + pod.id() + " at " + endpoint.uri() + "; Enter stops");
      System.in.read();
    }
  }

  /** The registry, the binder, and the HTTP server that serves {@code /metrics}. */
  static final class Endpoint implements AutoCloseable {
    final PrometheusMeterRegistry registry;
    final MicroPodMetrics metrics;
    private final HttpServer server;

    private Endpoint(PrometheusMeterRegistry registry, MicroPodMetrics metrics, HttpServer server) {
      this.registry = registry;
      this.metrics = metrics;
      this.server = server;
    }

    /** Serves {@code /metrics} on {@code 127.0.0.1:port} (0: a free port). */
    static Endpoint start(int port) throws IOException {
      // tag::bind[]
      PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      MicroPodMetrics metrics = new MicroPodMetrics();
      metrics.bindTo(registry);
      // end::bind[]
      // tag::serve[]
      HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0);
      server.createContext("/metrics", exchange -> {
        byte[] body = registry.scrape().getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
        exchange.sendResponseHeaders(200, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(body);
        }
      });
      server.start();
      // end::serve[]
      return new Endpoint(registry, metrics, server);
    }

    /** A pod whose start, execs and stats the endpoint shows. */
    MicroPod startPod(String image) {
      // tag::start[]
      MicroPod pod = metrics.start(MicroPod.builder()   // metrics hears the pod's events
          .image(image)
          .name("metrics-demo")                          // tag pod.name of the pod's meters
          .command("sleep", "3600")
          .build());
      // end::start[]
      return pod;
    }

    URI uri() {
      return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/metrics");
    }

    @Override
    public void close() {
      server.stop(0);
      metrics.close();
      registry.close();
    }
  }

  private PrometheusMetrics() {}
}
