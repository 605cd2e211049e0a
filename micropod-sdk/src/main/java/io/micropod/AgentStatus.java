package io.micropod;

/**
 * Why a call to the guest agent failed. Mirrors the status codes of the agent protocol, so that
 * callers can react without depending on the transport's own types.
 */
public enum AgentStatus {
  /** The call was cancelled before it completed, e.g. because the pod was closing. */
  CANCELLED,
  /** The failure has no more specific status; the exception's message says what is known. */
  UNKNOWN,
  /** The agent rejected an argument of the call (a bad path, an empty command, ...). */
  INVALID_ARGUMENT,
  /** The call did not complete in time; thrown as {@link AgentTimeoutException}. */
  DEADLINE_EXCEEDED,
  /** What the call names does not exist in the guest: a process, a file, a container. */
  NOT_FOUND,
  /** What the call creates exists already in the guest, e.g. a container id. */
  ALREADY_EXISTS,
  /** The guest refused the operation for lack of permission. */
  PERMISSION_DENIED,
  /**
   * A limit was hit: the agent sent more than the host accepts (a message, or the bytes of one
   * {@code copyOut}), or the guest ran out of a resource.
   */
  RESOURCE_EXHAUSTED,
  /**
   * The guest is not in the state the call needs, e.g. signalling a process that already exited.
   */
  FAILED_PRECONDITION,
  /** The call was aborted by a concurrent operation in the guest. */
  ABORTED,
  /** An offset or size lies outside the valid range, e.g. reading past the end of a file. */
  OUT_OF_RANGE,
  /** The agent does not implement the call: the guest image does not match this SDK. */
  UNIMPLEMENTED,
  /**
   * The agent failed unexpectedly, or the OCI runtime in the guest failed; the exception's
   * message holds the agent's description.
   */
  INTERNAL,
  /** The agent cannot be reached: the VM is gone, or the channel to it broke. */
  UNAVAILABLE,
  /** Data was lost or corrupted on the way. */
  DATA_LOSS,
  /** The agent did not accept the caller's identity. */
  UNAUTHENTICATED
}
