package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A guest that prints to its console without end cannot fill the host's disk: the console log
 * stops at its cap with a marker, and the pod keeps working (docs/security.md). The flood comes
 * from a copy of the guest initramfs whose /init, after starting the agent, writes to
 * {@code /dev/console} forever (a container cannot reach the console; guest root can).
 */
class ConsoleLogCapIT {
  private static final long CAP = 256 * 1024;
  private static final String MARKER = "\n[micropod: console log truncated after " + CAP + " bytes]\n";

  @TempDir
  Path tmp;

  @Test
  @Timeout(value = 6, unit = TimeUnit.MINUTES)
  void aGuestFloodingItsConsoleLeavesALogOfTheCapAndAMarkerAndThePodKeepsWorking() throws Exception {
    Path guest = FaultIT.guestDir();
    String flood = "(while :; do echo micropod-console-flood-0123456789abcdefghijklmnopqrstuvwxyz; done"
        + " > /dev/console 2>/dev/null) &\n";
    Path initramfs = Initramfs.withInitHook(guest, tmp.resolve("initramfs-console-flood.cpio"), "\nagent=$!\n", flood);
    Map<String, String> env = new HashMap<>(System.getenv());
    env.put("MICROPOD_CONSOLE_LOG_MAX_BYTES", Long.toString(CAP));

    try (MicroPodRuntime rt = MicroPodRuntime.builder().home(TestImages.home()).environment(env)
        .kernel(guest.resolve("vmlinux")).initramfs(initramfs).build();
        MicroPod pod = MicroPod.builder().runtime(rt).image(TestImages.busybox()).command("sleep", "3600").start()) {
      Path console = rt.configDir().resolve("logs").resolve(pod.id() + ".log");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
      while (Files.size(console) < CAP + MARKER.length() && System.nanoTime() < deadline) {
        assertThat(pod.exec("true").exitCode()).as("the pod answers while its guest floods").isZero();
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(500));
      }
      // the flood goes on: give it time to write as much again, then the log must not have grown
      long more = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (System.nanoTime() < more) {
        assertThat(Files.size(console)).as("the log never passes the cap and the marker")
            .isLessThanOrEqualTo(CAP + MARKER.length());
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(500));
      }
      byte[] log = Files.readAllBytes(console);
      assertThat(log.length).isEqualTo(CAP + MARKER.length());
      String text = new String(log, StandardCharsets.ISO_8859_1);
      assertThat(text).endsWith(MARKER).contains("micropod-console-flood");
      assertThat(pod.exec("echo", "still here").stdout()).isEqualTo("still here\n");
    }
  }
}
