package io.micropod.examples;

import io.micropod.MicroPod;
import java.time.Duration;
import java.util.OptionalInt;

/**
 * Runs untrusted code in a throw-away microVM: its own kernel, a memory and CPU limit, and a
 * deadline after which the whole VM is destroyed.
 *
 * <pre>
 * mvn -q exec:java -pl micropod-examples -Dexec.mainClass=io.micropod.examples.Sandbox \
 *     -Dexec.args="echo I am untrusted; cat /proc/meminfo | head -1"
 * mvn -q exec:java -pl micropod-examples -Dexec.mainClass=io.micropod.examples.Sandbox \
 *     -Dexec.args="while :; do :; done"      # runs forever: killed at the deadline
 * </pre>
 *
 * Network: {@code NetworkMode.NONE}, the pod has no network interface but loopback, so
 * untrusted code cannot reach the host or the internet (the default, NAT, would give it eth0).
 */
public final class Sandbox {

  /** What came of one run. */
  public static final class Outcome {
    public final boolean timedOut;
    public final int exitCode;
    public final String output;

    Outcome(boolean timedOut, int exitCode, String output) {
      this.timedOut = timedOut;
      this.exitCode = exitCode;
      this.output = output;
    }
  }

  public static void main(String[] args) {
    String code = args.length == 0 ? "echo hello from the sandbox; uname -r" : String.join(" ", args);
    String image = System.getProperty("micropod.image", "oci:" + Hello.Samples.busyboxLayout());
    Outcome o = run(image, code, Duration.ofSeconds(20));
    System.out.print(o.output);
    System.out.println(o.timedOut ? "--- killed: still running after the deadline"
        : "--- exit code " + o.exitCode);
    System.exit(o.timedOut ? 124 : o.exitCode);
  }

  // tag::sandbox[]
  static Outcome run(String image, String untrustedShellCode, Duration deadline) {
    try (MicroPod pod = MicroPod.builder()
        .image(image)
        .command("sh", "-c", untrustedShellCode)
        .memoryMib(512)   // the guest's whole RAM: the code cannot take more
        .cpus(1)          // one virtual CPU
        .networkMode(io.micropod.NetworkMode.NONE)   // only loopback: no way to the host or the internet
        .start()) {
      OptionalInt exit = pod.waitFor(deadline);   // empty: still running at the deadline
      String output = pod.logs();
      return new Outcome(exit.isEmpty(), exit.orElse(-1), output);
    } // close() destroys the VM, whatever the code is doing
  }
  // end::sandbox[]

  private Sandbox() {}
}
