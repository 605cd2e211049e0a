package io.micropod.testkit;

import io.micropod.ExecResult;
import io.micropod.MicroPod;
import io.micropod.testkit.internal.PollingWait;
import io.micropod.testkit.internal.PollingWait.Check;
import java.time.Duration;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Waits for an HTTP status on a path, asked from inside the pod with {@code wget -S} (so it needs
 * {@code wget} in the image, as busybox has; it works without port mapping). Immutable: each
 * setter returns a copy. Get one from {@link Wait#forHttp(String)}.
 *
 * <p>Each probe is one {@code wget} without a timeout of its own ({@code -T} crashes Debian's
 * static busybox 1.35): a server that accepts connections but never answers holds the probe past
 * this strategy's timeout.
 */
public final class HttpWaitStrategy implements WaitStrategy {
  private static final Pattern STATUS_LINE = Pattern.compile("HTTP/[0-9.]+ ([0-9]{3})");

  private final String path;
  private final int port;
  private final int status;
  private final Duration timeout;

  HttpWaitStrategy(String path, int port, int status, Duration timeout) {
    Objects.requireNonNull(path, "path");
    if (!path.startsWith("/")) {
      throw new IllegalArgumentException("path does not start with '/': " + path);
    }
    if (path.chars().anyMatch(Character::isWhitespace)) {
      throw new IllegalArgumentException("path holds whitespace: " + path);
    }
    Wait.checkPort(port);
    if (status < 100 || status > 599) {
      throw new IllegalArgumentException("status not in 100..599: " + status);
    }
    this.path = path;
    this.port = port;
    this.status = status;
    this.timeout = PollingWait.checkTimeout(timeout);
  }

  /**
   * A copy that asks another port.
   *
   * @param port the port in the pod, 1..65535; default 80
   * @return the copy
   */
  public HttpWaitStrategy forPort(int port) {
    return new HttpWaitStrategy(path, port, status, timeout);
  }

  /**
   * A copy that expects another status.
   *
   * @param status the expected HTTP status code, 100..599; default 200
   * @return the copy
   */
  public HttpWaitStrategy forStatusCode(int status) {
    return new HttpWaitStrategy(path, port, status, timeout);
  }

  @Override
  public HttpWaitStrategy withTimeout(Duration timeout) {
    return new HttpWaitStrategy(path, port, status, timeout);
  }

  @Override
  public Duration timeout() {
    return timeout;
  }

  @Override
  public void waitUntilReady(MicroPod pod) {
    String url = "http://127.0.0.1:" + port + path;
    new PollingWait("HTTP " + status + " from GET " + url, timeout, false, p -> {
      ExecResult r = p.exec("wget", "-S", "-O", "/dev/null", url);
      if (r.exitCode() == 127 || r.exitCode() == 126) {
        return Check.failed("cannot run wget in the container (exit code " + r.exitCode()
            + "): forHttp needs wget in the image");
      }
      Matcher m = STATUS_LINE.matcher(r.stderr() + r.stdout());
      if (!m.find()) {
        return Check.notYet("no HTTP answer" + Wait.lastLine(r.stderr()));
      }
      int got = Integer.parseInt(m.group(1));
      return got == status ? Check.ready() : Check.notYet("got HTTP " + got);
    }).waitUntilReady(pod);
  }

  @Override
  public String toString() {
    return "Wait.forHttp(" + path + ").forPort(" + port + ").forStatusCode(" + status + ")";
  }
}
