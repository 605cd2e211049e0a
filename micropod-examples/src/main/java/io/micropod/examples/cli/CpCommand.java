package io.micropod.examples.cli;

import io.micropod.MicroPod;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code micropod cp POD:SRC_PATH DEST_PATH} and {@code micropod cp SRC_PATH POD:DEST_PATH}: copies
 * a file or a directory between the host and a pod's container, as {@code docker cp} does
 * ({@code MicroPod.copyOut} / {@code copyIn}). Copying out, {@code DEST_PATH} must not exist (its
 * parent must); copying in, missing parents are made and a file is replaced. {@code -} as SRC
 * reads a tar stream from stdin and extracts it into the container's directory DEST_PATH; as
 * DEST_PATH it writes a tar of SRC_PATH to stdout. The pod keeps running.
 */
@Command(name = "cp", description = "Copy files or directories between the host and a pod.")
final class CpCommand implements Callable<Integer> {
  @ParentCommand
  Main main;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @Parameters(index = "0", paramLabel = "SRC", description = "POD:PATH or a host path.")
  String source;

  @Parameters(index = "1", paramLabel = "DEST", description = "POD:PATH or a host path.")
  String destination;

  /** A {@code POD:PATH} argument split, or null for a host path. */
  record PodPath(String pod, String path) {
    static PodPath parse(String arg) {
      int colon = arg.indexOf(':');
      if (colon <= 0 || arg.startsWith("/") || arg.startsWith(".")) {
        return null;
      }
      String path = arg.substring(colon + 1);
      if (!path.startsWith("/")) {
        throw new IllegalArgumentException("invalid path in \"" + arg + "\": give the container path absolute, e.g. "
            + arg.substring(0, colon) + ":/" + path);
      }
      return new PodPath(arg.substring(0, colon), path);
    }
  }

  @Override
  public Integer call() {
    PodPath from = PodPath.parse(source);
    PodPath to = PodPath.parse(destination);
    if (source.equals("-") || destination.equals("-")) {
      return tarStream(from, to);
    }
    if ((from == null) == (to == null)) {
      throw new IllegalArgumentException("exactly one of SRC and DEST must be POD:PATH: " + source + " " + destination
          + " (e.g. micropod cp web:/etc/hosts ./hosts)");
    }
    // not closed: closing would stop the pod (see Pods)
    if (from != null) {
      MicroPod pod = Pods.attach(Pods.runtime(main.env), from.pod());
      pod.copyOut(from.path(), Path.of(destination).toAbsolutePath());
    } else {
      MicroPod pod = Pods.attach(Pods.runtime(main.env), to.pod());
      pod.copyIn(Path.of(source).toAbsolutePath(), to.path());
    }
    return 0;
  }

  /**
   * {@code cp POD:PATH -}: a tar of PATH on stdout; {@code cp - POD:DIR}: a tar from stdin
   * extracted into DIR. As Docker's.
   */
  private int tarStream(PodPath from, PodPath to) {
    if (source.equals("-") && to != null) {
      MicroPod pod = Pods.attach(Pods.runtime(main.env), to.pod());
      pod.copyArchiveIn(System.in, to.path());
      return 0;
    }
    if (destination.equals("-") && from != null) {
      MicroPod pod = Pods.attach(Pods.runtime(main.env), from.pod());
      pod.copyArchiveOut(from.path(), System.out); // raw bytes: PrintStream.write does not encode
      return 0;
    }
    throw new IllegalArgumentException("'-' goes with POD:PATH on the other side: micropod cp POD:PATH - (a tar"
        + " on stdout) or micropod cp - POD:DIR (a tar from stdin): " + source + " " + destination);
  }
}
