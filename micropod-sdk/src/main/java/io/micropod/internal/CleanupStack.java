package io.micropod.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Clean-ups registered while a pod starts, run last-in-first-out. Every clean-up runs even when
 * an earlier one failed; failures are logged and returned (or attached as suppressed). Each
 * clean-up runs at most once. Thread-safe.
 */
public final class CleanupStack {
  private static final Logger log = LoggerFactory.getLogger(CleanupStack.class);

  private record Entry(String name, AutoCloseable action) {}

  private final String podId;
  private final Deque<Entry> entries = new ArrayDeque<>();
  /** The names of the clean-ups run so far, in the order they ran (what a pod undid; for tests). */
  private final List<String> ran = new ArrayList<>();

  public CleanupStack(String podId) {
    this.podId = podId;
  }

  /** Registers {@code action}, to run before everything registered earlier. */
  public synchronized void push(String name, AutoCloseable action) {
    entries.push(new Entry(name, action));
  }

  public synchronized int size() {
    return entries.size();
  }

  /** The names of the registered clean-ups, in the order they would run. */
  synchronized List<String> names() {
    return entries.stream().map(Entry::name).toList();
  }

  /** The names of the clean-ups run so far, in the order they ran. */
  synchronized List<String> ran() {
    return List.copyOf(ran);
  }

  /** Runs every clean-up, newest first, and returns the failures in the order they happened. */
  public List<Throwable> runAll() {
    List<Throwable> failures = new ArrayList<>();
    while (true) {
      Entry e;
      synchronized (this) {
        e = entries.poll();
        if (e != null) {
          ran.add(e.name());
        }
      }
      if (e == null) {
        return failures;
      }
      try {
        log.debug("pod {}: cleanup {}", podId, e.name());
        e.action().close();
      } catch (Throwable t) {
        if (t instanceof InterruptedException) {
          Thread.currentThread().interrupt();
        }
        log.warn("pod {}: cleanup {} failed: {}", podId, e.name(), t.toString());
        failures.add(t);
      }
    }
  }

  /** Runs every clean-up and attaches the failures to {@code primary} as suppressed. */
  public void runAll(Throwable primary) {
    for (Throwable t : runAll()) {
      if (t != primary) {
        primary.addSuppressed(t);
      }
    }
  }
}
