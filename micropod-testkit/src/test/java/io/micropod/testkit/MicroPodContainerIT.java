package io.micropod.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micropod.MicroPod;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * The testkit as users meet it: one class-wide pod (a busybox httpd that starts after a delay)
 * readied by three wait strategies, and a nested class with a pod per test that still sees it.
 */
class MicroPodContainerIT {

  // tag::class-pod[]
  @MicroPodContainer
  static final ManagedPod web = ManagedPod.of(MicroPod.builder()
          .image(TestImages.busybox())
          .command("sh", "-c", "mkdir /www && echo hello > /www/index.html && echo booting"
              + " && sleep 1 && echo ready && exec httpd -f -p 8080 -h /www"))
      .waitingFor(
          Wait.forLogMessage("^ready$", 1),
          Wait.forListeningPort(8080),
          Wait.forHttp("/index.html").forPort(8080));
  // end::class-pod[]

  static String podAtBeforeAll;

  @BeforeAll
  static void theFieldIsRunningBeforeBeforeAllMethods() {
    podAtBeforeAll = web.id();
  }

  @Test
  void waitStrategiesRanBeforeTheFirstTest() {
    assertThat(web.isRunning()).isTrue();
    assertThat(web.id()).isEqualTo(podAtBeforeAll);
    assertThat(web.exec("wget", "-q", "-O-", "http://127.0.0.1:8080/index.html").stdout())
        .isEqualTo("hello\n");
  }

  @Test
  void aMicroPodParameterIsTheOnlyVisiblePod(MicroPod pod) {
    assertThat(pod).isSameAs(web);
  }

  @Test
  void forSuccessfulCommandOnARunningPod() {
    Wait.forSuccessfulCommand("test", "-f", "/www/index.html").waitUntilReady(web);
  }

  @Test
  void aWaitThatTimesOutNamesItsConditionAndShowsTheLog() {
    assertThatThrownBy(() -> Wait.forLogMessage("never printed", 1)
            .withTimeout(Duration.ofSeconds(1)).waitUntilReady(web))
        .isInstanceOf(PodNotReadyException.class)
        .hasMessageContaining("pod " + web.id() + ": timed out after 1 s waiting for log line matching /never printed/")
        .hasMessageContaining("--- last lines of the container log of pod " + web.id() + " ---\nbooting\nready\n");
  }

  @Test
  void portAndHttpWaitsTimeOutWithWhatTheySaw() {
    assertThatThrownBy(() -> Wait.forListeningPort(9999).withTimeout(Duration.ofSeconds(1))
            .waitUntilReady(web))
        .isInstanceOf(PodNotReadyException.class)
        .hasMessageContaining("waiting for TCP port 9999 to listen (last seen: nothing listens on port 9999)");
    assertThatThrownBy(() -> Wait.forHttp("/missing").forPort(8080).withTimeout(Duration.ofSeconds(1))
            .waitUntilReady(web))
        .isInstanceOf(PodNotReadyException.class)
        .hasMessageContaining("waiting for HTTP 200 from GET http://127.0.0.1:8080/missing (last seen: got HTTP 404)");
  }

  // tag::nested[]
  @Nested
  class WithAPodPerTestMethod {
    @MicroPodContainer
    final ManagedPod scratch = ManagedPod.of(MicroPod.builder()
        .image(TestImages.busybox())
        .command("sleep", "600")
        .env("ROLE", "scratch"));

    @Test
    void seesItsOwnPodAndTheOuterOne() {
      assertThat(scratch.isRunning()).isTrue();
      assertThat(scratch.id()).isNotEqualTo(web.id());
      assertThat(scratch.exec("sh", "-c", "echo $ROLE").stdout()).isEqualTo("scratch\n");
      assertThat(web.exec("cat", "/www/index.html").stdout()).isEqualTo("hello\n");
    }
  }
  // end::nested[]

  @AfterAll
  static void stillRunningInAfterAll() {
    assertThat(web.isRunning()).isTrue();
  }
}
