package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;

import io.micropod.event.MicroPodListener;
import io.micropod.event.Phase;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Warm starts on the real QEMU driver (docs/snapshots.md) under {@code MICROPOD_WARM_START=1}: the
 * first pod boots cold and writes the template, two more are restored from it with their own
 * commands and identities; a corrupted template, then a spec with a mount, start cold; the
 * template is listed, removed while a pod restores from it, and made again by the next start.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
class WarmStartIT {
  private static final String WRITE_OUT = "echo \"cmd=$0 foo=$FOO user=$(id -u) pwd=$(pwd)\" > /tmp/out; exec sleep 3600";
  private static final String READ_RANDOM = "head -c 32 /dev/urandom | od -A n -t x1";

  private MicroPodRuntime runtime;
  private final List<MicroPod> pods = new ArrayList<>();
  private MicroPod first;
  private MicroPod warmA;
  private MicroPod warmB;
  private final List<Phase> warmAPhases = new CopyOnWriteArrayList<>();

  @BeforeAll
  void startColdThenTwoWarm() throws IOException {
    Files.createDirectories(templates());
    deleteTemplates();
    Map<String, String> env = new HashMap<>(System.getenv());
    env.put("MICROPOD_WARM_START", "1");
    runtime = MicroPodRuntime.builder().home(TestImages.home()).environment(env).build();
    first = start(spec("first", "one"));
    MicroPodListener phases = new MicroPodListener() {
      @Override
      public void phaseStart(String podId, Phase phase) {
        warmAPhases.add(phase);
      }
    };
    warmA = start(spec("second", "two").newBuilder().listener(phases).user("1000").workingDir("/tmp").build());
    warmB = start(spec("third", "three").newBuilder().hostname("warm-b").build());
  }

  private MicroPodSpec spec(String name, String foo) {
    return MicroPod.builder().runtime(runtime).image(TestImages.busybox())
        .command("sh", "-c", WRITE_OUT, name).env("FOO", foo).build();
  }

  private MicroPod start(MicroPodSpec spec) {
    MicroPod p = MicroPod.start(spec);
    pods.add(p);
    System.out.printf("WarmStartIT: pod %s %s%n", p.id(), p.bootTimings());
    return p;
  }

  @AfterAll
  void closeEverything() throws IOException {
    try {
      for (MicroPod p : pods) {
        p.close();
      }
      for (MicroPod p : pods) {
        assertThat(Leaks.of(p.id())).as("left behind by pod %s", p.id()).isEmpty();
      }
    } finally {
      runtime.close();
      deleteTemplates();
    }
  }

  @Test
  @Order(1)
  void theFirstStartBootsColdAndWritesTheTemplateThenTheNextAreRestoredFromIt() throws IOException {
    assertThat(first.bootTimings().warmStart()).isFalse();
    assertThat(templateDirs()).hasSize(1);
    assertThat(Files.readString(templateDirs().get(0).resolve("manifest.json"))).contains(first.id())
        .contains("\"containerId\" : \"\"");
    assertThat(warmA.bootTimings().warmStart()).isTrue();
    assertThat(warmB.bootTimings().warmStart()).isTrue();
    assertThat(warmA.bootTimings().vmBoot()).isZero();
    assertThat(warmAPhases).contains(Phase.RESTORE, Phase.CONTAINER_START).doesNotContain(Phase.SNAPSHOT);
    assertThat(warmAPhases.lastIndexOf(Phase.RESTORE)).isLessThan(warmAPhases.indexOf(Phase.CONTAINER_START));
  }

  @Test
  @Order(2)
  void eachWarmPodRunsItsOwnCommandEnvUserAndWorkingDirectory() {
    assertThat(first.exec("cat", "/tmp/out").stdout()).isEqualTo("cmd=first foo=one user=0 pwd=/\n");
    assertThat(warmA.exec("cat", "/tmp/out").stdout()).isEqualTo("cmd=second foo=two user=1000 pwd=/tmp\n");
    assertThat(warmB.exec("cat", "/tmp/out").stdout()).isEqualTo("cmd=third foo=three user=0 pwd=/\n");
  }

  @Test
  @Order(3)
  void warmPodsHaveTheirOwnIdsHostnamesRandomBytesAndTheHostsClock() {
    assertThat(warmA.id()).isNotEqualTo(warmB.id()).isNotEqualTo(first.id());
    assertThat(warmA.exec("hostname").stdout().trim()).isEqualTo(warmA.id());
    assertThat(warmB.exec("hostname").stdout().trim()).isEqualTo("warm-b");
    assertThat(warmA.exec("sh", "-c", READ_RANDOM).stdout()).isNotBlank()
        .isNotEqualTo(warmB.exec("sh", "-c", READ_RANDOM).stdout());
    long guest = Long.parseLong(warmB.exec("date", "+%s").stdout().trim());
    assertThat(Math.abs(guest - java.time.Instant.now().getEpochSecond())).isLessThanOrEqualTo(5);
  }

  @Test
  @Order(4)
  void aCorruptedTemplateIsRemovedAndThePodStartsColdAndWritesItAgain() throws IOException {
    Path template = templateDirs().get(0);
    Path state = template.resolve("state");
    byte[] bytes = Files.readAllBytes(state);
    bytes[bytes.length / 2] ^= 1;
    Files.write(state, bytes);

    MicroPod cold = start(spec("fourth", "four"));

    assertThat(cold.bootTimings().warmStart()).isFalse();
    assertThat(cold.exec("cat", "/tmp/out").stdout()).isEqualTo("cmd=fourth foo=four user=0 pwd=/\n");
    assertThat(templateDirs()).containsExactly(template);
    assertThat(Files.readString(template.resolve("manifest.json"))).contains(cold.id());
  }

  @Test
  @Order(5)
  void aSpecWithAMountStartsColdUnderTheEnvironmentAndWritesNoTemplate(@TempDir Path dir) throws IOException {
    Files.writeString(dir.resolve("f.txt"), "mounted\n");
    List<Path> before = templateDirs();

    MicroPod mounted = start(MicroPod.builder().runtime(runtime).image(TestImages.busybox())
        .command("sleep", "3600").mount(Mount.readOnly(dir, "/data")).build());

    assertThat(mounted.bootTimings().warmStart()).isFalse();
    assertThat(mounted.exec("cat", "/data/f.txt").stdout()).isEqualTo("mounted\n");
    assertThat(templateDirs()).isEqualTo(before);
  }

  @Test
  @Order(6)
  void templatesAreListedOneRemovedDuringARestoreLeavesThatPodWarmAndTheNextStartMakesItAgain() {
    PodTemplate before = runtime.templates().get(0);
    assertThat(runtime.templates()).singleElement().satisfies(t -> {
      assertThat(t.path()).isEqualTo(templateDirs().get(0));
      assertThat(t.id()).isEqualTo(t.path().getFileName().toString()).matches("[0-9a-f]{32}");
      assertThat(t.image()).isEqualTo(spec("x", "x").image().toString());
      assertThat(t.imageDigest()).hasValueSatisfying(d -> assertThat(d).startsWith("sha256:"));
      assertThat(t.memoryMib()).isEqualTo(MicroPodSpec.DEFAULT_MEMORY_MIB);
      assertThat(t.cpus()).isEqualTo(1);
      assertThat(t.networkMode()).hasValue(NetworkMode.NAT);
      assertThat(t.vmm()).isEqualTo("qemu");
      assertThat(t.sdkVersion()).isEqualTo(MicroPodRuntime.sdkVersion());
      assertThat(t.problem()).isEmpty();
      assertThat(t.sizeBytes()).as("allocated: the guest RAM in use, not its %s MiB", t.memoryMib())
          .isPositive().isLessThan((long) t.memoryMib() << 20);
      assertThat(t.lastUsedAt()).as("rewritten by the cold start of test 4, restored by none since").isEmpty();
    });
    java.util.concurrent.atomic.AtomicReference<PodTemplate> seenByTheRestore = new java.util.concurrent.atomic.AtomicReference<>();
    java.util.concurrent.atomic.AtomicBoolean removed = new java.util.concurrent.atomic.AtomicBoolean();
    MicroPodListener removeAtRestore = new MicroPodListener() {
      @Override
      public void phaseStart(String podId, Phase phase) {
        // the start's thread, after the template was found and before its RAM and state are read
        if (phase == Phase.RESTORE && seenByTheRestore.get() == null) {
          seenByTheRestore.set(runtime.template(before.id()).orElseThrow());
          removed.set(runtime.removeTemplate(before.id()));
        }
      }
    };

    MicroPod warm = start(spec("fifth", "five").newBuilder().listener(removeAtRestore).build());

    assertThat(removed).isTrue();
    assertThat(seenByTheRestore.get().lastUsedAt()).hasValueSatisfying(t -> assertThat(t).isAfter(before.createdAt()));
    assertThat(warm.bootTimings().warmStart()).as("restored from its pin of the removed template").isTrue();
    assertThat(warm.exec("cat", "/tmp/out").stdout()).isEqualTo("cmd=fifth foo=five user=0 pwd=/\n");
    assertThat(runtime.templates()).as("the removal stands").isEmpty();
    assertThat(templates()).isEmptyDirectory();

    MicroPod next = start(spec("sixth", "six"));

    assertThat(next.bootTimings().warmStart()).isFalse();
    assertThat(runtime.templates()).singleElement().satisfies(t -> {
      assertThat(t.id()).isEqualTo(before.id());
      assertThat(t.createdAt()).isAfter(before.createdAt());
    });
  }

  private static Path templates() {
    return TestImages.home().resolve("templates");
  }

  private static List<Path> templateDirs() {
    try (Stream<Path> s = Files.list(templates())) {
      return s.filter(p -> !p.getFileName().toString().startsWith(".")).sorted().toList();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static void deleteTemplates() throws IOException {
    if (!Files.isDirectory(templates())) {
      return;
    }
    try (Stream<Path> s = Files.walk(templates())) {
      for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
        if (!p.equals(templates())) {
          Files.delete(p);
        }
      }
    }
  }
}
