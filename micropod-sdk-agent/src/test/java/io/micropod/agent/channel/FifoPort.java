package io.micropod.agent.channel;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A stand-in bulk port that the test controls: a FIFO ({@link #path}) whose host end
 * ({@link #host}) is open, so the agent's open does not block, and reads only when the test reads
 * it: writes block once the FIFO's 64 KiB are full, as a port's do while the host does not read.
 */
public final class FifoPort implements AutoCloseable {
  public final Path path;
  public final FileChannel host;

  private FifoPort(Path path, FileChannel host) {
    this.path = path;
    this.host = host;
  }

  /** Makes the FIFO {@code dir/port} (mkfifo) and opens its host end. */
  public static FifoPort in(Path dir) throws IOException, InterruptedException {
    Path fifo = dir.resolve("port");
    Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start();
    if (mkfifo.waitFor() != 0) {
      throw new IOException("mkfifo " + fifo + " exited " + mkfifo.exitValue());
    }
    // read and write: opening a FIFO so never blocks (no writer needed yet)
    return new FifoPort(fifo, FileChannel.open(fifo, StandardOpenOption.READ, StandardOpenOption.WRITE));
  }

  @Override
  public void close() throws IOException {
    host.close();
  }
}
