package io.micropod.agent.runtime;

import java.nio.ByteBuffer;

/**
 * An {@link OutputSink} that takes a pump's read buffer as it is: a direct buffer filled straight
 * from the process's pipe ({@link StreamPump#startDirect}), so that the bytes reach a channel (the
 * bulk port) with no copy through the Java heap. Used for stdout when the pipe's descriptor is at
 * hand (execs through the exec helper); every other read goes through
 * {@link #write(OutputLog.Stream, byte[], int, int)}.
 */
public interface BufferSink extends OutputSink {
  /**
   * {@code data}'s remaining bytes were read from {@code stream}; consume them before returning
   * (the pump reuses the buffer).
   */
  void write(OutputLog.Stream stream, ByteBuffer data) throws InterruptedException;
}
