package io.micropod.internal.vm;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * Pause and resume of a QEMU that another process started (an attached pod, see
 * {@code PodStates}): one QMP connection per call on {@code <socket dir>/qmp.sock}.
 */
public final class QemuControl {
  /** The QMP socket's name in a pod's socket directory. */
  public static final String QMP_SOCKET = "qmp.sock";

  private QemuControl() {}

  /** QMP {@code stop}: the guest's vCPUs stop. */
  public static void pause(Path socketDir) throws IOException {
    run(socketDir, "stop");
  }

  /** QMP {@code cont}: the guest runs again. */
  public static void resume(Path socketDir) throws IOException {
    run(socketDir, "cont");
  }

  private static void run(Path socketDir, String command) throws IOException {
    try (Qmp q = Qmp.connect(socketDir.resolve(QMP_SOCKET))) {
      q.execute(command, Map.of());
    }
  }
}
