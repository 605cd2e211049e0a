package io.micropod.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micropod.AgentException;
import io.micropod.AgentStatus;
import io.micropod.ExecResult;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class WaitTest {
  private final FakePod pod = new FakePod();

  @Test
  void forLogMessageReturnsOnceTheLineAppearedEnoughTimes() {
    pod.logs = "booting\n";
    CompletableFuture.delayedExecutor(300, TimeUnit.MILLISECONDS)
        .execute(() -> pod.logs = "booting\nworker ready\nworker ready\n");

    Wait.forLogMessage("ready", 2).withTimeout(Duration.ofSeconds(10)).waitUntilReady(pod);

    assertThat(pod.logs).contains("worker ready");
  }

  @Test
  void timeoutNamesWhatItAwaitedAndShowsTheLastLogLines() {
    StringBuilder log = new StringBuilder();
    for (int i = 1; i <= 30; i++) {
      log.append("line ").append(i).append('\n');
    }
    pod.logs = log.toString();

    assertThatThrownBy(() -> Wait.forLogMessage("never", 1).withTimeout(Duration.ofMillis(500))
            .waitUntilReady(pod))
        .isInstanceOf(PodNotReadyException.class)
        .hasMessageContaining("pod fakepod00001: timed out after 500 ms waiting for log line matching /never/")
        .hasMessageContaining("seen 0 of 1")
        .hasMessageContaining("line 11\n")
        .hasMessageContaining("line 30\n")
        .hasMessageNotContaining("line 10\n")
        .satisfies(e -> assertThat(((PodNotReadyException) e).logTail()).startsWith("line 11\n"));
  }

  @Test
  void aContainerThatExitsEndsTheWaitAtOnceWithItsExitCode() {
    pod.logs = "fatal: no config\n";
    pod.exit.complete(3);
    long t0 = System.nanoTime();

    assertThatThrownBy(() -> Wait.forLogMessage("ready", 1).waitUntilReady(pod))
        .isInstanceOf(PodNotReadyException.class)
        .hasMessageContaining("the container exited with code 3 while waiting for log line matching /ready/")
        .hasMessageContaining("fatal: no config")
        .satisfies(e -> assertThat(((PodNotReadyException) e).exitCode()).hasValue(3));
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
  }

  @Test
  void forSuccessfulCommandRetriesUntilExitCodeZero() {
    int[] calls = {0};
    pod.exec = argv -> {
      assertThat(argv).containsExactly("pg_isready", "-q");
      return ++calls[0] < 3 ? ExecResult.of(1, "", "no response\n") : ExecResult.of(0, "", "");
    };

    Wait.forSuccessfulCommand("pg_isready", "-q").waitUntilReady(pod);

    assertThat(calls[0]).isEqualTo(3);
  }

  @Test
  void forSuccessfulCommandTreatsAgentErrorsAsNotReadyYet() {
    pod.exec = argv -> {
      throw new AgentException("container not running yet", null, "fakepod00001", null,
          AgentStatus.UNAVAILABLE, "Exec");
    };

    assertThatThrownBy(() -> Wait.forSuccessfulCommand("true").withTimeout(Duration.ofMillis(400))
            .waitUntilReady(pod))
        .isInstanceOf(PodNotReadyException.class)
        .hasMessageContaining("last seen: container not running yet")
        .hasCauseInstanceOf(AgentException.class);
  }

  @Test
  void forListeningPortReadsProcNetTcp() {
    String[] table = {HEADER};
    pod.exec = argv -> {
      assertThat(argv).containsExactly("cat", "/proc/net/tcp", "/proc/net/tcp6");
      return ExecResult.of(1, table[0], "cat: can't open '/proc/net/tcp6'\n");
    };
    CompletableFuture.delayedExecutor(300, TimeUnit.MILLISECONDS)
        .execute(() -> table[0] = HEADER + "   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1\n");

    Wait.forListeningPort(8080).withTimeout(Duration.ofSeconds(10)).waitUntilReady(pod);
  }

  @Test
  void forListeningPortGivesUpAtOnceWithoutCat() {
    pod.exec = argv -> ExecResult.of(127, "", "exec: cat: not found");

    assertThatThrownBy(() -> Wait.forListeningPort(8080).waitUntilReady(pod))
        .isInstanceOf(PodNotReadyException.class)
        .hasMessageContaining("gave up waiting for TCP port 8080 to listen: cannot run cat")
        .hasMessageContaining("needs cat in the image");
  }

  @Test
  void forHttpComparesTheStatusThatWgetReports() {
    List<String>[] seen = new List[1];
    pod.exec = argv -> {
      seen[0] = argv;
      return ExecResult.of(1, "", "Connecting to 127.0.0.1:8080 (127.0.0.1:8080)\n  HTTP/1.1 404 Not Found\n"
          + "wget: server returned error: HTTP/1.1 404 Not Found\n");
    };

    assertThatThrownBy(() -> Wait.forHttp("/health").forPort(8080).withTimeout(Duration.ofMillis(400))
            .waitUntilReady(pod))
        .isInstanceOf(PodNotReadyException.class)
        .hasMessageContaining("HTTP 200 from GET http://127.0.0.1:8080/health")
        .hasMessageContaining("last seen: got HTTP 404");
    assertThat(seen[0]).containsExactly("wget", "-S", "-O", "/dev/null",
        "http://127.0.0.1:8080/health");

    pod.exec = argv -> ExecResult.of(1, "", "  HTTP/1.1 404 Not Found\n");
    Wait.forHttp("/health").forPort(8080).forStatusCode(404).waitUntilReady(pod);
  }

  @Test
  void factoriesRejectBadArgumentsNamingThem() {
    assertThatThrownBy(() -> Wait.forLogMessage("(", 1)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("regex does not compile: (");
    assertThatThrownBy(() -> Wait.forLogMessage("x", 0)).hasMessage("times < 1: 0");
    assertThatThrownBy(() -> Wait.forListeningPort(70000)).hasMessage("port not in 1..65535: 70000");
    assertThatThrownBy(() -> Wait.forHttp("health")).hasMessage("path does not start with '/': health");
    assertThatThrownBy(() -> Wait.forHttp("/").forStatusCode(42)).hasMessage("status not in 100..599: 42");
    assertThatThrownBy(() -> Wait.forSuccessfulCommand()).hasMessage("argv is empty");
    assertThatThrownBy(() -> Wait.forSuccessfulCommand("x").withTimeout(Duration.ZERO))
        .hasMessage("timeout <= 0: PT0S");
  }

  @Test
  void withTimeoutReturnsACopy() {
    WaitStrategy w = Wait.forLogMessage("x", 1);
    WaitStrategy shorter = w.withTimeout(Duration.ofSeconds(5));

    assertThat(w.timeout()).isEqualTo(WaitStrategy.DEFAULT_TIMEOUT);
    assertThat(shorter.timeout()).isEqualTo(Duration.ofSeconds(5));
  }

  private static final String HEADER =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
      + "   0: 0100007F:0035 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1\n"
      + "   2: 0100007F:1F90 0100007F:A000 01 00000000:00000000 00:00000000 00000000 0 0 1\n";
}
