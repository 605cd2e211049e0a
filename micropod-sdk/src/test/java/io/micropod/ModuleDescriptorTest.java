package io.micropod;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The SDK's module descriptor: a JPMS user reaches the API packages and nothing under
 * {@code io.micropod.internal}; only Jackson may reflect into the packages whose records it binds.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ModuleDescriptorTest {

  @Test
  void theModuleExportsTheApiOnly() throws Exception {
    Path root = Path.of(MicroPod.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    ModuleDescriptor d;
    try (InputStream in = Files.newInputStream(root.resolve("module-info.class"))) {
      d = ModuleDescriptor.read(in);
    }

    assertThat(d.name()).isEqualTo("io.micropod");
    assertThat(d.exports()).allSatisfy(e -> assertThat(e.isQualified()).isFalse())
        .extracting(ModuleDescriptor.Exports::source)
        .containsExactlyInAnyOrder("io.micropod", "io.micropod.event");
    assertThat(d.opens()).allSatisfy(o ->
        assertThat(o.targets()).containsExactly("com.fasterxml.jackson.databind"));
    assertThat(d.isOpen()).isFalse();
    // metrics live in the optional micropod-micrometer module (docs/metrics.md)
    assertThat(d.requires()).extracting(ModuleDescriptor.Requires::name)
        .noneMatch(m -> m.startsWith("micrometer") || m.startsWith("io.prometheus"));
  }
}
