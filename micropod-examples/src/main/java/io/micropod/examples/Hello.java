package io.micropod.examples;

import io.micropod.BootTimings;
import io.micropod.MicroPod;
import io.micropod.MicroPodException;
import java.nio.file.Path;
import java.util.List;

/**
 * Runs one command in a container inside a fresh microVM and prints what it said and how long
 * each part of the start took.
 *
 * <pre>
 * mvn -q exec:java -pl micropod-examples                          # the default greeting
 * mvn -q exec:java -pl micropod-examples -Dexec.args="echo hi"    # any command
 * </pre>
 *
 * The image is the busybox OCI layout that the build writes offline ({@code mvn install} runs
 * rootfs-builder); pass {@code -Dmicropod.image=oci:/path/to/layout:tag} to use another one.
 */
public final class Hello {

  private static final List<String> GREETING = List.of(
      "sh", "-c", "echo \"Hello from container $(hostname), kernel $(uname -r), pid $$\"");

  public static void main(String[] args) {
    String image = System.getProperty("micropod.image", "oci:" + Samples.busyboxLayout());
    List<String> command = args.length == 0 ? GREETING : List.of(args);

    int exitCode;
    try {
      exitCode = run(image, command);
    } catch (MicroPodException e) {
      System.err.println("micropod: " + e.getMessage());
      exitCode = 125;
    }
    // Only after the pod is closed: System.exit skips finally blocks.
    System.exit(exitCode);
  }

  static int run(String image, List<String> command) {
    long t0 = System.nanoTime();
    // tag::hello[]
    try (MicroPod pod = MicroPod.builder()
        .image(image)
        .command(command)
        .memoryMib(512)
        .cpus(1)
        .start()) {
      long started = System.nanoTime();
      int exitCode = pod.waitFor();
      long exited = System.nanoTime();
      System.out.print(pod.logs());
      BootTimings timings = pod.bootTimings();
      System.out.println("---");
      System.out.println("pod " + pod.id() + " exited with " + exitCode);
      System.out.println("boot timings: " + timings);
      System.out.printf("start() returned after %d ms; the container had exited %d ms after start() was called%n",
          (started - t0) / 1_000_000, (exited - t0) / 1_000_000);
      return exitCode;
    }
    // end::hello[]
  }

  private Hello() {}

  /** Where the build puts the offline sample images. */
  static final class Samples {
    static Path busyboxLayout() {
      String home = System.getProperty("micropod.home", System.getenv("MICROPOD_HOME"));
      Path base = home != null && !home.isBlank()
          ? Path.of(home)
          : Path.of(System.getProperty("user.home"), ".cache", "micropod");
      return base.resolve("oci").resolve("busybox");
    }

    private Samples() {}
  }
}
