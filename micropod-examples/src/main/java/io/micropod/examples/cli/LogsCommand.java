package io.micropod.examples.cli;

import io.micropod.LogLine;
import io.micropod.MicroPod;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code micropod logs [-f] ID|NAME}: attaches to the pod and prints what its container wrote
 * (interleaved, on stdout); with {@code -f}, stdout to stdout and stderr to stderr, keeps printing until the container exits or
 * Ctrl-C. The pod keeps running either way: the handle is not closed (see {@link Pods}).
 */
@Command(name = "logs", description = "Print a pod's output.")
final class LogsCommand implements Callable<Integer> {
  @ParentCommand
  Main main;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @Option(names = {"-f", "--follow"}, description = "Keep printing new output until the container exits (or Ctrl-C).")
  boolean follow;

  @Parameters(index = "0", paramLabel = "ID|NAME")
  String pod;

  @Override
  public Integer call() {
    PrintWriter out = main.spec.commandLine().getOut();
    PrintWriter err = main.spec.commandLine().getErr();
    // not closed: closing would stop the pod; the JVM's exit lets go of it (see Pods)
    MicroPod attached = Pods.attach(Pods.runtime(main.env), pod);
    if (!follow) {
      out.print(attached.logs());
      out.flush();
      return 0;
    }
    MicroPod.LogFollower follower = attached.followLogs(line -> {
      PrintWriter to = line.stream() == LogLine.Stream.STDOUT ? out : err;
      to.println(line.text());
      to.flush();
    });
    // until the container exits; Ctrl-C ends the JVM, which leaves an attached pod running
    while (!follower.awaitEnd(Duration.ofMinutes(1))) {
      // keep following
    }
    return 0;
  }
}
