package io.micropod.examples.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** A command that waits for an SDK feature: it parses its arguments and fails with "not available yet". */
// TODO(reliability): attach(idOrName), then logs(), or followLogs(..) for -f (the SDK has it).
@Command(name = "logs", description = "Print a pod's output (not available yet).")
final class LogsCommand implements Callable<Integer> {
  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @Option(names = {"-f", "--follow"}, description = "Keep printing new output until the pod exits.")
  boolean follow;

  @Parameters(index = "0", paramLabel = "ID|NAME")
  String pod;

  @Override
  public Integer call() {
    throw new NotAvailableException("logs of a pod of another process (" + pod + ")");
  }
}
