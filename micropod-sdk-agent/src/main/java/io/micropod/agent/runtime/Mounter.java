package io.micropod.agent.runtime;

import java.io.IOException;
import java.nio.file.Path;

/** Mounts and unmounts a container's overlay root. */
public interface Mounter {
  /** Mounts an overlay of read-only {@code lower} and writable {@code upper} on {@code target}. */
  void mountOverlay(Path lower, Path upper, Path work, Path target) throws IOException;

  /** Unmounts {@code target}; succeeds when nothing is mounted there. */
  void unmount(Path target) throws IOException;
}
