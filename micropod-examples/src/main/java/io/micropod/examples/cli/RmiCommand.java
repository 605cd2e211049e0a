package io.micropod.examples.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** A command that waits for an SDK feature: it parses its arguments and fails with "not available yet". */
// TODO(images): removing images from the store.
@Command(name = "rmi", description = "Remove images from the local store (not available yet).")
final class RmiCommand implements Callable<Integer> {
  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @Parameters(arity = "1..*", paramLabel = "IMAGE")
  List<String> images = new ArrayList<>();

  @Override
  public Integer call() {
    throw new NotAvailableException("removing images from the store (" + images.get(0) + ")");
  }
}
