package io.micropod;

import java.nio.file.Files;
import java.nio.file.Path;

/** The images the build makes offline (rootfs-builder writes them into the MicroPod home). */
final class TestImages {

  static Path home() {
    String home = System.getProperty("micropod.home", System.getenv("MICROPOD_HOME"));
    return home != null && !home.isBlank()
        ? Path.of(home)
        : Path.of(System.getProperty("user.home"), ".cache", "micropod");
  }

  /** A busybox image from Debian's busybox-static, as an OCI image layout. */
  static String busybox() {
    Path layout = home().resolve("oci").resolve("busybox");
    if (!Files.isRegularFile(layout.resolve("index.json"))) {
      throw new IllegalStateException("no busybox OCI layout at " + layout
          + ": build the guest image and sample images first (mvn install)");
    }
    return "oci:" + layout;
  }

  private TestImages() {}
}
