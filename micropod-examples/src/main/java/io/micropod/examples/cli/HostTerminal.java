package io.micropod.examples.cli;

import io.micropod.TerminalSize;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * This process's terminal, through the host's {@code stty} (run with this process's stdin, which
 * is how stty finds the terminal): whether stdin is one, its size, raw mode and back. Pure JDK
 * has no termios; {@code stty} is in every Linux base system (coreutils, busybox).
 */
final class HostTerminal implements AutoCloseable {
  private final String saved;

  private HostTerminal(String saved) {
    this.saved = saved;
  }

  /** Whether this process's stdin is a terminal. */
  static boolean stdinIsTerminal() {
    return stty("sh", "-c", "test -t 0").isPresent();
  }

  /** The size of this process's terminal; empty when stdin is not one. */
  static Optional<TerminalSize> size() {
    return stty("stty", "size").flatMap(s -> {
      String[] rc = s.trim().split("\\s+");
      try {
        return rc.length == 2
            ? Optional.of(TerminalSize.of(Integer.parseInt(rc[1]), Integer.parseInt(rc[0])))
            : Optional.empty();
      } catch (IllegalArgumentException e) { // 0 0 on a terminal that reports no size
        return Optional.empty();
      }
    });
  }

  /**
   * Puts the terminal into raw mode without echo (keys, Ctrl-C included, go to the container's
   * terminal as typed); {@link #close()} restores the saved mode. Empty when stdin is no terminal.
   */
  static Optional<HostTerminal> raw() {
    Optional<String> saved = stty("stty", "-g").map(String::trim);
    if (saved.isEmpty() || stty("stty", "raw", "-echo").isEmpty()) {
      return Optional.empty();
    }
    HostTerminal t = new HostTerminal(saved.get());
    Runtime.getRuntime().addShutdownHook(new Thread(t::close, "micropod-cli-restore-terminal"));
    return Optional.of(t);
  }

  /** Restores the mode saved by {@link #raw()}; idempotent. */
  @Override
  public void close() {
    stty("stty", saved);
  }

  /** Runs {@code argv} on this process's stdin; its stdout, or empty when it failed. */
  private static Optional<String> stty(String... argv) {
    try {
      Process p = new ProcessBuilder(List.of(argv))
          .redirectInput(ProcessBuilder.Redirect.INHERIT)
          .redirectError(ProcessBuilder.Redirect.DISCARD)
          .start();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return Optional.empty();
      }
      return p.exitValue() == 0 ? Optional.of(new String(out, StandardCharsets.UTF_8)) : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }
}
