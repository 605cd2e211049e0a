package io.micropod.internal.image;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Exclusive locks on files of the store that hold across threads and JVMs: a JVM-wide
 * {@link ReentrantLock} per path, then an OS file lock ({@code fcntl}) on the file. Close the
 * returned handle to release both.
 */
final class FileLocks {
  private static final ConcurrentHashMap<Path, ReentrantLock> JVM_LOCKS = new ConcurrentHashMap<>();

  private FileLocks() {}

  interface Held extends AutoCloseable {
    @Override
    void close() throws IOException;
  }

  static Held lock(Path lockFile) throws IOException, InterruptedException {
    Path key = lockFile.toAbsolutePath().normalize();
    ReentrantLock jvm = JVM_LOCKS.computeIfAbsent(key, k -> new ReentrantLock());
    jvm.lockInterruptibly();
    FileChannel ch = null;
    try {
      Files.createDirectories(key.getParent());
      ch = FileChannel.open(key, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      FileLock lock;
      while (true) {
        try {
          lock = ch.tryLock();
        } catch (OverlappingFileLockException e) {
          lock = null;
        }
        if (lock != null) {
          break;
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
        if (Thread.interrupted()) {
          throw new InterruptedException("interrupted while waiting for the lock " + key);
        }
      }
      FileChannel channel = ch;
      FileLock held = lock;
      return () -> {
        try {
          held.release();
          channel.close();
        } finally {
          jvm.unlock();
        }
      };
    } catch (IOException | InterruptedException | RuntimeException e) {
      if (ch != null) {
        ch.close();
      }
      jvm.unlock();
      throw e;
    }
  }
}
