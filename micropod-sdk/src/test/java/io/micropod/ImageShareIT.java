package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The image tree {@code store/rootfs/<digest>} is shared by every pod of that image: guest root
 * (here: a hook in a copy of /init, the strongest guest there is) mounts the image share's
 * virtiofs tag again read-write and writes to it. The host tree must stay as it was, because
 * virtiofsd serves it from a read-only bind in its own mount namespace, not because the guest
 * mounted it {@code ro}.
 */
class ImageShareIT {
  private static final String PLANTED = "micropod-planted-by-guest";

  @TempDir
  Path tmp;

  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void guestRootThatRemountsTheImageShareReadWriteCannotChangeTheHostTree() throws Exception {
    Path guest = FaultIT.guestDir();
    String init = new String(Initramfs.read(guest.resolve("initramfs.cpio"), "init"), StandardCharsets.UTF_8);
    String after = "log \"image tree at /run/micropod/image ($rootfs)\"\n";
    assertThat(init).as("/init mounts the image share").contains(after).contains("micropod-rootfs");
    String hook = "if [ \"$rootfs\" = virtiofs ]; then\n"
        + "  mkdir -p /run/micropod/attack\n"
        + "  mount -t virtiofs micropod-rootfs /run/micropod/attack; echo \"micropod-attack: mount rc=$?\" >&2\n"
        + "  mount -o remount,rw /run/micropod/attack; echo \"micropod-attack: remount rc=$?\" >&2\n"
        + "  mount -o remount,rw /run/micropod/image; echo \"micropod-attack: remount-image rc=$?\" >&2\n"
        + "  echo pwned > /run/micropod/attack/" + PLANTED + "; echo \"micropod-attack: write rc=$?\" >&2\n"
        + "  echo pwned > /run/micropod/image/" + PLANTED + "2; echo \"micropod-attack: write-image rc=$?\" >&2\n"
        + "  mount -o remount,ro /run/micropod/image; umount /run/micropod/attack\n"
        + "  echo \"micropod-attack: done\" >&2\n"
        + "fi\n";
    Path initramfs = tmp.resolve("initramfs-image-share-attack.cpio");
    Initramfs.copyWithFile(guest.resolve("initramfs.cpio"), initramfs, "init",
        init.replace(after, after + hook).getBytes(StandardCharsets.UTF_8));
    Path rootfsStore = TestImages.home().resolve("store").resolve("rootfs");

    String console;
    try (MicroPodRuntime rt = MicroPodRuntime.builder().home(TestImages.home())
        .kernel(guest.resolve("vmlinux")).initramfs(initramfs).build();
        MicroPod pod = MicroPod.builder().runtime(rt).image(TestImages.busybox()).command("sleep", "3600").start()) {
      Path log = rt.configDir().resolve("logs").resolve(pod.id() + ".log");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      do {
        console = Files.readString(log, StandardCharsets.ISO_8859_1);
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
      } while (!console.contains("micropod-attack: done") && System.nanoTime() < deadline);
      // the pod still works on its (unchanged) image
      assertThat(pod.exec("sh", "-c", "echo ok").stdout()).isEqualTo("ok\n");
    } finally {
      List<Path> planted = planted(rootfsStore);
      for (Path p : planted) {
        Files.deleteIfExists(p); // never leave the attack's file in the shared store
      }
      assertThat(planted).as("files the guest planted in the host's image trees").isEmpty();
    }
    assertThat(console).as("the hook ran").contains("micropod-attack: done");
    assertThat(console).contains("micropod-attack: write rc=1", "micropod-attack: write-image rc=1");
  }

  private static List<Path> planted(Path rootfsStore) throws IOException {
    try (Stream<Path> s = Files.walk(rootfsStore, 2)) {
      return s.filter(p -> p.getFileName().toString().startsWith(PLANTED)).toList();
    }
  }
}
