package io.micropod.examples.cli;

import io.micropod.MicroPodRuntime;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code micropod rename ID|NAME NEW_NAME}: as {@code docker rename}, gives a live pod a new name
 * ({@link MicroPodRuntime#rename}); the id stays, and every later command finds the pod by the new
 * name. Prints nothing, as Docker; a name another live pod has is refused.
 */
@Command(name = "rename", description = "Rename a pod (its id stays).")
final class RenameCommand implements Callable<Integer> {
  @ParentCommand
  Main main;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @Parameters(index = "0", paramLabel = "ID|NAME")
  String pod;

  @Parameters(index = "1", paramLabel = "NEW_NAME", description = "1 to 63 of [A-Za-z0-9_.-], starting with a letter or digit.")
  String newName;

  @Override
  public Integer call() {
    try (MicroPodRuntime runtime = Pods.runtime(main.env)) {
      runtime.rename(pod, newName);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("invalid NEW_NAME: " + e.getMessage(), e);
    }
    return 0;
  }
}
