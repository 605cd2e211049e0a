package io.micropod.agent.runtime;

import java.io.IOException;
import java.nio.file.Path;

/** Mounts and unmounts a container's overlay root and the host's virtio-fs shares. */
public interface Mounter {
  /** Mounts an overlay of read-only {@code lower} and writable {@code upper} on {@code target}. */
  void mountOverlay(Path lower, Path upper, Path work, Path target) throws IOException;

  /** Unmounts {@code target}; succeeds when nothing is mounted there. */
  void unmount(Path target) throws IOException;

  /**
   * Mounts the virtio-fs device with {@code tag} on {@code target}, read-only when
   * {@code readOnly}.
   */
  default void mountVirtiofs(String tag, Path target, boolean readOnly) throws IOException {
    throw new IOException("this mounter cannot mount virtio-fs (tag " + tag + ")");
  }
}
