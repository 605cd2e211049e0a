package io.micropod.agent.runtime;

import java.util.List;

/**
 * A process as the host asked for it, before validation (see {@link ProcessConfig}).
 *
 * @param args argv
 * @param env "KEY=value" entries
 * @param cwd working directory; empty: "/" (exec: the container's)
 * @param user "uid" or "uid:gid"; empty: 0:0
 * @param terminal whether a TTY was asked for (see {@link TtyExec}; the caller's business, not
 *     the config's: {@link ContainerManager#exec}, {@link MainStdio})
 */
public record ProcessRequest(
    List<String> args, List<String> env, String cwd, String user, boolean terminal) {
  public ProcessRequest {
    args = List.copyOf(args);
    env = List.copyOf(env);
  }

  ProcessConfig validate() {
    return ProcessConfig.of(args, env, cwd, user, false);
  }

  /** The terminal is the caller's business ({@link ContainerManager#exec}), not the config's. */
  ProcessConfig validateForExec(ProcessConfig container) {
    return ProcessConfig.forExec(container, args, env, cwd, user, false);
  }
}
