package io.micropod.internal;

import io.micropod.event.MicroPodListener;
import io.micropod.internal.net.EgressFiles;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns the denials QEMU's network guard appends to a pod's {@value EgressFiles#EVENTS}
 * ({@link EgressFiles}) into the listener's {@code egressDenied} events, in the JVM that started
 * the pod: one daemon thread per pod, {@code micropod-<id>-egress}, reading what was appended every
 * {@link #POLL_MILLIS}. Only for QEMU pods with the NAT and a listener. The file itself outlives
 * this JVM with the pod (detached pods), and the guard bounds it (rate limit, size cap), so a
 * hostile guest's flood costs this thread at most one bounded read per poll. Stopped by
 * {@link #close()}.
 */
final class EgressWatch implements AutoCloseable {
  static final long POLL_MILLIS = 250;
  private static final Logger log = LoggerFactory.getLogger(EgressWatch.class);

  private final String podId;
  private final EgressFiles.Reader reader;
  private final MicroPodListener listener;
  private final Thread thread;
  private volatile boolean closed;

  private EgressWatch(String podId, EgressFiles.Reader reader, MicroPodListener listener) {
    this.podId = podId;
    this.reader = reader;
    this.listener = listener;
    this.thread = new Thread(this::run, "micropod-" + podId + "-egress");
    thread.setDaemon(true);
  }

  /** Starts watching {@code b}'s pod when someone listens; pushes its stop on {@code cleanup}. */
  static void start(Boot b, CleanupStack cleanup) {
    if (b.spec.listener() == MicroPodListener.NONE || !NetworkSteps.egressGuarded(b)) {
      return;
    }
    EgressWatch w = new EgressWatch(b.id,
        new EgressFiles.Reader(b.paths.socketDir().resolve(EgressFiles.EVENTS)), b.spec.listener());
    cleanup.push("egress.watch", w);
    w.thread.start();
  }

  private void run() {
    while (!closed) {
      try {
        for (EgressFiles.Denial d : reader.poll()) {
          Listeners.notify(listener, podId, "egressDenied",
              l -> l.egressDenied(podId, d.protocol(), d.destination(), d.port(), d.count()));
        }
      } catch (IOException e) {
        log.debug("pod {}: cannot read its egress events: {}", podId, e.toString());
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(POLL_MILLIS));
    }
  }

  @Override
  public void close() {
    closed = true;
    thread.interrupt();
  }
}
