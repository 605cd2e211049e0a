package io.micropod;

import io.micropod.event.Phase;

/**
 * The VM (or a helper it needs, such as virtiofsd) could not be started or died while booting.
 * {@link #stepId()} names the boot step, {@link #consoleTail()} holds the last lines of the guest
 * console log and of the VMM's own output: usually the reason.
 */
public final class VmStartException extends MicroPodException {
  private static final long serialVersionUID = 1L;

  /** The failed boot step's id. */
  private final String stepId;
  /** The console and VMM output tail; empty when there was none. */
  private final String consoleTail;

  /**
   * A failed VM start; the message gets {@code consoleTail} appended when it is not blank.
   *
   * @param message what went wrong and what to do next
   * @param cause the underlying failure, or null
   * @param podId the pod that was starting
   * @param phase the phase that failed
   * @param stepId the id of the boot step that failed, e.g. {@code vmm.spawn}
   * @param consoleTail the end of the guest console log and the VMM's stderr; null counts as empty
   */
  public VmStartException(
      String message, Throwable cause, String podId, Phase phase, String stepId, String consoleTail) {
    super(withTail(message, consoleTail), cause, podId, phase);
    this.stepId = stepId;
    this.consoleTail = consoleTail == null ? "" : consoleTail;
  }

  /**
   * The id of the boot step that failed, e.g. {@code vmm.spawn}.
   *
   * @return the boot step's id
   */
  public String stepId() {
    return stepId;
  }

  /**
   * The last lines (about 40) of the guest console log followed by the VMM's stderr; empty when
   * nothing was written.
   *
   * @return the console and VMM output tail, never null
   */
  public String consoleTail() {
    return consoleTail;
  }

  private static String withTail(String message, String tail) {
    if (tail == null || tail.isBlank()) {
      return message;
    }
    return message + "\n--- console and VMM output (last lines) ---\n" + tail;
  }
}
