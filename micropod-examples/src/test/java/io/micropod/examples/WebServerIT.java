package io.micropod.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.MicroPod;
import io.micropod.testkit.ManagedPod;
import io.micropod.testkit.MicroPodContainer;
import io.micropod.testkit.Wait;
import org.junit.jupiter.api.Test;

/**
 * The JUnit example: a web server in a pod, started once for the class, ready when it answers
 * HTTP 200. Run it with {@code mvn verify -pl micropod-examples -Dit.test=WebServerIT}.
 */
// tag::junit[]
class WebServerIT {

  @MicroPodContainer   // static: one pod for the class; an instance field: one per test
  static final ManagedPod web = ManagedPod.of(MicroPod.builder()
          .image("oci:" + Hello.Samples.busyboxLayout())
          .command("sh", "-c", "mkdir -p /www && echo '<h1>hi</h1>' > /www/index.html"
              + " && exec httpd -f -v -p 8080 -h /www"))
      .waitingFor(Wait.forHttp("/index.html").forPort(8080));

  @Test
  void servesTheIndexPage() {
    String page = web.exec("wget", "-q", "-O-", "http://127.0.0.1:8080/index.html").stdout();

    assertThat(page).isEqualTo("<h1>hi</h1>\n");
  }

  @Test
  void answers404ForMissingPages() {
    var result = web.exec("wget", "-q", "-O-", "http://127.0.0.1:8080/nope.html");

    assertThat(result.exitCode()).isNotZero();
    assertThat(web.logs()).contains("404");   // httpd -v logs each request
  }
}
// end::junit[]
