package io.micropod.testkit.internal;

import io.micropod.MicroPod;
import io.micropod.MicroPodSpec;
import io.micropod.testkit.ManagedPod;

/**
 * What the extension may do to a {@link ManagedPod} beyond its public API (the OkHttp
 * {@code Internal} pattern): {@link ManagedPod} installs the implementation when it loads.
 */
public abstract class ManagedPodAccess {
  private static volatile ManagedPodAccess instance;

  /** Called once, by {@link ManagedPod}'s static initializer. */
  public static void set(ManagedPodAccess access) {
    instance = access;
  }

  static ManagedPodAccess get() {
    ManagedPodAccess a = instance;
    if (a == null) {
      try {
        Class.forName(ManagedPod.class.getName(), true, ManagedPod.class.getClassLoader());
      } catch (ClassNotFoundException e) {
        throw new IllegalStateException(e);
      }
      a = instance;
    }
    return a;
  }

  /**
   * Makes {@code managed} use {@code shared}, which it does not own, after running its wait
   * strategies on it.
   */
  public abstract void attach(ManagedPod managed, MicroPod shared);

  /**
   * Starts a pod of {@code restore} (a spec restored from a snapshot of {@code managed}'s spec),
   * owned by {@code managed}, without running its wait strategies again.
   */
  public abstract void startRestored(ManagedPod managed, MicroPodSpec restore);
}
