package io.micropod.internal.vm;

import java.nio.file.Path;

/**
 * How a pod that can be snapshotted keeps its guest RAM: in {@code ramFile}, a file QEMU maps
 * shared ({@code memory-backend-file,share=on}), so that a snapshot's migration stream holds only
 * the device state (capability {@code x-ignore-shared}) and the snapshot keeps a sparse copy of
 * the file (see docs/snapshots.md).
 *
 * @param ramFile the guest RAM's file, in the pod's socket directory (removed with it)
 * @param restoreState for a pod restored from a snapshot: the snapshot's device state, which QEMU
 *     loads before the guest runs ({@code -incoming defer}); null for a cold start. The snapshot's
 *     RAM was copied to {@code ramFile} before QEMU starts.
 */
public record Snapshotting(Path ramFile, Path restoreState) {
  /** The RAM file's name in the pod's socket directory. */
  public static final String RAM_FILE = "ram";

  /** A cold start whose RAM lives in {@code <socketDir>/ram}. */
  public static Snapshotting cold(Path socketDir) {
    return new Snapshotting(socketDir.resolve(RAM_FILE), null);
  }

  /** Whether QEMU starts waiting for a migration stream. */
  public boolean incoming() {
    return restoreState != null;
  }
}
