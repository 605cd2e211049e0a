package io.micropod.agent.rpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.micropod.agent.runtime.ContainerManager;
import io.micropod.agent.runtime.ContainerPaths;
import io.micropod.agent.runtime.Tar;
import io.micropod.agent.v1.CopyInRequest;
import io.micropod.agent.v1.CopyInResponse;
import io.micropod.agent.v1.CopyOutChunk;
import io.micropod.agent.v1.CopyOutRequest;
import io.micropod.agent.v1.GetStatsRequest;
import io.micropod.agent.v1.GetStatsResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * CopyIn / CopyOut (tar streams into and out of the container's root filesystem, resolved with
 * {@link ContainerPaths}) and GetStats. Both copies run on a work thread and use gRPC flow
 * control: CopyIn asks for the next message only after the extractor took the previous one;
 * CopyOut writes only while the call is ready.
 */
final class CopyHandler {
  private static final int CHUNK = StreamWindow.CHUNK_BYTES;
  private final ContainerManager containers;
  private final Executor work;

  CopyHandler(ContainerManager containers, Executor work) {
    this.containers = containers;
    this.work = work;
  }

  void stats(GetStatsRequest request, StreamObserver<GetStatsResponse> observer) {
    Statuses.reply(observer, () -> {
      var s = containers.stats(request.getContainerId());
      return GetStatsResponse.newBuilder()
          .setCpuUsageUsec(s.cpuUsageUsec())
          .setMemoryUsageBytes(s.memoryUsageBytes())
          .setMemoryLimitBytes(s.memoryLimitBytes())
          .setIoReadBytes(s.ioReadBytes())
          .setIoWriteBytes(s.ioWriteBytes())
          .setGuestMemTotalBytes(s.guestMemTotalBytes())
          .setGuestMemAvailableBytes(s.guestMemAvailableBytes())
          .setGuestLoad1(s.guestLoad1())
          .setOomKills(s.oomKills())
          .setNetRxBytes(s.net().rxBytes())
          .setNetRxPackets(s.net().rxPackets())
          .setNetTxBytes(s.net().txBytes())
          .setNetTxPackets(s.net().txPackets())
          .build();
    });
  }

  // ---- CopyIn -------------------------------------------------------------------------------

  StreamObserver<CopyInRequest> copyIn(StreamObserver<CopyInResponse> responses) {
    ServerCallStreamObserver<CopyInResponse> call = (ServerCallStreamObserver<CopyInResponse>) responses;
    call.disableAutoRequest();
    In in = new In(call);
    call.setOnCancelHandler(in::cancel);
    call.request(1);
    return in;
  }

  private static final ByteString EOF = ByteString.copyFromUtf8("EOF");

  final class In extends InputStream implements StreamObserver<CopyInRequest> {
    private final ServerCallStreamObserver<CopyInResponse> call;
    private final BlockingQueue<ByteString> queue = new ArrayBlockingQueue<>(4);
    private volatile boolean started;
    private volatile boolean cancelled;
    private ByteString current = ByteString.EMPTY;
    private int pos;

    In(ServerCallStreamObserver<CopyInResponse> call) {
      this.call = call;
    }

    @Override
    public void onNext(CopyInRequest r) {
      if (!started) {
        if (!r.hasStart()) {
          call.onError(Status.INVALID_ARGUMENT.withDescription("the first CopyInRequest must carry start")
              .asRuntimeException());
          return;
        }
        started = true;
        String id = r.getStart().getContainerId();
        String dest = r.getStart().getDestDir();
        work.execute(() -> extract(id, dest));
        call.request(1);
        return;
      }
      offer(r.getTar());
    }

    private void offer(ByteString b) {
      try {
        queue.put(b); // bounded: at most a few messages; the next is requested when one is taken
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    private void extract(String id, String dest) {
      try {
        if (!dest.startsWith("/")) {
          throw new IOException("dest_dir must be absolute: " + dest);
        }
        Path root = containers.rootfs(id);
        long n;
        // Frozen: nothing in the container can swap a directory for a symlink between the
        // resolution of a path and its use (Freezer says why this and not openat).
        try (var frozen = containers.freezeForCopy(id)) {
          Path dir = ContainerPaths.mkdirs(root, dest);
          n = Tar.extract(this, root, dir);
        }
        // drain what remains (end blocks) so the client's half-close arrives
        while (read() >= 0) {
          // discard
        }
        call.onNext(CopyInResponse.newBuilder().setEntries(n).build());
        call.onCompleted();
      } catch (IOException e) {
        error(Status.FAILED_PRECONDITION.withDescription("copy into the container failed: " + e.getMessage()));
      } catch (RuntimeException e) {
        try {
          call.onError(Statuses.toStatus(e));
        } catch (RuntimeException ignored) {
          // cancelled meanwhile
        }
      }
    }

    private void error(Status s) {
      try {
        call.onError(s.asRuntimeException());
      } catch (RuntimeException ignored) {
        // cancelled meanwhile
      }
    }

    @Override
    public int read() throws IOException {
      byte[] b = new byte[1];
      int n = read(b, 0, 1);
      return n < 0 ? -1 : b[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      while (pos >= current.size()) {
        if (current == EOF) {
          return -1;
        }
        ByteString next;
        try {
          next = queue.poll(100, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted");
        }
        if (cancelled) {
          throw new IOException("the client cancelled CopyIn");
        }
        if (next == null) {
          continue;
        }
        current = next;
        pos = 0;
        if (next != EOF) {
          call.request(1);
        } else {
          return -1;
        }
      }
      int n = Math.min(len, current.size() - pos);
      current.substring(pos, pos + n).copyTo(b, off);
      pos += n;
      return n;
    }

    void cancel() {
      cancelled = true;
    }

    @Override
    public void onError(Throwable t) {
      cancelled = true;
    }

    @Override
    public void onCompleted() {
      if (!started) {
        error(Status.INVALID_ARGUMENT.withDescription("CopyIn without start"));
        return;
      }
      offer(EOF);
    }
  }

  // ---- CopyOut ------------------------------------------------------------------------------

  void copyOut(CopyOutRequest request, StreamObserver<CopyOutChunk> observer) {
    ServerCallStreamObserver<CopyOutChunk> call = (ServerCallStreamObserver<CopyOutChunk>) observer;
    Object ready = new Object();
    StreamWindow.apply(call);
    call.setOnReadyHandler(() -> {
      synchronized (ready) {
        ready.notifyAll();
      }
    });
    call.setOnCancelHandler(() -> {
      synchronized (ready) {
        ready.notifyAll();
      }
    });
    work.execute(() -> {
      try {
        String path = request.getPath();
        if (!path.startsWith("/")) {
          throw new IOException("path must be absolute: " + path);
        }
        Path root = containers.rootfs(request.getContainerId());
        Path source = ContainerPaths.resolve(root, path, true);
        if (!Files.exists(source, LinkOption.NOFOLLOW_LINKS)) {
          call.onError(Status.NOT_FOUND.withDescription("no such file or directory in the container: "
              + path).asRuntimeException());
          return;
        }
        String name = source.equals(root) ? "." : source.getFileName().toString();
        OutputStream out = new OutputStream() {
          private final byte[] buf = new byte[CHUNK];
          private int n;

          @Override
          public void write(int b) throws IOException {
            if (n == buf.length) {
              flush();
            }
            buf[n++] = (byte) b;
          }

          @Override
          public void write(byte[] b, int off, int len) throws IOException {
            while (len > 0) {
              if (n == buf.length) {
                flush();
              }
              int k = Math.min(len, buf.length - n);
              System.arraycopy(b, off, buf, n, k);
              n += k;
              off += k;
              len -= k;
            }
          }

          @Override
          public void flush() throws IOException {
            if (n == 0) {
              return;
            }
            synchronized (ready) {
              while (!call.isReady()) {
                if (call.isCancelled()) {
                  throw new IOException("the client cancelled CopyOut");
                }
                try {
                  ready.wait(50);
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                  throw new IOException("interrupted");
                }
              }
            }
            call.onNext(CopyOutChunk.newBuilder()
                .setTar(UnsafeByteOperations.unsafeWrap(java.util.Arrays.copyOf(buf, n))).build());
            n = 0;
          }
        };
        Tar.create(source, name, out);
        out.flush();
        call.onCompleted();
      } catch (IOException e) {
        if (!call.isCancelled()) {
          call.onError(Status.FAILED_PRECONDITION.withDescription("copy out of the container failed: "
              + e.getMessage()).asRuntimeException());
        }
      } catch (RuntimeException e) {
        if (!call.isCancelled()) {
          call.onError(Statuses.toStatus(e));
        }
      }
    });
  }
}
