package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MountTest {
  @TempDir Path tmp;

  @Test
  void factoriesResolveTheHostDirectoryAndNormalizeTheContainerPath() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("data"));
    Path link = Files.createSymbolicLink(tmp.resolve("link"), dir);

    Mount ro = Mount.readOnly(link, "/srv//data/");
    Mount rw = Mount.readWrite(dir, "/out");

    assertThat(ro.hostPath()).isEqualTo(dir.toRealPath());
    assertThat(ro.containerPath()).isEqualTo("/srv/data");
    assertThat(ro.readOnly()).isTrue();
    assertThat(rw.readOnly()).isFalse();
    assertThat(ro).hasToString(dir.toRealPath() + ":/srv/data:ro");
    assertThat(Mount.readOnly(dir, "/srv/data")).isEqualTo(ro).hasSameHashCodeAs(ro);
  }

  @Test
  void aHostPathThatIsMissingOrNotADirectoryIsRejectedNamingIt() throws Exception {
    Path file = Files.writeString(tmp.resolve("f"), "x");

    assertThatThrownBy(() -> Mount.readOnly(tmp.resolve("absent"), "/d"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not exist")
        .hasMessageContaining(tmp.resolve("absent").toString());
    assertThatThrownBy(() -> Mount.readWrite(file, "/d"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a directory")
        .hasMessageContaining(file.toString());
  }

  @Test
  void theContainerPathMustBeAnAbsoluteDirectoryBelowTheRootOutsideTheKernelFileSystems() {
    for (String bad : new String[] {"data", "", "/", "//", "/a/../b", "/a/./b", "/proc", "/sys/x", "/dev",
        "/a,b"}) {
      assertThatThrownBy(() -> Mount.readOnly(tmp, bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("containerPath");
    }
    assertThat(Mount.readOnly(tmp, "/devices").containerPath()).isEqualTo("/devices");
  }

  @Test
  void specRejectsOverlappingMountsAndKeepsThemInOrder() throws Exception {
    Path a = Files.createDirectories(tmp.resolve("a"));
    Path b = Files.createDirectories(tmp.resolve("b"));
    MicroPodSpec.Builder builder = MicroPodSpec.builder().image("busybox")
        .mount(Mount.readOnly(a, "/data")).mount(Mount.readWrite(b, "/data2"));

    assertThatThrownBy(() -> builder.mount(Mount.readOnly(b, "/data/sub")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("overlaps");
    assertThatThrownBy(() -> builder.mount(Mount.readOnly(b, "/data")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("overlaps");
    MicroPodSpec spec = builder.build();
    assertThat(spec.mounts()).extracting(Mount::containerPath).containsExactly("/data", "/data2");
    assertThat(spec.newBuilder().build()).isEqualTo(spec);
    assertThat(spec.toString()).contains("mounts=[" + a.toRealPath() + ":/data:ro");
    assertThat(MicroPodSpec.builder().image("busybox").build().mounts()).isEmpty();
  }

  @Test
  void specAllowsAtMostMaxMounts() {
    MicroPodSpec.Builder builder = MicroPodSpec.builder().image("busybox");
    for (int i = 0; i < MicroPodSpec.MAX_MOUNTS; i++) {
      builder.mount(Mount.readOnly(tmp, "/m" + i));
    }
    assertThatThrownBy(() -> builder.mount(Mount.readOnly(tmp, "/one-more")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("more than " + MicroPodSpec.MAX_MOUNTS);
  }
}
