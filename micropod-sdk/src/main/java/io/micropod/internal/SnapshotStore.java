package io.micropod.internal;

import io.micropod.PodSnapshot;
import java.util.List;
import java.util.Optional;

/** {@link io.micropod.MicroPodRuntime}'s door to {@link Snapshots}. */
public final class SnapshotStore {
  private SnapshotStore() {}

  public static List<PodSnapshot> list(RuntimeServices runtime) {
    return Snapshots.list(runtime.config().home());
  }

  public static Optional<PodSnapshot> find(RuntimeServices runtime, String name) {
    return Snapshots.find(runtime.config().home(), name);
  }

  public static boolean remove(RuntimeServices runtime, String name) {
    return Snapshots.remove(runtime.config().home(), name);
  }
}
