package io.micropod.examples.cli;

import io.micropod.MicroPodRuntime;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code micropod rmi IMAGE...}: removes images from the store's catalog (and their unpacked
 * trees); {@code --prune} also deletes the blobs no image needs any more. An image that is not in
 * the store gets one line on stderr; the others are still removed, and the exit status is 1.
 */
@Command(name = "rmi", description = "Remove images from the local store.", usageHelpAutoWidth = true)
final class RmiCommand implements Callable<Integer> {
  @ParentCommand
  Main main;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @Option(names = "--prune", description = "Then delete the blobs of images no longer in the store "
      + "(only when no pod of another process runs one of them).")
  boolean prune;

  @Parameters(arity = "1..*", paramLabel = "IMAGE")
  List<String> images = new ArrayList<>();

  @Override
  public Integer call() {
    PrintWriter out = main.spec.commandLine().getOut();
    PrintWriter err = main.spec.commandLine().getErr();
    int code = 0;
    try (MicroPodRuntime runtime = MicroPodRuntime.builder().build()) {
      for (String image : images) {
        String normalised = RunCommand.parseImage(image).toString();
        if (runtime.removeImage(normalised)) {
          out.println("Untagged: " + normalised);
        } else {
          err.println("micropod: no such image: " + normalised + " (`micropod images` lists the store)");
          code = ExitCodes.PARTIAL;
        }
      }
      if (prune) {
        out.println("Deleted: " + Units.bytes(runtime.pruneImages()) + " of blobs");
      }
    }
    out.flush();
    err.flush();
    return code;
  }
}
