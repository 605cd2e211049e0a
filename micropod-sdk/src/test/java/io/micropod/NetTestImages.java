package io.micropod;

import io.micropod.internal.registry.TestImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * The busybox test image plus {@code /bin/udp} (src/test/c/udp.c, built with {@code gcc -static}):
 * busybox 1.35's nc has no UDP mode; and {@code /bin/tcpb} (src/test/c/tcpb.c), the TCP figures
 * of NetworkBenchIT timed in the guest; and {@code /bin/sysprobe} (src/test/c/sysprobe.c), the
 * system calls of SeccompIT, with a setuid-root copy {@code /bin/sysprobe-suid}; and
 * {@code /bin/garp} (src/test/c/garp.c), a forged gratuitous ARP for NetworkIT. Built once per
 * build into {@code target/}.
 */
final class NetTestImages {
  private NetTestImages() {}

  static synchronized String busyboxWithUdp() throws IOException, InterruptedException {
    java.util.List<String> tools = java.util.List.of("udp", "tcpb", "sysprobe", "garp");
    // The directory is named after the sources: a layout built from older tools is not reused.
    ByteArrayOutputStream sources = new ByteArrayOutputStream();
    for (String tool : tools) {
      sources.write(Files.readAllBytes(Path.of("src", "test", "c", tool + ".c")));
    }
    Path target = Path.of("target", "test-tools-image-" + sha256(sources.toByteArray()).substring(0, 12))
        .toAbsolutePath();
    Path layout = target.resolve("layout");
    if (Files.isRegularFile(layout.resolve("index.json"))
        && tools.stream().allMatch(t -> Files.isRegularFile(target.resolve(t)))) {
      return "oci:" + layout;
    }
    Files.createDirectories(target);
    for (String tool : tools) {
      Process gcc = new ProcessBuilder("gcc", "-static", "-O2", "-o", target.resolve(tool).toString(),
          Path.of("src", "test", "c", tool + ".c").toAbsolutePath().toString())
          .redirectErrorStream(true).start();
      String out = new String(gcc.getInputStream().readAllBytes());
      if (!gcc.waitFor(120, TimeUnit.SECONDS) || gcc.exitValue() != 0) {
        throw new IllegalStateException("cannot build the test tool " + tool + " with `gcc -static` (install gcc"
            + " and libc6-dev: bin/setup-host): " + out);
      }
    }
    ByteArrayOutputStream tar = new ByteArrayOutputStream();
    try (TarArchiveOutputStream t = new TarArchiveOutputStream(tar)) {
      for (String tool : tools) {
        Path bin = target.resolve(tool);
        TarArchiveEntry e = new TarArchiveEntry("bin/" + tool);
        e.setMode(0755);
        e.setSize(Files.size(bin));
        t.putArchiveEntry(e);
        Files.copy(bin, t);
        t.closeArchiveEntry();
      }
      Path probe = target.resolve("sysprobe");
      TarArchiveEntry suid = new TarArchiveEntry("bin/sysprobe-suid");
      suid.setMode(04755);
      suid.setIds(0, 0);
      suid.setSize(Files.size(probe));
      t.putArchiveEntry(suid);
      Files.copy(probe, t);
      t.closeArchiveEntry();
    }
    TestImage.extendLayout(Path.of(TestImages.busybox().substring("oci:".length())), tar.toByteArray(),
        config -> { }, layout);
    return "oci:" + layout;
  }

  private static String sha256(byte[] data) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }
}
