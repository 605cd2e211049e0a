package io.micropod.examples;

import io.micropod.ExecResult;
import io.micropod.MicroPod;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Runs commands in a running pod with {@link MicroPod#exec}: the container's environment, exit
 * codes and stderr as data, files that the container writes into its own (private, writable)
 * root filesystem, and files copied between the host and the pod with {@link MicroPod#copyIn}
 * and {@link MicroPod#copyOut}.
 *
 * <pre>
 * mvn -q exec:java -pl micropod-examples -Dexec.mainClass=io.micropod.examples.ExecAndFiles
 * </pre>
 */
public final class ExecAndFiles {

  public static void main(String[] args) throws IOException {
    String image = System.getProperty("micropod.image", "oci:" + Hello.Samples.busyboxLayout());
    for (String line : run(image)) {
      System.out.println(line);
    }
    System.exit(0);
  }

  /** Runs the example and returns what it printed, line by line (ExamplesIT checks it). */
  static List<String> run(String image) throws IOException {
    Path work = Files.createTempDirectory("exec-and-files");
    try {
      return run(image, work);
    } finally {
      try (Stream<Path> paths = Files.walk(work)) {
        for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
          Files.delete(p);
        }
      }
    }
  }

  private static List<String> run(String image, Path work) throws IOException {
    // tag::exec[]
    try (MicroPod pod = MicroPod.builder()
        .image(image)
        .command("sleep", "3600")            // keep the container running for the execs
        .env("APP_MODE", "demo")             // the container's env: every exec sees it too
        .workingDir("/tmp")
        .start()) {

      // 1. stdout, stderr and the exit code are data, not exceptions
      ExecResult env = pod.exec("sh", "-c", "echo mode=$APP_MODE cwd=$(pwd)");
      ExecResult failing = pod.exec("sh", "-c", "echo oops >&2; exit 3");

      // 2. the container's root filesystem is writable and private to this pod
      pod.exec("sh", "-c", "echo 'written by exec 1' > /tmp/note.txt");
      ExecResult note = pod.exec("cat", "/tmp/note.txt");

      // 3. a command that is not in the image: exit code 127, as in a shell
      ExecResult missing = pod.exec("no-such-tool");

      // 4. copy a host file in, let the container change it, copy the result out
      Path input = Files.writeString(work.resolve("words.txt"), "copied in from the host\n");
      pod.copyIn(input, "/data/words.txt");             // missing parents are made
      pod.exec("sh", "-c", "tr a-z A-Z < /data/words.txt > /data/shouted.txt");
      Path output = work.resolve("shouted.txt");        // must not exist yet
      pod.copyOut("/data/shouted.txt", output);

      return List.of(
          "env:     " + env.stdout().strip(),
          "failing: exit " + failing.exitCode() + ", stderr " + failing.stderr().strip(),
          "file:    " + note.stdout().strip(),
          "missing: exit " + missing.exitCode(),
          "copied:  " + Files.readString(output).strip());
    }
    // end::exec[]
  }

  private ExecAndFiles() {}
}
