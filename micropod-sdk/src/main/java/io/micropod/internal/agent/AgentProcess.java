package io.micropod.internal.agent;

import io.micropod.agent.v1.ProcessSpec;
import java.util.List;

/**
 * A process for the agent to run (the protocol's {@code ProcessSpec}).
 *
 * @param args argv; args[0] is resolved against PATH from env when it has no slash
 * @param env complete {@code KEY=value} entries
 * @param cwd absolute working directory
 * @param user "" (root), "uid" or "uid:gid"
 * @param terminal whether it runs on a terminal
 */
public record AgentProcess(List<String> args, List<String> env, String cwd, String user, boolean terminal) {
  public AgentProcess {
    args = List.copyOf(args);
    env = List.copyOf(env);
  }

  ProcessSpec toProto() {
    return ProcessSpec.newBuilder().addAllArgs(args).addAllEnv(env).setCwd(cwd).setUser(user)
        .setTerminal(terminal).build();
  }
}
