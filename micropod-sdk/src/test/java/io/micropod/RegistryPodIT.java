package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.event.MicroPodListener;
import io.micropod.event.Phase;
import io.micropod.internal.registry.LocalRegistry;
import io.micropod.internal.registry.TestImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A pod (real VM) from an image pulled from a real registry on 127.0.0.1: busybox plus a layer
 * that adds files and a zstd layer that deletes one (whiteout) and replaces a directory
 * (opaque whiteout); the container must see exactly the merged tree.
 */
class RegistryPodIT {
  static LocalRegistry registry;
  static TestImage.Image busybox;

  @BeforeAll
  static void startRegistry() throws Exception {
    registry = LocalRegistry.start();
    TestImage.Image base = TestImage.fromLayout(Path.of(TestImages.busybox().substring("oci:".length())));
    byte[] adds = TestImage.gzip(TestImage.tar(TestImage.files(
        "opt/app/old1", "1", "opt/app/old2", "2", "etc/gone", "x", "keep/a", "a")));
    byte[] deletes = TestImage.zstd(TestImage.tar(TestImage.files(
        "etc/.wh.gone", "", "opt/app/.wh..wh..opq", "", "opt/app/new", "fresh", "keep/.wh.a", "", "keep/b", "b")));
    java.util.List<byte[]> layers = new java.util.ArrayList<>();
    for (TestImage.Blob l : base.layers()) {
      layers.add(l.bytes());
    }
    layers.add(adds);
    layers.add(deletes);
    busybox = TestImage.image("amd64", layers, false);
    registry.push("busybox", "latest", busybox);
  }

  @AfterAll
  static void stopRegistry() throws Exception {
    if (registry != null) {
      registry.close();
    }
  }

  @Test
  void pullsFromTheRegistryReportsProgressAndRunsThePod() throws Exception {
    // make the pull download: drop the busybox blobs a previous run left in the shared store
    for (TestImage.Blob b : busybox.blobs()) {
      Files.deleteIfExists(TestImages.home().resolve("store/blobs/sha256/" + b.digest().substring(7)));
    }
    AtomicLong done = new AtomicLong();
    AtomicLong total = new AtomicLong();
    MicroPodListener progress = new MicroPodListener() {
      @Override
      public void progress(String podId, Phase phase, long d, long t) {
        if (phase == Phase.IMAGE_PULL) {
          done.set(d);
          total.set(t);
        }
      }
    };
    String ref = registry.host() + "/busybox:latest";
    String id;
    try (MicroPod pod = MicroPod.builder().image(ref).pullPolicy(PullPolicy.ALWAYS).listener(progress)
        .command("sh", "-c", "echo pulled-and-running; find /opt/app /keep | sort; cat /opt/app/new; echo;"
            + " test -e /etc/gone && echo gone-is-back; ls /bin/busybox").start()) {
      id = pod.id();
      OptionalInt exit = pod.waitFor(Duration.ofSeconds(60));

      assertThat(exit).hasValue(0);
      assertThat(pod.logs()).contains("pulled-and-running\n/keep\n/keep/b\n/opt/app\n/opt/app/new\nfresh\n")
          .contains("/bin/busybox").doesNotContain("gone-is-back");
    }
    long expected = busybox.blobs().stream().mapToLong(b -> b.bytes().length).sum();
    assertThat(total.get()).isEqualTo(expected);
    assertThat(done.get()).isEqualTo(expected);
    assertThat(MicroPodRuntime.defaultRuntime().images()).anySatisfy(i -> {
      assertThat(i.ref()).isEqualTo(ref);
      assertThat(i.digest()).isEqualTo(busybox.manifest().digest());
    });
    assertThat(Leaks.of(id)).isEmpty();
  }
}
