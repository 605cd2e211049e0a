package io.micropod.agent.runtime;

/**
 * A container operation that failed for a reason the caller should see; {@link #reason()} maps
 * one-to-one onto a gRPC status code in the rpc layer (this package does not depend on gRPC).
 */
public final class ContainerException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Why the operation failed. */
  public enum Reason {
    INVALID_ARGUMENT,
    NOT_FOUND,
    ALREADY_EXISTS,
    FAILED_PRECONDITION,
    UNIMPLEMENTED,
    DEADLINE_EXCEEDED,
    INTERNAL
  }

  private final Reason reason;

  public ContainerException(Reason reason, String message) {
    super(message);
    this.reason = reason;
  }

  public ContainerException(Reason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }

  static ContainerException invalid(String message) {
    return new ContainerException(Reason.INVALID_ARGUMENT, message);
  }

  static ContainerException notFound(String id) {
    return new ContainerException(Reason.NOT_FOUND, "no container with id " + id);
  }

  static ContainerException precondition(String message) {
    return new ContainerException(Reason.FAILED_PRECONDITION, message);
  }

  static ContainerException internal(String message, Throwable cause) {
    return new ContainerException(Reason.INTERNAL, message, cause);
  }
}
