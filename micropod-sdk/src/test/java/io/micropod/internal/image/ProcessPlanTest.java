package io.micropod.internal.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micropod.ImageException;
import io.micropod.MicroPodSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProcessPlanTest {
  @TempDir Path rootfs;

  private static ImageConfig config(List<String> entrypoint, List<String> cmd, String user) {
    return new ImageConfig(List.of("PATH=/usr/bin:/bin", "LANG=C", "EMPTY="), entrypoint, cmd, "/srv",
        user, "linux", "amd64");
  }

  @Test
  void imageDefaultsApplyWhenTheSpecSetsNothing() {
    ProcessPlan plan = ProcessPlan.merge(config(List.of(), List.of("sh"), ""),
        MicroPodSpec.builder().image("oci:/x").build(), rootfs, "oci:/x:latest");

    assertThat(plan.args()).containsExactly("sh");
    assertThat(plan.env()).containsExactly("PATH=/usr/bin:/bin", "LANG=C", "EMPTY=");
    assertThat(plan.cwd()).isEqualTo("/srv");
    assertThat(plan.user()).isEmpty();
  }

  @Test
  void commandReplacesCmdButKeepsTheEntrypoint() {
    ProcessPlan plan = ProcessPlan.merge(config(List.of("/entry", "--flag"), List.of("default"), ""),
        MicroPodSpec.builder().image("oci:/x").command("echo", "hi").build(), rootfs, "r");

    assertThat(plan.args()).containsExactly("/entry", "--flag", "echo", "hi");
  }

  @Test
  void envOverridesByKeyKeepingTheImagesOrderAndAppendsNewKeys() {
    ProcessPlan plan = ProcessPlan.merge(config(List.of(), List.of("sh"), ""),
        MicroPodSpec.builder().image("oci:/x").env("NEW", "1").env("LANG", "C.UTF-8").build(), rootfs, "r");

    assertThat(plan.env()).containsExactly("PATH=/usr/bin:/bin", "LANG=C.UTF-8", "EMPTY=", "NEW=1");
  }

  @Test
  void workingDirOverridesAndDefaultsToRoot() {
    assertThat(ProcessPlan.merge(config(List.of(), List.of("sh"), ""),
        MicroPodSpec.builder().image("oci:/x").workingDir("/tmp").build(), rootfs, "r").cwd()).isEqualTo("/tmp");
    ImageConfig noDir = new ImageConfig(List.of(), List.of(), List.of("sh"), "", "", "", "");
    assertThat(ProcessPlan.merge(noDir, MicroPodSpec.builder().image("oci:/x").build(), rootfs, "r").cwd())
        .isEqualTo("/");
  }

  @Test
  void pathGetsDockersDefaultWhenNobodySetsIt() {
    ImageConfig noEnv = new ImageConfig(List.of(), List.of(), List.of("sh"), "", "", "", "");

    assertThat(ProcessPlan.merge(noEnv, MicroPodSpec.builder().image("oci:/x").build(), rootfs, "r").env())
        .containsExactly("PATH=" + ProcessPlan.DEFAULT_PATH);
  }

  @Test
  void nothingToRunIsAnImageErrorThatSaysWhatToDo() {
    ImageConfig empty = new ImageConfig(List.of(), List.of(), List.of(), "", "", "", "");

    assertThatThrownBy(() -> ProcessPlan.merge(empty, MicroPodSpec.builder().image("oci:/x").build(), rootfs, "r"))
        .isInstanceOf(ImageException.class).hasMessageContaining(".command(");
  }

  @Test
  void userNamesResolveAgainstTheImagesPasswdAndGroup() throws IOException {
    Files.createDirectories(rootfs.resolve("etc"));
    Files.writeString(rootfs.resolve("etc/passwd"), "root:x:0:0::/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n");
    Files.writeString(rootfs.resolve("etc/group"), "root:x:0:\nstaff:x:50:\n");

    assertThat(ProcessPlan.resolveUser("nobody", rootfs, "r")).isEqualTo("65534:65534");
    assertThat(ProcessPlan.resolveUser("nobody:staff", rootfs, "r")).isEqualTo("65534:50");
    assertThat(ProcessPlan.resolveUser("1000:staff", rootfs, "r")).isEqualTo("1000:50");
    assertThat(ProcessPlan.resolveUser("1000:1000", rootfs, "r")).isEqualTo("1000:1000");
    assertThatThrownBy(() -> ProcessPlan.resolveUser("ghost", rootfs, "r"))
        .isInstanceOf(ImageException.class).hasMessageContaining("ghost");
  }

  @Test
  void userNamesAreNeverResolvedThroughASymlinkedPasswd() throws IOException {
    Files.createDirectories(rootfs.resolve("etc"));
    Files.createSymbolicLink(rootfs.resolve("etc/passwd"), Path.of("/etc/passwd"));

    assertThatThrownBy(() -> ProcessPlan.resolveUser("root", rootfs, "r"))
        .isInstanceOf(ImageException.class).hasMessageContaining("numeric");
  }
}
