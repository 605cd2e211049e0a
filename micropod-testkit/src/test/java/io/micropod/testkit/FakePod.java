package io.micropod.testkit;

import io.micropod.BootTimings;
import io.micropod.ExecProcess;
import io.micropod.ExecResult;
import io.micropod.ExecSpec;
import io.micropod.ExitStatus;
import io.micropod.LogLine;
import io.micropod.MicroPod;
import io.micropod.MicroPodSpec;
import io.micropod.PodStats;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Function;

/** A pod without a VM, for unit tests of the wait strategies: logs and exec are scripted. */
final class FakePod implements MicroPod {
  volatile String logs = "";
  volatile Function<List<String>, ExecResult> exec = argv -> ExecResult.of(127, "", "not found");
  final CompletableFuture<Integer> exit = new CompletableFuture<>();
  volatile int execs;
  /** What {@link #health()} answers; null: no health check. */
  volatile io.micropod.HealthState health;
  /** What {@link #snapshot} answers for a name. */
  volatile Function<String, io.micropod.PodSnapshot> snapshot = name -> {
    throw unscripted();
  };
  volatile boolean closed;

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

  // The wait strategies use only exec, logs and waitFor: the rest is not scripted.

  @Override
  public ExecResult exec(ExecSpec execSpec) {
    throw unscripted();
  }

  @Override
  public ExecProcess execStreaming(ExecSpec execSpec) {
    throw unscripted();
  }

  @Override
  public LogFollower followLogs(Consumer<LogLine> consumer) {
    throw unscripted();
  }

  @Override
  public void signal(int signal) {
    throw unscripted();
  }

  @Override
  public int stop(Duration timeout) {
    throw unscripted();
  }

  @Override
  public ExitStatus waitForExit() {
    throw unscripted();
  }

  @Override
  public void copyIn(Path hostPath, String containerPath) {
    throw unscripted();
  }

  @Override
  public void copyOut(String containerPath, Path hostPath) {
    throw unscripted();
  }

  @Override
  public PodStats stats() {
    throw unscripted();
  }

  @Override
  public int mappedPort(int containerPort) {
    throw unscripted();
  }

  @Override
  public String host() {
    return "127.0.0.1";
  }

  private static UnsupportedOperationException unscripted() {
    return new UnsupportedOperationException("not scripted in FakePod");
  }

  @Override
  public io.micropod.PodSnapshot snapshot(String name) {
    return snapshot.apply(name);
  }

  @Override
  public void close() {
    closed = true;
  }

  @Override
  public java.util.Optional<io.micropod.HealthState> health() {
    return java.util.Optional.ofNullable(health);
  }
}
