package io.micropod.examples.cli;

import io.micropod.HostCheck;
import io.micropod.HostReport;
import io.micropod.MicroPodRuntime;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code micropod version [--format json]}: as {@code docker version}, the client (this SDK's
 * version, its Java and platform), the guest image it boots and the VMM that runs pods here (its
 * binary and version, virtiofsd, the accelerator), from {@link MicroPodRuntime#sdkVersion()} and
 * the rows of {@link MicroPodRuntime#checkHost()} that {@code doctor} shows (Firecracker's only where it
 * can boot). Exits
 * {@value ExitCodes#HOST_NOT_READY} when no pod can start here, after printing what it found.
 * {@code micropod --version} prints only the first line's version ({@link Short}).
 */
@Command(name = "version", description = "Show the versions of MicroPod, its guest image, the VMM and the accelerator.")
final class VersionCommand implements Callable<Integer> {
  /** The {@code doctor} rows shown, under the name {@code version} gives each. */
  private static final Map<String, String> GUEST_ROWS = rows("guest image", "Image", "oci runtime", "OCI runtime");
  private static final Map<String, String> VMM_ROWS = rows("vmm", "Driver", "qemu", "QEMU", "virtiofsd", "virtiofsd",
      "firecracker", "Firecracker", "accelerator", "Accelerator");
  /** Rows shown only when OK: where Firecracker cannot boot, the driver row says so in short. */
  private static final java.util.Set<String> ONLY_WHEN_OK = java.util.Set.of("firecracker");

  @ParentCommand
  Main main;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @Option(names = {"-f", "--format"}, paramLabel = "FORMAT", description = "json: one JSON object instead of the text.")
  String format;

  @Override
  public Integer call() {
    InspectCommand.checkJsonFormat(format);
    HostReport report;
    // the CLI's environment, as doctor's
    try (MicroPodRuntime runtime = MicroPodRuntime.builder().environment(main.env).build()) {
      report = runtime.checkHost();
    }
    Map<String, Map<String, String>> sections = sections(report);
    PrintWriter out = main.spec.commandLine().getOut();
    out.print(format == null ? text(sections) : InspectCommand.write(sections, "") + System.lineSeparator());
    out.flush();
    return report.canStartPods() ? 0 : ExitCodes.HOST_NOT_READY;
  }

  /**
   * Client, guest image and VMM, each a map of row name to value; a host check that is not OK
   * says so before its detail ({@code WARN: TCG (...)}), and one that did not run is left out.
   */
  static Map<String, Map<String, String>> sections(HostReport report) {
    Map<String, String> client = new LinkedHashMap<>();
    client.put("Version", MicroPodRuntime.sdkVersion());
    client.put("Java", System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ")");
    client.put("OS/Arch", System.getProperty("os.name").toLowerCase(Locale.ROOT) + "/" + System.getProperty("os.arch"));
    Map<String, String> guest = new LinkedHashMap<>();
    // the guest image is built with the SDK and named by its version (<home>/guest/<version>)
    guest.put("Version", MicroPodRuntime.sdkVersion());
    guest.putAll(rows(report, GUEST_ROWS));
    Map<String, Map<String, String>> sections = new LinkedHashMap<>();
    sections.put("Client", client);
    sections.put("Guest image", guest);
    sections.put("VMM", rows(report, VMM_ROWS));
    return sections;
  }

  /** Docker's layout: a section name, then indented {@code Name:  value} rows aligned. */
  static String text(Map<String, Map<String, String>> sections) {
    int width = sections.values().stream().flatMap(s -> s.keySet().stream()).mapToInt(String::length).max().orElse(0);
    StringBuilder sb = new StringBuilder();
    String nl = System.lineSeparator();
    sections.forEach((section, values) -> {
      sb.append(sb.length() == 0 ? "" : nl).append(section).append(':').append(nl);
      values.forEach((k, v) -> sb.append(String.format(" %-" + (width + 2) + "s%s%n", k + ":", v)));
    });
    return sb.toString();
  }

  private static Map<String, String> rows(HostReport report, Map<String, String> names) {
    Map<String, String> rows = new LinkedHashMap<>();
    names.forEach((check, row) -> report.check(check)
        .filter(c -> c.status() == HostCheck.Status.OK || !ONLY_WHEN_OK.contains(check))
        .ifPresent(c -> rows.put(row, (c.status() == HostCheck.Status.OK ? "" : c.status() + ": ") + c.detail())));
    return rows;
  }

  private static Map<String, String> rows(String... checkThenRow) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < checkThenRow.length; i += 2) {
      m.put(checkThenRow[i], checkThenRow[i + 1]);
    }
    return m;
  }

  /** {@code micropod --version}: one line, at once (no host check), as {@code docker --version}. */
  static final class Short implements IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"MicroPod version " + MicroPodRuntime.sdkVersion()};
    }
  }
}
