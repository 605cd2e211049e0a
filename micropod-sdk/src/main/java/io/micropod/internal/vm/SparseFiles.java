package io.micropod.internal.vm;

import io.micropod.internal.base.HostCommand;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/** Copies guest RAM files leaving their zero pages out, so the copy is as sparse as it can be. */
public final class SparseFiles {
  private static final int PAGE = 4096;
  private static final int CHUNK = 2 << 20;

  private SparseFiles() {}

  /**
   * The file system of a copy's target is full: {@link #needed()} is what the whole copy needs
   * (the pages in use), counted after the failed write, so that the message can say how much.
   */
  public static final class NoSpaceException extends IOException {
    private final long needed;

    NoSpaceException(Path to, long needed, IOException cause) {
      super("no space left on the file system of " + to + ": the copy needs " + needed + " bytes", cause);
      this.needed = needed;
    }

    /** The bytes the whole copy needs. */
    public long needed() {
      return needed;
    }
  }

  /** Whether {@code e} is the file system's "No space left on device" (ENOSPC). */
  public static boolean isNoSpace(IOException e) {
    return e instanceof NoSpaceException || String.valueOf(e.getMessage()).contains("No space left");
  }

  /**
   * Copies {@code from} to the new file {@code to} (which must not exist), writing only pages that
   * hold a non-zero byte, and fsyncs it when {@code sync}.
   *
   * @return the bytes written (the pages in use)
   * @throws NoSpaceException when the target's file system is full; {@code to} is removed
   * @throws IOException as the file system reports it
   */
  public static long copy(Path from, Path to, boolean sync) throws IOException {
    if (Files.isExecutable(CP) && Files.isExecutable(STAT)) {
      return copyWithCp(from, to, sync);
    }
    return copyInJava(from, to, sync);
  }

  /** GNU coreutils, on every Debian host; absent elsewhere: the Java copy then. */
  private static final Path CP = Path.of("/usr/bin/cp");
  private static final Path STAT = Path.of("/usr/bin/stat");

  /**
   * {@code cp --sparse=always}: it skips the source's holes with {@code SEEK_DATA} (Java has no
   * way to) and punches the zero pages it reads, so a restore's copy of a 512 MiB RAM file with
   * ~330 MB in use takes ~140 ms instead of ~450 ms (measured here; docs/snapshots.md). The bytes
   * in use are the copy's allocated blocks ({@code stat %b}).
   */
  static long copyWithCp(Path from, Path to, boolean sync) throws IOException {
    if (Files.exists(to, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      throw new java.nio.file.FileAlreadyExistsException(to.toString());
    }
    try {
      HostCommand.run(List.of(CP.toString(), "--sparse=always", "--no-preserve=all", "--no-dereference",
          "--", from.toString(), to.toString()), COPY_TIMEOUT);
      if (sync) {
        try (FileChannel c = FileChannel.open(to, StandardOpenOption.WRITE)) {
          c.force(true);
        }
      }
      return allocated(to);
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(to);
      if (e instanceof IOException io && isNoSpace(io) && !(e instanceof NoSpaceException)) {
        throw new NoSpaceException(to, inUse(from, 0), io);
      }
      throw e;
    }
  }

  /** util-linux, on every Debian host. */
  private static final Path FALLOCATE = Path.of("/usr/bin/fallocate");

  /**
   * Punches the zero pages of {@code file} out in place ({@code fallocate --dig-holes}: no second
   * copy, so it needs no free space), for a memory file a VMM wrote whole (Firecracker's); left
   * as it is where there is no {@code fallocate}.
   *
   * @return the bytes still allocated (the pages in use)
   */
  public static long digHoles(Path file) throws IOException {
    if (Files.isExecutable(FALLOCATE)) {
      HostCommand.run(List.of(FALLOCATE.toString(), "--dig-holes", "--", file.toString()), COPY_TIMEOUT);
    }
    return allocatedBytes(file);
  }

  /**
   * The bytes {@code file} holds on disk: its allocated blocks ({@code stat %b %B}), at most its
   * size; its size where there is no {@code stat}.
   */
  public static long allocatedBytes(Path file) throws IOException {
    return Files.isExecutable(STAT) ? allocated(file) : Files.size(file);
  }

  /** The bytes of {@code file}'s allocated blocks ({@code stat %b %B}), at most its size. */
  private static long allocated(Path file) throws IOException {
    String[] blocks = HostCommand.run(List.of(STAT.toString(), "--format=%b %B", "--", file.toString()),
        COPY_TIMEOUT).strip().split(" ");
    return Math.min(Files.size(file), Long.parseLong(blocks[0]) * Long.parseLong(blocks[1]));
  }

  /** A RAM file of many GiB on a slow disk still copies well within this. */
  private static final java.time.Duration COPY_TIMEOUT = java.time.Duration.ofMinutes(10);

  /** The copy where there is no GNU cp: reads every page and writes those with a non-zero byte. */
  static long copyInJava(Path from, Path to, boolean sync) throws IOException {
    long written = 0;
    long counted = 0; // the bytes of {@code from} looked at: those before it are in written
    try (FileChannel in = FileChannel.open(from, StandardOpenOption.READ);
        FileChannel out = FileChannel.open(to, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      long size = in.size();
      ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
      long pos = 0;
      int n;
      while (pos < size && (n = readFull(in, buf, pos)) > 0) {
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
          counted = pos + end;
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
    } catch (IOException e) {
      Files.deleteIfExists(to);
      if (isNoSpace(e) && !(e instanceof NoSpaceException)) {
        throw new NoSpaceException(to, written + inUse(from, counted), e);
      }
      throw e;
    } catch (RuntimeException e) {
      Files.deleteIfExists(to);
      throw e;
    }
    return written;
  }

  /** The bytes of the pages of {@code file} from {@code from} on that hold a non-zero byte. */
  static long inUse(Path file, long from) throws IOException {
    long used = 0;
    try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
      ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
      long pos = from - from % PAGE;
      int n;
      while ((n = readFull(in, buf, pos)) > 0) {
        for (int page = 0; page < n; page += PAGE) {
          int end = Math.min(n, page + PAGE);
          if (!zero(buf, page, end)) {
            used += end - page;
          }
        }
        pos += n;
      }
    }
    return used;
  }

  private static int readFull(FileChannel in, ByteBuffer buf, long pos) throws IOException {
    buf.clear();
    int n = 0;
    while (buf.hasRemaining()) {
      int r = in.read(buf, pos + n);
      if (r < 0) {
        break;
      }
      n += r;
    }
    return n;
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
