package io.micropod.internal.agent;

import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.micropod.LogLine;
import io.micropod.MicroPod;
import io.micropod.MicroPodException;
import io.micropod.agent.v1.LogChunk;
import io.micropod.agent.v1.OutputStream;
import io.micropod.agent.v1.ReadLogsRequest;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A followed {@code ReadLogs} call: splits chunks into lines per stream and hands them to the
 * consumer; runs on gRPC's executor, one callback at a time.
 */
final class LogFollowerCall implements ClientResponseObserver<ReadLogsRequest, LogChunk>,
    MicroPod.LogFollower {
  private static final Logger log = LoggerFactory.getLogger(LogFollowerCall.class);
  private final String podId;
  private final Consumer<LogLine> consumer;
  private final LineSplitter out = new LineSplitter();
  private final LineSplitter err = new LineSplitter();
  private final CountDownLatch ended = new CountDownLatch(1);
  private volatile ClientCallStreamObserver<ReadLogsRequest> call;

  LogFollowerCall(String podId, Consumer<LogLine> consumer) {
    this.podId = podId;
    this.consumer = consumer;
  }

  @Override
  public void beforeStart(ClientCallStreamObserver<ReadLogsRequest> call) {
    this.call = call;
  }

  @Override
  public void onNext(LogChunk c) {
    boolean stderr = c.getStream() == OutputStream.OUTPUT_STREAM_STDERR;
    LineSplitter s = stderr ? err : out;
    for (String line : s.feed(c.getData().toByteArray())) {
      deliver(new LogLine(stderr ? LogLine.Stream.STDERR : LogLine.Stream.STDOUT, line));
    }
  }

  private void deliver(LogLine line) {
    try {
      consumer.accept(line);
    } catch (RuntimeException e) {
      log.warn("pod {}: a log consumer threw; line skipped", podId, e);
    }
  }

  @Override
  public void onError(Throwable t) {
    log.debug("pod {}: following logs ended: {}", podId, t.toString());
    flush();
  }

  @Override
  public void onCompleted() {
    flush();
  }

  private void flush() {
    String o = out.rest();
    if (o != null) {
      deliver(new LogLine(LogLine.Stream.STDOUT, o));
    }
    String e = err.rest();
    if (e != null) {
      deliver(new LogLine(LogLine.Stream.STDERR, e));
    }
    ended.countDown();
  }

  @Override
  public void close() {
    ClientCallStreamObserver<ReadLogsRequest> c = call;
    if (c != null && ended.getCount() > 0) {
      c.cancel("closed by the caller", null);
    }
  }

  @Override
  public boolean awaitEnd(Duration timeout) {
    try {
      return ended.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new MicroPodException("interrupted while following the logs of pod " + podId, e, podId, null);
    }
  }
}
