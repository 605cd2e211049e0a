package io.micropod.examples.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** A command that waits for an SDK feature: it parses its arguments and fails with "not available yet". */
// TODO(images): the image store's listing.
@Command(name = "images", description = "List the images in the local store (not available yet).")
final class ImagesCommand implements Callable<Integer> {
  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @Override
  public Integer call() {
    throw new NotAvailableException("listing the image store");
  }
}
