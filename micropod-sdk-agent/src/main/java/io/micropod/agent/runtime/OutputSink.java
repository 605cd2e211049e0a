package io.micropod.agent.runtime;

/** Where a process's output goes. Called from one pump thread per stream; may block. */
@FunctionalInterface
public interface OutputSink {
  /** {@code data[offset, offset+length)} was read from {@code stream}; copy what you keep. */
  void write(OutputLog.Stream stream, byte[] data, int offset, int length)
      throws InterruptedException;

  /**
   * Bytes one read of the process's pipe takes at most, so one {@link #write} at most: 64 KiB
   * (a default pipe's worth, one gRPC message); a sink whose writes cost little per call
   * (the bulk port) takes more.
   */
  default int readBytes() {
    return StreamPump.BUFFER_BYTES;
  }
}
