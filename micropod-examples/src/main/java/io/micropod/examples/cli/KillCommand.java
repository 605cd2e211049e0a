package io.micropod.examples.cli;

import io.micropod.AgentException;
import io.micropod.AgentStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code micropod kill [-s SIGNAL] ID|NAME...}: sends a signal (default {@code KILL}) to each pod's
 * main process, as {@code docker kill}. The pod stays: a detached pod whose main process exits is
 * listed with {@code -a} with its exit status until {@code micropod rm}. A pod whose main process
 * no longer runs is an error, as with Docker ("is not running").
 */
@Command(name = "kill", description = "Send a signal (default KILL) to pods' main processes.")
final class KillCommand implements Callable<Integer> {
  /** The Linux (x86_64) numbers of the signals Docker's {@code kill -s} takes by name. */
  private static final Map<String, Integer> SIGNALS = Map.ofEntries(
      Map.entry("HUP", 1), Map.entry("INT", 2), Map.entry("QUIT", 3), Map.entry("ILL", 4),
      Map.entry("TRAP", 5), Map.entry("ABRT", 6), Map.entry("BUS", 7), Map.entry("FPE", 8),
      Map.entry("KILL", 9), Map.entry("USR1", 10), Map.entry("SEGV", 11), Map.entry("USR2", 12),
      Map.entry("PIPE", 13), Map.entry("ALRM", 14), Map.entry("TERM", 15), Map.entry("STKFLT", 16),
      Map.entry("CHLD", 17), Map.entry("CONT", 18), Map.entry("STOP", 19), Map.entry("TSTP", 20),
      Map.entry("TTIN", 21), Map.entry("TTOU", 22), Map.entry("URG", 23), Map.entry("XCPU", 24),
      Map.entry("XFSZ", 25), Map.entry("VTALRM", 26), Map.entry("PROF", 27), Map.entry("WINCH", 28),
      Map.entry("IO", 29), Map.entry("PWR", 30), Map.entry("SYS", 31));

  @ParentCommand
  Main main;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @Option(names = {"-s", "--signal"}, paramLabel = "SIGNAL",
      description = "A name (KILL, SIGTERM, USR1, RTMIN+3) or number (1-64); default ${DEFAULT-VALUE}.")
  String signal = "KILL";

  @Parameters(arity = "1..*", paramLabel = "ID|NAME")
  List<String> pods = new ArrayList<>();

  @Override
  public Integer call() {
    int number = number(signal);
    return Pods.each(main, pods, Pods.leavingRunning(pod -> {
      try {
        pod.signal(number);
      } catch (AgentException e) {
        if (e.status() == AgentStatus.FAILED_PRECONDITION) {
          throw new Pods.NotRunningException("cannot kill pod " + pod.id() + ": its main process is not running"
              + " (see why with `micropod logs " + pod.id() + "`)", e);
        }
        throw e;
      }
    }));
  }

  /**
   * The number of {@code signal}: a name with or without {@code SIG}, in any case, {@code RTMIN+N}
   * / {@code RTMAX-N}, or a number 1..64.
   *
   * @throws IllegalArgumentException naming the bad value and what is accepted
   */
  static int number(String signal) {
    String s = signal.strip().toUpperCase(Locale.ROOT);
    if (s.startsWith("SIG")) {
      s = s.substring(3);
    }
    Integer known = SIGNALS.get(s);
    int n;
    if (known != null) {
      n = known;
    } else if (s.matches("[0-9]{1,2}")) {
      n = Integer.parseInt(s);
    } else if (s.matches("RTMIN(\\+[0-9]{1,2})?")) {
      n = 34 + (s.length() > 5 ? Integer.parseInt(s.substring(6)) : 0);
    } else if (s.matches("RTMAX(-[0-9]{1,2})?")) {
      n = 64 - (s.length() > 5 ? Integer.parseInt(s.substring(6)) : 0);
    } else {
      n = -1;
    }
    if (n < 1 || n > 64) {
      throw new IllegalArgumentException("invalid signal \"" + signal + "\": give a name such as KILL, TERM,"
          + " SIGUSR1 or RTMIN+3, or a number from 1 to 64");
    }
    return n;
  }
}
