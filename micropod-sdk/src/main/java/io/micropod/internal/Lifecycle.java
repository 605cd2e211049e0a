package io.micropod.internal;

import io.micropod.AgentException;
import io.micropod.AgentStatus;
import io.micropod.ContainerFile;
import io.micropod.ExecSpec;
import io.micropod.LogLine;
import io.micropod.MicroPod;
import io.micropod.MicroPodException;
import io.micropod.internal.agent.AgentProcess;
import io.micropod.internal.image.ProcessPlan;
import io.micropod.internal.tar.TarStreams;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * The handle verbs of the lifecycle API beyond plain calls (exec options, signals, log following,
 * copies), kept out of {@link RealMicroPod} so that it stays small. The boot steps live in the
 * {@code *Steps} classes; the gRPC streams in {@code internal.agent}.
 */
final class Lifecycle {
  /** Deadline of short unary calls (Signal, GetStats). */
  static final Duration CALL_DEADLINE = Duration.ofSeconds(30);
  /** Deadline of one copy in or out. */
  static final Duration COPY_DEADLINE = Duration.ofMinutes(10);

  private Lifecycle() {}

  /** What the agent runs for {@code spec}: the container's process plan with the exec's changes. */
  static AgentProcess process(Boot b, ExecSpec spec) {
    PreparedImage image = b.prepared.get();
    ProcessPlan plan = image.plan().withExec(spec.command(), spec.env(), spec.workingDir(),
        spec.user().map(u -> ProcessPlan.resolveUser(u, image.rootfs(), b.spec.image().toString())));
    return ContainerSteps.process(plan, spec.tty().isPresent());
  }

  /** Sends a signal; false when the process already exited. */
  static boolean trySignal(RealMicroPod pod, int signal) {
    try {
      pod.signal(signal);
      return true;
    } catch (AgentException e) {
      if (e.status() == AgentStatus.FAILED_PRECONDITION) {
        return false;
      }
      throw e;
    }
  }

  static void copyIn(Boot b, ContainerFile file) {
    String target = file.containerPath();
    int slash = target.lastIndexOf('/');
    String dir = slash == 0 ? "/" : target.substring(0, slash);
    String name = target.substring(slash + 1);
    try (java.io.OutputStream out = b.agentClient().copyIn(b.id, dir, COPY_DEADLINE)) {
      if (file.hostPath().isPresent()) {
        TarStreams.write(file.hostPath().get(), name, out);
      } else {
        TarStreams.writeBytes(file.content().orElseThrow(), name, file.mode(), out);
      }
    } catch (IOException e) {
      throw asMicroPod(b, e, "copy " + file + " into the container");
    }
  }

  static void copyOut(Boot b, String containerPath, Path hostPath) {
    try (InputStream in = b.agentClient().copyOut(b.id, containerPath, COPY_DEADLINE)) {
      TarStreams.extract(in, hostPath);
    } catch (IOException e) {
      throw asMicroPod(b, e, "copy " + containerPath + " out of the container to " + hostPath);
    }
  }

  /** Copies the tar stream {@code tar} (read to its end, not closed) into {@code containerDir}. */
  static void copyArchiveIn(Boot b, InputStream tar, String containerDir) {
    try (java.io.OutputStream out = b.agentClient().copyIn(b.id, containerDir, COPY_DEADLINE)) {
      tar.transferTo(out);
    } catch (IOException e) {
      throw asMicroPod(b, e, "copy a tar stream into the container's " + containerDir);
    }
  }

  /** Writes a tar stream of {@code containerPath} to {@code tar} (not closed). */
  static void copyArchiveOut(Boot b, String containerPath, java.io.OutputStream tar) {
    try (InputStream in = b.agentClient().copyOut(b.id, containerPath, COPY_DEADLINE)) {
      in.transferTo(tar);
      tar.flush();
    } catch (IOException e) {
      throw asMicroPod(b, e, "copy " + containerPath + " out of the container as a tar stream");
    }
  }

  private static MicroPodException asMicroPod(Boot b, IOException e, String what) {
    Throwable c = e.getCause();
    while (c != null) {
      if (c instanceof MicroPodException) {
        return (MicroPodException) c;
      }
      c = c.getCause();
    }
    return new MicroPodException("pod " + b.id + ": cannot " + what + ": " + e.getMessage(), e, b.id, null);
  }

  static MicroPod.LogFollower followLogs(Boot b, Consumer<LogLine> consumer) {
    return b.agentClient().followLogs(b.id, consumer);
  }
}
