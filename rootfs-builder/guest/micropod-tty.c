/*
 * micropod-tty: runs one `runc exec` with a terminal and relays it for the guest agent.
 *
 *   micropod-tty CONSOLE_SOCKET PID_FILE ROWS COLS -- runc ... exec -d --console-socket
 *       CONSOLE_SOCKET --pid-file PID_FILE --process exec.json ID
 *
 * Why a C helper: runc hands the pty master over a Unix socket with SCM_RIGHTS
 * (--console-socket), and a window resize is ioctl(TIOCSWINSZ) on that master. The JDK can
 * do neither, and a JNI library (junixsocket) would add a native library to extract at run
 * time plus still no ioctl. Non-detached `runc exec` with a terminal is no way out either:
 * it needs a terminal of its own on stdin/stdout (it copies from it and takes the size from
 * it). So this ~300-line program, compiled when the guest image is built, is the console
 * socket's receiver, the pty relay and the reaper of the process.
 *
 * Steps: become a child subreaper; listen on CONSOLE_SOCKET; run the runc command (detached:
 * it exits once the process runs, and the process is reparented to us); receive the master;
 * read the process's pid from PID_FILE; relay until it exits; exit with its status (the
 * code, or 128 + signal as runc reports it). When runc fails, exit with runc's status (the
 * agent reads runc's log for the message).
 *
 * stdin carries frames from the agent, so that data, resizes and EOF stay in order:
 *   'D' u32be length, bytes   bytes to type into the terminal
 *   'R' u16be rows, u16be cols  ioctl(TIOCSWINSZ) on the master (the process gets SIGWINCH)
 *   'E'                       end of input: the terminal's EOF character (VEOF, ^D) once
 * EOF of stdin itself means the agent went away: treated as 'E', later frames impossible.
 * stdout gets the terminal's output (the process's stdout and stderr, merged by the pty).
 * stderr is runc's and ours (diagnostics). SIGTERM/SIGINT/SIGHUP are forwarded to the
 * process (to runc while the pid is not known yet).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define BUF 65536
/* Largest 'D' frame (the agent sends at most 16 KiB). */
#define MAX_FRAME 32768
/* After the process exited, how long output is still relayed while something else (a
 * background child) keeps the terminal open. */
#define LINGER_MS 2000

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("micropod-tty: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(126);
}

static int sfd;            /* signalfd */
static pid_t runc_pid;     /* runc while it runs, then 0 */
static int runc_status = -1;
static pid_t target;       /* the exec'd process, once known */
static int target_status = -1;
/* statuses reaped before the pid was known (a process that exited at once) */
static struct { pid_t pid; int status; } early[64];
static int nearly;

static int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 126;
}

static void reap(void) {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    if (pid == runc_pid) {
      runc_status = status;
      runc_pid = 0;
    } else if (target > 0 && pid == target) {
      target_status = status;
    } else if (target == 0 && nearly < 64) {
      early[nearly].pid = pid;
      early[nearly].status = status;
      nearly++;
    }
  }
}

/* Drains the signalfd: reaps children, forwards termination signals. */
static void on_signals(void) {
  struct signalfd_siginfo si;
  while (read(sfd, &si, sizeof si) == sizeof si) {
    if (si.ssi_signo == SIGCHLD) {
      continue;
    }
    pid_t to = target > 0 && target_status < 0 ? target : runc_pid;
    if (to > 0 && to == target && si.ssi_signo == SIGTERM) {
      /* an interactive shell ignores SIGTERM; a hangup is what a closed terminal sends */
      kill(to, SIGHUP);
    }
    if (to > 0) {
      kill(to, (int) si.ssi_signo);
    }
  }
  reap();
}

static void write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return; /* the agent went away: drop output, keep reaping */
    }
    p += w;
    n -= (size_t) w;
  }
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void set_size(int master, unsigned rows, unsigned cols) {
  struct winsize ws = {0};
  ws.ws_row = (unsigned short) rows;
  ws.ws_col = (unsigned short) cols;
  if (ioctl(master, TIOCSWINSZ, &ws) < 0) {
    fprintf(stderr, "micropod-tty: TIOCSWINSZ %ux%u: %s\n", cols, rows, strerror(errno));
  }
}

static int recv_master(int conn) {
  char data[256];
  char control[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {data, sizeof data};
  struct msghdr msg = {0};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) die("recvmsg on the console socket: %s", strerror(errno));
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (c == NULL || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
    die("the console socket message carries no file descriptor");
  }
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

/* Input frames from the agent, parsed incrementally. */
static char in[BUF];
static size_t inlen;       /* bytes buffered in `in` */
static char pending[MAX_FRAME];  /* bytes waiting for the master to take them */
static size_t pendoff, pendlen;
static int stdin_open = 1;
static int veof_due;

/* Consumes complete frames from `in`; stops when data is pending for the master. */
static void parse_frames(int master) {
  size_t off = 0;
  while (pendlen == 0 && off < inlen) {
    char kind = in[off];
    if (kind == 'D') {
      if (inlen - off < 5) break;
      uint32_t len = ((uint32_t) (unsigned char) in[off + 1] << 24)
          | ((uint32_t) (unsigned char) in[off + 2] << 16)
          | ((uint32_t) (unsigned char) in[off + 3] << 8) | (unsigned char) in[off + 4];
      if (len > MAX_FRAME) die("stdin frame of %u bytes (max %d)", len, MAX_FRAME);
      if (inlen - off < 5 + len) break;
      memcpy(pending, in + off + 5, len);
      pendoff = 0;
      pendlen = len;
      off += 5 + len;
    } else if (kind == 'R') {
      if (inlen - off < 5) break;
      unsigned rows = ((unsigned char) in[off + 1] << 8) | (unsigned char) in[off + 2];
      unsigned cols = ((unsigned char) in[off + 3] << 8) | (unsigned char) in[off + 4];
      set_size(master, rows, cols);
      off += 5;
    } else if (kind == 'E') {
      veof_due = 1;
      off += 1;
    } else {
      die("unknown stdin frame kind 0x%02x", (unsigned char) kind);
    }
  }
  memmove(in, in + off, inlen - off);
  inlen -= off;
}

static void type_veof(int master) {
  struct termios t;
  char c = 4; /* ^D */
  if (tcgetattr(master, &t) == 0 && t.c_cc[VEOF] != 0) c = (char) t.c_cc[VEOF];
  if (write(master, &c, 1) < 0 && errno != EAGAIN) {
    /* the terminal is gone: nothing to end */
  }
}

/*
 * micropod-tty --restored SECONDS NANOS [PID HOSTNAME]: after a restore from a snapshot. Reads
 * up to 512 bytes of host entropy from stdin, adds them to the kernel's pool crediting them
 * (RNDADDENTROPY) and forces a reseed of the kernel's generator (RNDRESEEDCRNG: without it the
 * forks of one snapshot read the same /dev/urandom bytes until the next scheduled reseed, up
 * to a minute later); sets CLOCK_REALTIME; with PID, joins that process's UTS namespace and
 * sets its hostname. The JDK can do none of these (ioctl, setns).
 *
 * micropod-tty --restored-server: the same for each request on stdin, until EOF. The agent
 * starts it before a snapshot is taken (PrepareSnapshot), so that a restored guest's agent only
 * writes to a process that already runs: a process spawn from the guest JVM costs ~100 ms
 * under TCG, on the path of every restore. Request: a line "SECONDS NANOS PID HOSTNAME LEN"
 * (PID 0 and HOSTNAME "-": keep the hostname) then LEN (32 to 512) bytes of entropy; LEN 0 is a
 * ping that changes nothing. Answer: a line "ok" or "error MESSAGE". After setting a hostname it
 * rejoins its own UTS namespace (no fork: under TCG a fork and wait cost ~25 ms more).
 */
#include <linux/random.h>
#include <sched.h>
#define ENTROPY_MAX 512

/* Applies one identity; returns NULL or what failed (in err). With home_uts >= 0, rejoins that
 * UTS namespace after setting the hostname. */
static const char *apply_identity(long long secs, long nanos, int pid, const char *hostname,
    int home_uts, const unsigned char *entropy, size_t n, char *err, size_t errlen) {
  struct { struct rand_pool_info info; unsigned char buf[ENTROPY_MAX]; } e;
  if (n < 32 || n > ENTROPY_MAX) {
    snprintf(err, errlen, "want 32 to %d bytes of entropy, got %zu", ENTROPY_MAX, n);
    return err;
  }
  memcpy(e.buf, entropy, n);
  e.info.entropy_count = (int) (n * 8);
  e.info.buf_size = (int) n;
  int fd = open("/dev/urandom", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, errlen, "open /dev/urandom: %s", strerror(errno));
    return err;
  }
  int bad = ioctl(fd, RNDADDENTROPY, &e.info) < 0 ? 1 : ioctl(fd, RNDRESEEDCRNG) < 0 ? 2 : 0;
  int saved = errno;
  close(fd);
  if (bad) {
    snprintf(err, errlen, "%s: %s", bad == 1 ? "RNDADDENTROPY" : "RNDRESEEDCRNG", strerror(saved));
    return err;
  }
  struct timespec ts = { .tv_sec = secs, .tv_nsec = nanos };
  if (clock_settime(CLOCK_REALTIME, &ts) < 0) {
    snprintf(err, errlen, "clock_settime: %s", strerror(errno));
    return err;
  }
  if (pid > 0) {
    char ns[64];
    snprintf(ns, sizeof ns, "/proc/%d/ns/uts", pid);
    int nfd = open(ns, O_RDONLY | O_CLOEXEC);
    if (nfd < 0) {
      snprintf(err, errlen, "open %s: %s", ns, strerror(errno));
      return err;
    }
    if (setns(nfd, CLONE_NEWUTS) < 0) {
      snprintf(err, errlen, "setns %s: %s", ns, strerror(errno));
      close(nfd);
      return err;
    }
    close(nfd);
    const char *failed = NULL;
    if (sethostname(hostname, strlen(hostname)) < 0) {
      snprintf(err, errlen, "sethostname: %s", strerror(errno));
      failed = err;
    }
    if (home_uts >= 0 && setns(home_uts, CLONE_NEWUTS) < 0) {
      /* in the container's namespace now: the next request cannot be served as it should */
      die("setns back to the agent's UTS namespace: %s", strerror(errno));
    }
    return failed;
  }
  return NULL;
}

static int restored(int argc, char **argv) {
  if (argc != 4 && argc != 6) {
    fprintf(stderr, "usage: micropod-tty --restored SECONDS NANOS [PID HOSTNAME]\n");
    return 2;
  }
  unsigned char buf[ENTROPY_MAX];
  size_t n = 0;
  ssize_t r;
  while (n < sizeof buf && (r = read(0, buf + n, sizeof buf - n)) > 0) n += (size_t) r;
  char err[256];
  if (apply_identity(atoll(argv[2]), atol(argv[3]), argc == 6 ? atoi(argv[4]) : 0,
          argc == 6 ? argv[5] : "", -1, buf, n, err, sizeof err)) {
    die("%s", err);
  }
  return 0;
}

static int restored_server(void) {
  char line[256];
  char err[256];
  unsigned char buf[ENTROPY_MAX];
  signal(SIGPIPE, SIG_IGN);
  int home_uts = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
  if (home_uts < 0) die("open /proc/self/ns/uts: %s", strerror(errno));
  while (fgets(line, sizeof line, stdin)) {
    long long secs;
    long nanos;
    int pid;
    char hostname[65];
    size_t n;
    if (sscanf(line, "%lld %ld %d %64s %zu", &secs, &nanos, &pid, hostname, &n) != 5 || n > ENTROPY_MAX) {
      printf("error bad request\n");
      fflush(stdout);
      return 2; /* out of step with the agent: it falls back to --restored */
    }
    if (fread(buf, 1, n, stdin) != n) return 2;
    if (n == 0) { /* a ping: the agent's warm-up before the snapshot */
      printf("ok\n");
      fflush(stdout);
      continue;
    }
    const char *failed = apply_identity(secs, nanos, pid, hostname, home_uts, buf, n, err, sizeof err);
    if (failed) {
      printf("error %s\n", failed);
    } else {
      printf("ok\n");
    }
    fflush(stdout);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "--restored") == 0) return restored(argc, argv);
  if (argc == 2 && strcmp(argv[1], "--restored-server") == 0) return restored_server();
  if (argc < 7 || strcmp(argv[5], "--") != 0) {
    fprintf(stderr,
        "usage: micropod-tty CONSOLE_SOCKET PID_FILE ROWS COLS -- RUNTIME_ARGV...\n");
    return 2;
  }
  const char *sock_path = argv[1];
  const char *pid_file = argv[2];
  unsigned rows = (unsigned) atoi(argv[3]);
  unsigned cols = (unsigned) atoi(argv[4]);

  if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) die("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
  signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) die("signalfd: %s", strerror(errno));

  struct sockaddr_un addr = {0};
  addr.sun_family = AF_UNIX;
  if (strlen(sock_path) >= sizeof addr.sun_path) {
    die("console socket path too long (max %zu): %s", sizeof addr.sun_path - 1, sock_path);
  }
  strcpy(addr.sun_path, sock_path);
  int lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (lsock < 0) die("socket: %s", strerror(errno));
  unlink(sock_path);
  if (bind(lsock, (struct sockaddr *) &addr, sizeof addr) < 0 || listen(lsock, 1) < 0) {
    die("cannot listen on %s: %s", sock_path, strerror(errno));
  }

  runc_pid = fork();
  if (runc_pid < 0) die("fork: %s", strerror(errno));
  if (runc_pid == 0) {
    sigprocmask(SIG_UNBLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_DFL);
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, 0);
    /* runc's stdout is not the terminal: keep it off our output stream */
    dup2(2, 1);
    execvp(argv[6], argv + 6);
    fprintf(stderr, "micropod-tty: cannot run %s: %s\n", argv[6], strerror(errno));
    _exit(127);
  }

  /* The master comes before runc exits; runc exiting first means it failed. */
  int master = -1;
  while (master < 0) {
    struct pollfd p[2] = {{lsock, POLLIN, 0}, {sfd, POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll: %s", strerror(errno));
    }
    if (p[0].revents & POLLIN) {
      int conn = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
      if (conn < 0) continue;
      master = recv_master(conn);
      close(conn);
    } else if (p[1].revents & POLLIN) {
      on_signals();
      if (runc_status >= 0) {
        close(lsock);
        unlink(sock_path);
        return exit_code(runc_status);
      }
    }
  }
  close(lsock);
  unlink(sock_path);
  if (rows > 0 && cols > 0) {
    set_size(master, rows, cols); /* runc applied consoleSize already; the same size is a no-op */
  }

  /* runc -d exits once the process runs; then the pid file is complete. */
  while (runc_status < 0) {
    struct pollfd p = {sfd, POLLIN, 0};
    if (poll(&p, 1, -1) < 0 && errno != EINTR) die("poll: %s", strerror(errno));
    on_signals();
  }
  if (!WIFEXITED(runc_status) || WEXITSTATUS(runc_status) != 0) {
    return exit_code(runc_status);
  }
  FILE *pf = fopen(pid_file, "r");
  long pid = 0;
  if (pf == NULL || fscanf(pf, "%ld", &pid) != 1 || pid <= 0) {
    die("cannot read the process's pid from %s", pid_file);
  }
  fclose(pf);
  target = (pid_t) pid;
  for (int i = 0; i < nearly; i++) {
    if (early[i].pid == target) target_status = early[i].status;
  }
  reap();

  fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
  static char out[BUF];
  long exited_at = -1;
  int master_open = 1;
  while (master_open) {
    if (target_status >= 0 && exited_at < 0) exited_at = now_ms();
    int timeout = -1;
    if (exited_at >= 0) {
      long left = exited_at + LINGER_MS - now_ms();
      if (left <= 0) break;
      timeout = (int) left;
    }
    if (veof_due && pendlen == 0) {
      type_veof(master);
      veof_due = 0;
    }
    struct pollfd p[3];
    p[0].fd = master;
    p[0].events = POLLIN | (pendlen > 0 ? POLLOUT : 0);
    p[1].fd = sfd;
    p[1].events = POLLIN;
    /* read stdin only while nothing waits for the master: backpressure to the agent */
    p[2].fd = stdin_open && pendlen == 0 && inlen < sizeof in ? 0 : -1;
    p[2].events = POLLIN;
    if (poll(p, 3, timeout) < 0) {
      if (errno == EINTR) continue;
      die("poll: %s", strerror(errno));
    }
    if (p[1].revents & POLLIN) on_signals();
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = read(master, out, sizeof out);
      if (n > 0) {
        write_all(1, out, (size_t) n);
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        master_open = 0; /* EIO: every holder of the terminal closed it */
      }
    }
    if (master_open && pendlen > 0 && (p[0].revents & POLLOUT)) {
      ssize_t w = write(master, pending + pendoff, pendlen);
      if (w > 0) {
        pendoff += (size_t) w;
        pendlen -= (size_t) w;
      } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
        pendlen = 0; /* the terminal is gone */
      }
    }
    if (p[2].fd == 0 && (p[2].revents & (POLLIN | POLLHUP))) {
      ssize_t n = read(0, in + inlen, sizeof in - inlen);
      if (n > 0) {
        inlen += (size_t) n;
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        stdin_open = 0;
        veof_due = 1;
      }
    }
    if (pendlen == 0) parse_frames(master);
  }
  /* The process exited (or, rarely, closed the terminal and still runs: wait for it). */
  while (target_status < 0) {
    struct pollfd p = {sfd, POLLIN, 0};
    if (poll(&p, 1, -1) < 0 && errno != EINTR) die("poll: %s", strerror(errno));
    on_signals();
  }
  return exit_code(target_status);
}
