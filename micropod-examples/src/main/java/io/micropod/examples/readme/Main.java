package io.micropod.examples.readme;

// The README's examples, compiled so that the README cannot drift from the API
// (DocSnippetsTest compares them). The image path is the README's placeholder.
// tag::main[]
import io.micropod.ExecResult;
import io.micropod.MicroPod;

public class Main {
  public static void main(String[] args) {
    try (MicroPod pod = MicroPod.builder().image("oci:/path/to/layout:latest")
        .command("sh", "-c", "echo hello from a microVM").start()) {
      ExecResult r = pod.exec("uname", "-r");
      System.out.println(pod.logs() + r.stdout());
    }
  }
}
// end::main[]

/** The README's first example. */
final class Intro {
  static void run() {
    // tag::intro[]
    try (MicroPod pod = MicroPod.builder()
        .image("oci:/path/to/layout:latest")
        .command("sh", "-c", "echo hello")
        .memoryMib(512)
        .start()) {
      ExecResult r = pod.exec("cat", "/etc/passwd");
      System.out.println(pod.logs() + r.stdout());
    }
    // end::intro[]
  }

  private Intro() {}
}
