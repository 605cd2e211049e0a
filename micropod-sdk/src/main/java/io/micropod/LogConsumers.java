package io.micropod;

import java.util.Objects;
import java.util.function.Consumer;

/**
 * Ready-made consumers for {@link MicroPod#followLogs(Consumer)}.
 *
 * <p>The logger is a JDK {@link System.Logger} so that this API exposes no third-party type.
 * SLF4J users get their own backend by adding {@code org.slf4j:slf4j-jdk-platform-logging}
 * (then {@code System.getLogger(name)} is an SLF4J logger), or write the one-liner themselves:
 * {@code pod.followLogs(l -> log.info("{}", l.text()))}.
 */
public final class LogConsumers {
  private LogConsumers() {}

  /**
   * Logs stdout lines at INFO and stderr lines at WARN as {@code "[<prefix>] <line>"}. The
   * consumer is thread-safe and never throws.
   *
   * @param logger where the lines go, e.g. {@code System.getLogger("pod")}; not null
   * @param prefix put in brackets before each line, e.g. the image's name; not null
   * @return a consumer to pass to {@link MicroPod#followLogs(Consumer)}
   */
  public static Consumer<LogLine> toLogger(System.Logger logger, String prefix) {
    Objects.requireNonNull(logger, "logger");
    Objects.requireNonNull(prefix, "prefix");
    return line -> logger.log(
        line.stream() == LogLine.Stream.STDERR ? System.Logger.Level.WARNING : System.Logger.Level.INFO,
        "[" + prefix + "] " + line.text());
  }
}
