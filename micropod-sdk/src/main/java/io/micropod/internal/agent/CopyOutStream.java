package io.micropod.internal.agent;

import com.google.protobuf.ByteString;
import io.grpc.Context;
import io.grpc.StatusRuntimeException;
import io.micropod.agent.v1.CopyOutChunk;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.Iterator;

/**
 * The tar stream of a {@code CopyOut} call ({@link AgentClient#copyOut}), read lazily; closing it
 * cancels the call.
 */
final class CopyOutStream extends InputStream {
  private final AgentClient client;
  private final Iterator<CopyOutChunk> it;
  private final Context.CancellableContext ctx;
  private final Duration deadline;
  private ByteString cur = ByteString.EMPTY;
  private int pos;
  private final long limit;
  private long total;

  CopyOutStream(AgentClient client, Iterator<CopyOutChunk> it, Context.CancellableContext ctx,
      Duration deadline, long limit) {
    this.limit = limit;
    this.client = client;
    this.it = it;
    this.ctx = ctx;
    this.deadline = deadline;
  }

  @Override
  public int read() throws IOException {
    byte[] b = new byte[1];
    return read(b, 0, 1) < 0 ? -1 : b[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    while (pos >= cur.size()) {
      try {
        if (!it.hasNext()) {
          return -1;
        }
        cur = it.next().getTar();
        total += cur.size();
        if (total > limit) {
          close();
          throw new IOException(new io.micropod.AgentException("the agent of pod " + client.podId()
              + " sent more than " + limit + " bytes for one copyOut (the host's limit); the copy"
              + " was stopped", null, client.podId(), null, io.micropod.AgentStatus.RESOURCE_EXHAUSTED,
              "CopyOut"));
        }
      } catch (StatusRuntimeException e) {
        throw new IOException(client.map(e, "CopyOut", null, deadline));
      }
      pos = 0;
    }
    int n = Math.min(len, cur.size() - pos);
    cur.substring(pos, pos + n).copyTo(b, off);
    pos += n;
    return n;
  }

  @Override
  public void close() {
    ctx.cancel(null);
  }
}
