package io.micropod.agent.rpc;

import io.grpc.stub.ServerCallStreamObserver;

/**
 * How much a streaming call may have queued in gRPC before its writer waits for readiness: the
 * one place for that rule (ExecProcess, CopyOut, PortForward).
 *
 * <p>gRPC's default on-ready threshold is 32 KiB: a call is not ready while that much of it waits
 * in the transport. A writer of 64 KiB messages then waits for an on-ready event (a hand-off
 * between threads) after every message, and the transport never has the next message queued
 * when it finishes the last. Under TCG, with an interpreted JVM on one vCPU, that alternation
 * cost more than the bytes themselves (docs/performance.md, "P5 streams"). With 256 KiB, a few
 * messages queue per call: memory per call stays bounded (the threshold plus one message), and
 * the host's HTTP/2 flow-control window still bounds what is in flight.
 */
final class StreamWindow {
  /** Bytes a call may have queued in gRPC and still be ready. */
  static final int ON_READY_THRESHOLD = 256 * 1024;

  /** Bytes of one data message the agent's stream writers send at most. */
  static final int CHUNK_BYTES = 64 * 1024;

  private StreamWindow() {}

  /** Applies {@link #ON_READY_THRESHOLD} to {@code call}; call before the first message. */
  static void apply(ServerCallStreamObserver<?> call) {
    call.setOnReadyThreshold(ON_READY_THRESHOLD);
  }
}
