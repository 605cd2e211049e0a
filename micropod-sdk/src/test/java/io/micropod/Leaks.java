package io.micropod;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Finds what a pod may have left behind: processes, sockets, directories. */
final class Leaks {

  /** Everything that still mentions the pod id: live processes and per-pod paths. */
  static List<String> of(String podId) {
    List<String> leaks = new ArrayList<>();
    ProcessHandle.allProcesses()
        .filter(ProcessHandle::isAlive)
        .forEach(p -> p.info().commandLine().ifPresent(cmd -> {
          if (cmd.contains(podId)) {
            leaks.add("process " + p.pid() + ": " + cmd);
          }
        }));
    for (Path path : List.of(
        Path.of("/tmp", "micropod-" + podId),
        TestImages.home().resolve("pods").resolve(podId))) {
      if (Files.exists(path)) {
        leaks.add("path " + path);
      }
    }
    return leaks;
  }

  /** Pods ids seen in per-pod paths, to find the id of a pod whose start() failed. */
  static List<String> podDirs() {
    Path pods = TestImages.home().resolve("pods");
    List<String> ids = new ArrayList<>();
    if (Files.isDirectory(pods)) {
      try (var stream = Files.list(pods)) {
        stream.forEach(p -> ids.add(p.getFileName().toString()));
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
    return ids;
  }

  /** Live VMM and virtiofsd processes on this host, whoever started them. */
  static List<String> vmProcesses() {
    List<String> found = new ArrayList<>();
    ProcessHandle.allProcesses()
        .filter(ProcessHandle::isAlive)
        .forEach(p -> p.info().commandLine().ifPresent(cmd -> {
          if ((cmd.contains("qemu-system") || cmd.contains("virtiofsd")) && cmd.contains("micropod")) {
            found.add(p.pid() + ": " + cmd);
          }
        }));
    return found;
  }

  private Leaks() {}
}
