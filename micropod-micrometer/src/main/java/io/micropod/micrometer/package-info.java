/**
 * Micrometer meters for MicroPod pods: {@link io.micropod.micrometer.MicroPodMetrics}.
 */
package io.micropod.micrometer;
