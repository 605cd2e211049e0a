package io.micropod.internal.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The sh that starts QEMU: descriptors, the console capper, the drop (docs/security.md). */
class QemuLaunchTest {
  @TempDir Path tmp;

  private static final String SETPRIV = ManagedProcess.SETPRIV == null ? "setpriv" : ManagedProcess.SETPRIV;
  private static final String CAPPER = "sh -c 'stdbuf -o0 head -c \"$1\"; [ $(head -c 1 | wc -c) -eq 0 ] || { printf"
      + " \"\\n[micropod: console log truncated after %s bytes]\\n\" \"$1\"; exec cat >/dev/null; }' micropod-console ";

  @Test
  void asRootTheFilesAreOpenedTheCapperStartedDroppedAndQemuExecdDropped() {
    VmmUser user = new VmmUser(VmmUser.POD_BASE + 7, List.of());
    List<VmmUser.PassedFile> files = List.of(new VmmUser.PassedFile(Path.of("/g/vmlinux"), 3, false));
    QemuLaunch.Console console = new QemuLaunch.Console(Path.of("/logs/p.log"), Path.of("/pods/p/console.fifo"), 5, 4096);

    List<String> c = QemuLaunch.command(user, files, console, Map.of("LD_PRELOAD", "/dev/fd/6", "B", "1,2"), true,
        List.of("/usr/bin/qemu-system-x86_64", "-kernel", "/dev/fd/3"));

    String drop = "'" + SETPRIV + "' '--reuid=1895825415' '--regid=1895825415' '--clear-groups' '--inh-caps=-all'"
        + " '--bounding-set=-all' '--no-new-privs' ";
    assertThat(c).containsExactly("sh", "-c",
        "exec 3<\"$1\" || exit 126; mkfifo -m 600 \"$2\" || exit 126; " + drop + CAPPER + "4096 <\"$2\" >>\"$3\" & "
            + "exec 5>\"$2\" || exit 126; rm -f \"$2\"; export B=\"$4\"; export LD_PRELOAD=\"$5\"; shift 5; exec \"$@\"",
        "micropod-vmm", "/g/vmlinux", "/pods/p/console.fifo", "/logs/p.log", "1,2", "/dev/fd/6",
        SETPRIV, "--pdeathsig", "SIGKILL", "--reuid=1895825415", "--regid=1895825415", "--clear-groups",
        "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs",
        "/usr/bin/qemu-system-x86_64", "-kernel", "/dev/fd/3");
  }

  @Test
  void asAnOrdinaryUserOnlyTheCapperIsAddedAndNothingDrops() {
    List<String> c = QemuLaunch.command(null, List.of(),
        new QemuLaunch.Console(Path.of("/l"), Path.of("/f"), 5, 10), Map.of(), false, List.of("q"));

    assertThat(c).containsExactly("sh", "-c", "mkfifo -m 600 \"$1\" || exit 126; " + CAPPER
        + "10 <\"$1\" >>\"$2\" & exec 5>\"$1\" || exit 126; rm -f \"$1\"; shift 2; exec \"$@\"",
        "micropod-vmm", "/f", "/l", "q");
  }

  @Test
  void aVmmWhoseConsoleIsItsStdoutGetsTheSameCapperOnStdoutAndStderrAndItsPidRecorded() {
    List<String> c = QemuLaunch.stdoutToConsole(null,
        new QemuLaunch.Console(Path.of("/l"), Path.of("/f"), 1, 10), Path.of("/p"), List.of("firecracker", "-x"));

    assertThat(c).containsExactly("sh", "-c", "mkfifo -m 600 \"$1\" || exit 126; " + CAPPER
        + "10 <\"$1\" >>\"$2\" & exec 1>\"$1\" || exit 126; rm -f \"$1\"; echo $! >\"$3\" || exit 126; "
        + "exec 2>&1; shift 3; exec \"$@\"", "micropod-vmm", "/f", "/l", "/p", "firecracker", "-x");
    assertThatThrownBy(() -> QemuLaunch.stdoutToConsole(null,
        new QemuLaunch.Console(Path.of("/l"), Path.of("/f"), 5, 10), Path.of("/p"), List.of("q")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not 5");
  }

  /**
   * With more than nine parameters (files, console, environment) each still reaches its own
   * place: sh reads {@code $10} as {@code ${1}0}; a blk pod with a system image had its exposed
   * host ports arrive at the network guard as the first file's path plus "0" (PciGuestNetworkIT).
   */
  @Test
  @Timeout(30)
  void theTenthParameterAndLaterReachTheirOwnPlace() throws Exception {
    List<VmmUser.PassedFile> files = new java.util.ArrayList<>();
    for (int fd : new int[] {3, 4, 6, 7, 8, 9}) {
      files.add(new VmmUser.PassedFile(Files.writeString(tmp.resolve("f" + fd), "file" + fd + "\n"), fd, false));
    }
    Path log = Files.createFile(tmp.resolve("console.log"));
    List<String> c = QemuLaunch.command(null, files, new QemuLaunch.Console(log, tmp.resolve("fifo"), 5, 100),
        Map.of("A", "a-value", "B", "b-value", "C", "c-value"), false,
        List.of("sh", "-c", "echo \"$A $B $C\"; cat <&9; cat <&3"));

    Process p = new ProcessBuilder(c).redirectErrorStream(true).start();
    assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();

    assertThat(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
        .isEqualTo("a-value b-value c-value\nfile9\nfile3\n");
  }

  /**
   * A VMM that exits before its console reached the cap (a failed start, a short life) leaves
   * what it wrote and no marker: the marker says bytes were dropped, and none were. Also at
   * exactly the cap nothing was dropped.
   */
  @Test
  @Timeout(30)
  void aConsoleThatEndsBeforeItsCapGetsNoMarker() throws Exception {
    for (String written : new String[] {"", "short", "x".repeat(100)}) {
      Path log = Files.createFile(tmp.resolve("console-" + written.length() + ".log"));
      Path capperPid = tmp.resolve("capper-" + written.length() + ".pid");
      Process p = new ProcessBuilder(QemuLaunch.stdoutToConsole(null,
          new QemuLaunch.Console(log, tmp.resolve("fifo-" + written.length()), 1, 100), capperPid,
          List.of("printf", "%s", written))).start();
      assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
      long pid = Long.parseLong(Files.readString(capperPid).trim());
      ProcessHandle.of(pid).ifPresent(h -> h.onExit().orTimeout(10, TimeUnit.SECONDS).join());

      assertThat(Files.readString(log)).as("%d bytes written", written.length()).isEqualTo(written);
    }
  }

  /**
   * The real thing, with a shell in QEMU's place: it writes far more than the cap to its console
   * descriptor; the log holds the cap and the marker, and the writer is never blocked (the rest is
   * drained). As root also: a root-only file in a root-only directory reaches the dropped program
   * as a descriptor while its path stays closed to it, and it holds no capability.
   */
  @Test
  @Timeout(30)
  void theConsoleLogStopsAtItsCapWithAMarkerAndTheDroppedProgramGetsOnlyWhatItWasHanded() throws Exception {
    boolean root = VmmUser.runningAsRoot() && ManagedProcess.SETPRIV != null;
    Path dir = Files.createDirectory(tmp.resolve("private"),
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Path secret = Files.writeString(dir.resolve("kernel"), "handed over\n");
    Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
    Path log = Files.createFile(dir.resolve("console.log"));
    VmmUser user = root ? new VmmUser(VmmUser.POD_BASE + 11, List.of()) : null;
    List<String> program = List.of("sh", "-c",
        "cat <&3; cat " + secret + " 2>/dev/null || echo path-denied; echo \"V=$V\"; "
            + "grep -E '^(Uid|Cap(Prm|Eff|Bnd)|NoNewPrivs):' /proc/self/status; "
            + "printf early >&5; read go; head -c 3000000 /dev/zero | tr '\\0' x >&5; echo flooded");

    Process p = new ProcessBuilder(QemuLaunch.command(user, List.of(new VmmUser.PassedFile(secret, 3, false)),
        new QemuLaunch.Console(log, dir.resolve("console.fifo"), 5, 1000), Map.of("V", "/dev/fd/3"), true,
        program)).redirectErrorStream(true).start();
    long early = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!Files.readString(log).equals("early") && System.nanoTime() < early) {
      java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
    }
    assertThat(Files.readString(log)).as("a few bytes reach the log at once, while QEMU runs").isEqualTo("early");
    p.getOutputStream().write('\n');
    p.getOutputStream().close();
    assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

    List<String> lines = out.lines().map(l -> l.replaceAll("\\s+", " ")).toList();
    assertThat(lines).startsWith("handed over").contains("V=/dev/fd/3").endsWith("flooded");
    String marker = "\n[micropod: console log truncated after 1000 bytes]\n";
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (Files.size(log) < 1000 + marker.length() && System.nanoTime() < deadline) {
      java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10)); // the marker comes a moment later
    }
    assertThat(Files.readString(log)).isEqualTo("early" + "x".repeat(995) + marker);
    assertThat(dir.resolve("console.fifo")).as("the FIFO is unlinked at once").doesNotExist();
    if (root) {
      assertThat(lines).containsSubsequence("path-denied", "V=/dev/fd/3",
          "Uid: 1895825419 1895825419 1895825419 1895825419",
          "CapPrm: 0000000000000000", "CapEff: 0000000000000000", "CapBnd: 0000000000000000",
          "NoNewPrivs: 1");
    }
  }
}
