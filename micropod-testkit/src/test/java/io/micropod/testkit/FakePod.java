package io.micropod.testkit;

import io.micropod.BootTimings;
import io.micropod.ExecResult;
import io.micropod.MicroPod;
import io.micropod.MicroPodSpec;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/** A pod without a VM, for unit tests of the wait strategies: logs and exec are scripted. */
final class FakePod implements MicroPod {
  volatile String logs = "";
  volatile Function<List<String>, ExecResult> exec = argv -> ExecResult.of(127, "", "not found");
  final CompletableFuture<Integer> exit = new CompletableFuture<>();
  volatile int execs;

  @Override
  public String id() {
    return "fakepod00001";
  }

  @Override
  public MicroPodSpec spec() {
    return MicroPodSpec.builder().image("oci:/nowhere").build();
  }

  @Override
  public ExecResult exec(String... argv) {
    return exec(List.of(argv));
  }

  @Override
  public ExecResult exec(List<String> argv) {
    execs++;
    return exec.apply(argv);
  }

  @Override
  public String logs() {
    return logs;
  }

  @Override
  public int waitFor() {
    return exit.join();
  }

  @Override
  public OptionalInt waitFor(Duration timeout) {
    try {
      return OptionalInt.of(exit.get(timeout.toNanos(), TimeUnit.NANOSECONDS));
    } catch (TimeoutException e) {
      return OptionalInt.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } catch (ExecutionException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public BootTimings bootTimings() {
    return BootTimings.of(Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ZERO);
  }

  @Override
  public void close() {}
}
