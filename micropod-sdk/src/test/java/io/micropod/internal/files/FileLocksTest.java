package io.micropod.internal.files;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class FileLocksTest {
  @TempDir Path tmp;

  @Test
  void threadsOfOneJvmExcludeEachOtherEvenUnderAnotherSpellingOfThePath() throws Exception {
    Path lock = tmp.resolve("locks/a.lock");
    Path otherSpelling = tmp.resolve("locks/../locks/./a.lock");
    AtomicBoolean inside = new AtomicBoolean();
    AtomicBoolean overlap = new AtomicBoolean();
    Runnable critical = () -> {
      for (int i = 0; i < 50; i++) {
        try (FileLocks.Held h = FileLocks.lock(i % 2 == 0 ? lock : otherSpelling)) {
          if (!inside.compareAndSet(false, true)) {
            overlap.set(true);
          }
          Thread.onSpinWait();
          inside.set(false);
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }
    };
    CompletableFuture<Void> a = CompletableFuture.runAsync(critical);
    CompletableFuture<Void> b = CompletableFuture.runAsync(critical);
    a.get();
    b.get();
    assertThat(overlap).isFalse();
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(lock))).isEqualTo("rw-------");
  }

  @Test
  void aWaiterCanBeInterruptedAndTheLockIsFreeAfterwards() throws Exception {
    Path lock = tmp.resolve("b.lock");
    AtomicReference<Throwable> waiterError = new AtomicReference<>();
    CountDownLatch waiting = new CountDownLatch(1);
    Thread waiter;
    try (FileLocks.Held h = FileLocks.lock(lock)) {
      waiter = new Thread(() -> {
        waiting.countDown();
        try (FileLocks.Held h2 = FileLocks.lock(lock)) {
          waiterError.set(new AssertionError("got a held lock"));
        } catch (Throwable t) {
          waiterError.set(t);
        }
      });
      waiter.start();
      waiting.await();
      waiter.interrupt();
      waiter.join(10_000);
    }
    assertThat(waiterError.get()).isInstanceOf(InterruptedException.class);
    try (FileLocks.Held again = FileLocks.lock(lock)) {
      assertThat(again).isNotNull();
    }
  }

  @Test
  void lockIoTurnsAnInterruptIntoAnInterruptedIoExceptionAndKeepsTheFlag() throws Exception {
    Path lock = tmp.resolve("c.lock");
    AtomicReference<Throwable> error = new AtomicReference<>();
    AtomicBoolean flag = new AtomicBoolean();
    try (FileLocks.Held h = FileLocks.lock(lock)) {
      Thread t = new Thread(() -> {
        Thread.currentThread().interrupt();
        try (FileLocks.Held h2 = FileLocks.lockIo(lock)) {
          error.set(new AssertionError("got a held lock"));
        } catch (Throwable e) {
          error.set(e);
          flag.set(Thread.currentThread().isInterrupted());
        }
      });
      t.start();
      t.join(10_000);
    }
    assertThat(error.get()).isInstanceOf(java.io.InterruptedIOException.class);
    assertThat(flag).isTrue();
  }

  @Test
  void tryLockGivesNothingWhileAnotherThreadHoldsTheLockAndTheLockOnceFree() throws Exception {
    Path lock = tmp.resolve("locks/d.lock");
    try (FileLocks.Held h = FileLocks.lock(lock)) {
      FileLocks.Held other = CompletableFuture.supplyAsync(() -> {
        try {
          return FileLocks.tryLock(tmp.resolve("locks/./d.lock"));
        } catch (java.io.IOException e) {
          throw new IllegalStateException(e);
        }
      }).get(10, TimeUnit.SECONDS);
      assertThat(other).isNull();
    }
    try (FileLocks.Held free = FileLocks.tryLock(lock)) {
      assertThat(free).isNotNull();
    }
    try (FileLocks.Held again = FileLocks.lock(lock)) {
      assertThat(again).isNotNull();
    }
  }
}
