package io.micropod.testkit;

import io.micropod.ExecResult;
import io.micropod.testkit.internal.PollingWait;
import io.micropod.testkit.internal.PollingWait.Check;
import io.micropod.testkit.internal.ProcNetTcp;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Factories of {@link WaitStrategy}s, each with the {@linkplain WaitStrategy#DEFAULT_TIMEOUT
 * default timeout} of 60 s.
 *
 * <pre>{@code
 * ManagedPod web = ManagedPod.of(spec).waitingFor(Wait.forHttp("/health").forPort(8080));
 * ManagedPod db = ManagedPod.of(spec).waitingFor(Wait.forLogMessage("ready to accept", 1));
 * }</pre>
 *
 * The port and HTTP strategies look from inside the pod (they run {@code cat /proc/net/tcp} and
 * {@code wget} there with {@link io.micropod.MicroPod#exec}), so they work without port mapping
 * and need {@code cat} and {@code wget} in the image (busybox has both).
 */
public final class Wait {

  private Wait() {}

  /**
   * Ready once {@code times} lines of the container log contain a match of {@code regex}
   * ({@link java.util.regex.Matcher#find()} on each line, so {@code "ready"} matches
   * {@code "server ready on :80"}).
   *
   * @param regex a {@link java.util.regex.Pattern} searched for in each log line
   * @param times how many lines must match; at least 1
   * @return the strategy, with the default timeout
   * @throws IllegalArgumentException when {@code regex} does not compile or {@code times < 1}
   */
  public static WaitStrategy forLogMessage(String regex, int times) {
    Objects.requireNonNull(regex, "regex");
    if (times < 1) {
      throw new IllegalArgumentException("times < 1: " + times);
    }
    Pattern pattern;
    try {
      pattern = Pattern.compile(regex);
    } catch (java.util.regex.PatternSyntaxException e) {
      throw new IllegalArgumentException("regex does not compile: " + regex + ": " + e.getDescription(), e);
    }
    String what = "log line matching /" + regex + "/" + (times > 1 ? " " + times + " times" : "");
    return new PollingWait(what, WaitStrategy.DEFAULT_TIMEOUT, true, pod -> {
      long seen = pod.logs().lines().filter(l -> pattern.matcher(l).find()).count();
      return seen >= times ? Check.ready() : Check.notYet("seen " + seen + " of " + times);
    });
  }

  /**
   * Ready once {@code argv}, run in the container with {@link io.micropod.MicroPod#exec}, exits
   * with code 0.
   *
   * @param argv the command and its arguments
   * @return the strategy, with the default timeout
   * @throws IllegalArgumentException when {@code argv} is empty
   */
  public static WaitStrategy forSuccessfulCommand(String... argv) {
    List<String> command = List.copyOf(Arrays.asList(Objects.requireNonNull(argv, "argv")));
    if (command.isEmpty()) {
      throw new IllegalArgumentException("argv is empty");
    }
    return new PollingWait("command " + command + " to succeed", WaitStrategy.DEFAULT_TIMEOUT, false,
        pod -> {
          ExecResult r = pod.exec(command);
          return r.exitCode() == 0 ? Check.ready()
              : Check.notYet("exit code " + r.exitCode() + lastLine(r.stderr()));
        });
  }

  /**
   * Ready once a process in the pod listens on TCP {@code port} (IPv4 or IPv6, any address), as
   * {@code /proc/net/tcp} and {@code /proc/net/tcp6} in the container show.
   *
   * @param port the TCP port in the pod
   * @return the strategy, with the default timeout
   * @throws IllegalArgumentException when {@code port} is not in 1..65535
   */
  public static WaitStrategy forListeningPort(int port) {
    checkPort(port);
    return new PollingWait("TCP port " + port + " to listen", WaitStrategy.DEFAULT_TIMEOUT, false,
        pod -> {
          ExecResult r = pod.exec("cat", "/proc/net/tcp", "/proc/net/tcp6");
          if (r.exitCode() == 127 || r.exitCode() == 126) {
            return Check.failed("cannot run cat in the container (exit code " + r.exitCode()
                + "): forListeningPort needs cat in the image");
          }
          return ProcNetTcp.listeningPorts(r.stdout()).contains(port) ? Check.ready()
              : Check.notYet("nothing listens on port " + port);
        });
  }

  /**
   * Ready once {@code GET http://127.0.0.1:<port><path>} from inside the pod answers with the
   * expected status; by default port 80 and status 200 ({@link HttpWaitStrategy#forPort},
   * {@link HttpWaitStrategy#forStatusCode}).
   *
   * @param path the absolute path, e.g. {@code "/health"}
   * @return the strategy, with the default timeout; it sets the port and status
   * @throws IllegalArgumentException when {@code path} does not start with {@code /} or holds
   *     whitespace
   */
  public static HttpWaitStrategy forHttp(String path) {
    return new HttpWaitStrategy(path, 80, 200, WaitStrategy.DEFAULT_TIMEOUT);
  }

  /**
   * Ready once the container's health check passes ({@link io.micropod.MicroPod#health()}: the
   * spec's {@link io.micropod.HealthCheck}, else the image's {@code HEALTHCHECK}). Fails at once
   * when the container turns unhealthy, or has no health check at all.
   *
   * @return the strategy, with the default timeout
   */
  public static WaitStrategy forHealthcheck() {
    return new PollingWait("health check to pass", WaitStrategy.DEFAULT_TIMEOUT, false, pod -> {
      java.util.Optional<io.micropod.HealthState> health = pod.health();
      if (health.isEmpty()) {
        return Check.failed("the container has no health check: give the spec a HealthCheck, or use"
            + " an image with a HEALTHCHECK");
      }
      switch (health.get().status()) {
        case HEALTHY:
          return Check.ready();
        case UNHEALTHY:
          return Check.failed("the container is unhealthy after " + health.get().failingStreak()
              + " failed probes" + lastLine(health.get().lastOutput()));
        default:
          return Check.notYet("health: starting" + lastLine(health.get().lastOutput()));
      }
    });
  }

  static void checkPort(int port) {
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("port not in 1..65535: " + port);
    }
  }

  static String lastLine(String s) {
    String t = s.strip();
    if (t.isEmpty()) {
      return "";
    }
    int nl = t.lastIndexOf('\n');
    return ": " + (nl < 0 ? t : t.substring(nl + 1));
  }
}
