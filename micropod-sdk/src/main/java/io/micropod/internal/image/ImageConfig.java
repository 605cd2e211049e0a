package io.micropod.internal.image;

import io.micropod.HealthCheck;
import java.util.List;

/**
 * The parts of an OCI image config ({@code config} object) that decide how the container runs.
 * Lists are never null; strings are empty when unset; {@code healthcheck} is null when the image
 * has none, {@link HealthCheck#none()} for Docker's {@code HEALTHCHECK NONE}.
 */
public record ImageConfig(
    List<String> env,
    List<String> entrypoint,
    List<String> cmd,
    String workingDir,
    String user,
    String os,
    String architecture,
    HealthCheck healthcheck) {

  /** A config without a {@code Healthcheck}. */
  public ImageConfig(List<String> env, List<String> entrypoint, List<String> cmd, String workingDir,
      String user, String os, String architecture) {
    this(env, entrypoint, cmd, workingDir, user, os, architecture, null);
  }

  public ImageConfig {
    env = List.copyOf(env);
    entrypoint = List.copyOf(entrypoint);
    cmd = List.copyOf(cmd);
    workingDir = workingDir == null ? "" : workingDir;
    user = user == null ? "" : user;
    os = os == null ? "" : os;
    architecture = architecture == null ? "" : architecture;
  }
}
