/**
 * MicroPod: run OCI container images in microVMs from Java.
 *
 * <p>Only the API is exported: {@code io.micropod} and {@code io.micropod.event}
 * ({@code io.micropod.spi} is exported once it holds a type). Everything under
 * {@code io.micropod.internal} stays inside the module; Jackson may read the two packages whose
 * records it binds (the pod records, the image catalog). The guest image
 * ({@code micropod-guest}) is read as a resource: on the module path, resolve it with
 * {@code --add-modules micropod.guest}.
 */
module io.micropod {
  exports io.micropod;
  exports io.micropod.event;

  opens io.micropod.internal.state to com.fasterxml.jackson.databind;
  opens io.micropod.internal.image to com.fasterxml.jackson.databind;

  requires io.micropod.agent.protocol;
  requires io.grpc;
  requires io.grpc.stub;
  requires io.grpc.netty.shaded;
  requires com.google.protobuf;
  requires com.fasterxml.jackson.databind;
  requires org.apache.commons.compress;
  requires org.newsclub.net.unix;
  requires org.slf4j;
  requires okhttp3;
  requires com.github.luben.zstd_jni;
}
