package io.micropod.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.MicroPod;
import io.micropod.MicroPodSpec;
import io.micropod.Mount;
import io.micropod.NetworkMode;
import io.micropod.internal.base.RuntimeConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(10)
class WarmStartsTest {
  private static final MicroPodSpec BASE = MicroPod.builder().image("oci:/images/app").build();

  private static String key(MicroPodSpec spec) {
    return WarmStarts.key(spec, "1.0", "g1/h1", "qemu", "microvm", "TCG", false);
  }

  private static String key(UnaryOperator<MicroPodSpec.Builder> change) {
    return key(change.apply(BASE.newBuilder()).build());
  }

  @Test
  void theKeyIgnoresWhatOnlyTheContainerUses() {
    String base = key(BASE);

    assertThat(base).matches("[0-9a-f]{32}");
    assertThat(key(b -> b.command("sh", "-c", "echo other"))).isEqualTo(base);
    assertThat(key(b -> b.env("FOO", "bar").hostname("h").user("1000").workingDir("/tmp")
        .label("a", "b").port(8080))).isEqualTo(base);
    assertThat(key(b -> b.warmStart(true))).isEqualTo(base);
  }

  @Test
  void theKeyChangesWithEverythingTheRestoredVmMustShare() {
    String base = key(BASE);

    assertThat(key(b -> b.memoryMib(768))).isNotEqualTo(base);
    assertThat(key(b -> b.cpus(2))).isNotEqualTo(base);
    assertThat(key(b -> b.image("oci:/images/other"))).isNotEqualTo(base);
    assertThat(key(b -> b.networkMode(NetworkMode.NONE))).isNotEqualTo(base);
    assertThat(key(b -> b.detached(true))).isNotEqualTo(base);
    assertThat(WarmStarts.key(BASE, "1.1", "g1/h1", "qemu", "microvm", "TCG", false)).isNotEqualTo(base);
    assertThat(WarmStarts.key(BASE, "1.0", "g2/h1", "qemu", "microvm", "TCG", false)).isNotEqualTo(base);
    assertThat(WarmStarts.key(BASE, "1.0", "g1/h1", "firecracker", "microvm", "TCG", false)).isNotEqualTo(base);
    assertThat(WarmStarts.key(BASE, "1.0", "g1/h1", "qemu", "q35", "TCG", false)).isNotEqualTo(base);
    assertThat(WarmStarts.key(BASE, "1.0", "g1/h1", "qemu", "microvm", "KVM", false)).isNotEqualTo(base);
    assertThat(WarmStarts.key(BASE, "1.0", "g1/h1", "qemu", "microvm", "TCG", true)).isNotEqualTo(base);
  }

  @Test
  void specsWithHostMountsOrFromASnapshotCannotStartWarm() {
    MicroPodSpec mounted = BASE.newBuilder().mount(Mount.readOnly(Path.of("/tmp"), "/data")).build();

    assertThat(WarmStarts.cannot(BASE)).isNull();
    assertThat(WarmStarts.cannot(mounted)).contains("host directory mounts");
  }

  @Test
  void theEnvironmentTurnsWarmStartsOnOnlyWithOne() {
    assertThat(WarmStarts.fromEnvironment(config(Map.of("MICROPOD_WARM_START", "1")))).isTrue();
    assertThat(WarmStarts.fromEnvironment(config(Map.of("MICROPOD_WARM_START", "0")))).isFalse();
    assertThat(WarmStarts.fromEnvironment(config(Map.of()))).isFalse();
  }

  private static RuntimeConfig config(Map<String, String> env) {
    return new RuntimeConfig(Path.of("/h"), "qemu", null, null, null, null, env, Path.of("/c"));
  }

  private static Path template(Path home, String id) throws IOException {
    Path dir = Files.createDirectories(WarmStarts.dir(home).resolve(id));
    Files.writeString(dir.resolve(Snapshots.MANIFEST), "manifest");
    Files.writeString(dir.resolve(Snapshots.STATE), "state");
    Files.writeString(dir.resolve(Snapshots.RAM), "ram");
    return dir;
  }

  @Test
  void aRestoreReadsItsPinOfTheTemplateWholeWhenTheTemplateIsRemovedMeanwhile(@TempDir Path home) throws IOException {
    String id = "0123456789abcdef0123456789abcdef";
    Path template = template(home, id);

    Path pinned = WarmStarts.pin(template);
    assertThat(WarmStarts.remove(home, id)).isTrue();

    assertThat(template).doesNotExist();
    assertThat(pinned.getFileName().toString()).isEqualTo(id);
    assertThat(Files.readString(pinned.resolve(Snapshots.MANIFEST))).isEqualTo("manifest");
    assertThat(Files.readString(pinned.resolve(Snapshots.STATE))).isEqualTo("state");
    assertThat(Files.readString(pinned.resolve(Snapshots.RAM))).isEqualTo("ram");
    assertThat(WarmStarts.list(home)).as("a pin is not a template").isEmpty();
    WarmStarts.unpin(new Snapshots.Manifest(new io.micropod.PodSnapshot(id, pinned, "oci:/i", "p", java.time.Instant.EPOCH,
        0, 512, 1, "g", "s"), "", 0, "", 0, "", false, "microvm", "qemu", "", ""));
    try (var left = Files.list(WarmStarts.dir(home))) {
      assertThat(left).isEmpty();
    }
  }

  @Test
  void aTemplateMissingAFileIsNotPinnedAndLeavesNoPinBehind(@TempDir Path home) throws IOException {
    Path template = template(home, "0123456789abcdef0123456789abcdef");
    Files.delete(template.resolve(Snapshots.RAM));

    assertThat(WarmStarts.pin(template)).isNull();

    try (var left = Files.list(WarmStarts.dir(home))) {
      assertThat(left).containsExactly(template);
    }
  }
}
