/**
 * Binds MicroPod to Micrometer: {@code io.micropod.micrometer.MicroPodMetrics}. An optional
 * module; the SDK ({@code io.micropod}) does not depend on it or on Micrometer.
 */
module io.micropod.micrometer {
  exports io.micropod.micrometer;

  requires transitive io.micropod;
  requires transitive micrometer.core;
  requires org.slf4j;
}
