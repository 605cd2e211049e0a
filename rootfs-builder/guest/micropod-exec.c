/*
 * micropod-exec: runs the execs of one container (and one user) without an OCI runtime start
 * per exec. Two roles in one static binary:
 *
 *   micropod-exec broker PID_FILE -- RUNTIME exec --detach --pid-file PID_FILE
 *       --preserve-fds 2 --process helper.json ID
 *     Runs in the agent's namespaces, as the agent's child. Starts the in-container helper with
 *     ONE `crun exec` (so the helper gets exactly the confinement of any exec: namespaces, cgroup,
 *     capabilities, seccomp, no_new_privs, rlimits, user), then serves the agent over its
 *     stdin/stdout and talks to the helper over a SOCK_SEQPACKET socketpair.
 *   /proc/self/fd/4 serve   (what helper.json's process.args say; never run by hand)
 *     Runs inside the container: per request it forks, applies the request (stdio, cwd, env)
 *     and execs the command, then reports its pid and wait status.
 *
 * Why a broker: the JDK can neither create a pipe for another process nor pass a descriptor
 * (SCM_RIGHTS). The broker creates each exec's three pipes, passes the process's ends to the
 * helper and keeps the agent's ends open until the agent has opened them through
 * /proc/<broker pid>/fd/N (the broker is the agent's own trusted child; no descriptor ever
 * flows from the container to the agent, so a hostile helper cannot hand the agent a file).
 *
 * Confinement: the helper never changes its identity: the agent runs one helper per
 * (container, uid, gid), with the process spec of an ordinary exec as that user, and asks the
 * OCI runtime for anything else (a terminal, another user). So whoever controls the helper
 * (a container process that kills, stops or ptraces it) gets nothing that user did not have.
 * The helper's control socket has no path (a socketpair end inherited as fd 3), the helper is
 * not dumpable (same-uid processes without CAP_SYS_PTRACE can neither ptrace it nor open its
 * /proc/<pid>/fd or exe), and it runs from a sealed memfd copy of this binary, so that a
 * process that got hold of /proc/<helper>/exe cannot overwrite the guest's binary
 * (CVE-2019-5736 was that attack on runc).
 *
 * Agent -> broker (stdin), integers big-endian:
 *   'E' u32 seq, u32 len, payload   run: payload is NUL-terminated fields: stdin ("i" piped,
 *                                   "-" /dev/null), cwd, argc (decimal), argv..., env...
 *   'C' u32 seq                     the agent opened its ends: close the broker's copies
 *   'K' u32 seq, u32 signal         signal the process (as i32 < 0: -signal to its group)
 *   EOF                             kill the helper (its processes die with it) and exit
 * Broker -> agent (stdout), 9-byte records kind, u32 seq, i32 value, except 'P':
 *   'R' 0 helper-pid-in-container   the helper is up
 *   'P' seq, i32 stdin, i32 stdout, i32 stderr   pipes ready: broker fds (stdin -1: /dev/null)
 *   'S' seq pid                     forked (pid in the container's namespace)
 *   'X' seq wait-status             exited (raw wait status)
 *   'F' seq errno                   not run (the agent falls back to the OCI runtime)
 *   'D' 0 reason                    the helper is gone (reason: runtime exit code, or -1)
 * The helper's records are forwarded as they are: the agent trusts none of their values beyond
 * "the exec with this seq ended with this status".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Largest request payload; the agent sends larger ones to the OCI runtime instead. */
#define MAX_PAYLOAD (64 * 1024)
/* Execs in flight per helper; more are refused ('F' EAGAIN) and run by the OCI runtime. */
#define MAX_EXECS 256
/* How long the broker waits for the helper's first record after the runtime started it. */
#define READY_TIMEOUT_MS 60000

static void put32(unsigned char *p, uint32_t v) {
  v = htonl(v);
  memcpy(p, &v, 4);
}

static uint32_t get32(const unsigned char *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return ntohl(v);
}

static int write_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t) w;
  }
  return 0;
}

static int read_all(int fd, void *buf, size_t n) {
  char *p = buf;
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) return -1;
    p += r;
    n -= (size_t) r;
  }
  return 0;
}

static void record(unsigned char out[9], char kind, uint32_t seq, int32_t value) {
  out[0] = (unsigned char) kind;
  put32(out + 1, seq);
  put32(out + 5, (uint32_t) value);
}

/* ---- helper (inside the container) ------------------------------------------------------- */

static struct { uint32_t seq; pid_t pid; } running[MAX_EXECS];
static int nrunning;

static int send_record(int sock, char kind, uint32_t seq, int32_t value) {
  unsigned char r[9];
  record(r, kind, seq, value);
  return send(sock, r, sizeof r, MSG_NOSIGNAL) == (ssize_t) sizeof r ? 0 : -1;
}

static void child_fail(int err, const char *fmt, const char *what) {
  char msg[4200];
  int n = snprintf(msg, sizeof msg, fmt, what);
  if (n > 0) {
    if ((size_t) n >= sizeof msg - 40) n = (int) sizeof msg - 40;
    n += snprintf(msg + n, sizeof msg - (size_t) n, ": %s\n", strerror(err));
    (void) write_all(2, msg, (size_t) n);
  }
  _exit(err == ENOENT ? 127 : 126);
}

/* crun's check_access: a regular file this process may execute. */
static int check_access(const char *path) {
  struct stat st;
  if (stat(path, &st) < 0) return -errno;
  if (!S_ISREG(st.st_mode)) return -EISDIR;
  if (eaccess(path, X_OK) < 0) return -errno;
  return 0;
}

/* crun's find_executable, with crun's messages: PATH of the new environment, cwd-relative
 * paths with a slash, the last error other than ENOENT wins. */
static void find_and_exec(char **argv, const char *cwd) {
  const char *name = argv[0];
  static char path[4096];
  int err = ENOENT;
  if (name[0] != '/' && strchr(name, '/') != NULL) {
    snprintf(path, sizeof path, "%s/%s", cwd, name);
    name = path;
  }
  if (name[0] == '/') {
    int r = check_access(name);
    if (r == 0) {
      execv(name, argv);
      child_fail(errno, "exec `%s`", name);
    }
    err = -r;
  } else {
    const char *env_path = getenv("PATH");
    char *dirs = strdup(env_path != NULL ? env_path : "");
    char *end = dirs;
    char *it;
    while (dirs != NULL && (it = strsep(&end, ":")) != NULL) {
      if (*it == '\0') it = ".";
      if (snprintf(path, sizeof path, "%s/%s", it, name) >= (int) sizeof path) continue;
      int r = check_access(path);
      if (r == 0) {
        execv(path, argv);
        child_fail(errno, "exec `%s`", path);
      }
      if (r != -ENOENT) err = -r;
    }
  }
  if (err == EISDIR) child_fail(EPERM, "the path `%s` is not a regular file", name);
  if (err == EACCES) child_fail(EPERM, "the path `%s` exists but it is not executable", name);
  if (err == ENOENT) {
    child_fail(ENOENT, name[0] == '/' ? "executable file `%s` not found"
                                      : "executable file `%s` not found in $PATH", name);
  }
  child_fail(err, "open `%s`", name);
}

/* crun's set_home_env: HOME from the container's /etc/passwd for our uid, else "/". */
static void set_home(void) {
  if (getenv("HOME") != NULL) return;
  FILE *f = fopen("/etc/passwd", "re");
  if (f != NULL) {
    struct passwd pw, *res;
    char buf[4096];
    uid_t uid = getuid();
    while (fgetpwent_r(f, &pw, buf, sizeof buf, &res) == 0) {
      if (res != NULL && res->pw_uid == uid) {
        setenv("HOME", res->pw_dir, 1);
        fclose(f);
        return;
      }
    }
    fclose(f);
  }
  setenv("HOME", "/", 1);
}

/* In the forked child: become what crun exec makes of a process, then exec. Never returns. */
static void run_child(pid_t helper, char *payload, size_t len, int fds[3], int nfds) {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != helper) _exit(126);
  setsid();
  /* fields */
  char *fields[MAX_PAYLOAD / 2];
  size_t n = 0;
  for (size_t i = 0; i < len && n < sizeof fields / sizeof *fields; ) {
    fields[n++] = payload + i;
    i += strlen(payload + i) + 1;
  }
  if (n < 4) _exit(126);
  int piped_stdin = strcmp(fields[0], "i") == 0;
  const char *cwd = fields[1];
  long argc = strtol(fields[2], NULL, 10);
  if (argc < 1 || (size_t) argc > n - 3) _exit(126);
  char **argv = calloc((size_t) argc + 1, sizeof *argv);
  size_t nenv = n - 3 - (size_t) argc;
  char **env = calloc(nenv + 1, sizeof *env);
  if (argv == NULL || env == NULL) _exit(126);
  for (long i = 0; i < argc; i++) argv[i] = fields[3 + i];
  for (size_t i = 0; i < nenv; i++) env[i] = fields[3 + (size_t) argc + i];
  /* stdio: the received pipe ends (they arrive in order stdin?, stdout, stderr) */
  int k = 0;
  int in = piped_stdin ? fds[k++] : open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (nfds != (piped_stdin ? 3 : 2) || in < 0) _exit(126);
  int out = fds[k++];
  int err = fds[k++];
  /* dup2 onto 0..2 without clobbering a source that sits there already */
  int hi_in = fcntl(in, F_DUPFD_CLOEXEC, 10), hi_out = fcntl(out, F_DUPFD_CLOEXEC, 10),
      hi_err = fcntl(err, F_DUPFD_CLOEXEC, 10);
  if (hi_in < 0 || hi_out < 0 || hi_err < 0 || dup2(hi_in, 0) < 0 || dup2(hi_out, 1) < 0
      || dup2(hi_err, 2) < 0) {
    _exit(126);
  }
  /* crun's unblock_signals: every signal unblocked and at its default action */
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_UNBLOCK, &all, NULL);
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; s++) sigaction(s, &dfl, NULL);
  if (chdir(cwd) < 0) child_fail(errno, "chdir `%s`", cwd);
  clearenv();
  for (size_t i = 0; i < nenv; i++) {
    if (putenv(env[i]) < 0) _exit(126);
  }
  set_home();
  find_and_exec(argv, cwd);
}

static int forget(pid_t pid, uint32_t *seq) {
  for (int i = 0; i < nrunning; i++) {
    if (running[i].pid == pid) {
      *seq = running[i].seq;
      running[i] = running[--nrunning];
      return 1;
    }
  }
  return 0;
}

static int serve(void) {
  const int sock = 3;
  /* Not dumpable: a same-uid process in the container without CAP_SYS_PTRACE can neither
   * ptrace us nor open /proc/<us>/fd/3 or /proc/<us>/exe. */
  prctl(PR_SET_DUMPABLE, 0);
  prctl(PR_SET_NAME, "micropod-exec");
  close(4); /* the sealed copy of this binary we were exec'd from */
  if (fcntl(sock, F_SETFD, FD_CLOEXEC) < 0) return 126;
  pid_t self = getpid();
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigaddset(&chld, SIGPIPE);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  sigdelset(&chld, SIGPIPE);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) return 126;
  if (send_record(sock, 'R', 0, self) < 0) return 126;
  static char payload[MAX_PAYLOAD + 16];
  for (;;) {
    struct pollfd p[2] = {{.fd = sock, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return 126;
    }
    if (p[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == (ssize_t) sizeof si) {}
      int status;
      pid_t pid;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        uint32_t seq;
        if (forget(pid, &seq) && send_record(sock, 'X', seq, status) < 0) return 0;
      }
    }
    if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    union { struct cmsghdr h; char buf[CMSG_SPACE(3 * sizeof(int))]; } control;
    struct iovec iov = {.iov_base = payload, .iov_len = sizeof payload - 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = control.buf, .msg_controllen = sizeof control.buf};
    ssize_t r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return 0; /* the broker went away: we go too, and our execs with us */
    int fds[3];
    int nfds = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        int count = (int) ((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int i = 0; i < count; i++) {
          int fd;
          memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
          if (nfds < 3) fds[nfds++] = fd; else close(fd);
        }
      }
    }
    if (r < 9 || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
      for (int i = 0; i < nfds; i++) close(fds[i]);
      continue;
    }
    unsigned char *h = (unsigned char *) payload;
    uint32_t seq = get32(h + 1);
    if (h[0] == 'K') {
      int sig = (int) get32(h + 5);
      for (int i = 0; i < nrunning; i++) {
        /* negative: the exec's whole process group (run_child made it a session and group
           leader), so that what it started in the background dies with it (a deadline) */
        if (running[i].seq == seq) kill(sig < 0 ? -running[i].pid : running[i].pid, sig < 0 ? -sig : sig);
      }
      for (int i = 0; i < nfds; i++) close(fds[i]);
      continue;
    }
    if (h[0] != 'E') {
      for (int i = 0; i < nfds; i++) close(fds[i]);
      continue;
    }
    if (nrunning >= MAX_EXECS) {
      for (int i = 0; i < nfds; i++) close(fds[i]);
      if (send_record(sock, 'F', seq, EAGAIN) < 0) return 0;
      continue;
    }
    payload[r] = '\0';
    pid_t pid = fork();
    if (pid == 0) {
      close(sock);
      close(sfd);
      run_child(self, payload + 9, (size_t) r - 9, fds, nfds);
    }
    int fork_errno = errno;
    for (int i = 0; i < nfds; i++) close(fds[i]);
    if (pid < 0) {
      if (send_record(sock, 'F', seq, fork_errno) < 0) return 0;
      continue;
    }
    running[nrunning].seq = seq;
    running[nrunning].pid = pid;
    nrunning++;
    if (send_record(sock, 'S', seq, pid) < 0) return 0;
  }
}

/* ---- broker (the agent's namespaces) ----------------------------------------------------- */

static struct { uint32_t seq; int fds[3]; } held[MAX_EXECS];
static int nheld;
static pid_t helper_pid;

static void close_held(uint32_t seq) {
  for (int i = 0; i < nheld; i++) {
    if (held[i].seq == seq) {
      for (int k = 0; k < 3; k++) {
        if (held[i].fds[k] >= 0) close(held[i].fds[k]);
      }
      held[i] = held[--nheld];
      return;
    }
  }
}

static int to_agent(char kind, uint32_t seq, int32_t value) {
  unsigned char r[9];
  record(r, kind, seq, value);
  return write_all(1, r, sizeof r);
}

static void kill_helper(void) {
  if (helper_pid > 0) kill(helper_pid, SIGKILL);
}

static void die(int32_t reason) {
  kill_helper();
  (void) to_agent('D', 0, reason);
  exit(0);
}

/* An 'E' from the agent: pipes, descriptors to the helper, 'P' (or 'F') to the agent. */
static int broker_exec(int sock, uint32_t seq, unsigned char *buf, uint32_t len) {
  int piped_stdin = len > 0 && buf[9] == 'i';
  int p[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
  int ok = nheld < MAX_EXECS;
  for (int i = piped_stdin ? 0 : 1; ok && i < 3; i++) ok = pipe2(p[i], O_CLOEXEC) == 0;
  int err = ok ? 0 : (nheld < MAX_EXECS ? errno : EAGAIN);
  if (ok) {
    /* stdout's pipe holds 1 MiB (pipe-max-size) instead of 64 KiB: a fast writer blocks and the
       agent's pump wakes 16x less often, each a process switch (a TLB flush under TCG); the agent
       reads up to 1 MiB at once for the bulk port (docs/performance.md, "P5: the bulk port").
       Pages are allocated only as the pipe fills. Best effort: the default size works too. */
    (void) fcntl(p[1][0], F_SETPIPE_SZ, 1 << 20);
    /* the process's ends: stdin's read end, stdout's and stderr's write ends */
    int send_fds[3];
    int n = 0;
    if (piped_stdin) send_fds[n++] = p[0][0];
    send_fds[n++] = p[1][1];
    send_fds[n++] = p[2][1];
    union { struct cmsghdr h; char b[CMSG_SPACE(3 * sizeof(int))]; } control;
    memset(&control, 0, sizeof control);
    struct iovec iov = {.iov_base = buf, .iov_len = 9 + (size_t) len};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.b,
                         .msg_controllen = CMSG_SPACE((size_t) n * sizeof(int))};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN((size_t) n * sizeof(int));
    memcpy(CMSG_DATA(c), send_fds, (size_t) n * sizeof(int));
    buf[0] = 'E';
    put32(buf + 1, seq);
    put32(buf + 5, 0);
    /* non-blocking: a helper that does not read (stopped) must not stop the broker */
    if (sendmsg(sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
      ok = 0;
      err = errno;
    }
    for (int i = 0; i < n; i++) close(send_fds[i]);
    if (piped_stdin) p[0][0] = -1;
    p[1][1] = p[2][1] = -1;
  }
  if (!ok) {
    for (int i = 0; i < 3; i++) {
      if (p[i][0] >= 0) close(p[i][0]);
      if (p[i][1] >= 0) close(p[i][1]);
    }
    return to_agent('F', seq, err);
  }
  held[nheld].seq = seq;
  held[nheld].fds[0] = p[0][1];
  held[nheld].fds[1] = p[1][0];
  held[nheld].fds[2] = p[2][0];
  nheld++;
  unsigned char r[17];
  r[0] = 'P';
  put32(r + 1, seq);
  put32(r + 5, (uint32_t) p[0][1]);
  put32(r + 9, (uint32_t) p[1][0]);
  put32(r + 13, (uint32_t) p[2][0]);
  return write_all(1, r, sizeof r);
}

/* A sealed in-memory copy of this binary: what the runtime execs inside the container. */
static int sealed_copy(void) {
  int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  int mfd = memfd_create("micropod-exec", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  struct stat st;
  if (src < 0 || mfd < 0 || fstat(src, &st) < 0) return -1;
  off_t off = 0;
  while (off < st.st_size) {
    ssize_t n = sendfile(mfd, src, &off, (size_t) (st.st_size - off));
    if (n <= 0) return -1;
  }
  close(src);
  if (fchmod(mfd, 0555) < 0
      || fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
    return -1;
  }
  return mfd;
}

static pid_t read_pid_file(const char *path) {
  char buf[32] = {0};
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  return n > 0 ? (pid_t) strtol(buf, NULL, 10) : 0;
}

static int broker(const char *pid_file, char **runtime_argv) {
  /* The helper is reparented to us when the detached runtime exits; we die with the agent. */
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  signal(SIGPIPE, SIG_IGN);
  int sp[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) die(-1);
  int mfd = sealed_copy();
  if (mfd < 0) {
    fprintf(stderr, "micropod-exec: cannot make a sealed copy of itself: %s\n", strerror(errno));
    die(-1);
  }
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  pid_t runtime = fork();
  if (runtime == 0) {
    /* the runtime's stdout is the agent's protocol channel: send it to stderr */
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(2, 1) < 0 || dup2(sp[1], 3) < 0
        || dup2(mfd, 4) < 0) {
      _exit(126);
    }
    sigprocmask(SIG_UNBLOCK, &chld, NULL);
    signal(SIGPIPE, SIG_DFL);
    execvp(runtime_argv[0], runtime_argv);
    fprintf(stderr, "micropod-exec: cannot run %s: %s\n", runtime_argv[0], strerror(errno));
    _exit(127);
  }
  if (runtime < 0 || sfd < 0) die(-1);
  close(sp[1]);
  close(mfd);
  int sock = sp[0];
  /* Wait for the runtime to exit (it is detached: it exits once the helper runs), then for
   * the helper's 'R'. */
  int runtime_status = -1;
  int32_t ready_pid = -1; /* the helper's 'R' may come before the runtime exited */
  int hup = 0;
  int elapsed = 0;
  for (;;) {
    struct pollfd p[2] = {{.fd = hup ? -1 : sock, .events = POLLIN},
                          {.fd = sfd, .events = POLLIN}};
    int n = poll(p, 2, 100);
    if (n < 0 && errno != EINTR) die(-1);
    elapsed += 100;
    struct signalfd_siginfo si;
    while (read(sfd, &si, sizeof si) == (ssize_t) sizeof si) {}
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      if (pid == runtime) runtime_status = status;
    }
    if (runtime_status >= 0 && (!WIFEXITED(runtime_status) || WEXITSTATUS(runtime_status) != 0)) {
      die(WIFEXITED(runtime_status) ? WEXITSTATUS(runtime_status) : 128 + WTERMSIG(runtime_status));
    }
    if (n > 0 && !hup && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      unsigned char r[16];
      ssize_t got = recv(sock, r, sizeof r, MSG_DONTWAIT);
      if (got == 0) {
        hup = 1; /* the helper is gone: the runtime's exit code says why */
      } else if (got > 0) {
        if (got != 9 || r[0] != 'R') die(-1);
        ready_pid = (int32_t) get32(r + 5);
      }
    }
    if (hup && runtime_status >= 0) die(-1);
    if (ready_pid >= 0 && runtime_status >= 0) {
      helper_pid = read_pid_file(pid_file);
      if (helper_pid <= 0 || to_agent('R', 0, ready_pid) < 0) die(-1);
      break;
    }
    if (elapsed > READY_TIMEOUT_MS) die(-1);
  }
  static unsigned char buf[9 + MAX_PAYLOAD];
  for (;;) {
    struct pollfd p[3] = {{.fd = 0, .events = POLLIN}, {.fd = sock, .events = POLLIN},
                          {.fd = sfd, .events = POLLIN}};
    if (poll(p, 3, -1) < 0) {
      if (errno == EINTR) continue;
      die(-1);
    }
    if (p[2].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == (ssize_t) sizeof si) {}
      int status;
      pid_t pid;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid == helper_pid) {
          helper_pid = 0;
          die(-1);
        }
      }
    }
    if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      unsigned char r[16];
      ssize_t got = recv(sock, r, sizeof r, MSG_DONTWAIT);
      if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) die(-1);
      /* a well-formed record of a kind the helper may send is forwarded; anything else is
       * dropped (the agent trusts nothing in it anyway) */
      if (got == 9 && (r[0] == 'S' || r[0] == 'X' || r[0] == 'F')) {
        if (write_all(1, r, 9) < 0) die(-1);
      }
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      unsigned char h[5];
      if (read_all(0, h, 1) < 0) die(-1); /* the agent closed us: stop */
      if (h[0] == 'E') {
        unsigned char lenb[8];
        if (read_all(0, lenb, 8) < 0) die(-1);
        uint32_t seq = get32(lenb), len = get32(lenb + 4);
        if (len > MAX_PAYLOAD) die(-1);
        if (read_all(0, buf + 9, len) < 0) die(-1);
        if (broker_exec(sock, seq, buf, len) < 0) die(-1);
      } else if (h[0] == 'C') {
        if (read_all(0, h + 1, 4) < 0) die(-1);
        close_held(get32(h + 1));
      } else if (h[0] == 'K') {
        unsigned char k[8];
        if (read_all(0, k, 8) < 0) die(-1);
        unsigned char m[9];
        m[0] = 'K';
        memcpy(m + 1, k, 8);
        (void) send(sock, m, sizeof m, MSG_DONTWAIT | MSG_NOSIGNAL);
      } else {
        die(-1);
      }
    }
  }
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "serve") == 0) return serve();
  if (argc >= 5 && strcmp(argv[1], "broker") == 0 && strcmp(argv[3], "--") == 0) {
    return broker(argv[2], argv + 4);
  }
  fprintf(stderr, "usage: micropod-exec broker PID_FILE -- RUNTIME_ARGV...\n");
  return 2;
}
