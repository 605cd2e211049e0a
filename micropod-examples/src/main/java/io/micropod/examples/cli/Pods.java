package io.micropod.examples.cli;

import io.micropod.MicroPod;
import io.micropod.MicroPodRuntime;
import java.util.Map;

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
  private Pods() {}

  /** A runtime for the pods of {@code MICROPOD_HOME} (the config directory as the SDK finds it). */
  static MicroPodRuntime runtime(Map<String, String> env) {
    return MicroPodRuntime.builder().build();
  }

  /**
   * Attaches to {@code idOrName}; never close the result unless the pod is to be stopped.
   *
   * @throws io.micropod.PodNotFoundException when no live pod has that id or name
   * @throws io.micropod.PodBusyException when another live process holds it
   */
  static MicroPod attach(MicroPodRuntime runtime, String idOrName) {
    return runtime.attach(idOrName);
  }
}
