package io.micropod.internal.vm;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Copies guest RAM files leaving their zero pages out, so the copy is as sparse as it can be. */
public final class SparseFiles {
  private static final int PAGE = 4096;
  private static final int CHUNK = 2 << 20;

  private SparseFiles() {}

  /**
   * Copies {@code from} to the new file {@code to} (which must not exist), writing only pages that
   * hold a non-zero byte, and fsyncs it when {@code sync}.
   *
   * @return the bytes written (the pages in use)
   * @throws IOException as the file system reports it (a full disk: "No space left on device")
   */
  public static long copy(Path from, Path to, boolean sync) throws IOException {
    long written = 0;
    try (FileChannel in = FileChannel.open(from, StandardOpenOption.READ);
        FileChannel out = FileChannel.open(to, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      long size = in.size();
      ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
      long pos = 0;
      while (pos < size) {
        buf.clear();
        int n = 0;
        while (buf.hasRemaining()) {
          int r = in.read(buf, pos + n);
          if (r < 0) {
            break;
          }
          n += r;
        }
        if (n == 0) {
          break;
        }
        for (int page = 0; page < n; page += PAGE) {
          int end = Math.min(n, page + PAGE);
          if (!zero(buf, page, end)) {
            ByteBuffer slice = buf.duplicate();
            slice.limit(end).position(page);
            while (slice.hasRemaining()) {
              out.write(slice, pos + page + (slice.position() - page));
            }
            written += end - page;
          }
        }
        pos += n;
      }
      if (out.size() < size) {
        // the tail is a hole: set the length by writing its last byte (a zero)
        out.write(ByteBuffer.wrap(new byte[1]), size - 1);
      }
      if (sync) {
        out.force(true);
      }
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(to);
      throw e;
    }
    return written;
  }

  private static boolean zero(ByteBuffer b, int from, int to) {
    int i = from;
    for (; i + 8 <= to; i += 8) {
      if (b.getLong(i) != 0) {
        return false;
      }
    }
    for (; i < to; i++) {
      if (b.get(i) != 0) {
        return false;
      }
    }
    return true;
  }
}
