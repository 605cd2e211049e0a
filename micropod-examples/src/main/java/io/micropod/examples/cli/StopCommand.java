package io.micropod.examples.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** A command that waits for an SDK feature: it parses its arguments and fails with "not available yet". */
// TODO(reliability): MicroPodRuntime.attach(idOrName), then stop(Duration.ofSeconds(seconds)) and close().
@Command(name = "stop", description = "Stop pods (not available yet).")
final class StopCommand implements Callable<Integer> {
  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @Option(names = {"-t", "--time"}, paramLabel = "SECONDS", description = "Seconds to wait before killing; default ${DEFAULT-VALUE}.")
  int seconds = 10;

  @Parameters(arity = "1..*", paramLabel = "ID|NAME")
  List<String> pods = new ArrayList<>();

  @Override
  public Integer call() {
    throw new NotAvailableException("stopping a pod of another process (" + pods.get(0) + ")");
  }
}
