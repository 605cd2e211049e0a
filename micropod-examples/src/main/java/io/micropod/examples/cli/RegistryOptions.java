package io.micropod.examples.cli;

import io.micropod.MicroPodRuntime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The registry options of {@code run} and {@code pull}: registries spoken to over plain HTTP.
 * {@code localhost} and {@code 127.0.0.1} always are; others only when named here or in
 * {@code MICROPOD_INSECURE_REGISTRIES} (comma-separated {@code host[:port]}), as Docker's
 * {@code insecure-registries}.
 */
final class RegistryOptions {
  /** The environment variable the CLI reads besides {@code --insecure-registry}. */
  static final String ENV = "MICROPOD_INSECURE_REGISTRIES";

  @Option(names = "--insecure-registry", paramLabel = "HOST[:PORT]",
      description = "Pull from this registry over plain HTTP (repeatable; also " + ENV + ", comma-separated).")
  List<String> insecure = new ArrayList<>();

  /** The registries from the option and from {@link #ENV} in {@code env}. */
  List<String> insecureRegistries(Map<String, String> env) {
    List<String> all = new ArrayList<>(insecure);
    String fromEnv = env.get(ENV);
    if (fromEnv != null) {
      for (String r : fromEnv.split(",")) {
        if (!r.isBlank()) {
          all.add(r.strip());
        }
      }
    }
    return all;
  }

  /**
   * A runtime (home from {@code MICROPOD_HOME} or its default) that knows the insecure registries;
   * the caller closes it after its pods.
   *
   * @throws IllegalArgumentException naming a registry that is not {@code host[:port]}
   */
  MicroPodRuntime runtime(Map<String, String> env) {
    MicroPodRuntime.Builder b = MicroPodRuntime.builder();
    for (String r : insecureRegistries(env)) {
      try {
        b.insecureRegistry(r);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("invalid --insecure-registry \"" + r
            + "\": use host or host:port, without http:// or a path");
      }
    }
    return b.build();
  }
}
