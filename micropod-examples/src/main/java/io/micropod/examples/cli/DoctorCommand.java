package io.micropod.examples.cli;

import io.micropod.HostCheck;
import io.micropod.HostReport;
import io.micropod.MicroPodRuntime;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code micropod doctor}: what this host offers to pods ({@link MicroPodRuntime#checkHost()}),
 * one row per check, each problem followed by its fix; exits {@value ExitCodes#HOST_NOT_READY}
 * when no pod can start.
 */
@Command(name = "doctor", description = "Check what this host offers to pods and how to fix what is missing.",
    usageHelpAutoWidth = true)
final class DoctorCommand implements Callable<Integer> {
  @ParentCommand
  Main main;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @Override
  public Integer call() {
    HostReport report;
    // the CLI's environment, not necessarily the process's: tests run doctor with another PATH
    try (MicroPodRuntime runtime = MicroPodRuntime.builder().environment(main.env).build()) {
      report = runtime.checkHost();
    }
    PrintWriter out = main.spec.commandLine().getOut();
    out.print(format(report));
    out.flush();
    return report.canStartPods() ? 0 : ExitCodes.HOST_NOT_READY;
  }

  /**
   * The report: {@code STATUS  CHECK  DETAIL} rows, a {@code fix:} line under each that is not
   * OK, and a last line saying whether pods can start.
   */
  static String format(HostReport report) {
    int width = 0;
    for (HostCheck c : report.checks()) {
      width = Math.max(width, c.name().length());
    }
    String indent = " ".repeat(8 + width + 3);
    StringBuilder sb = new StringBuilder();
    for (HostCheck c : report.checks()) {
      sb.append(String.format("%-8s%-" + (width + 3) + "s%s%n", c.status(), c.name(), c.detail()));
      c.fix().ifPresent(fix -> sb.append(indent).append("fix: ").append(fix).append(System.lineSeparator()));
    }
    List<HostCheck> missing = report.checks().stream().filter(c -> c.status() == HostCheck.Status.MISSING).toList();
    List<HostCheck> warn = report.checks().stream().filter(c -> c.status() == HostCheck.Status.WARN).toList();
    sb.append(System.lineSeparator());
    if (!missing.isEmpty()) {
      sb.append("No pod can start on this host: missing ").append(names(missing))
          .append(". Run the fixes above (bin/setup-host installs the host packages).");
    } else if (!warn.isEmpty()) {
      sb.append("Pods can start on this host, degraded: ").append(names(warn)).append('.');
    } else {
      sb.append("Pods can start on this host.");
    }
    return sb.append(System.lineSeparator()).toString();
  }

  private static String names(List<HostCheck> checks) {
    return checks.stream().map(HostCheck::name).collect(Collectors.joining(", "));
  }
}
