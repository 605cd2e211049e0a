/**
 * Run OCI container images inside microVMs: {@link io.micropod.MicroPod},
 * {@link io.micropod.MicroPodSpec}, {@link io.micropod.MicroPodRuntime} and the exceptions
 * rooted at {@link io.micropod.MicroPodException}.
 *
 * <p>Public signatures in this package and in {@code io.micropod.event} use only JDK and
 * {@code io.micropod} types; everything under {@code io.micropod.internal} may change without
 * notice.
 */
package io.micropod;
