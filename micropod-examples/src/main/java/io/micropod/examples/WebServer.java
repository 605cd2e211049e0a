package io.micropod.examples;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.micropod.ExecResult;
import io.micropod.ExecSpec;
import io.micropod.ExitStatus;
import io.micropod.LogConsumers;
import io.micropod.MicroPod;
import io.micropod.PodStats;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * A tour of the lifecycle API: a busybox web server in a pod, fetched from the host through a
 * published port, with exec, live logs, file copies, stats and a graceful stop. Run it with
 * {@code mvn -q exec:java -pl micropod-examples -Dexec.mainClass=io.micropod.examples.WebServer}.
 */
public final class WebServer {

  public static void main(String[] args) throws IOException, InterruptedException {
    String image = System.getProperty("micropod.image", "oci:" + Hello.Samples.busyboxLayout());
    run(image).forEach(System.out::println);
  }

  /** Runs the tour and returns what it printed, line by line (ExamplesIT checks it). */
  static List<String> run(String image) throws IOException, InterruptedException {
    List<String> printed = new ArrayList<>();
    // tag::start[]
    try (MicroPod pod = MicroPod.builder()
        .image(image)
        .entrypoint("httpd")                       // replaces the image's Entrypoint (and Cmd)
        .command("-f", "-v", "-p", "8080", "-h", "/www")
        .name("tour-web")                          // unique among the runtime's live pods
        .hostname("web")
        .label("purpose", "tour")
        .port(8080)                                // container port 8080 on a random host port
        .copyToContainer("hello\n".getBytes(UTF_8), "/www/index.html", 0644)
        .containerMemoryMib(128)                   // cgroup limit inside the 512 MiB VM
        .start()) {
      // end::start[]

      // tag::logs[]
      MicroPod.LogFollower follower = pod.followLogs(
          LogConsumers.toLogger(System.getLogger("tour-web"), pod.id()));
      // end::logs[]

      // tag::ports[]
      URI uri = URI.create("http://" + pod.host() + ":" + pod.mappedPort(8080) + "/index.html");
      HttpResponse<String> page = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
      // end::ports[]
      printed.add("GET " + uri + " -> " + page.statusCode() + " " + page.body().trim());

      // tag::exec[]
      ExecResult r = pod.exec(ExecSpec.builder("sh", "-c", "tr a-z A-Z; id -u")
          .user("65534")
          .workingDir("/tmp")
          .env("MODE", "shout")
          .stdin("quiet words\n".getBytes(UTF_8))
          .build());
      // end::exec[]
      printed.addAll(r.stdout().lines().toList());

      // tag::files[]
      Path dir = Files.createTempDirectory("tour");
      Files.writeString(dir.resolve("about.html"), "<p>copied in</p>\n");
      pod.copyIn(dir, "/www/site");                       // a directory, modes kept
      pod.copyOut("/www/site", dir.resolveSibling(dir.getFileName() + "-back"));
      // end::files[]
      Path back = dir.resolveSibling(dir.getFileName() + "-back");
      printed.add("copied back: " + Files.readString(back.resolve("about.html")).trim());
      deleteTree(dir);
      deleteTree(back);

      // tag::stats[]
      PodStats s = pod.stats();
      printed.add(String.format("container: %d KiB of %d KiB, %d ms CPU; VM: %d MiB available",
          s.memoryUsageBytes() / 1024, s.memoryLimitBytes() / 1024, s.cpuUsageMicros() / 1000,
          s.vmMemoryAvailableBytes() >> 20));
      // end::stats[]

      // tag::stop[]
      int code = pod.stop(Duration.ofSeconds(10)); // SIGTERM, then SIGKILL after 10 s
      ExitStatus status = pod.waitForExit();         // code again, plus oomKilled
      // end::stop[]
      follower.awaitEnd(Duration.ofSeconds(10));
      printed.add("httpd exited with " + code + (status.oomKilled() ? " (OOM-killed)" : ""));
    }
    return printed;
  }

  private static void deleteTree(Path root) throws IOException {
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  private WebServer() {}
}
