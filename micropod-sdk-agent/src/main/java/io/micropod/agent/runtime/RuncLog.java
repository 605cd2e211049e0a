package io.micropod.agent.runtime;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reads runc's {@code --log-format json} log: one {@code {"level","msg","time"}} object per
 * line. An {@code error} (or {@code fatal}) entry means runc itself failed, as opposed to the
 * container's process exiting non-zero.
 */
public final class RuncLog {
  private RuncLog() {}

  /** The message of the last error entry of the log file, or null if none (or no file). */
  public static String lastError(Path logFile) {
    String text;
    try {
      text = new String(Files.readAllBytes(logFile), StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      return null;
    } catch (IOException e) {
      return "cannot read runtime log " + logFile + ": " + e.getMessage();
    }
    return lastErrorIn(text);
  }

  /** The message of the last error entry in {@code text}; lines that are not JSON are skipped. */
  public static String lastErrorIn(String text) {
    String error = null;
    for (String line : text.split("\n")) {
      if (line.isBlank() || line.charAt(0) != '{') {
        continue;
      }
      String[] entry = levelAndMessage(line);
      if (entry != null) {
        String level = entry[0];
        if (level.equals("error") || level.equals("fatal") || level.equals("panic")) {
          error = entry[1];
        }
      }
    }
    return error;
  }

  /** {level, msg} of one log line (empty strings when absent), or null when it is not JSON. */
  private static String[] levelAndMessage(String line) {
    String level = "";
    String msg = "";
    try (JsonParser p = Json.factory().createParser(line)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return null;
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken value = p.nextToken();
        if (value == JsonToken.VALUE_STRING && name.equals("level")) {
          level = p.getText();
        } else if (value == JsonToken.VALUE_STRING && name.equals("msg")) {
          msg = p.getText();
        } else {
          p.skipChildren();
        }
      }
    } catch (IOException e) {
      return null;
    }
    return new String[] {level, msg};
  }

  /**
   * Whether the runtime's message says the executable does not exist (exit 127 in shell terms):
   * runc's {@code executable file not found in $PATH} / {@code no such file or directory}, crun's
   * {@code executable file `x` not found in $PATH: No such file or directory}.
   */
  static boolean isNotFound(String message) {
    String m = message.toLowerCase(java.util.Locale.ROOT);
    return m.contains("executable file not found")
        || m.contains("not found in $path")
        || m.contains("no such file or directory");
  }
}
