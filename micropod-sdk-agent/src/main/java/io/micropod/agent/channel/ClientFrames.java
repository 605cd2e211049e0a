package io.micropod.agent.channel;

import java.nio.charset.StandardCharsets;

/**
 * Follows the HTTP/2 frame boundaries of one host session in the host-to-guest direction (the
 * 24-byte client connection preface, then frames: a 9-byte header whose first 3 bytes are the
 * payload length, then the payload), to find a client preface that starts at a frame boundary
 * after the session's own: a new host, whose disconnect-and-connect the guest never saw (the
 * port's EOF is missed when the host changes while the guest is paused, or right after a
 * restore).
 *
 * <p>Why this is safe on a live connection: at a frame boundary, a record that begins with the
 * preface's first 9 bytes ({@code "PRI * HTT"}) is no valid frame (length 0x505249, more than any
 * frame the agent's server accepts, type 0x20 that HTTP/2 does not define), and the whole 24-byte
 * preface is required. A frame payload is skipped without looking at it, so that file or exec
 * bytes that happen to contain the preface are never taken for one.
 *
 * <p>The work is per frame, not per byte: payloads are skipped by count. A record that begins
 * with {@code 'P'} is withheld from the old session until it is known not to be a preface, so
 * that the old server never sees the start of the new host's preface (it would answer it with a
 * GOAWAY that the new host could read as its first frame).
 *
 * <p>When the session's first bytes are not a preface (not HTTP/2) the tracker is lost and passes
 * everything through. Not thread-safe: the relay's reader thread owns it.
 */
final class ClientFrames {
  static final byte[] PREFACE =
      "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final int HEADER_BYTES = 9;

  /** Where the bytes of the old session go. */
  interface Sink {
    void send(byte[] data, int offset, int length);
  }

  private final byte[] record = new byte[PREFACE.length];
  private int have;
  private boolean holding;
  private long skip;
  private boolean first = true;
  private boolean lost;

  /** True when the session did not begin with a preface: nothing is tracked. */
  boolean lost() {
    return lost;
  }

  /**
   * Scans {@code data[offset, offset + length)}: sends what belongs to the current session to
   * {@code sink}, and returns the offset just past a new host's client preface (the new session
   * begins with {@link #PREFACE} followed by the bytes from there on), or -1 when there is none.
   * After a hit this tracker is spent: the new session takes a fresh one.
   */
  int scan(byte[] data, int offset, int length, Sink sink) {
    int end = offset + length;
    if (lost) {
      sink.send(data, offset, length);
      return -1;
    }
    int i = offset;
    int forwardFrom = offset;
    while (i < end) {
      if (skip > 0) {
        int k = (int) Math.min(skip, end - i);
        skip -= k;
        i += k;
        continue;
      }
      if (have == 0) {
        holding = first || data[i] == PREFACE[0];
        if (holding) {
          send(sink, data, forwardFrom, i);
        }
      }
      int target = holding ? PREFACE.length : HEADER_BYTES;
      int k = Math.min(target - have, end - i);
      System.arraycopy(data, i, record, have, k);
      int before = have;
      have += k;
      i += k;
      if (holding) {
        int mismatch = mismatch(before, have);
        if (mismatch >= 0) {
          // not a preface: the bytes withheld so far belong to the current session after all
          sink.send(record, 0, have);
          forwardFrom = i;
          holding = false;
          if (first) {
            lost = true;
            send(sink, data, forwardFrom, end);
            return -1;
          }
          if (have >= HEADER_BYTES) {
            skip = length(record) - (have - HEADER_BYTES);
            have = 0;
          }
        } else if (have == PREFACE.length) {
          have = 0;
          holding = false;
          if (!first) {
            return i;
          }
          first = false;
          sink.send(PREFACE, 0, PREFACE.length);
          forwardFrom = i;
        }
      } else if (have == HEADER_BYTES) {
        skip = length(record);
        have = 0;
      }
    }
    if (!holding) {
      send(sink, data, forwardFrom, end);
    }
    return -1;
  }

  private int mismatch(int from, int to) {
    for (int j = from; j < to; j++) {
      if (record[j] != PREFACE[j]) {
        return j;
      }
    }
    return -1;
  }

  private static long length(byte[] header) {
    return ((header[0] & 0xffL) << 16) | ((header[1] & 0xffL) << 8) | (header[2] & 0xffL);
  }

  private static void send(Sink sink, byte[] data, int from, int to) {
    if (to > from) {
      sink.send(data, from, to - from);
    }
  }

  /** The offset just past the first client preface in {@code data[offset, offset+length)}, or -1. */
  static int findPreface(byte[] data, int offset, int length) {
    int last = offset + length - PREFACE.length;
    outer:
    for (int i = offset; i <= last; i++) {
      if (data[i] != PREFACE[0]) {
        continue;
      }
      for (int j = 1; j < PREFACE.length; j++) {
        if (data[i + j] != PREFACE[j]) {
          continue outer;
        }
      }
      return i + PREFACE.length;
    }
    return -1;
  }
}
