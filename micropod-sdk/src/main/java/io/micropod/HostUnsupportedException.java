package io.micropod;

import java.util.List;

/**
 * This host cannot run pods: a VMM binary, a helper, the guest image or a permission is
 * missing. {@link #missing()} lists each missing thing with where it was looked for and how to
 * get it; the message joins them.
 */
public final class HostUnsupportedException extends MicroPodException {
  private static final long serialVersionUID = 1L;

  /** One line per missing thing. */
  private final List<String> missing;

  /** @param missing one human-readable line per missing thing; not empty */
  public HostUnsupportedException(List<String> missing) {
    super(message(missing));
    this.missing = List.copyOf(missing);
  }

  /**
   * One line per missing thing, naming the path looked at and how to get it.
   *
   * @return the missing things, one line each; an unmodifiable list, never empty
   */
  public List<String> missing() {
    return missing;
  }

  private static String message(List<String> missing) {
    if (missing.isEmpty()) {
      throw new IllegalArgumentException("missing is empty");
    }
    if (missing.size() == 1) {
      return "this host cannot run MicroPod pods: " + missing.get(0);
    }
    StringBuilder sb = new StringBuilder("this host cannot run MicroPod pods:");
    for (String m : missing) {
      sb.append("\n  - ").append(m);
    }
    return sb.toString();
  }
}
