package io.micropod;

/**
 * Why a call to the guest agent failed. Mirrors the status codes of the agent protocol, so that
 * callers can react without depending on the transport's own types.
 */
public enum AgentStatus {
  CANCELLED,
  UNKNOWN,
  INVALID_ARGUMENT,
  DEADLINE_EXCEEDED,
  NOT_FOUND,
  ALREADY_EXISTS,
  PERMISSION_DENIED,
  RESOURCE_EXHAUSTED,
  FAILED_PRECONDITION,
  ABORTED,
  OUT_OF_RANGE,
  UNIMPLEMENTED,
  INTERNAL,
  /** The agent cannot be reached: the VM is gone, or the channel to it broke. */
  UNAVAILABLE,
  DATA_LOSS,
  UNAUTHENTICATED
}
