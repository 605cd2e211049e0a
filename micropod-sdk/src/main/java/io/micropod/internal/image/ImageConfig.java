package io.micropod.internal.image;

import java.util.List;

/**
 * The parts of an OCI image config ({@code config} object) that decide how the container runs.
 * Lists are never null; strings are empty when unset.
 */
public record ImageConfig(
    List<String> env,
    List<String> entrypoint,
    List<String> cmd,
    String workingDir,
    String user,
    String os,
    String architecture) {

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
