package io.micropod.agent;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * A shell script standing in for runc where the real one is not the point of the test (status
 * codes, log plumbing). {@code run} behaves by container id: {@code fail*} logs a runc-style
 * error and exits 1, {@code out*} prints to stdout and stderr and exits 3; every other command
 * succeeds silently.
 */
final class FakeRuntime {
  static final String NOT_FOUND_MESSAGE =
      "runc run failed: unable to start container process: exec: \"nope\": executable file not"
          + " found in $PATH";

  private FakeRuntime() {}

  static Path write(Path dir) throws IOException {
    Path script = dir.resolve("fake-runc");
    String text =
        "#!/bin/sh\n"
            + "log=\n"
            + "while [ $# -gt 0 ]; do\n"
            + "  case \"$1\" in\n"
            + "    --log) log=$2; shift 2 ;;\n"
            + "    --log-format|--root) shift 2 ;;\n"
            + "    --version) echo 'fake-runc version 9.9'; echo 'spec: 1.0.2'; exit 0 ;;\n"
            + "    *) break ;;\n"
            + "  esac\n"
            + "done\n"
            + "cmd=$1; shift\n"
            + "if [ \"$cmd\" = run ]; then\n"
            + "  case \"$5\" in\n"
            + "    fail*) printf '%s\\n' '{\"level\":\"error\",\"msg\":\""
            + NOT_FOUND_MESSAGE.replace("\"", "\\\"")
            + "\",\"time\":\"t\"}' > \"$log\"; echo 'runc run failed' >&2; exit 1 ;;\n"
            + "    out*) echo hello; echo err >&2; exit 3 ;;\n"
            + "  esac\n"
            + "fi\n"
            + "exit 0\n";
    Files.write(script, text.getBytes(StandardCharsets.UTF_8));
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
    return script;
  }
}
