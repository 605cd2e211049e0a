package io.micropod.testkit;

import java.nio.file.Files;
import java.nio.file.Path;

/** The images the build makes offline (rootfs-builder writes them into the MicroPod home). */
public final class TestImages {

  public static Path home() {
    String home = System.getProperty("micropod.home", System.getenv("MICROPOD_HOME"));
    return home != null && !home.isBlank()
        ? Path.of(home)
        : Path.of(System.getProperty("user.home"), ".cache", "micropod");
  }

  /** A busybox image from Debian's busybox-static, as an OCI image layout reference. */
  public static String busybox() {
    Path layout = home().resolve("oci").resolve("busybox");
    if (!Files.isRegularFile(layout.resolve("index.json"))) {
      throw new IllegalStateException("no busybox OCI layout at " + layout
          + ": build the guest image and sample images first (mvn install)");
    }
    return "oci:" + layout;
  }

  /** Whether the host still has anything of the pod: its socket or state directory. */
  public static boolean leftovers(String podId) {
    return Files.exists(Path.of("/tmp", "micropod-" + podId))
        || Files.exists(home().resolve("pods").resolve(podId));
  }

  private TestImages() {}
}
