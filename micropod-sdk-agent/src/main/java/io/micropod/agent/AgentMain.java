package io.micropod.agent;

import io.micropod.agent.base.GuestClock;
import io.micropod.agent.base.GuestInfo;
import io.micropod.agent.base.Log;

/**
 * The guest agent's entry point, started by the guest's {@code /init}:
 *
 * <pre>
 * java [jvm flags] -jar micropod-agent.jar            serve (environment: see AgentConfig)
 * java [jvm flags] -jar micropod-agent.jar --train    exercise the code paths once, exit 0
 * </pre>
 *
 * Exit status: 0 after a Shutdown RPC (then /init powers the VM off), 1 when the agent could
 * not start, 2 on a bad command line.
 */
public final class AgentMain {
  private AgentMain() {}

  public static void main(String[] args) {
    long mainMs = GuestClock.uptimeMillis();
    if (args.length == 1 && args[0].equals("--train")) {
      System.exit(Trainer.run());
    }
    if (args.length != 0) {
      System.err.println("usage: micropod-agent [--train]");
      System.exit(2);
    }
    AgentConfig config = AgentConfig.fromEnv(System.getenv());
    Agent agent;
    try {
      agent = Agent.start(config, mainMs, null, () -> System.exit(0));
      agent.startRelay();
    } catch (Exception e) {
      Log.warn("cannot start: socket " + config.socket() + ", channel " + config.channel(), e);
      System.exit(1);
      return;
    }
    GuestInfo info = agent.info();
    Log.info(
        "serving on "
            + config.socket()
            + (config.channel() != null ? ", relaying " + config.channel() : "")
            + " (guest uptime ms: main " + info.agentMainMs()
            + ", ready " + info.agentReadyMs() + ")");
    try {
      agent.awaitStopped();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
