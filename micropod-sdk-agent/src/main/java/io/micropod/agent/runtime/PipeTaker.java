package io.micropod.agent.runtime;

import java.io.IOException;
import java.util.concurrent.CompletableFuture;

/**
 * A pump outside the agent's JVM that takes an exec's output pipes whole (the bulk port's
 * native daemon), so that the bytes never pass through the agent. Only execs through the exec
 * helper offer their pipes (they are the broker's descriptors, which a path names); the others
 * keep writing to the {@link OutputSink}.
 */
public interface PipeTaker {
  /**
   * Takes the pipes that these paths name; returns once both are opened (the caller may then
   * let the broker close its copies).
   *
   * @return completes when both reached EOF and whatever ends the output is written;
   *     exceptionally when output was lost
   * @throws IOException when it did not take them: nothing was read, the agent pumps them
   */
  CompletableFuture<Void> take(String stdout, String stderr) throws IOException;
}
