package io.micropod.examples.cli;

import io.micropod.MicroPod;
import io.micropod.MicroPodException;
import io.micropod.MicroPodRuntime;
import io.micropod.PodInfo;
import io.micropod.PodNotFoundException;
import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Pods of other CLI processes: {@code list}, {@code logs}, {@code exec} and {@code stop} find them
 * through the SDK's pod records ({@link MicroPodRuntime#list()}, {@link MicroPodRuntime#attach}).
 *
 * <p>Letting go without stopping: an attached handle that is not closed leaves its pod running,
 * and the pod can be attached again once the attaching JVM is gone (see
 * {@code docs/reliability.md}). {@code logs} and {@code exec} therefore never close their handle;
 * the CLI's JVM exits right after the command ({@link Main#main} calls {@code System.exit}), which
 * closes the agent channel's socket and ends its ownership. The SDK has no in-JVM release of an
 * attached handle, so an application that wants to detach without exiting cannot use this pattern.
 */
final class Pods {
  /** The host address published ports listen on (the SDK publishes on loopback only). */
  static final String PUBLISHED_ADDRESS = "127.0.0.1";

  private Pods() {}

  /** A runtime for the pods of {@code MICROPOD_HOME} (the config directory as the SDK finds it). */
  static MicroPodRuntime runtime(Map<String, String> env) {
    return MicroPodRuntime.builder().build();
  }

  /**
   * Attaches to {@code idOrName}; never close the result unless the pod is to be stopped.
   *
   * @throws io.micropod.PodNotFoundException when no live pod has that id or name
   * @throws io.micropod.PodBusyException when the process holding it does not answer
   */
  static MicroPod attach(MicroPodRuntime runtime, String idOrName) {
    return runtime.attach(idOrName);
  }

  /** The pod of {@code pods} with id or name {@code idOrName}. */
  static Optional<PodInfo> find(List<PodInfo> pods, String idOrName) {
    return pods.stream().filter(i -> i.id().equals(idOrName) || i.name().filter(idOrName::equals).isPresent())
        .findFirst();
  }

  /**
   * When {@code idOrName} is a pod whose main process exited ({@link PodInfo.Status#EXITED}):
   * Docker's answer to an exec into a stopped container ("container ... is not running"), with
   * what to do instead; empty for any other pod, or none.
   */
  static Optional<String> exited(MicroPodRuntime runtime, String idOrName) {
    return find(runtime.list(), idOrName).filter(p -> p.status() == PodInfo.Status.EXITED).map(p ->
        "pod " + idOrName + " is not running: its main process exited"
            + (p.lastExitCode().isPresent() ? " with status " + p.lastExitCode().getAsInt() : "")
            + "; see why with `micropod logs " + idOrName + "`, remove it with `micropod rm " + idOrName + "`"
            + " (an exited pod cannot be started again: `micropod run` a new one)");
  }

  /**
   * For each pod: attaches, runs {@code action}, closes the handle (which removes a pod this
   * process now owns) and prints the pod as given on {@code out}; a pod that fails gets one line
   * on {@code err} and the others are still done.
   *
   * @return 0, or the exit status of the last failure
   */
  static int closeEach(MicroPodRuntime runtime, List<String> pods, PrintWriter out, PrintWriter err,
      boolean debug, Consumer<MicroPod> action) {
    int code = 0;
    for (String p : pods) {
      try (MicroPod pod = attach(runtime, p)) {
        action.accept(pod);
      } catch (PodNotFoundException e) {
        err.println("micropod: " + Errors.noSuchPod(e));
        code = ExitCodes.NO_SUCH_POD;
        continue;
      } catch (MicroPodException e) {
        err.println("micropod: " + Errors.firstLine(e.getMessage(), debug));
        code = ExitCodes.FAILURE;
        continue;
      }
      out.println(p);
      out.flush();
    }
    err.flush();
    return code;
  }

  /**
   * For each pod: attaches, runs {@code action} and leaves the pod running (the handle is never
   * closed: that would stop it), printing the pod as given on stdout; a pod that fails gets one
   * line on stderr and the others are still done ({@code pause}, {@code resume}, {@code kill}).
   *
   * @return 0, or the exit status of the last failure: {@value ExitCodes#NO_SUCH_POD} for a pod
   *     that does not exist, {@value ExitCodes#NOT_RUNNING} for {@link NotRunningException},
   *     else {@value ExitCodes#FAILURE}
   */
  static int attachEach(Main main, List<String> pods, Consumer<MicroPod> action) {
    PrintWriter out = main.spec.commandLine().getOut();
    PrintWriter err = main.spec.commandLine().getErr();
    int code = 0;
    try (MicroPodRuntime runtime = runtime(main.env)) {
      for (String p : pods) {
        try {
          action.accept(attach(runtime, p));
          out.println(p);
        } catch (PodNotFoundException e) {
          err.println("micropod: " + Errors.noSuchPod(e));
          code = ExitCodes.NO_SUCH_POD;
        } catch (NotRunningException e) {
          err.println("micropod: " + e.getMessage());
          code = ExitCodes.NOT_RUNNING;
        } catch (RuntimeException e) {
          err.println("micropod: " + p + ": " + Errors.firstLine(e.getMessage(), main.debug()));
          code = ExitCodes.FAILURE;
        }
      }
    }
    out.flush();
    err.flush();
    return code;
  }

  /** The pod's main process does not run, so the action cannot be done (Docker's "is not running"). */
  static final class NotRunningException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    NotRunningException(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
