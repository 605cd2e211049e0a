package io.micropod.agent.channel;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;

/**
 * A stand-in for the guest side of a virtio-serial port: reads return EOF while no host is
 * connected and block while a connected host sends nothing; what the guest writes is recorded
 * per host connection.
 */
final class FakePort {
  private final Object lock = new Object();
  private final ArrayDeque<byte[]> incoming = new ArrayDeque<>();
  private final ByteArrayOutputStream received = new ByteArrayOutputStream();
  private boolean connected;
  private int eofReads;
  private boolean failNextRead;

  final InputStream in =
      new InputStream() {
        @Override
        public int read() {
          throw new UnsupportedOperationException();
        }

        @Override
        public int read(byte[] b, int off, int len) throws java.io.IOException {
          synchronized (lock) {
            while (true) {
              if (failNextRead) {
                failNextRead = false;
                throw new java.io.IOException("simulated read error");
              }
              byte[] next = incoming.poll();
              if (next != null) {
                System.arraycopy(next, 0, b, off, next.length);
                return next.length;
              }
              if (!connected) {
                eofReads++;
                return -1;
              }
              try {
                lock.wait();
              } catch (InterruptedException e) {
                throw new java.io.InterruptedIOException();
              }
            }
          }
        }
      };

  final OutputStream out =
      new OutputStream() {
        @Override
        public void write(int b) {
          synchronized (lock) {
            received.write(b);
          }
        }

        @Override
        public void write(byte[] b, int off, int len) {
          synchronized (lock) {
            received.write(b, off, len);
          }
        }
      };

  void connect() {
    synchronized (lock) {
      connected = true;
      received.reset();
      lock.notifyAll();
    }
  }

  void send(String text) {
    send(text.getBytes(StandardCharsets.UTF_8));
  }

  void send(byte[] data) {
    synchronized (lock) {
      incoming.add(data.clone());
      lock.notifyAll();
    }
  }

  void disconnect() {
    synchronized (lock) {
      connected = false;
      lock.notifyAll();
    }
  }

  void failNextRead() {
    synchronized (lock) {
      failNextRead = true;
      lock.notifyAll();
    }
  }

  String received() {
    synchronized (lock) {
      return received.toString(StandardCharsets.UTF_8);
    }
  }

  int eofReads() {
    synchronized (lock) {
      return eofReads;
    }
  }
}
