package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.micropod.internal.state.PodRecord;
import io.micropod.internal.state.ProcStat;
import io.micropod.internal.state.StateDirectory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Injected faults with real parts: each ends in a clear exception, in time, with nothing left. */
class FaultIT {

  @TempDir
  Path tmp;

  static Path guestDir() throws IOException {
    try (Stream<Path> s = Files.list(TestImages.home().resolve("guest"))) {
      return s.filter(d -> Files.isRegularFile(d.resolve("vmlinux"))).findFirst()
          .orElseThrow(() -> new IllegalStateException("no guest image under " + TestImages.home()));
    }
  }

  @Test
  void vmmKilledMidExecFailsTheExecClearlyAndCloseCleansUp() throws Exception {
    MicroPod pod = MicroPod.builder().image(TestImages.busybox()).command("sleep", "3600").start();
    try {
      CompletableFuture<ExecResult> exec = CompletableFuture.supplyAsync(() -> pod.exec("sleep", "300"));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!pod.exec("ps").stdout().contains("sleep 300")) {
        assertThat(System.nanoTime() < deadline).as("exec of sleep 300 running").isTrue();
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
      }
      PodRecord record = new StateDirectory(MicroPodRuntime.defaultRuntime().configDir()).read(pod.id()).orElseThrow();
      assertThat(ProcStat.killIfSame(record.vmm().pid(), record.vmm().startTime())).isTrue();

      assertThatThrownBy(() -> exec.get(30, TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class)
          .cause().isInstanceOf(AgentException.class)
          .satisfies(e -> assertThat(((AgentException) e).status()).isEqualTo(AgentStatus.UNAVAILABLE));
      assertThatThrownBy(() -> pod.exec("true")).isInstanceOf(AgentException.class);
    } finally {
      pod.close();
    }
    assertThat(Leaks.of(pod.id())).isEmpty();
  }

  /**
   * The agent JVM SIGKILLed inside the guest. Nothing in production can reach it from a container
   * (own pid namespace, read-only /proc/sysrq-trigger), so the test boots a copy of the guest
   * initramfs whose /init, after starting the agent, also runs a watcher: when a container creates
   * {@code /micropod-kill-agent} (seen in its overlay's upper directory) it sends the agent
   * SIGKILL. From there on everything is production: /init's wait returns, it powers the VM off,
   * and the host reports the calls in flight and later ones as failed because the VM exited.
   */
  @Test
  void agentKilledInTheGuestPowersTheVmOffAndCallsFailClearly() throws Exception {
    Path guest = guestDir();
    String watcher = "(while :; do for f in /run/micropod/containers/*/upper/micropod-kill-agent; do"
        + " [ -e \"$f\" ] && { kill -9 $agent; exit 0; }; done; usleep 200000; done) &\n";
    Path initramfs = Initramfs.withInitHook(guest, tmp.resolve("initramfs-agent-kill.cpio"), "\nagent=$!\n", watcher);

    String id;
    try (MicroPodRuntime rt = MicroPodRuntime.builder().home(TestImages.home())
        .kernel(guest.resolve("vmlinux")).initramfs(initramfs).build()) {
      MicroPod pod = MicroPod.builder().runtime(rt).image(TestImages.busybox()).command("sleep", "3600").start();
      id = pod.id();
      try {
        CompletableFuture<ExecResult> inFlight = CompletableFuture.supplyAsync(() -> pod.exec("sleep", "300"));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!pod.exec("ps").stdout().contains("sleep 300")) {
          assertThat(System.nanoTime() < deadline).as("exec of sleep 300 running").isTrue();
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
        }
        PodRecord record = new StateDirectory(rt.configDir()).read(id).orElseThrow();
        Path console = rt.configDir().resolve("logs").resolve(id + ".log");
        long t0 = System.nanoTime();
        try {
          pod.exec("touch", "/micropod-kill-agent");
        } catch (AgentException e) {
          // the agent may die before it answers this exec
        }

        assertThatThrownBy(() -> inFlight.get(60, TimeUnit.SECONDS))
            .isInstanceOf(ExecutionException.class)
            .cause().isInstanceOf(AgentException.class)
            .satisfies(e -> assertThat(((AgentException) e).status()).isEqualTo(AgentStatus.UNAVAILABLE))
            .hasMessageContaining("the VM of pod " + id + " exited")
            .hasMessageContaining(console.toString())
            .hasMessageContaining("micropod-init: agent exited with status 137");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("time to the failure").isLessThan(Duration.ofSeconds(30));
        assertThatThrownBy(() -> pod.exec("true"))
            .isInstanceOf(AgentException.class)
            .hasMessageContaining("the VM of pod " + id + " exited");
        assertThat(ProcessHandle.of(record.vmm().pid()).filter(ProcessHandle::isAlive)).as("QEMU").isEmpty();
        assertThat(Files.readString(console, StandardCharsets.ISO_8859_1))
            .contains("micropod-init: agent exited with status 137");
      } finally {
        pod.close();
      }
      assertThat(new StateDirectory(rt.configDir()).read(id)).as("pod record after close").isEmpty();
    }
    assertThat(Leaks.of(id)).isEmpty();
  }

  /**
   * A guest kernel that never reaches /init (the early-boot stall seen now and then under TCG).
   * It cannot be caused on demand, so the test boots a copy of the initramfs whose /init hangs
   * silently: from the host that is the same, no "micropod-init: started" on the console. The
   * start is tried twice, each time with a new pod that is undone completely, and then fails
   * clearly long before the start-up timeout.
   */
  @Test
  void kernelThatNeverReachesInitIsBootedOnceMoreThenFailsClearly() throws Exception {
    Path guest = guestDir();
    Path initramfs = tmp.resolve("initramfs-stall.cpio");
    Initramfs.copyWithFile(guest.resolve("initramfs.cpio"), initramfs, "init",
        "#!/bin/sh\nwhile :; do sleep 1000; done\n".getBytes(StandardCharsets.UTF_8));
    List<String> booted = new java.util.concurrent.CopyOnWriteArrayList<>();
    io.micropod.event.MicroPodListener listener = new io.micropod.event.MicroPodListener() {
      @Override
      public void phaseStart(String podId, io.micropod.event.Phase phase) {
        if (phase == io.micropod.event.Phase.VM_BOOT) {
          booted.add(podId);
        }
      }
    };
    // waited out whole, once a boot: this /init never starts, so a shorter wait tells the same
    System.setProperty("micropod.kernelStallTimeoutSeconds", "3");
    long t0 = System.nanoTime();
    try (MicroPodRuntime rt = MicroPodRuntime.builder().home(TestImages.home())
        .kernel(guest.resolve("vmlinux")).initramfs(initramfs).build()) {
      assertThatThrownBy(() -> MicroPod.builder().runtime(rt).image(TestImages.busybox()).listener(listener)
              .command("true").startupTimeout(Duration.ofMinutes(5)).start())
          .isInstanceOf(VmStartException.class)
          .hasMessageContaining("stalled in early boot")
          .satisfies(e -> assertThat(((VmStartException) e).stepId()).isEqualTo("kernel.boot"))
          .satisfies(e -> assertThat(e.getSuppressed()).singleElement().isInstanceOf(VmStartException.class));
    } finally {
      System.clearProperty("micropod.kernelStallTimeoutSeconds");
    }
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("well before the 5 min start-up timeout")
        .isLessThan(Duration.ofMinutes(2));
    assertThat(booted).as("two boots, each a pod of its own").hasSize(2).doesNotHaveDuplicates();
    for (String id : booted) {
      assertThat(Leaks.of(id)).as("left behind by %s", id).isEmpty();
    }
  }

  @Test
  void containerThatExitsAtOnceGivesItsCodeThenExecFailsClearly() {
    MicroPod pod = MicroPod.builder().image(TestImages.busybox()).command("true").start();
    try {
      assertThat(pod.waitFor(Duration.ofSeconds(60))).hasValue(0);
      assertThatThrownBy(() -> pod.exec("echo", "too late"))
          .isInstanceOf(AgentException.class)
          .hasMessageContaining(pod.id());
    } finally {
      pod.close();
    }
    assertThat(Leaks.of(pod.id())).isEmpty();
  }

  @Test
  void twoJvmsStartingTheSameImageAtOnceBothSucceedWithOneUnpack() throws Exception {
    Path home = tmp.resolve("home");
    Files.createDirectories(home);
    Path guest = guestDir();
    List<ChildJvm> jvms = new ArrayList<>();
    try {
      for (int i = 0; i < 2; i++) {
        jvms.add(ChildJvm.start(Map.of(), List.of(), "start-and-exec", home.toString(), guest.toString()));
      }
      int unpacks = 0;
      for (ChildJvm j : jvms) {
        assertThat(j.await("EXEC ", Duration.ofMinutes(5))).isEqualTo("ok");
        assertThat(j.waitFor(Duration.ofSeconds(60))).isZero();
        unpacks += j.output().split("unpacked ", -1).length - 1;
      }
      assertThat(unpacks).as("unpacks logged by both JVMs").isEqualTo(1);
    } finally {
      jvms.forEach(ChildJvm::close);
    }
  }

  @Test
  void fullStoreDiskFailsWithImageExceptionAndLeavesNoPartialTree() throws Exception {
    Path home = tmp.resolve("tiny");
    Files.createDirectories(home);
    Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", home.toString())
        .redirectErrorStream(true).start();
    assumeTrue(mount.waitFor(10, TimeUnit.SECONDS) && mount.exitValue() == 0,
        "cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): " + new String(mount.getInputStream().readAllBytes()));
    try {
      Path guest = guestDir();
      try (MicroPodRuntime rt = MicroPodRuntime.builder().home(home)
          .kernel(guest.resolve("vmlinux")).initramfs(guest.resolve("initramfs.cpio")).build()) {
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> MicroPod.builder().runtime(rt).image(TestImages.busybox())
            .command("true").start())
            .isInstanceOf(ImageException.class)
            .hasMessageContaining("cannot unpack");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(60));
      }
      Path trees = home.resolve("store").resolve("rootfs");
      List<String> left = new ArrayList<>();
      if (Files.isDirectory(trees)) {
        try (Stream<Path> st = Files.list(trees)) {
          st.forEach(p -> left.add(p.toString()));
        }
      }
      assertThat(left).as("image trees, partial or not, on the full store").isEmpty();
      assertThat(home.resolve("pods")).satisfiesAnyOf(
          p -> assertThat(p).doesNotExist(), p -> assertThat(p).isEmptyDirectory());
    } finally {
      new ProcessBuilder("umount", home.toString()).start().waitFor(10, TimeUnit.SECONDS);
    }
  }
}
