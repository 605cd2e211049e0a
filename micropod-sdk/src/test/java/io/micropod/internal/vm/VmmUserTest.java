package io.micropod.internal.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The unprivileged QEMU's identity and launch command (docs/security.md, "QEMU itself"). */
class VmmUserTest {
  @TempDir Path tmp;

  private static final String SETPRIV = ManagedProcess.SETPRIV == null ? "setpriv" : ManagedProcess.SETPRIV;

  @Test
  void theCommandOpensTheFilesAsRootThenDropsEverythingAndKeepsTheDeathSignal() {
    VmmUser user = new VmmUser(VmmUser.POD_BASE + 7, List.of(VmmUser.NETWORK_BASE + 1));
    List<VmmUser.PassedFile> files = List.of(new VmmUser.PassedFile(Path.of("/g/vmlinux"), 3, false),
        new VmmUser.PassedFile(Path.of("/logs/p.log"), 4, true));

    List<String> c = user.command(files, Map.of("LD_PRELOAD", "/dev/fd/5", "B", "1,2"), true,
        List.of("/usr/bin/qemu-system-x86_64", "-kernel", "/dev/fd/3"));

    assertThat(c).containsExactly("sh", "-c",
        "exec 3<\"$1\" 4>>\"$2\" || exit 126; export B=\"$3\"; export LD_PRELOAD=\"$4\"; shift 4; exec \"$@\"",
        "micropod-vmm", "/g/vmlinux", "/logs/p.log", "1,2", "/dev/fd/5",
        SETPRIV, "--pdeathsig", "SIGKILL", "--reuid=1895825415", "--regid=1895825415",
        "--groups=" + (VmmUser.NETWORK_BASE + 1), "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs",
        "/usr/bin/qemu-system-x86_64", "-kernel", "/dev/fd/3");
  }

  @Test
  void aDetachedQemuGetsNoDeathSignalAndNoGroupsButItsOwn() {
    List<String> c = new VmmUser(VmmUser.POD_BASE, List.of()).command(List.of(), Map.of(), false, List.of("q"));

    assertThat(c).containsExactly("sh", "-c", "shift 0; exec \"$@\"", "micropod-vmm", SETPRIV,
        "--reuid=1895825408", "--regid=1895825408", "--clear-groups", "--inh-caps=-all",
        "--bounding-set=-all", "--no-new-privs", "q");
  }

  @Test
  void eachPodGetsAStableUidInTheRangeAndAUidALiveProcessHoldsIsSkipped() throws Exception {
    Path proc = Files.createDirectories(tmp.resolve("proc"));
    int first = VmmUser.forPod("pod-a", proc, List.of()).uid();
    assertThat(first).isBetween(VmmUser.POD_BASE, VmmUser.POD_BASE + VmmUser.RANGE - 1);
    assertThat(VmmUser.forPod("pod-a", proc, List.of()).uid()).isEqualTo(first);
    assertThat(VmmUser.forPod("pod-b", proc, List.of()).uid()).isNotEqualTo(first);
    assumeTrue(isRoot(), "making a fake /proc entry owned by the pod's uid needs root (CI runs as root)");

    Path live = Files.createDirectories(proc.resolve("4242"));
    Files.setAttribute(live, "unix:uid", first);

    int next = VmmUser.forPod("pod-a", proc, List.of()).uid();
    assertThat(next).isNotEqualTo(first)
        .isEqualTo(first == VmmUser.POD_BASE + VmmUser.RANGE - 1 ? VmmUser.POD_BASE : first + 1);
  }

  @Test
  void theIdsMustLieInsideOneLineOfTheUserNamespacesMap() {
    assertThat(VmmUser.mapped("         0          0 4294967295\n", VmmUser.POD_BASE, VmmUser.RANGE)).isTrue();
    assertThat(VmmUser.mapped("0 1000 1\n1 100000 65536\n", VmmUser.POD_BASE, VmmUser.RANGE)).isFalse();
    assertThat(VmmUser.mapped("0 0 1895825409\n", VmmUser.POD_BASE, VmmUser.RANGE)).isFalse();
  }

  @Test
  void networkGidsAreStableAndApartFromPodUids() {
    int gid = VmmUser.networkGid("micropod-net-abc");
    assertThat(VmmUser.networkGid("micropod-net-abc")).isEqualTo(gid);
    assertThat(gid).isBetween(VmmUser.NETWORK_BASE, VmmUser.NETWORK_BASE + VmmUser.RANGE - 1);
  }

  /**
   * The real thing: a root-only file in a root-only directory reaches the dropped program as a
   * descriptor, while its path stays closed to it; it has no capabilities and the uid it was given.
   */
  @Test
  @Timeout(30)
  void theDroppedProgramReadsWhatItWasHandedButNothingElseOfRoots() throws Exception {
    assumeTrue(isRoot() && ManagedProcess.SETPRIV != null,
        "dropping privileges needs root and setpriv (CI runs as root)");
    Path dir = Files.createDirectory(tmp.resolve("private"),
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Path secret = Files.writeString(dir.resolve("kernel"), "handed over\n");
    Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
    VmmUser user = new VmmUser(VmmUser.POD_BASE + 11, List.of());
    List<String> program = List.of("sh", "-c",
        "cat <&3; cat " + secret + " 2>/dev/null || echo path-denied; echo \"V=$V\"; "
            + "grep -E '^(Uid|Cap(Prm|Eff|Bnd)|NoNewPrivs):' /proc/self/status");

    Process p = new ProcessBuilder(user.command(List.of(new VmmUser.PassedFile(secret, 3, false)),
        Map.of("V", "/dev/fd/3"), true, program)).redirectErrorStream(true).start();
    assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

    List<String> lines = new ArrayList<>(out.lines().map(l -> l.replaceAll("\\s+", " ")).toList());
    assertThat(lines).containsExactly("handed over", "path-denied", "V=/dev/fd/3",
        "Uid: 1895825419 1895825419 1895825419 1895825419",
        "CapPrm: 0000000000000000", "CapEff: 0000000000000000", "CapBnd: 0000000000000000",
        "NoNewPrivs: 1");
  }

  private static boolean isRoot() {
    try {
      return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
    } catch (Exception e) {
      return false;
    }
  }
}
