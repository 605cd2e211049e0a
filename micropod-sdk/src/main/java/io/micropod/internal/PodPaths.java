package io.micropod.internal;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where a pod's files go on the host, decided from its id before anything exists (the record names
 * them before the steps {@code poddir.create}, {@code sockdir.create} create them, so that a sweep
 * finds what a killed start left). Names, not resources: deleting an absent one is fine.
 *
 * @param podDir {@code <home>/pods/<id>}: the VMM's and virtiofsd's logs
 * @param socketDir {@code /tmp/micropod-<id>}: the VMM's, virtiofsd's and the relay's sockets
 * @param consoleLog {@code <config>/logs/<id>.log}; null for an attached pod whose record has none
 */
record PodPaths(Path podDir, Path socketDir, Path consoleLog) {
  /** The paths of a new pod of {@code runtime}. */
  static PodPaths of(String id, RuntimeServices runtime) {
    return new PodPaths(runtime.config().home().resolve("pods").resolve(id),
        socketBase().resolve("micropod-" + id), runtime.consoleLogs().fileOf(id));
  }

  private static Path socketBase() {
    Path tmp = Path.of("/tmp");
    return Files.isDirectory(tmp) ? tmp : Path.of(System.getProperty("java.io.tmpdir"));
  }
}
