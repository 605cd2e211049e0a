package io.micropod.examples.cli;

import java.time.Duration;
import picocli.CommandLine.Option;

/** {@code -t/--time SECONDS} of {@code stop} and {@code restart}: Docker's grace between SIGTERM and SIGKILL. */
final class StopTimeout {
  @Option(names = {"-t", "--time"}, paramLabel = "SECONDS", description = "Seconds to wait before killing; default ${DEFAULT-VALUE}.")
  int seconds = 10;

  /**
   * The grace period.
   *
   * @throws IllegalArgumentException when {@code -t} is negative
   */
  Duration duration() {
    if (seconds < 0) {
      throw new IllegalArgumentException("--time must be 0 or more seconds: " + seconds);
    }
    return Duration.ofSeconds(seconds);
  }
}
