package io.micropod.examples.cli;

import io.micropod.MicroPod;
import io.micropod.HostUnsupportedException;
import io.micropod.MicroPodRuntime;
import io.micropod.PodInfo;
import io.micropod.PodNotFoundException;
import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Pods of other CLI processes: {@code list}, {@code logs}, {@code exec}, {@code stop} and the other
 * verbs of several pods ({@link #each}) find them through the SDK's pod records ({@link MicroPodRuntime#list()}, {@link MicroPodRuntime#attach}).
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
   * Attaches to {@code idOrName} for a verb that needs its main process ({@code exec}, {@code top});
   * the handle is not to be closed (that would stop the pod: the JVM's exit lets go of it).
   *
   * @throws NotRunningException when the pod's main process exited ({@link #exited})
   */
  static MicroPod attachRunning(MicroPodRuntime runtime, String idOrName) {
    Optional<String> exited = exited(runtime, idOrName);
    if (exited.isPresent()) {
      throw new NotRunningException(exited.get(), null);
    }
    return attach(runtime, idOrName);
  }

  /** What a verb of several pods does with one: the line to print on stdout once it is done. */
  @FunctionalInterface
  interface Verb {
    String apply(MicroPodRuntime runtime, String pod);
  }

  /**
   * A verb that attaches, runs {@code action}, closes the handle (which stops and removes a pod
   * this process now owns, even when {@code action} failed) and prints the pod as given
   * ({@code stop}, {@code rm}).
   */
  static Verb closing(Consumer<MicroPod> action) {
    return (runtime, p) -> {
      try (MicroPod pod = attach(runtime, p)) {
        action.accept(pod);
      }
      return p;
    };
  }

  /**
   * A verb that attaches, runs {@code action} and leaves the pod running (the handle is never
   * closed: that would stop it), printing the pod as given ({@code pause}, {@code resume},
   * {@code kill}).
   */
  static Verb leavingRunning(Consumer<MicroPod> action) {
    return (runtime, p) -> {
      action.accept(attach(runtime, p));
      return p;
    };
  }

  /**
   * The one loop of the verbs that take several pods ({@code stop}, {@code rm}, {@code pause},
   * {@code resume}, {@code kill}, {@code wait}, {@code restart}): for each pod, in the order given,
   * runs {@code verb} and prints its line on stdout as soon as it is done. As Docker does, a pod
   * that fails gets one line on stderr and the others are still done: no such pod, a main process
   * that does not run, and any other failure of that pod ({@code micropod: POD: what went wrong}).
   * Only a host that cannot run MicroPod at all ({@link HostUnsupportedException}, the same for
   * every pod) ends the command at once, with the one line {@link Errors} gives it.
   *
   * @return 0, or the exit status of the last failure: {@value ExitCodes#NO_SUCH_POD} for a pod
   *     that does not exist, {@value ExitCodes#NOT_RUNNING} for {@link NotRunningException},
   *     else {@value ExitCodes#FAILURE}
   */
  static int each(Main main, MicroPodRuntime runtime, List<String> pods, Verb verb) {
    PrintWriter out = main.spec.commandLine().getOut();
    PrintWriter err = main.spec.commandLine().getErr();
    int code = 0;
    try {
      for (String p : pods) {
        try {
          out.println(verb.apply(runtime, p));
          out.flush();
        } catch (PodNotFoundException e) {
          err.println("micropod: " + Errors.noSuchPod(e));
          code = ExitCodes.NO_SUCH_POD;
        } catch (NotRunningException e) {
          err.println("micropod: " + e.getMessage());
          code = ExitCodes.NOT_RUNNING;
        } catch (HostUnsupportedException e) {
          throw e;
        } catch (RuntimeException e) {
          if (main.debug()) {
            e.printStackTrace(err);
          }
          String why = e.getMessage() == null ? e.toString() : Errors.firstLine(e.getMessage(), main.debug());
          err.println("micropod: " + p + ": " + why);
          code = ExitCodes.FAILURE;
        }
      }
    } finally {
      out.flush();
      err.flush();
    }
    return code;
  }

  /** {@link #each} with a runtime of its own. */
  static int each(Main main, List<String> pods, Verb verb) {
    try (MicroPodRuntime runtime = runtime(main.env)) {
      return each(main, runtime, pods, verb);
    }
  }

  /**
   * The pod's main process does not run, so the action cannot be done (Docker's "is not running"):
   * exit {@value ExitCodes#NOT_RUNNING} and the message as it is, per pod ({@link #each}) or for a
   * command of one pod ({@link Errors}).
   */
  static final class NotRunningException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    NotRunningException(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
