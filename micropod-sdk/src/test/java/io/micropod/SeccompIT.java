package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The container's default seccomp profile, on real pods: {@code /bin/sysprobe}
 * (src/test/c/sysprobe.c) makes each call from a child of its own and prints its errno. Without
 * the profile (before it existed, and with {@link SeccompProfile#UNCONFINED}) root in the
 * container creates keys and user namespaces; with it every call below gets {@code EPERM}, under
 * crun (the default) and under runc, in the container's process and in every exec.
 */
@Timeout(600)
class SeccompIT {
  /** Calls the default profile refuses; several are refused by capabilities too (see below). */
  static final List<String> DANGEROUS = List.of("keyctl", "add_key", "request_key",
      "unshare_user", "clone_newuser", "open_by_handle_at", "bpf", "perf_event_open",
      "kexec_load", "mount", "userfaultfd", "vsock");
  /**
   * Those that root in the container may make when no seccomp filter holds it: Docker's
   * capabilities do not stop them, so these are the calls the profile takes away.
   */
  static final List<String> ONLY_SECCOMP_STOPS = List.of("keyctl", "add_key", "unshare_user",
      "clone_newuser");
  static final List<String> ORDINARY = List.of("fork", "socket_inet", "personality_query");
  private static final String EPERM = "errno=1";

  private static MicroPodSpec.Builder spec() throws Exception {
    return MicroPod.builder().image(NetTestImages.busyboxWithUdp()).networkMode(NetworkMode.NONE)
        .command("sh", "-c", "/bin/sysprobe " + String.join(" ", DANGEROUS)
            + " > /tmp/init-probe; grep Seccomp: /proc/self/status >> /tmp/init-probe;"
            + " exec sleep 3600");
  }

  /**
   * The pod of the default profile under crun, shared by the tests that only exec in it (one boot
   * for two): started by the first that needs it.
   */
  private static MicroPod defaultPod;

  private static synchronized MicroPod defaultPod() throws Exception {
    if (defaultPod == null) {
      defaultPod = spec().start();
    }
    return defaultPod;
  }

  @AfterAll
  static void closeDefaultPod() {
    if (defaultPod != null) {
      defaultPod.close();
      assertThat(Leaks.of(defaultPod.id())).isEmpty();
    }
  }

  /** {@code NAME -> result} of sysprobe run by exec. */
  private static Map<String, String> probe(MicroPod pod, List<String> calls) {
    List<String> argv = new java.util.ArrayList<>(List.of("/bin/sysprobe"));
    argv.addAll(calls);
    ExecResult r = pod.exec(argv);
    assertThat(r.exitCode()).as("sysprobe: %s", r.stderr()).isZero();
    return parse(r.stdout());
  }

  private static Map<String, String> parse(String out) {
    Map<String, String> results = new LinkedHashMap<>();
    for (String line : out.split("\n")) {
      String[] parts = line.split(" ", 2);
      if (parts.length == 2 && !parts[0].equals("Seccomp:")) {
        results.put(parts[0], parts[1]);
      }
    }
    return results;
  }

  /** What the container's own process probed (it writes the file as it starts), to a deadline. */
  private static String initProbe(MicroPod pod) {
    java.time.Instant deadline = java.time.Instant.now().plusSeconds(60);
    String out = "";
    while (!out.contains("Seccomp:") && java.time.Instant.now().isBefore(deadline)) {
      out = pod.exec("sh", "-c", "cat /tmp/init-probe 2>/dev/null").stdout();
    }
    assertThat(out).as("/tmp/init-probe of the container's process").contains("Seccomp:");
    return out;
  }

  private static void assertConfined(MicroPod pod) {
    Map<String, String> exec = probe(pod, DANGEROUS);
    for (String call : DANGEROUS) {
      assertThat(exec.get(call)).as("exec: %s of %s", call, exec).isEqualTo(EPERM);
    }
    String init = initProbe(pod);
    for (String call : DANGEROUS) {
      assertThat(parse(init).get(call)).as("the container's process: %s", call).isEqualTo(EPERM);
    }
    assertThat(init).as("mode 2: a filter").contains("Seccomp:\t2");
    assertThat(pod.exec("grep", "Seccomp:", "/proc/self/status").stdout()).contains("Seccomp:\t2");
    Map<String, String> ordinary = probe(pod, ORDINARY);
    for (String call : ORDINARY) {
      assertThat(ordinary.get(call)).as("%s", call).isEqualTo("ok");
    }
  }

  @Test
  void theDefaultProfileRefusesKeyringsNamespacesBpfPerfKexecAndMountWithEpermUnderCrun()
      throws Exception {
    MicroPod pod = defaultPod();
    assertThat(pod.spec().seccomp()).isEqualTo(SeccompProfile.DEFAULT);
    assertConfined(pod);
  }

  @Test
  void theDefaultProfileRefusesTheSameCallsUnderRunc() throws Exception {
    Map<String, String> env = new HashMap<>(System.getenv());
    env.put("MICROPOD_OCI_RUNTIME", "runc");
    env.put("MICROPOD_VMM", "qemu");
    try (MicroPodRuntime runtime = MicroPodRuntime.builder().home(TestImages.home())
        .environment(env).build();
        MicroPod pod = spec().runtime(runtime).start()) {
      assertThat(pod.exec("cat", "/proc/cmdline").stdout()).contains("micropod.runtime=runc");
      assertConfined(pod);
    }
  }

  @Test
  void unconfinedLetsRootInTheContainerMakeTheCallsTheProfileRefuses() throws Exception {
    try (MicroPod pod = spec().seccomp(SeccompProfile.UNCONFINED).start()) {
      assertThat(pod.exec("grep", "Seccomp:", "/proc/self/status").stdout())
          .as("no filter").contains("Seccomp:\t0");
      Map<String, String> results = probe(pod, ONLY_SECCOMP_STOPS);
      for (String call : ONLY_SECCOMP_STOPS) {
        assertThat(results.get(call)).as("%s of %s", call, results).isEqualTo("ok");
      }
      // A QEMU pod has no vsock device, and /init loads only the drivers of the VM's devices:
      // its guest kernel offers no AF_VSOCK at all, filter or not (EAFNOSUPPORT). (A Firecracker
      // pod's agent channel is vsock: there the default profile's EPERM is what holds.)
      assertThat(probe(pod, List.of("vsock")).get("vsock")).as("AF_VSOCK in a QEMU pod")
          .isEqualTo("errno=97");
      assertThat(parse(initProbe(pod))).as("the container's process")
          .containsEntry("keyctl", "ok").containsEntry("unshare_user", "ok");
    }
  }

  @Test
  void aSetuidBinaryOfTheImageStillRunsAsItsOwnerUnderTheDefaultProfile() throws Exception {
    MicroPod pod = defaultPod();
    ExecResult r = pod.exec(ExecSpec.builder("/bin/sysprobe-suid", "id").user("1000:1000")
        .build());
    assertThat(r.exitCode()).as(r.stderr()).isZero();
    assertThat(r.stdout()).isEqualTo("uid=1000 euid=0\n");
    assertThat(pod.exec(ExecSpec.builder("/bin/sysprobe", "id").user("1000").build()).stdout())
        .isEqualTo("uid=1000 euid=1000\n");
  }

  /**
   * What the profile costs (the runtime compiles and loads the filter on every container start
   * and exec): container start (BootTimings) and the median of {@code exec true}, on confined and
   * unconfined pods booted alternately by the same run. Figures only: run with
   * {@code -Dmicropod.bench=true} ({@code -Dmicropod.bench.rounds}, {@code -Dmicropod.bench.n}).
   */
  @Test
  @org.junit.jupiter.api.condition.EnabledIfSystemProperty(named = "micropod.bench",
      matches = "true")
  void execCostWithAndWithoutTheProfile() throws Exception {
    int n = Integer.getInteger("micropod.bench.n", 20);
    int rounds = Integer.getInteger("micropod.bench.rounds", 1);
    for (int round = 0; round < rounds; round++) {
      for (SeccompProfile profile : SeccompProfile.values()) {
        benchOne(profile, n);
      }
    }
  }

  private static void benchOne(SeccompProfile profile, int n) throws Exception {
    try (MicroPod pod = spec().seccomp(profile).start()) {
      long[] ns = new long[n];
      for (int i = 0; i < n; i++) {
        long t0 = System.nanoTime();
        assertThat(pod.exec("true").exitCode()).isZero();
        ns[i] = System.nanoTime() - t0;
      }
      java.util.Arrays.sort(ns);
      System.out.printf("seccomp %s: container start %d ms, exec `true` median %.1f ms,"
          + " min %.1f ms (n=%d)%n", profile, pod.bootTimings().containerStart().toMillis(),
          ns[n / 2] / 1e6, ns[0] / 1e6, n);
    }
  }
}
