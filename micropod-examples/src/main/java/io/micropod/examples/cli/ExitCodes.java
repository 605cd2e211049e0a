package io.micropod.examples.cli;

/** The CLI's own exit statuses (besides the container's, which {@code run} passes on). */
final class ExitCodes {
  /** A usage error, a bad argument, or a feature that is not available yet. */
  static final int USAGE = 2;
  /** MicroPod could not run the pod (host, image, VM or agent failure), as Docker's 125. */
  static final int FAILURE = 125;
  /** Stopped by Ctrl-C (SIGINT): 128 + 2. */
  static final int INTERRUPTED = 130;

  private ExitCodes() {}
}
