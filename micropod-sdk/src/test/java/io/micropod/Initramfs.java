package io.micropod;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Test-only variants of the guest initramfs (an uncompressed newc cpio): reads one of its files,
 * and writes a copy with files replaced. The kernel unpacks concatenated archives in order, later
 * entries overwriting earlier ones, so a replacement is one small archive appended to a copy.
 */
final class Initramfs {
  private static final int HEADER = 110;

  private Initramfs() {}

  /** The content of the regular file {@code name} (no leading slash, e.g. "init") in {@code cpio}. */
  static byte[] read(Path cpio, String name) throws IOException {
    try (FileChannel ch = FileChannel.open(cpio, StandardOpenOption.READ)) {
      long pos = 0;
      long size = ch.size();
      ByteBuffer header = ByteBuffer.allocate(HEADER);
      while (pos + HEADER <= size) {
        header.clear();
        ch.read(header, pos);
        String h = new String(header.array(), StandardCharsets.US_ASCII);
        if (h.charAt(0) == '\0') { // padding between concatenated archives
          pos += 4;
          continue;
        }
        if (!h.startsWith("070701") && !h.startsWith("070702")) {
          throw new IOException(cpio + ": no newc header at offset " + pos);
        }
        long fileSize = field(h, 6);
        int nameSize = (int) field(h, 11);
        ByteBuffer nameBuf = ByteBuffer.allocate(nameSize - 1);
        ch.read(nameBuf, pos + HEADER);
        String entry = new String(nameBuf.array(), StandardCharsets.UTF_8);
        long data = align4(pos + HEADER + nameSize);
        if (entry.equals(name)) {
          ByteBuffer content = ByteBuffer.allocate((int) fileSize);
          ch.read(content, data);
          return content.array();
        }
        pos = align4(data + fileSize);
      }
    }
    throw new IOException("no " + name + " in " + cpio);
  }

  /**
   * A copy of {@code guestDir}'s initramfs at {@code target} whose {@code /init} runs {@code hook}
   * right after the line {@code after} (which must be there): how tests make the guest misbehave.
   */
  static Path withInitHook(Path guestDir, Path target, String after, String hook) throws IOException {
    Path cpio = guestDir.resolve("initramfs.cpio");
    String init = new String(read(cpio, "init"), java.nio.charset.StandardCharsets.UTF_8);
    if (!init.contains(after)) {
      throw new IllegalStateException("the guest's /init has no line " + after.strip() + ": update the test's hook");
    }
    copyWithFile(cpio, target, "init", init.replace(after, after + hook).getBytes(java.nio.charset.StandardCharsets.UTF_8));
    return target;
  }

  /** Copies {@code cpio} to {@code target} and appends an archive holding {@code name} (mode 0755). */
  static void copyWithFile(Path cpio, Path target, String name, byte[] content) throws IOException {
    Files.copy(cpio, target, StandardCopyOption.REPLACE_EXISTING);
    try (FileChannel ch = FileChannel.open(target, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
      long end = ch.size();
      ByteBuffer pad = ByteBuffer.allocate((int) (align4(end) - end));
      ch.write(pad);
      ch.write(ByteBuffer.wrap(entry(name, 0100755, content, 1)));
      ch.write(ByteBuffer.wrap(entry("TRAILER!!!", 0, new byte[0], 0)));
    }
  }

  private static byte[] entry(String name, int mode, byte[] content, int nlink) {
    byte[] nameBytes = (name + "\0").getBytes(StandardCharsets.UTF_8);
    String header = String.format("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
        name.hashCode() & 0x7fffffff, mode, 0, 0, nlink, 0, content.length, 0, 0, 0, 0, nameBytes.length, 0);
    int nameEnd = (int) align4(HEADER + nameBytes.length);
    byte[] out = new byte[(int) align4(nameEnd + content.length)];
    System.arraycopy(header.getBytes(StandardCharsets.US_ASCII), 0, out, 0, HEADER);
    System.arraycopy(nameBytes, 0, out, HEADER, nameBytes.length);
    System.arraycopy(content, 0, out, nameEnd, content.length);
    return out;
  }

  private static long field(String header, int index) {
    return Long.parseLong(header.substring(6 + index * 8, 14 + index * 8), 16);
  }

  private static long align4(long n) {
    return (n + 3) & ~3L;
  }
}
