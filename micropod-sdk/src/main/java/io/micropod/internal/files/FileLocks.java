package io.micropod.internal.files;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The one way the SDK takes an exclusive lock that holds across threads and JVMs (the image store's
 * unpacks and block images, the pod records, the networks, the guest image install): a JVM-wide {@link ReentrantLock} per
 * path, then an OS file lock ({@code fcntl}) on the file. Both are needed: {@code fcntl} locks
 * belong to the process, so two threads of one JVM would both "hold" a file lock, and a second
 * lock of the same file from one JVM throws {@link OverlappingFileLockException}. Close the
 * returned handle to release both. Not reentrant: a thread that holds a lock must not take it
 * again.
 */
public final class FileLocks {
  private static final ConcurrentHashMap<Path, ReentrantLock> JVM_LOCKS = new ConcurrentHashMap<>();

  private FileLocks() {}

  /** A lock held; closing releases the file lock and then the JVM's. */
  public interface Held extends AutoCloseable {
    @Override
    void close() throws IOException;
  }

  /**
   * {@link #lock}, for callers whose errors are {@code IOException}s: an interrupt while waiting
   * becomes an {@link java.io.InterruptedIOException}, and the thread's interrupt flag is set again.
   */
  public static Held lockIo(Path lockFile) throws IOException {
    try {
      return lock(lockFile);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException(e.getMessage());
    }
  }

  /**
   * Waits for the lock on {@code lockFile}, creating it (mode 0600) and its parent directories
   * when absent.
   */
  public static Held lock(Path lockFile) throws IOException, InterruptedException {
    Path key = lockFile.toAbsolutePath().normalize();
    ReentrantLock jvm = JVM_LOCKS.computeIfAbsent(key, k -> new ReentrantLock());
    jvm.lockInterruptibly();
    FileChannel ch = null;
    try {
      ch = open(key);
      FileLock lock;
      while (true) {
        try {
          lock = ch.tryLock();
        } catch (OverlappingFileLockException e) {
          // the same file under another spelling of its path, held by this JVM: wait for it
          lock = null;
        }
        if (lock != null) {
          break;
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        if (Thread.interrupted()) {
          throw new InterruptedException("interrupted while waiting for the lock " + key);
        }
      }
      return held(jvm, ch, lock);
    } catch (IOException | InterruptedException | RuntimeException e) {
      if (ch != null) {
        ch.close();
      }
      jvm.unlock();
      throw e;
    }
  }

  /**
   * Takes the lock on {@code lockFile} only when no thread or process holds it; null when one does
   * (a sweep that must not remove what a live user works on). Creates the file as {@link #lock}.
   */
  public static Held tryLock(Path lockFile) throws IOException {
    Path key = lockFile.toAbsolutePath().normalize();
    ReentrantLock jvm = JVM_LOCKS.computeIfAbsent(key, k -> new ReentrantLock());
    if (!jvm.tryLock()) {
      return null;
    }
    FileChannel ch = null;
    try {
      ch = open(key);
      FileLock lock;
      try {
        lock = ch.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null; // the same file under another spelling of its path, held by this JVM
      }
      if (lock == null) {
        ch.close();
        jvm.unlock();
        return null;
      }
      return held(jvm, ch, lock);
    } catch (IOException | RuntimeException e) {
      if (ch != null) {
        ch.close();
      }
      jvm.unlock();
      throw e;
    }
  }

  private static FileChannel open(Path key) throws IOException {
    Files.createDirectories(key.getParent());
    try {
      Files.createFile(key, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    } catch (FileAlreadyExistsException e) {
      // made earlier or by another process
    }
    return FileChannel.open(key, StandardOpenOption.WRITE);
  }

  private static Held held(ReentrantLock jvm, FileChannel channel, FileLock lock) {
    return () -> {
      try {
        lock.release();
        channel.close();
      } finally {
        jvm.unlock();
      }
    };
  }
}
