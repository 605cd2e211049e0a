/** Typed, non-blocking progress events of pods: {@link io.micropod.event.MicroPodListener}. */
package io.micropod.event;
