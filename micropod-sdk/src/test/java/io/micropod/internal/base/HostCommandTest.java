package io.micropod.internal.base;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class HostCommandTest {

  @Test
  void returnsWhatTheCommandPrintedOnBothStreams() throws Exception {
    assertThat(HostCommand.run(List.of("sh", "-c", "echo out; echo err >&2"), Duration.ofSeconds(20)))
        .contains("out").contains("err");
  }

  @Test
  void aNonZeroExitIsAnIOExceptionWithTheOutput() {
    assertThatThrownBy(() -> HostCommand.run(List.of("sh", "-c", "echo No space left on device; exit 3"),
        Duration.ofSeconds(20)))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("exit code 3")
        .hasMessageContaining("No space left on device");
  }

  @Test
  void aCommandPastItsBoundIsKilledAndSaysSo() {
    assertThatThrownBy(() -> HostCommand.run(List.of("sleep", "30"), Duration.ofMillis(300)))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("did not finish within");
  }

  /**
   * The output is read on a thread of its own: with every thread of the common pool blocked (by
   * another long host command, or by anything else of the application), a short command still
   * returns its output instead of failing after the read's grace period.
   */
  @Test
  void aBusyCommonPoolDoesNotStallTheOutputRead() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    int threads = ForkJoinPool.commonPool().getParallelism();
    CountDownLatch blocked = new CountDownLatch(threads);
    List<CompletableFuture<Void>> blockers = new ArrayList<>();
    for (int i = 0; i < threads; i++) {
      blockers.add(CompletableFuture.runAsync(() -> {
        blocked.countDown();
        try {
          release.await(50, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }));
    }
    try {
      assertThat(blocked.await(10, TimeUnit.SECONDS)).as("the common pool's threads are all busy").isTrue();
      assertThat(HostCommand.run(List.of("echo", "hello"), Duration.ofSeconds(20))).isEqualTo("hello\n");
    } finally {
      release.countDown();
      CompletableFuture.allOf(blockers.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
    }
  }
}
