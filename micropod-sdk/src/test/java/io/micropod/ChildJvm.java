package io.micropod;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/** A second JVM running {@link PodMain} with this test's classpath; its output is collected. */
final class ChildJvm implements AutoCloseable {
  private final Process process;
  private final List<String> lines = new ArrayList<>();

  private ChildJvm(Process process) {
    this.process = process;
    Thread t = new Thread(this::pump, "child-jvm-" + process.pid());
    t.setDaemon(true);
    t.start();
  }

  static ChildJvm start(Map<String, String> env, List<String> jvmArgs, String... args) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add("-Dmicropod.home=" + TestImages.home());
    // C1 only and the serial GC: a child lives seconds, and C2's compiler threads took a core of
    // the two that the guest's TCG needs; what the child does is the same (jvmArgs may override)
    cmd.add("-XX:TieredStopAtLevel=1");
    cmd.add("-XX:+UseSerialGC");
    cmd.addAll(jvmArgs);
    cmd.add(PodMain.class.getName());
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().putAll(env);
    return new ChildJvm(pb.start());
  }

  static ChildJvm start(String... args) throws IOException {
    return start(Map.of(), List.of(), args);
  }

  /**
   * Starts a detached pod named {@code name} from a child JVM that exits without closing it
   * ({@link PodMain} {@code start-detached}); returns the pod's id.
   */
  static String startDetached(String name) throws IOException, InterruptedException {
    try (ChildJvm first = start("start-detached", name)) {
      String id = first.await("POD ", Duration.ofMinutes(4));
      int exit = first.waitFor(Duration.ofSeconds(30));
      if (exit != 0) {
        throw new AssertionError("the child JVM that started pod " + id + " exited with " + exit
            + ":\n" + first.output());
      }
      return id;
    }
  }

  private void pump() {
    try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        synchronized (lines) {
          lines.add(line);
        }
      }
    } catch (IOException e) {
      // the child died
    }
  }

  Process process() {
    return process;
  }

  String output() {
    synchronized (lines) {
      return String.join("\n", lines);
    }
  }

  /** The rest of the first line starting with {@code prefix}; fails at the deadline or the child's exit. */
  String await(String prefix, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      synchronized (lines) {
        for (String l : lines) {
          if (l.startsWith(prefix)) {
            return l.substring(prefix.length()).trim();
          }
        }
      }
      if (!process.isAlive() || System.nanoTime() - deadline > 0) {
        // a last look after the pump drained
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
        synchronized (lines) {
          for (String l : lines) {
            if (l.startsWith(prefix)) {
              return l.substring(prefix.length()).trim();
            }
          }
        }
        throw new AssertionError("child JVM " + (process.isAlive() ? "did not print" : "exited ("
            + process.exitValue() + ") without printing") + " '" + prefix + "' within " + timeout
            + "; its output:\n" + output());
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
    }
  }

  int waitFor(Duration timeout) throws InterruptedException {
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new AssertionError("child JVM did not exit within " + timeout + "; output:\n" + output());
    }
    return process.exitValue();
  }

  @Override
  public void close() {
    process.destroyForcibly();
  }
}
