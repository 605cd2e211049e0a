package io.micropod.examples;

import io.micropod.ExecResult;
import io.micropod.MicroPod;
import java.util.List;

/**
 * Runs commands in a running pod with {@link MicroPod#exec}: the container's environment, exit
 * codes and stderr as data, and files that the container writes into its own (private, writable)
 * root filesystem.
 *
 * <pre>
 * mvn -q exec:java -pl micropod-examples -Dexec.mainClass=io.micropod.examples.ExecAndFiles
 * </pre>
 *
 * Copying files between the host and the pod (copy in / copy out) comes with the SDK's file
 * copy API; this example only uses what exec can do.
 */
public final class ExecAndFiles {

  public static void main(String[] args) {
    String image = System.getProperty("micropod.image", "oci:" + Hello.Samples.busyboxLayout());
    for (String line : run(image)) {
      System.out.println(line);
    }
    System.exit(0);
  }

  /** Runs the example and returns what it printed, line by line (ExamplesIT checks it). */
  static List<String> run(String image) {
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

      return List.of(
          "env:     " + env.stdout().strip(),
          "failing: exit " + failing.exitCode() + ", stderr " + failing.stderr().strip(),
          "file:    " + note.stdout().strip(),
          "missing: exit " + missing.exitCode());
    }
    // end::exec[]
  }

  private ExecAndFiles() {}
}
