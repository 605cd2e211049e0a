package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Listing and removing warm-start templates in a home of fake template directories; no VM. */
@Timeout(30)
class PodTemplatesTest {
  private static final String ID_A = "0123456789abcdef0123456789abcdef";
  private static final String ID_B = "fedcba9876543210fedcba9876543210";
  private static final String ID_BROKEN = "00000000000000000000000000000000";

  @TempDir
  Path home;

  private MicroPodRuntime runtime() {
    return MicroPodRuntime.builder().home(home).build();
  }

  /** A template directory as {@code template.write} leaves it: manifest, device state, sparse RAM. */
  static Path fakeTemplate(Path home, String id, String createdAt, long ramBytes) throws IOException {
    Path dir = Files.createDirectories(home.resolve("templates").resolve(id));
    Files.writeString(dir.resolve("state"), "device state");
    try (RandomAccessFile ram = new RandomAccessFile(dir.resolve("ram").toFile(), "rw")) {
      ram.setLength(ramBytes); // a hole, but for one page in use
      ram.write(new byte[4096]);
    }
    Files.writeString(dir.resolve("manifest.json"), "{\"format\":1,\"name\":\"" + id + "\","
        + "\"image\":\"oci:/images/busybox\",\"sourcePodId\":\"abc123\",\"containerId\":\"\","
        + "\"createdAt\":\"" + createdAt + "\",\"sizeBytes\":4096,\"memoryMib\":" + (ramBytes >> 20) + ",\"cpus\":2,"
        + "\"guestVersion\":\"g/h\",\"sdkVersion\":\"0.1.0\",\"machine\":\"microvm\",\"vmm\":\"qemu\","
        + "\"hostnameSet\":false,\"networkMode\":\"NONE\",\"imageDigest\":\"sha256:abcd\",\"blockImage\":\"/x\","
        + "\"blockImageBytes\":1,\"ramBytes\":" + ramBytes + ",\"stateSha256\":\"sha256:00\"}");
    return dir;
  }

  @Test
  void removeTemplateRefusesAnIdThatIsAPathAndRemovesNothingOutsideTheTemplates() throws IOException {
    Path victim = Files.createDirectories(home.resolve("snapshots").resolve("keep"));
    Files.writeString(victim.resolve("manifest.json"), "{}");
    Files.createDirectories(home.resolve("templates"));

    try (MicroPodRuntime runtime = runtime()) {
      for (String bad : new String[] {"../snapshots/keep", "../snapshots", "..", "/tmp", ID_A + "/..",
          ID_A.toUpperCase(), "", "abc"}) {
        assertThatThrownBy(() -> runtime.removeTemplate(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("template id must be 32 hex digits");
        assertThatThrownBy(() -> runtime.template(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
      }
    }
    assertThat(victim.resolve("manifest.json")).exists();
  }

  @Test
  void templatesListsWhatEachIsForItsAllocatedSizeAndABrokenOneWithItsProblem() throws IOException {
    fakeTemplate(home, ID_B, "2026-01-02T00:00:00Z", 64L << 20);
    fakeTemplate(home, ID_A, "2026-01-01T00:00:00Z", 64L << 20);
    Files.createDirectories(home.resolve("templates").resolve(ID_BROKEN));
    Files.createDirectories(home.resolve("templates").resolve("not-a-template"));
    Files.createDirectories(home.resolve("templates").resolve(".tmp-use-" + ProcessHandle.current().pid() + "-1"));

    try (MicroPodRuntime runtime = runtime()) {
      var listed = runtime.templates();

      assertThat(listed).as("oldest first; the broken one dated by its directory, made now")
          .extracting(PodTemplate::id).containsExactly(ID_A, ID_B, ID_BROKEN);
      PodTemplate a = listed.get(0);
      assertThat(a.image()).isEqualTo("oci:/images/busybox");
      assertThat(a.imageDigest()).hasValue("sha256:abcd");
      assertThat(a.memoryMib()).isEqualTo(64);
      assertThat(a.cpus()).isEqualTo(2);
      assertThat(a.networkMode()).hasValue(NetworkMode.NONE);
      assertThat(a.vmm()).isEqualTo("qemu");
      assertThat(a.sdkVersion()).isEqualTo("0.1.0");
      assertThat(a.createdAt()).isEqualTo(Instant.parse("2026-01-01T00:00:00Z"));
      assertThat(a.lastUsedAt()).isEmpty();
      assertThat(a.problem()).isEmpty();
      assertThat(a.path()).isEqualTo(home.resolve("templates").resolve(ID_A));
      assertThat(a.sizeBytes()).as("allocated, not the RAM file's apparent 64 MiB")
          .isGreaterThanOrEqualTo(4096).isLessThan(1L << 20);
      PodTemplate broken = listed.get(2);
      assertThat(broken.problem()).hasValueSatisfying(p -> assertThat(p).contains("manifest.json"));
      assertThat(broken.image()).isEmpty();
      assertThat(runtime.template(ID_A)).hasValue(a);
      assertThat(runtime.template(ID_A.replace('0', '1'))).isEmpty();
    }
  }

  @Test
  void removeTemplateRemovesOneAndPruneTemplatesRemovesTheRestReturningWhatItFreed() throws IOException {
    fakeTemplate(home, ID_A, "2026-01-01T00:00:00Z", 8L << 20);
    fakeTemplate(home, ID_B, "2026-01-02T00:00:00Z", 8L << 20);
    Files.createDirectories(home.resolve("templates").resolve(ID_BROKEN));

    try (MicroPodRuntime runtime = runtime()) {
      assertThat(runtime.removeTemplate(ID_A)).isTrue();
      assertThat(runtime.removeTemplate(ID_A)).isFalse();
      assertThat(home.resolve("templates").resolve(ID_A)).doesNotExist();

      var pruned = runtime.pruneTemplates();

      assertThat(pruned).extracting(PodTemplate::id).containsExactlyInAnyOrder(ID_B, ID_BROKEN);
      assertThat(pruned).filteredOn(t -> t.id().equals(ID_B)).singleElement()
          .satisfies(t -> assertThat(t.sizeBytes()).isGreaterThanOrEqualTo(4096));
      assertThat(runtime.templates()).isEmpty();
      assertThat(runtime.pruneTemplates()).isEmpty();
    }
    try (var left = Files.list(home.resolve("templates"))) {
      assertThat(left).isEmpty();
    }
  }

  @Test
  void templatesOfAHomeWithoutTemplatesIsEmpty() {
    try (MicroPodRuntime runtime = runtime()) {
      assertThat(runtime.templates()).isEmpty();
      assertThat(runtime.pruneTemplates()).isEmpty();
      assertThat(runtime.removeTemplate(ID_A)).isFalse();
    }
  }
}
