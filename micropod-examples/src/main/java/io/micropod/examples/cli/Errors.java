package io.micropod.examples.cli;

import io.micropod.HostUnsupportedException;
import io.micropod.MicroPodException;
import io.micropod.PodNotFoundException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

/** Turns failures into one line on stderr and an exit status; stack traces only in debug mode. */
final class Errors {
  private final boolean debug;

  Errors(boolean debug) {
    this.debug = debug;
  }

  int onParameterError(ParameterException e, String[] args) {
    CommandLine cl = e.getCommandLine();
    PrintWriter err = cl.getErr();
    if (debug) {
      e.printStackTrace(err);
    }
    err.println("micropod: " + e.getMessage() + " (see '" + cl.getCommandSpec().qualifiedName() + " --help')");
    err.flush();
    return ExitCodes.USAGE;
  }

  int onExecutionError(Exception e, CommandLine cl, ParseResult parsed) {
    PrintWriter err = cl.getErr();
    if (debug) {
      e.printStackTrace(err);
    }
    int code;
    String line;
    if (e instanceof IllegalArgumentException) {
      code = ExitCodes.USAGE;
      line = e.getMessage();
    } else if (e instanceof Pods.NotRunningException) {
      code = ExitCodes.NOT_RUNNING;
      line = e.getMessage();
    } else if (e instanceof PodNotFoundException) {
      code = ExitCodes.NO_SUCH_POD;
      line = noSuchPod((PodNotFoundException) e);
    } else if (e instanceof HostUnsupportedException) {
      code = ExitCodes.FAILURE;
      line = "this host cannot run MicroPod pods: "
          + String.join("; ", ((HostUnsupportedException) e).missing())
          + " (bin/setup-host installs what is missing)";
    } else if (e instanceof MicroPodException) {
      code = ExitCodes.FAILURE;
      line = firstLine(e.getMessage(), debug);
    } else {
      code = ExitCodes.FAILURE;
      line = "unexpected " + e + (debug ? "" : " (run again with MICROPOD_DEBUG=1 for the stack trace)");
    }
    err.println("micropod: " + line);
    err.flush();
    return code;
  }

  /** {@code no such pod: X}, or "still starting" when the SDK says so. */
  static String noSuchPod(PodNotFoundException e) {
    String m = e.getMessage() == null ? "" : e.getMessage();
    return m.contains("still starting") ? firstLine(m, false) : "no such pod: " + e.idOrName();
  }

  static String firstLine(String message, boolean debug) {
    String m = message == null ? "" : message.strip();
    int nl = m.indexOf('\n');
    if (nl < 0) {
      return m;
    }
    return m.substring(0, nl).strip() + (debug ? "" : " (MICROPOD_DEBUG=1 shows the details)");
  }
}
