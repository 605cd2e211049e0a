package io.micropod.agent.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class OutputLogTest {
  private static void append(OutputLog log, OutputLog.Stream s, String text) {
    byte[] b = text.getBytes(StandardCharsets.UTF_8);
    log.append(s, b, 0, b.length);
  }

  private static List<String> texts(OutputLog.Batch batch) {
    List<String> out = new ArrayList<>();
    for (OutputLog.Chunk c : batch.chunks()) {
      out.add(c.stream() + ":" + new String(c.data(), StandardCharsets.UTF_8));
    }
    return out;
  }

  @Test
  void chunksKeepTheOrderTheyWereReadInAcrossStreams() {
    OutputLog log = new OutputLog();
    append(log, OutputLog.Stream.STDOUT, "a");
    append(log, OutputLog.Stream.STDERR, "b");
    append(log, OutputLog.Stream.STDOUT, "c");
    assertThat(texts(log.readAll())).containsExactly("STDOUT:a", "STDERR:b", "STDOUT:c");
  }

  @Test
  void appendCopiesTheCallersBuffer() {
    OutputLog log = new OutputLog();
    byte[] buffer = "xyz".getBytes(StandardCharsets.UTF_8);
    log.append(OutputLog.Stream.STDOUT, buffer, 1, 2);
    buffer[1] = 'Q';
    assertThat(texts(log.readAll())).containsExactly("STDOUT:yz");
  }

  @Test
  void oldestChunksAreDroppedBeyondTheBound() {
    OutputLog log = new OutputLog(10);
    append(log, OutputLog.Stream.STDOUT, "0123");
    append(log, OutputLog.Stream.STDOUT, "4567");
    append(log, OutputLog.Stream.STDERR, "89ab");
    assertThat(texts(log.readAll())).containsExactly("STDOUT:4567", "STDERR:89ab");
    assertThat(log.droppedBytes()).isEqualTo(4);
    assertThat(log.nextSeq()).isEqualTo(3);
  }

  @Test
  void aChunkLargerThanTheBoundKeepsItsTail() {
    OutputLog log = new OutputLog(4);
    append(log, OutputLog.Stream.STDOUT, "abcdefgh");
    assertThat(texts(log.readAll())).containsExactly("STDOUT:efgh");
    assertThat(log.droppedBytes()).isEqualTo(4);
  }

  @Test
  void aReaderBehindTheDroppedChunksContinuesWithTheOldestHeld() {
    OutputLog log = new OutputLog(4);
    append(log, OutputLog.Stream.STDOUT, "aaaa");
    append(log, OutputLog.Stream.STDOUT, "bbbb");
    append(log, OutputLog.Stream.STDOUT, "cccc");
    OutputLog.Batch b = log.read(0, 1024, Long.MAX_VALUE);
    assertThat(texts(b)).containsExactly("STDOUT:cccc");
    assertThat(b.next()).isEqualTo(3);
  }

  @Test
  void readsAreBatchedAndResumeAtTheCursor() {
    OutputLog log = new OutputLog();
    for (int i = 0; i < 5; i++) {
      append(log, OutputLog.Stream.STDOUT, "1234");
    }
    OutputLog.Batch first = log.read(0, 8, Long.MAX_VALUE);
    assertThat(first.chunks()).hasSize(2);
    OutputLog.Batch rest = log.read(first.next(), 1024, Long.MAX_VALUE);
    assertThat(rest.chunks()).hasSize(3);
    assertThat(rest.finished()).isFalse();
  }

  @Test
  void aSnapshotReadStopsAtItsEnd() {
    OutputLog log = new OutputLog();
    append(log, OutputLog.Stream.STDOUT, "before");
    long end = log.nextSeq();
    append(log, OutputLog.Stream.STDOUT, "after");
    assertThat(texts(log.read(0, 1024, end))).containsExactly("STDOUT:before");
  }

  @Test
  void followersAreToldOfAppendsAndCloseAndSeeTheEnd() throws Exception {
    OutputLog log = new OutputLog();
    AtomicInteger calls = new AtomicInteger();
    AutoCloseable sub = log.subscribe(calls::incrementAndGet);
    append(log, OutputLog.Stream.STDOUT, "x");
    assertThat(calls).hasValue(1);
    OutputLog.Batch b = log.read(0, 1024, Long.MAX_VALUE);
    assertThat(b.finished()).isFalse();
    log.close();
    assertThat(calls).hasValue(2);
    append(log, OutputLog.Stream.STDOUT, "ignored after close");
    assertThat(calls).hasValue(2);
    OutputLog.Batch end = log.read(b.next(), 1024, Long.MAX_VALUE);
    assertThat(end.chunks()).isEmpty();
    assertThat(end.finished()).isTrue();
    sub.close();
  }
}
