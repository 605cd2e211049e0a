package io.micropod;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.internal.files.FileTrees;
import io.micropod.internal.state.PodRecord;
import io.micropod.internal.state.StateDirectory;
import io.micropod.internal.vm.VmmUser;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * With MicroPod as root (as on CI), QEMU runs as an unprivileged uid of its own with no
 * capability (docs/security.md, "QEMU itself"), and the pod still does everything: exec, a
 * read-only and a read-write mount, a published port, the console log, a pod network.
 */
class UnprivilegedVmmIT {

  @Test
  @Timeout(value = 8, unit = java.util.concurrent.TimeUnit.MINUTES)
  void asRootQemuRunsAsAnUnprivilegedUidWithNoCapabilitiesAndThePodStillWorks() throws Exception {
    assertThat(Files.getAttribute(Path.of("/proc/self"), "unix:uid"))
        .as("this test proves the drop of a root MicroPod: run it as root (CI does)").isEqualTo(0);
    Path work = Files.createTempDirectory(Path.of("/tmp"), "micropod-unpriv-",
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Path ro = Files.createDirectories(work.resolve("ro"));
    Files.writeString(ro.resolve("hello.txt"), "hello from the host\n");
    Path rw = Files.createDirectories(work.resolve("rw"));
    try (Network net = Network.create();
        MicroPod pod = MicroPod.builder()
            .image(TestImages.busybox())
            .network(net)
            .networkAliases("web")
            .command("sh", "-c", "mkdir -p /www; echo served > /www/index.html; exec httpd -f -p 8080 -h /www")
            .port(8080)
            .mount(Mount.readOnly(ro, "/data"))
            .mount(Mount.readWrite(rw, "/out"))
            .start();
        MicroPod peer = MicroPod.builder().image(TestImages.busybox()).network(net)
            .networkAliases("peer").command("sleep", "3600").start()) {
      StateDirectory state = new StateDirectory(MicroPodRuntime.defaultRuntime().configDir());
      PodRecord r = state.read(pod.id()).orElseThrow();
      Map<String, String> status = status(r.vmm().pid());
      PodRecord peerRecord = state.read(peer.id()).orElseThrow();

      // who QEMU is
      assertThat(Files.readString(Path.of("/proc", Long.toString(r.vmm().pid()), "cmdline")))
          .as("the recorded VMM is QEMU itself").contains("qemu-system");
      int uid = Integer.parseInt(status.get("Uid").split("\\s+")[0]);
      assertThat(uid).isBetween(VmmUser.POD_BASE, VmmUser.POD_BASE + VmmUser.RANGE - 1);
      assertThat(status.get("Uid").split("\\s+")).as("real, effective, saved, fs uid").containsOnly(
          Integer.toString(uid));
      assertThat(status.get("Gid").split("\\s+")).containsOnly(Integer.toString(uid));
      String[] groups = status.get("Groups").trim().split("\\s+");
      assertThat(groups).as("one supplementary group: its pod network's").hasSize(1);
      assertThat(Integer.parseInt(groups[0]))
          .isBetween(VmmUser.NETWORK_BASE, VmmUser.NETWORK_BASE + VmmUser.RANGE - 1);
      for (String cap : List.of("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")) {
        assertThat(status.get(cap)).as(cap).isEqualTo("0000000000000000");
      }
      assertThat(status.get("NoNewPrivs")).isEqualTo("1");
      assertThat(status.get("Seccomp")).as("-sandbox on").isEqualTo("2");
      int peerUid = Integer.parseInt(status(peerRecord.vmm().pid()).get("Uid").split("\\s+")[0]);
      assertThat(peerUid).as("each pod's QEMU has a uid of its own").isNotEqualTo(uid);

      // the pod works
      assertThat(pod.exec("cat", "/data/hello.txt").stdout()).isEqualTo("hello from the host\n");
      assertThat(pod.exec("sh", "-c", "echo from the guest > /out/new.txt").exitCode()).isZero();
      assertThat(Files.readString(rw.resolve("new.txt"))).isEqualTo("from the guest\n");
      assertThat(Files.getAttribute(rw.resolve("new.txt"), "unix:uid")).as("lands as the SDK's user")
          .isEqualTo(0);
      HttpResponse<String> res = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
              URI.create("http://127.0.0.1:" + pod.mappedPort(8080) + "/index.html"))
          .timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(res.body()).isEqualTo("served\n");
      assertThat(peer.exec("wget", "-q", "-O", "-", "http://web:8080/index.html").stdout())
          .as("the pod network's switch socket is reachable for both QEMUs").isEqualTo("served\n");
      Path console = MicroPodRuntime.defaultRuntime().configDir().resolve("logs").resolve(pod.id() + ".log");
      assertThat(Files.readString(console, UTF_8)).as("QEMU writes the console log it was handed")
          .contains("micropod-init");
      assertThat(Files.getAttribute(console, "unix:uid")).as("the log stays root's").isEqualTo(0);
    } finally {
      FileTrees.deleteTree(work);
    }
  }

  private static Map<String, String> status(long pid) throws IOException {
    Map<String, String> m = new HashMap<>();
    for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
      int colon = line.indexOf(':');
      m.put(line.substring(0, colon), line.substring(colon + 1).trim());
    }
    return m;
  }
}
