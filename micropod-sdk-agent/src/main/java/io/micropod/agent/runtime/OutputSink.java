package io.micropod.agent.runtime;

/** Where a process's output goes. Called from one pump thread per stream; may block. */
@FunctionalInterface
public interface OutputSink {
  /** {@code data[offset, offset+length)} was read from {@code stream}; copy what you keep. */
  void write(OutputLog.Stream stream, byte[] data, int offset, int length)
      throws InterruptedException;
}
