package io.micropod;

/**
 * How the container's main process ended.
 *
 * @param exitCode its exit code, or 128 + signal number when a signal killed it
 * @param oomKilled the kernel's OOM killer killed a process of the container because it reached
 *     its memory limit ({@link MicroPodSpec#containerMemoryMib()}); then {@code exitCode} is 137
 *     when the main process was the one killed
 */
public record ExitStatus(int exitCode, boolean oomKilled) {}
