package io.micropod.internal.base;

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
    Map<String, String> env,
    Path configDir) {

  /** A config with the default config directory (see {@link #defaultConfigDir}). */
  public RuntimeConfig(Path home, String vmm, Path qemuBinary, Path virtiofsd, Path kernel, Path initramfs,
      Map<String, String> env) {
    this(home, vmm, qemuBinary, virtiofsd, kernel, initramfs, env, defaultConfigDir(env));
  }

  /**
   * The system property {@code micropod.config.dir}, else {@code MICROPOD_CONFIG_DIR} in
   * {@code env}, else {@code ~/.config/micropod}.
   */
  public static Path defaultConfigDir(Map<String, String> env) {
    String prop = System.getProperty("micropod.config.dir");
    String fromEnv = env.get("MICROPOD_CONFIG_DIR");
    Path dir;
    if (prop != null && !prop.isBlank()) {
      dir = Path.of(prop);
    } else if (fromEnv != null && !fromEnv.isBlank()) {
      dir = Path.of(fromEnv);
    } else {
      dir = Path.of(System.getProperty("user.home"), ".config", "micropod");
    }
    return dir.toAbsolutePath().normalize();
  }

  public RuntimeConfig {
    Objects.requireNonNull(home, "home");
    Objects.requireNonNull(configDir, "configDir");
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
