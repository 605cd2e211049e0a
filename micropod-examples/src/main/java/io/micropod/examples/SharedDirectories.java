package io.micropod.examples;

import io.micropod.ExecResult;
import io.micropod.MicroPod;
import io.micropod.Mount;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Shares host directories with a pod ({@link Mount}, virtio-fs; QEMU driver): the container
 * reads a read-only input directory, cannot write to it, and writes its result into a
 * read-write output directory, where the host reads it at once.
 *
 * <pre>
 * mvn -q exec:java -pl micropod-examples -Dexec.mainClass=io.micropod.examples.SharedDirectories
 * </pre>
 */
public final class SharedDirectories {

  public static void main(String[] args) throws IOException {
    String image = System.getProperty("micropod.image", "oci:" + Hello.Samples.busyboxLayout());
    for (String line : run(image)) {
      System.out.println(line);
    }
    System.exit(0);
  }

  /** Runs the example and returns what it printed, line by line (ExamplesIT checks it). */
  static List<String> run(String image) throws IOException {
    Path work = Files.createTempDirectory("shared-directories");
    try {
      Path input = Files.createDirectories(work.resolve("input"));
      Path output = Files.createDirectories(work.resolve("output"));
      Files.writeString(input.resolve("words.txt"), "shared from the host\n");
      return run(image, input, output);
    } finally {
      try (Stream<Path> paths = Files.walk(work)) {
        for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
          Files.delete(p);
        }
      }
    }
  }

  private static List<String> run(String image, Path input, Path output) throws IOException {
    // tag::mounts[]
    try (MicroPod pod = MicroPod.builder()
        .image(image)
        .command("sleep", "3600")
        .mount(Mount.readOnly(input, "/input"))      // the container reads it, cannot change it
        .mount(Mount.readWrite(output, "/output"))   // its writes land in the host directory
        .start()) {

      ExecResult denied = pod.exec("sh", "-c", "echo x > /input/words.txt");
      pod.exec("sh", "-c", "tr a-z A-Z < /input/words.txt > /output/shouted.txt");

      return List.of(
          "read-only: exit " + denied.exitCode() + ", " + denied.stderr().strip(),
          "on host:   " + Files.readString(output.resolve("shouted.txt")).strip());
    }
    // end::mounts[]
  }

  private SharedDirectories() {}
}
