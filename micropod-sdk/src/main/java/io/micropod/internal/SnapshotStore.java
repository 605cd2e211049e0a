package io.micropod.internal;

import io.micropod.PodSnapshot;
import io.micropod.PodTemplate;
import java.util.List;
import java.util.Optional;

/** {@link io.micropod.MicroPodRuntime}'s door to {@link Snapshots} and the warm starts' templates ({@link WarmStarts}). */
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

  public static List<PodTemplate> templates(RuntimeServices runtime) {
    return WarmStarts.list(runtime.config().home());
  }

  public static Optional<PodTemplate> template(RuntimeServices runtime, String id) {
    return WarmStarts.find(runtime.config().home(), id);
  }

  public static boolean removeTemplate(RuntimeServices runtime, String id) {
    return WarmStarts.remove(runtime.config().home(), id);
  }

  public static List<PodTemplate> pruneTemplates(RuntimeServices runtime) {
    return WarmStarts.prune(runtime.config().home());
  }
}
