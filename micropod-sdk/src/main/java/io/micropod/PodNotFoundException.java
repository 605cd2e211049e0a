package io.micropod;

/**
 * No live pod has the id or name asked for: it never existed in this config directory, it was
 * stopped, or its VM is gone. {@link #idOrName()} is what was asked for.
 */
public final class PodNotFoundException extends MicroPodException {
  private static final long serialVersionUID = 1L;

  /** The id or name asked for. */
  private final String idOrName;

  /**
   * No live pod answers to {@code idOrName}.
   *
   * @param idOrName the id or name asked for
   * @param message what went wrong and what to do next
   */
  public PodNotFoundException(String idOrName, String message) {
    super(message, null, null, null);
    this.idOrName = idOrName;
  }

  /**
   * The id or name that matched no live pod.
   *
   * @return the id or name as it was asked for
   */
  public String idOrName() {
    return idOrName;
  }
}
