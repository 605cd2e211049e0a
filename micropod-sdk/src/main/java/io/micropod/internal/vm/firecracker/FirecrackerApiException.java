package io.micropod.internal.vm.firecracker;

import java.io.IOException;

/**
 * A Firecracker API call failed: the VMM answered with an error status (its
 * {@code fault_message} is kept), or the socket failed. Internal: the driver turns it into a
 * {@code VmStartException} naming the boot step.
 */
public final class FirecrackerApiException extends IOException {
  private final String method;
  private final String path;
  private final int status;
  private final String faultMessage;

  FirecrackerApiException(String method, String path, int status, String faultMessage, Throwable cause) {
    super(message(method, path, status, faultMessage, cause), cause);
    this.method = method;
    this.path = path;
    this.status = status;
    this.faultMessage = faultMessage;
  }

  private static String message(String method, String path, int status, String fault, Throwable cause) {
    if (status > 0) {
      return "Firecracker API " + method + " " + path + " answered " + status
          + (fault == null || fault.isEmpty() ? "" : ": " + fault);
    }
    return "Firecracker API " + method + " " + path + " failed: " + cause;
  }

  public String method() {
    return method;
  }

  public String path() {
    return path;
  }

  /** The HTTP status; 0 when no answer came (socket error, timeout). */
  public int status() {
    return status;
  }

  /** The {@code fault_message} of the error body; empty when there was none. */
  public String faultMessage() {
    return faultMessage;
  }
}
