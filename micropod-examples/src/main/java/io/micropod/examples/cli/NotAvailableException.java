package io.micropod.examples.cli;

/**
 * A command or flag that waits for an SDK feature still being built; the CLI prints
 * "not available yet: <what>" and exits with {@link ExitCodes#USAGE}. Every use is marked with a
 * {@code TODO(<feature>)} naming what it waits for.
 */
final class NotAvailableException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  NotAvailableException(String what) {
    super(what);
  }
}
