package io.micropod.internal.agent;

/**
 * The host-side bounds on what a guest agent can make the host hold or do. The guest is untrusted
 * once a container ran (docs/security.md): whatever it sends, the host JVM keeps at most these
 * amounts in memory, and a breach gives an {@link io.micropod.AgentException} naming the limit or
 * an explicit truncation marker in the data, never an {@link OutOfMemoryError} or a hang.
 *
 * <p>The constants are the defaults every pod uses; an instance carries a set of limits so that
 * tests can use small ones.
 *
 * @param maxOutputBytes bytes of one exec's stdout, and separately of its stderr, held in memory
 * @param maxLogBytes bytes {@code pod.logs()} collects
 * @param maxLineBytes bytes of one log line a follower delivers
 * @param maxCopyOutBytes bytes of tar stream one {@code copyOut} reads from the agent
 */
public record AgentLimits(long maxOutputBytes, long maxLogBytes, int maxLineBytes, long maxCopyOutBytes) {

  /**
   * Default largest gRPC message the host accepts from the agent: 4 MiB. The agent sends chunks of
   * at most 64 KiB and small unary answers, so this leaves room while keeping one message (which
   * gRPC buffers whole before handing it on) small.
   */
  public static final int MAX_INBOUND_MESSAGE_BYTES = 4 << 20;

  /** Default largest header/trailer metadata the host accepts from the agent: 8 KiB. */
  public static final int MAX_INBOUND_METADATA_BYTES = 8 << 10;

  /**
   * Default bytes of an exec's stdout, and separately of its stderr, held in memory: 16 MiB each.
   * What comes after is dropped and {@link #truncationMarker} is appended once.
   */
  public static final long MAX_OUTPUT_BYTES = 16L << 20;

  /** Default bytes {@code pod.logs()} returns: 16 MiB; then the marker, and the call is cancelled. */
  public static final long MAX_LOG_BYTES = 16L << 20;

  /**
   * Default bytes of one log line delivered to a {@code followLogs} consumer: 64 KiB. A longer line
   * is cut there, gets {@link #truncationMarker}, and the rest up to the next newline is dropped.
   */
  public static final int MAX_LINE_BYTES = 64 << 10;

  /**
   * Default bytes of the tar stream one {@code copyOut} reads: 4 GiB; past it the copy fails with
   * an {@link io.micropod.AgentException} ({@code RESOURCE_EXHAUSTED}) naming the limit.
   */
  public static final long MAX_COPY_OUT_BYTES = 4L << 30;

  /**
   * Default number of port-forward connections open at once per pod (all its published ports
   * together): 256. Further connections are accepted and closed at once, with a WARN log.
   */
  public static final int MAX_PORT_CONNECTIONS = 256;

  /** The limits every pod uses. */
  public static final AgentLimits DEFAULTS =
      new AgentLimits(MAX_OUTPUT_BYTES, MAX_LOG_BYTES, MAX_LINE_BYTES, MAX_COPY_OUT_BYTES);

  public AgentLimits {
    if (maxOutputBytes < 0 || maxLogBytes < 0 || maxLineBytes < 0 || maxCopyOutBytes < 0) {
      throw new IllegalArgumentException("negative limit: " + maxOutputBytes + ", " + maxLogBytes
          + ", " + maxLineBytes + ", " + maxCopyOutBytes);
    }
  }

  /** The marker appended where output was cut: {@code [micropod: output truncated after N bytes]}. */
  public static String truncationMarker(long limit) {
    return "[micropod: output truncated after " + limit + " bytes]";
  }
}
