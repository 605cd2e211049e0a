package io.micropod.agent.runtime;

import io.micropod.agent.base.Log;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A restored guest's new identity (entropy and reseed, clock, hostname) through the guest image's
 * {@code micropod-tty} (ioctl, clock_settime, setns: the JDK can do none of them).
 *
 * <p>Under TCG a process spawn from the guest JVM costs ~100 ms, on the path of every
 * restore. So before a snapshot is taken ({@link #prepare}) the agent starts {@code micropod-tty
 * --restored-server}, which the snapshot then holds running: a restored guest's agent writes its
 * request to that process. When there is none (a snapshot taken by an older SDK, or the server
 * died) it runs {@code micropod-tty --restored} once, as before.
 *
 * <p>The server is the agent's own child, in the agent's namespaces: no container process sees
 * it, and it reads nothing but the agent's pipe. Thread-safe.
 */
final class IdentityHelper {
  /** How long one identity may take, the one-shot helper's spawn included. */
  static final Duration TIMEOUT = Duration.ofSeconds(10);

  private final ScheduledExecutorService timer;
  /** The server; null before {@link #prepare} or after it failed. Guarded by this. */
  private Process server;
  private BufferedReader replies;

  IdentityHelper(ScheduledExecutorService timer) {
    this.timer = timer;
  }

  /**
   * Starts the server unless it runs, and pings it: the ping runs the agent's side of a request
   * (its classes loaded, its call sites linked) before the snapshot rather than on the restore's
   * path, where the interpreted guest JVM pays for each of them. A failure is logged: restores
   * then spawn the one-shot helper.
   */
  synchronized void prepare() {
    if (server == null || !server.isAlive()) {
      try {
        server = new ProcessBuilder(TtyExec.helper().toString(), "--restored-server")
            .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        replies = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.US_ASCII));
      } catch (IOException e) {
        server = null;
        Log.warn("cannot start " + TtyExec.helper() + " --restored-server (restores will spawn it): " + e.getMessage());
        return;
      }
    }
    String answer = ask(0, 0, 0, "", new byte[0]);
    if (!"ok".equals(answer)) {
      Log.warn("micropod-tty --restored-server did not answer its ping (" + answer + "): restores will spawn it");
      server.destroyForcibly();
      server = null;
    }
  }

  /**
   * Applies one identity: {@code entropy} (32 to 512 bytes) into the kernel's pool and a reseed,
   * the clock, and when {@code pid > 0} the hostname of that process's UTS namespace.
   *
   * @throws ContainerException when a step fails, with the helper's message
   */
  void apply(long unixTimeNanos, int pid, String hostname, byte[] entropy) {
    long secs = Math.floorDiv(unixTimeNanos, 1_000_000_000L);
    long nanos = Math.floorMod(unixTimeNanos, 1_000_000_000L);
    synchronized (this) {
      if (server != null && server.isAlive()) {
        String answer = ask(secs, nanos, pid, hostname, entropy);
        if (answer != null) {
          if (!answer.equals("ok")) {
            throw ContainerException.internal("micropod-tty --restored-server: " + answer, null);
          }
          return;
        }
        server.destroyForcibly();
        server = null;
      }
    }
    spawnOnce(secs, nanos, pid, hostname, entropy);
  }

  /** The server's answer; null when it is gone or silent (part of it may be applied: all is applied again). */
  private String ask(long secs, long nanos, int pid, String hostname, byte[] entropy) {
    Process p = server;
    // a server that hangs is killed: the read below then ends
    ScheduledFuture<?> watchdog = timer.schedule(p::destroyForcibly, TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    try {
      OutputStream out = p.getOutputStream();
      out.write((secs + " " + nanos + " " + pid + " " + (pid > 0 ? hostname : "-") + " " + entropy.length + "\n")
          .getBytes(StandardCharsets.US_ASCII));
      out.write(entropy);
      out.flush();
      String line = replies.readLine();
      if (line == null) {
        Log.warn("micropod-tty --restored-server ended without an answer: spawning micropod-tty --restored");
        return null;
      }
      return line;
    } catch (IOException e) {
      Log.warn("micropod-tty --restored-server: " + e.getMessage() + ": spawning micropod-tty --restored");
      return null;
    } finally {
      watchdog.cancel(false);
    }
  }

  private static void spawnOnce(long secs, long nanos, int pid, String hostname, byte[] entropy) {
    List<String> argv = new java.util.ArrayList<>(List.of(TtyExec.helper().toString(), "--restored",
        Long.toString(secs), Long.toString(nanos)));
    if (pid > 0) {
      argv.add(Integer.toString(pid));
      argv.add(hostname);
    }
    try {
      Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
      try (OutputStream in = p.getOutputStream()) {
        in.write(entropy);
      }
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      if (!p.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        throw ContainerException.internal("micropod-tty --restored failed: " + out, null);
      }
    } catch (IOException e) {
      throw ContainerException.internal("cannot run " + argv.get(0) + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw ContainerException.internal("interrupted", e);
    }
  }
}
