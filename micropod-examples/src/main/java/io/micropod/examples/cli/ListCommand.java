package io.micropod.examples.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** A command that waits for an SDK feature: it parses its arguments and fails with "not available yet". */
// TODO(reliability): MicroPodRuntime.list() — pods of every process, from the state directory.
@Command(name = "list", aliases = "ps", description = "List pods (not available yet).")
final class ListCommand implements Callable<Integer> {
  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @Option(names = {"-a", "--all"}, description = "Also pods that exited.")
  boolean all;

  @Override
  public Integer call() {
    throw new NotAvailableException("listing pods (pods outlive their process only once pod state is kept on disk)");
  }
}
