package io.micropod;

import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A process to run in a running container with {@link MicroPod#exec(ExecSpec)}. Immutable; build
 * one with {@link #of(String...)} or {@link #builder(String...)}.
 *
 * <pre>{@code
 * ExecResult r = pod.exec(ExecSpec.builder("sh", "-c", "cat > /tmp/x && id -u")
 *     .user("1000").workingDir("/tmp").env("A", "1")
 *     .stdin("hello".getBytes(UTF_8)).build());
 * }</pre>
 *
 * <h2>Defaults</h2>
 * The container's environment (plus {@link #env()}), working directory and user; no stdin
 * ({@code /dev/null}); no terminal.
 *
 * <h2>TTY</h2>
 * With {@link Builder#tty(int, int)} the process runs on a pseudo-terminal (isatty is true for
 * its stdin, stdout and stderr): what it writes to stdout and stderr arrives merged, in order,
 * as {@link ExecResult#stdout()} ({@code stderr()} then only carries the runtime's own errors).
 * The terminal is in its default ("cooked") mode: output newlines arrive as {@code "\r\n"},
 * typed input is echoed into the output, a typed {@code '\r'} or {@code '\n'} ends a line,
 * {@code 0x03} (Ctrl-C) interrupts and closing stdin types the EOF character (Ctrl-D) once.
 * Without stdin ({@link MicroPod#exec(ExecSpec)} with no {@link #stdin()}) the EOF character is
 * typed at once. Resize a running one with {@link ExecProcess#resize(int, int)}.
 *
 * <h2>Deadline</h2>
 * With {@link Builder#timeout(Duration)} the host kills the process when the deadline passes:
 * the agent sends SIGKILL to its process group, so that what it started in the background
 * ({@code sh -c 'a & b'}) ends too (a process that left the group with {@code setsid} or
 * {@code setpgid} survives it; so do processes of a TTY exec's terminal session beyond the one
 * SIGTERM reaches). The blocking {@link MicroPod#exec(ExecSpec)}, and {@link ExecProcess#await()}
 * of a {@link MicroPod#execStreaming(ExecSpec)}, then throw {@link ExecTimeoutException} with the
 * output read until then. The deadline is the host's: when the agent does not confirm the kill
 * within {@link #KILL_GRACE} the call is cancelled and fails all the same, so
 * that a wedged or hostile guest cannot hold the caller past {@code timeout + KILL_GRACE}.
 */
public final class ExecSpec {
  /**
   * How long, after an exec's {@link #timeout()} passed and the host asked for the kill, the
   * host waits for the agent to confirm it (the process's exit) before it cancels the call and
   * fails the exec anyway: 5 seconds.
   */
  public static final Duration KILL_GRACE = Duration.ofSeconds(5);

  private final List<String> command;
  private final Map<String, String> env;
  private final String workingDir;
  private final String user;
  private final byte[] stdin;
  private final TerminalSize tty;
  private final Duration timeout;

  private ExecSpec(Builder b) {
    this.command = List.copyOf(b.command);
    this.env = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(b.env));
    this.workingDir = b.workingDir;
    this.user = b.user;
    this.stdin = b.stdin;
    this.tty = b.tty;
    this.timeout = b.timeout;
  }

  /**
   * {@code argv} with every default.
   *
   * @param argv the program and its arguments; not empty, {@code argv[0]} not empty, no null
   *     element
   * @return a spec that runs {@code argv} with the container's environment, directory and user
   * @throws IllegalArgumentException naming the bad element when {@code argv} is not such a list
   */
  public static ExecSpec of(String... argv) {
    return builder(argv).build();
  }

  /**
   * A builder for {@code argv}.
   *
   * @param argv the program and its arguments, as for {@link #of(String...)}
   * @return a new builder with every default
   * @throws IllegalArgumentException naming the bad element when {@code argv} is not valid
   */
  public static Builder builder(String... argv) {
    return new Builder(Arrays.asList(Objects.requireNonNull(argv, "argv")));
  }

  /**
   * A builder for {@code argv}.
   *
   * @param argv the program and its arguments, as for {@link #of(String...)}; copied
   * @return a new builder with every default
   * @throws IllegalArgumentException naming the bad element when {@code argv} is not valid
   */
  public static Builder builder(List<String> argv) {
    return new Builder(argv);
  }

  /** {@return the program and its arguments; an unmodifiable list, never empty} */
  public List<String> command() {
    return command;
  }

  /**
   * Added to (and overriding) the container's environment.
   *
   * @return the variables, in the order they were set; an unmodifiable map, empty by default
   */
  public Map<String, String> env() {
    return env;
  }

  /** {@return the absolute working directory, or empty for the container's own (the default)} */
  public Optional<String> workingDir() {
    return Optional.ofNullable(workingDir);
  }

  /**
   * A user name or uid, optionally {@code :group}; names resolve against the image.
   *
   * @return the user, or empty for the container's own (the default)
   */
  public Optional<String> user() {
    return Optional.ofNullable(user);
  }

  /**
   * Bytes fed to the process's stdin, which is then closed; a copy.
   *
   * @return a copy of the bytes, or empty for no stdin (the default: {@code /dev/null})
   */
  public Optional<byte[]> stdin() {
    return Optional.ofNullable(stdin).map(byte[]::clone);
  }

  /**
   * The terminal's initial size when the process runs on a TTY; empty: no TTY (the default).
   *
   * @return the terminal's size, or empty for no terminal
   */
  public Optional<TerminalSize> tty() {
    return Optional.ofNullable(tty);
  }

  /**
   * How long the process may run before the host kills it (see the class doc).
   *
   * @return the deadline, counted from the start of the exec; empty: none (the default), the
   *     exec waits as long as the process runs
   */
  public Optional<Duration> timeout() {
    return Optional.ofNullable(timeout);
  }

  byte[] stdinUnsafe() {
    return stdin;
  }

  @Override
  public String toString() {
    return "ExecSpec{command=" + command + ", envKeys=" + env.keySet()
        + (workingDir != null ? ", workingDir=" + workingDir : "")
        + (user != null ? ", user=" + user : "")
        + (stdin != null ? ", stdin=" + stdin.length + " bytes" : "")
        + (tty != null ? ", tty=" + tty : "")
        + (timeout != null ? ", timeout=" + timeout : "") + "}";
  }

  /** Builds an {@link ExecSpec}; setters validate eagerly. Not thread-safe. */
  public static final class Builder {
    private final List<String> command;
    private final LinkedHashMap<String, String> env = new LinkedHashMap<>();
    private String workingDir;
    private String user;
    private byte[] stdin;
    private TerminalSize tty;
    private Duration timeout;

    private Builder(List<String> argv) {
      this.command = Validation.argv(argv, "argv", false);
    }

    /**
     * Sets environment variable {@code key} for the process, over the container's value; a later
     * call with the same key replaces the earlier value.
     *
     * @param key the variable's name; not empty, no {@code '='} or NUL
     * @param value its value, may be empty; no NUL
     * @return this builder
     * @throws IllegalArgumentException naming the key when the key or value is not valid
     */
    public Builder env(String key, String value) {
      Validation.env(key, value);
      env.put(key, value);
      return this;
    }

    /**
     * Runs the process in {@code absPath}. Default: the container's working directory.
     *
     * @param absPath an absolute path in the container
     * @return this builder
     * @throws IllegalArgumentException when {@code absPath} is not absolute
     */
    public Builder workingDir(String absPath) {
      this.workingDir = Validation.workingDir(absPath);
      return this;
    }

    /**
     * Runs the process as {@code user}. Default: the container's user.
     *
     * @param user {@code name|uid[:group|gid]}, e.g. {@code 1000}, {@code nobody} or
     *     {@code 1000:1000}; names resolve against the image's {@code /etc/passwd} and
     *     {@code /etc/group}
     * @return this builder
     * @throws IllegalArgumentException when {@code user} does not have that form
     */
    public Builder user(String user) {
      this.user = Validation.user(user);
      return this;
    }

    /**
     * Bytes for the process's stdin (copied); it is closed after them.
     *
     * @param bytes the whole input; copied, may be empty (then stdin is closed at once)
     * @return this builder
     */
    public Builder stdin(byte[] bytes) {
      this.stdin = Objects.requireNonNull(bytes, "stdin").clone();
      return this;
    }

    /**
     * Runs the process on a pseudo-terminal of {@code columns} by {@code rows} (see the class
     * doc for what changes). Default: no terminal.
     *
     * @param columns the width in character cells, 1..65535
     * @param rows the height in character cells, 1..65535
     * @return this builder
     * @throws IllegalArgumentException when a value is not 1..65535
     */
    public Builder tty(int columns, int rows) {
      this.tty = TerminalSize.of(columns, rows);
      return this;
    }

    /**
     * Like {@link #tty(int, int)}.
     *
     * @param size the terminal's initial size; not null
     * @return this builder
     */
    public Builder tty(TerminalSize size) {
      this.tty = Objects.requireNonNull(size, "size");
      return this;
    }

    /**
     * Kills the process when it still runs {@code timeout} after the exec started; the exec then
     * throws {@link ExecTimeoutException} (see the class doc). Default: no deadline.
     *
     * @param timeout how long the process may run; positive
     * @return this builder
     * @throws IllegalArgumentException when {@code timeout} is zero or negative
     */
    public Builder timeout(Duration timeout) {
      this.timeout = Validation.positive(timeout, "timeout");
      return this;
    }

    /** {@return an immutable spec of what was set} */
    public ExecSpec build() {
      return new ExecSpec(this);
    }
  }
}
