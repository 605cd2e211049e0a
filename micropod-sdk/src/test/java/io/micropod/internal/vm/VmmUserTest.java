package io.micropod.internal.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The unprivileged QEMU's identity and launch command (docs/security.md, "QEMU itself"). */
class VmmUserTest {
  @TempDir Path tmp;

  private static final String SETPRIV = ManagedProcess.SETPRIV == null ? "setpriv" : ManagedProcess.SETPRIV;

  @Test
  void theDropTakesEveryCapabilityAndSetsTheDeathSignalAgainWhenThePodDiesWithTheJvm() {
    VmmUser user = new VmmUser(VmmUser.POD_BASE + 7, List.of(VmmUser.NETWORK_BASE + 1));

    assertThat(user.setpriv(true)).containsExactly(SETPRIV, "--pdeathsig", "SIGKILL", "--reuid=1895825415",
        "--regid=1895825415", "--groups=" + (VmmUser.NETWORK_BASE + 1), "--inh-caps=-all", "--bounding-set=-all",
        "--no-new-privs");
    assertThat(new VmmUser(VmmUser.POD_BASE, List.of()).setpriv(false)).containsExactly(SETPRIV,
        "--reuid=1895825408", "--regid=1895825408", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
        "--no-new-privs");
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

  private static boolean isRoot() {
    try {
      return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
    } catch (Exception e) {
      return false;
    }
  }
}
