package io.micropod.examples.cli;

/** The CLI's own exit statuses (besides the container's, which {@code run} passes on). */
final class ExitCodes {
  /** A command did part of what it was asked: {@code rmi} of an image that is not in the store. */
  static final int PARTIAL = 1;
  /** No live pod has the id or name given ({@code stop}, {@code logs}, {@code exec}), as Docker's 1. */
  static final int NO_SUCH_POD = 1;
  /** {@code exec} into a pod whose main process exited, as Docker's 1 ("container ... is not running"). */
  static final int NOT_RUNNING = 1;
  /** {@code doctor}: no pod can start on this host (a check is MISSING). */
  static final int HOST_NOT_READY = 1;
  /** A usage error or a bad argument. */
  static final int USAGE = 2;
  /** MicroPod could not run the pod or pull the image (host, image, registry, VM or agent failure), as Docker's 125. */
  static final int FAILURE = 125;
  /** {@code exec --timeout}: the command ran past its deadline and was killed, as GNU {@code timeout(1)}'s 124. */
  static final int TIMED_OUT = 124;
  /** Stopped by Ctrl-C (SIGINT): 128 + 2. */
  static final int INTERRUPTED = 130;

  private ExitCodes() {}
}
