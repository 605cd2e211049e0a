package io.micropod.examples.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** A command that waits for an SDK feature: it parses its arguments and fails with "not available yet". */
// TODO(images): registry pulls with a progress bar on a terminal (MicroPodListener.progress).
@Command(name = "pull", description = "Pull an image from a registry (not available yet).")
final class PullCommand implements Callable<Integer> {
  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @Parameters(index = "0", paramLabel = "IMAGE")
  String image;

  @Override
  public Integer call() {
    throw new NotAvailableException("pulling images from registries (" + image + ")");
  }
}
