package io.micropod.internal;

import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * What a runtime was configured with. Paths are null where the builder set none (then the
 * environment and the defaults decide).
 */
public record RuntimeConfig(
    Path home,
    String vmm,
    Path qemuBinary,
    Path virtiofsd,
    Path kernel,
    Path initramfs,
    Map<String, String> env) {

  public RuntimeConfig {
    Objects.requireNonNull(home, "home");
    Objects.requireNonNull(vmm, "vmm");
    env = Map.copyOf(env);
  }

  /** {@code MICROPOD_DEBUG=1}: keep pod logs after close, verbose guest logs. */
  public boolean debug() {
    return "1".equals(env.get("MICROPOD_DEBUG"));
  }

  public String getenv(String name) {
    return env.get(name);
  }
}
