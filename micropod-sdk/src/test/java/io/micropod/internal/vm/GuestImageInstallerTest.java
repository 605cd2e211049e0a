package io.micropod.internal.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micropod.internal.vm.GuestImageInstaller.InstallException;
import io.micropod.internal.vm.GuestImageInstaller.Outcome;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class GuestImageInstallerTest {
  @TempDir Path tmp;

  /** A fake guest image resource root (as in the micropod-guest jar) on its own class loader. */
  private ClassLoader fakeImage(String version, Map<String, String> files, Map<String, String> lies)
      throws Exception {
    Path res = tmp.resolve("res");
    Path root = res.resolve(GuestImageInstaller.RESOURCE_ROOT);
    StringBuilder json = new StringBuilder("{\"version\":\"" + version + "\",\"files\":{");
    String sep = "";
    for (Map.Entry<String, String> f : files.entrySet()) {
      Path p = root.resolve(f.getKey());
      Files.createDirectories(p.getParent());
      byte[] real = f.getValue().getBytes(StandardCharsets.UTF_8);
      Files.write(p, lies.getOrDefault(f.getKey(), f.getValue()).getBytes(StandardCharsets.UTF_8));
      String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(real));
      json.append(sep).append('"').append(f.getKey()).append("\":{\"sha256\":\"").append(sha)
          .append("\",\"size\":").append(real.length).append('}');
      sep = ",";
    }
    json.append("}}");
    Files.createDirectories(root);
    Files.writeString(root.resolve("manifest.json"), json);
    return new URLClassLoader(new URL[] {res.toUri().toURL()}, null);
  }

  private static Map<String, String> image() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("vmlinux", "kernel");
    m.put("initramfs.cpio", "cpio archive");
    m.put("host/helper", "#!/bin/sh\necho hi\n");
    return m;
  }

  @Test
  void installsVerifiedFilesWithExecutableHostHelpers() throws Exception {
    Path guest = tmp.resolve("home/guest/1.2.3");
    GuestImageInstaller installer = new GuestImageInstaller(fakeImage("1.2.3", image(), Map.of()), "1.2.3");

    assertThat(installer.ensureInstalled(guest)).isEqualTo(Outcome.INSTALLED);

    assertThat(guest.resolve("vmlinux")).hasContent("kernel");
    assertThat(guest.resolve("initramfs.cpio")).hasContent("cpio archive");
    assertThat(guest.resolve("manifest.json")).isRegularFile();
    assertThat(Files.isExecutable(guest.resolve("host/helper"))).isTrue();
    assertThat(installer.ensureInstalled(guest)).isEqualTo(Outcome.PRESENT);
    try (var s = Files.list(guest.getParent())) {
      assertThat(s.map(p -> p.getFileName().toString()))
          .containsExactlyInAnyOrder("1.2.3", GuestImageInstaller.LOCK_FILE);
    }
  }

  @Test
  void refusesACorruptFileNamingItAndBothHashes() throws Exception {
    Path guest = tmp.resolve("home/guest/1.2.3");
    GuestImageInstaller installer = new GuestImageInstaller(
        fakeImage("1.2.3", image(), Map.of("initramfs.cpio", "cpio archivX")), "1.2.3");

    assertThatThrownBy(() -> installer.ensureInstalled(guest))
        .isInstanceOf(InstallException.class)
        .hasMessageContaining("initramfs.cpio")
        .hasMessageMatching("(?s).*sha256 [0-9a-f]{64} .*manifest.json says [0-9a-f]{64} .*")
        .hasMessageContaining("nothing installed");
    assertThat(guest).doesNotExist();
    try (var s = Files.list(guest.getParent())) {
      assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(".install-"));
    }
  }

  @Test
  void refusesAnImageOfAnotherVersionNamingBoth() throws Exception {
    Path guest = tmp.resolve("home/guest/1.2.3");
    GuestImageInstaller installer = new GuestImageInstaller(fakeImage("9.9.9", image(), Map.of()), "1.2.3");

    assertThatThrownBy(() -> installer.ensureInstalled(guest))
        .isInstanceOf(InstallException.class)
        .hasMessageContaining("version 9.9.9").hasMessageContaining("SDK is 1.2.3");
    assertThat(guest).doesNotExist();
  }

  @Test
  void missingResourceNamesTheArtifactAndTheOverrides() throws Exception {
    GuestImageInstaller installer = new GuestImageInstaller(
        new URLClassLoader(new URL[0], null), "1.2.3");
    List<String> problems = new ArrayList<>();

    installer.installIfMissing(tmp.resolve("home/guest/1.2.3"), problems);

    assertThat(problems).singleElement().asString()
        .contains("io.micropod:micropod-guest:1.2.3:linux-x86_64")
        .contains("MICROPOD_KERNEL_PATH").contains("MICROPOD_AGENT_ROOTFS");
  }

  @Test
  void concurrentInstallersInstallOnce() throws Exception {
    Path guest = tmp.resolve("home/guest/1.2.3");
    ClassLoader cl = fakeImage("1.2.3", image(), Map.of());
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<Outcome>> results = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        Callable<Outcome> c = () -> new GuestImageInstaller(cl, "1.2.3").ensureInstalled(guest);
        results.add(pool.submit(c));
      }
      List<Outcome> outcomes = new ArrayList<>();
      for (Future<Outcome> f : results) {
        outcomes.add(f.get(20, TimeUnit.SECONDS));
      }
      assertThat(outcomes).containsOnlyOnce(Outcome.INSTALLED);
      assertThat(guest.resolve("vmlinux")).hasContent("kernel");
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void removesTheLeftoverOfACrashedInstall() throws Exception {
    Path guest = tmp.resolve("home/guest/1.2.3");
    Path leftover = guest.resolveSibling(".install-4242-abc");
    Files.createDirectories(leftover.resolve("host"));
    Files.writeString(leftover.resolve("vmlinux"), "half");

    new GuestImageInstaller(fakeImage("1.2.3", image(), Map.of()), "1.2.3").ensureInstalled(guest);

    assertThat(leftover).doesNotExist();
    assertThat(guest.resolve("vmlinux")).hasContent("kernel");
  }
}
