package io.micropod.agent.base;

/**
 * The agent's logger: one plain line per event on stderr, which the guest's {@code /init} sends
 * to the VM console (the pod's console log on the host, {@code <config dir>/logs/<id>.log}).
 *
 * <p>Deliberately not java.util.logging: the agent starts interpreted under TCG, where every
 * class loaded on the start path costs. {@link #debug} lines appear only with
 * {@code MICROPOD_DEBUG=1}. Never pass environment values or other secrets to these methods.
 */
public final class Log {
  private static final boolean DEBUG = "1".equals(System.getenv("MICROPOD_DEBUG"));

  private Log() {}

  /** Whether debug lines are printed ({@code MICROPOD_DEBUG=1}). */
  public static boolean isDebug() {
    return DEBUG;
  }

  public static void debug(String message) {
    if (DEBUG) {
      // Guest uptime ms in front: the start path's steps on the boot timings' clock.
      print("DEBUG", "[" + GuestClock.uptimeMillis() + "] " + message);
    }
  }

  public static void info(String message) {
    print("INFO", message);
  }

  public static void warn(String message) {
    print("WARN", message);
  }

  public static void warn(String message, Throwable cause) {
    print("WARN", message + ": " + cause);
    if (DEBUG) {
      cause.printStackTrace();
    }
  }

  private static void print(String level, String message) {
    System.err.println("micropod-agent " + level + " " + message);
  }
}
