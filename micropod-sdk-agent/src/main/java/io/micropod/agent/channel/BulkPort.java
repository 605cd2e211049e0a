package io.micropod.agent.channel;

import io.micropod.agent.base.Log;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;

/**
 * The pod's bulk port: a second virtio-serial port ({@link #NAME}) that carries the output of
 * collecting execs as frames, so that those bytes skip gRPC and HTTP/2 (per-frame work that
 * costs the guest JVM about a millisecond per 16 KiB under TCG; docs/performance.md, "P5").
 *
 * <p>Frame: {@code u32 stream, u8 kind, u32 length, length bytes} (big-endian); kinds
 * {@link #STDOUT}, {@link #STDERR}, {@link #END} (length 0). Payloads are at most
 * {@link #MAX_PAYLOAD} bytes. Frames of several streams interleave; each frame is written whole
 * under this object's lock. A write blocks while the host does not read (backpressure), which is
 * why the host reads the port all the time. Thread-safe.
 *
 * <p>A write that moves no byte for {@link #STALL_MILLIS} (the host stopped reading, or the port
 * is wedged) closes the port: the blocked write and every later one fail with an
 * {@link IOException} that says so, and {@link #usable()} turns false, so that later execs use
 * gRPC instead of hanging behind it. The port is not reopened: a frame may have been cut, and
 * the host would read what follows as garbage.
 */
public final class BulkPort implements AutoCloseable {
  /** The virtio-serial port name the host's QEMU command line gives the bulk port. */
  public static final String NAME = "io.micropod.bulk.0";
  public static final int STDOUT = 1;
  public static final int STDERR = 2;
  public static final int END = 3;
  public static final int HEADER_BYTES = 9;
  /** Bytes one frame carries at most (the host refuses longer frames). */
  public static final int MAX_PAYLOAD = 1024 * 1024;
  /**
   * How long one port write may move no byte before the port counts as stalled: 30 s. The host
   * reads the port all the time and a 32 KiB write (virtio_console's largest) takes well under
   * a second even on a loaded TCG host, so this only catches a port that stopped.
   */
  public static final long STALL_MILLIS = 30_000;
  /**
   * Bytes one write call takes at most: 64 KiB. virtio_console takes at most 32 KiB per call
   * anyway, so this costs no call on the real port.
   */
  private static final int WRITE_BYTES = 64 * 1024;

  private final FileChannel out;
  private final String path;
  private final long stallNanos;
  private final ByteBuffer header = ByteBuffer.allocateDirect(HEADER_BYTES);
  private final ByteBuffer[] frame = new ByteBuffer[2];
  /** System.nanoTime() when the write in progress started or last moved bytes; 0: none. */
  private volatile long writingSince;
  private volatile String stalled;
  private Thread watchdog;

  BulkPort(FileChannel out, String path) {
    this(out, path, STALL_MILLIS);
  }

  BulkPort(FileChannel out, String path, long stallMillis) {
    this.out = out;
    this.path = path;
    this.stallNanos = TimeUnit.MILLISECONDS.toNanos(stallMillis);
  }

  /**
   * Opens the port named {@link #NAME}: its name is in {@code sysClass/vport*}{@code /name} (no
   * udev in the guest, so no /dev/virtio-ports links), its device {@code dev/vport*}. Null when
   * there is none (Firecracker's vsock, an older host).
   */
  public static BulkPort find(Path sysClass, Path dev) {
    if (!Files.isDirectory(sysClass)) {
      return null;
    }
    try (DirectoryStream<Path> ports = Files.newDirectoryStream(sysClass, "vport*")) {
      for (Path port : ports) {
        Path name = port.resolve("name");
        if (Files.isReadable(name) && Files.readString(name).trim().equals(NAME)) {
          Path device = dev.resolve(port.getFileName().toString());
          return new BulkPort(FileChannel.open(device, StandardOpenOption.WRITE), device.toString());
        }
      }
    } catch (IOException e) {
      Log.warn("bulk port: cannot open it (" + e.getMessage() + "); exec output stays on gRPC", null);
    }
    return null;
  }

  /**
   * Opens {@code device} as a bulk port whose writes count as stalled after {@code stallMillis}
   * without progress (tests; the agent uses {@link #find}).
   */
  public static BulkPort open(Path device, long stallMillis) throws IOException {
    return new BulkPort(FileChannel.open(device, StandardOpenOption.WRITE), device.toString(), stallMillis);
  }

  /** Writes one frame; blocks while the host does not read. */
  public void write(int stream, int kind, byte[] data, int offset, int length) throws IOException {
    write(stream, kind, ByteBuffer.wrap(data, offset, length));
  }

  /**
   * Writes {@code data}'s remaining bytes as frames of {@code stream} (several when more than
   * {@link #MAX_PAYLOAD}) with one gathering write of header and payload each: from a direct
   * buffer the bytes go to the port without a copy in the JVM. Consumes {@code data}; blocks while
   * the host does not read; fails once the port {@linkplain #usable() stalled}.
   */
  public void write(int stream, int kind, ByteBuffer data) throws IOException {
    do {
      int length = Math.min(MAX_PAYLOAD, data.remaining());
      ByteBuffer payload = data.slice(data.position(), length);
      data.position(data.position() + length);
      writeFrame(stream, kind, payload);
    } while (data.hasRemaining());
  }

  private synchronized void writeFrame(int stream, int kind, ByteBuffer payload) throws IOException {
    if (stalled != null) {
      throw new IOException(stalled);
    }
    header.clear();
    header.putInt(stream).put((byte) kind).putInt(payload.remaining()).flip();
    frame[0] = header;
    startWatchdog();
    writingSince = System.nanoTime();
    try {
      do {
        // at most WRITE_BYTES per call, so that every call that returns is progress (a blocking
        // pipe write of more than its capacity returns only when all of it went)
        ByteBuffer part = payload.slice(payload.position(), Math.min(WRITE_BYTES, payload.remaining()));
        frame[1] = part;
        while (frame[0].hasRemaining() || part.hasRemaining()) {
          if (out.write(frame) > 0) {
            writingSince = System.nanoTime();
          }
        }
        payload.position(payload.position() + part.limit());
      } while (payload.hasRemaining());
    } catch (IOException e) {
      throw stalled != null ? new IOException(stalled, e) : e;
    } finally {
      writingSince = 0;
      frame[1] = null;
    }
  }

  /** Writes the end frame of {@code stream}. */
  public void end(int stream) throws IOException {
    write(stream, END, ByteBuffer.allocate(0));
  }

  /** False once a write stalled (see the class comment): use gRPC instead. */
  public boolean usable() {
    return stalled == null;
  }

  /** One daemon thread per port, started with the first write, that closes a stalled port. */
  private void startWatchdog() {
    if (watchdog != null) {
      return;
    }
    long checkMillis = Math.max(1, TimeUnit.NANOSECONDS.toMillis(stallNanos) / 4);
    watchdog = new Thread(() -> {
      try {
        while (stalled == null && out.isOpen()) {
          Thread.sleep(checkMillis);
          long since = writingSince;
          if (since != 0 && System.nanoTime() - since > stallNanos) {
            stall();
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "micropod-agent-bulk-watchdog");
    watchdog.setDaemon(true);
    watchdog.start();
  }

  private void stall() {
    stalled = "the " + this + " took no bytes for " + TimeUnit.NANOSECONDS.toMillis(stallNanos)
        + " ms (the host stopped reading it?): closed; later execs send their output over gRPC";
    Log.warn(stalled, null);
    try {
      out.close(); // wakes the blocked writer with AsynchronousCloseException
    } catch (IOException e) {
      Log.debug("bulk port: close after a stall: " + e.getMessage());
    }
  }

  @Override
  public String toString() {
    return "bulk port " + path;
  }

  @Override
  public void close() throws IOException {
    out.close();
  }
}
