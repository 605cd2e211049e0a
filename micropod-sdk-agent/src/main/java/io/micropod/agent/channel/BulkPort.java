package io.micropod.agent.channel;

import io.micropod.agent.base.Log;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

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

  private final FileChannel out;
  private final String path;
  private final ByteBuffer header = ByteBuffer.allocateDirect(HEADER_BYTES);
  private final ByteBuffer[] frame = new ByteBuffer[2];

  BulkPort(FileChannel out, String path) {
    this.out = out;
    this.path = path;
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

  /** Writes one frame; blocks while the host does not read. */
  public void write(int stream, int kind, byte[] data, int offset, int length) throws IOException {
    if (length > MAX_PAYLOAD) {
      for (int off = 0; off < length; off += MAX_PAYLOAD) {
        write(stream, kind, data, offset + off, Math.min(MAX_PAYLOAD, length - off));
      }
      return;
    }
    synchronized (this) {
      header.clear();
      header.putInt(stream).put((byte) kind).putInt(length).flip();
      frame[0] = header;
      frame[1] = ByteBuffer.wrap(data, offset, length);
      while (frame[0].hasRemaining() || frame[1].hasRemaining()) {
        out.write(frame);
      }
      frame[1] = null;
    }
  }

  /** Writes the end frame of {@code stream}. */
  public void end(int stream) throws IOException {
    write(stream, END, new byte[0], 0, 0);
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
