/**
 * The MicroPod JUnit 5 extension: {@code @MicroPodContainer} fields, {@code ManagedPod}, waits.
 * Only {@code io.micropod.testkit} is exported; JUnit instantiates the extension
 * ({@code io.micropod.testkit.internal.MicroPodExtension}) reflectively, so that package is open
 * to it alone.
 */
module io.micropod.testkit {
  exports io.micropod.testkit;

  opens io.micropod.testkit.internal to org.junit.platform.commons;

  requires transitive io.micropod;
  requires transitive org.junit.jupiter.api;
  requires org.junit.platform.commons;
  requires org.slf4j;
}
