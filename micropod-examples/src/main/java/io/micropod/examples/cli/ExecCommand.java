package io.micropod.examples.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** A command that waits for an SDK feature: it parses its arguments and fails with "not available yet". */
// TODO(reliability): attach(idOrName), then pod.exec(command).
@Command(name = "exec", description = "Run a command in a running pod (not available yet).")
final class ExecCommand implements Callable<Integer> {
  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @Option(names = {"-e", "--env"}, paramLabel = "KEY=VALUE", description = "Set an environment variable.")
  List<String> env = new ArrayList<>();

  @Parameters(index = "0", paramLabel = "ID|NAME")
  String pod;

  @Parameters(index = "1..*", arity = "1..*", paramLabel = "CMD")
  List<String> command = new ArrayList<>();

  @Override
  public Integer call() {
    throw new NotAvailableException("exec in a pod of another process (" + pod + ")");
  }
}
