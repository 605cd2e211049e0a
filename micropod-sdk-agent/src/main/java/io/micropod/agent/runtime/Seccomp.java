package io.micropod.agent.runtime;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * The container's default seccomp profile, the OCI {@code linux.seccomp} object: an allow-list
 * modelled on Docker's default profile (moby {@code profiles/seccomp/default.json}), every other
 * system call fails with {@code EPERM}.
 *
 * <p>It is Docker's profile as Docker applies it to a container with Docker's default
 * capabilities ({@link OciSpec#DEFAULT_CAPABILITIES}), on x86-64 (the only guest architecture):
 * the rules Docker adds only for capabilities the container does not have ({@code CAP_SYS_ADMIN}:
 * mount, unshare, setns, bpf, perf_event_open, ...; {@code CAP_SYS_MODULE}, {@code CAP_SYS_BOOT},
 * {@code CAP_SYS_PTRACE}'s kcmp, ...) are left out, so those calls are refused; what no
 * capability unlocks is never listed (keyctl, add_key, request_key, kexec_load, userfaultfd,
 * open_by_handle_at without {@code CAP_DAC_READ_SEARCH}, ...). {@code clone} is allowed only
 * without namespace flags (new user namespaces are the usual first step of a kernel exploit),
 * {@code clone3} answers {@code ENOSYS} so libc falls back to {@code clone}, {@code socket}
 * refuses {@code AF_VSOCK} and {@code personality} accepts only the values Docker accepts.
 *
 * <p>The runtime (crun or runc) compiles it with libseccomp when the container starts and when
 * an exec joins it (the same filter applies to {@code exec}); names the guest's libseccomp does
 * not know are skipped by both runtimes, as Docker's are.
 */
final class Seccomp {
  /** {@code EPERM}: what Docker's profile returns for every call it does not allow. */
  static final int EPERM = 1;
  /** {@code ENOSYS}: what {@code clone3} returns, so libc falls back to {@code clone}. */
  static final int ENOSYS = 38;
  /** {@code AF_VSOCK}: refused by {@code socket} (Docker's rule; the agent listens on vsock). */
  static final int AF_VSOCK = 40;
  /**
   * Every namespace flag of {@code clone}: CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER |
   * NEWPID | NEWNET (Docker's mask 0x7E020000); {@code clone} is allowed when none is set.
   */
  static final long CLONE_NAMESPACE_FLAGS = 0x7E02_0000L;
  /**
   * The {@code personality} values Docker allows: PER_LINUX, PER_LINUX32, UNAME26,
   * UNAME26|PER_LINUX32, and 0xffffffff (the query).
   */
  static final List<Long> PERSONALITIES = List.of(0x0L, 0x8L, 0x20000L, 0x20008L, 0xFFFF_FFFFL);

  /** Allowed without conditions; grouped by what they are for. */
  static final List<String> ALLOWED =
      List.of(
          // files and directories
          "access", "chdir", "chmod", "chown", "chown32", "close", "close_range",
          "copy_file_range", "creat", "dup", "dup2", "dup3", "faccessat", "faccessat2",
          "fadvise64", "fadvise64_64", "fallocate", "fchdir", "fchmod", "fchmodat", "fchown",
          "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr",
          "flock", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs",
          "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futimesat", "getcwd", "getdents",
          "getdents64", "getxattr", "lchown", "lchown32", "lgetxattr", "link", "linkat",
          "listxattr", "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat",
          "lstat64", "mkdir", "mkdirat", "mknod", "mknodat", "name_to_handle_at", "newfstatat",
          "open", "openat", "openat2", "pread64", "preadv", "preadv2", "pwrite64", "pwritev",
          "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "removexattr",
          "rename", "renameat", "renameat2", "rmdir", "sendfile", "sendfile64", "setxattr",
          "splice", "stat", "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat",
          "sync", "sync_file_range", "syncfs", "tee", "truncate", "truncate64", "umask",
          "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes", "vmsplice",
          "write", "writev", "fanotify_mark", "inotify_add_watch", "inotify_init",
          "inotify_init1", "inotify_rm_watch", "chroot",
          // asynchronous I/O and polling
          "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
          "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "io_cancel",
          "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64", "io_setup",
          "io_submit", "io_uring_enter", "io_uring_register", "io_uring_setup", "ioctl",
          "poll", "ppoll", "ppoll_time64", "pselect6", "pselect6_time64", "select",
          "_newselect", "pipe", "pipe2",
          // memory
          "brk", "madvise", "membarrier", "memfd_create", "memfd_secret", "mincore", "mlock",
          "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mremap", "msync", "munlock",
          "munlockall", "munmap", "pkey_alloc", "pkey_free", "pkey_mprotect",
          "remap_file_pages",
          // processes, threads, signals
          "arch_prctl", "capget", "capset", "execve", "execveat", "exit", "exit_group",
          "fork", "vfork", "futex", "futex_time64", "futex_waitv", "get_robust_list",
          "set_robust_list", "get_thread_area", "set_thread_area", "set_tid_address",
          "getcpu", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "setpriority",
          "getrlimit", "setrlimit", "prlimit64", "ugetrlimit", "getrusage", "getsid", "setsid",
          "setpgid", "gettid", "kill", "tgkill", "tkill", "modify_ldt", "pause",
          "pidfd_open", "pidfd_send_signal", "prctl", "process_mrelease", "ptrace",
          "process_vm_readv", "process_vm_writev", "restart_syscall", "rseq",
          "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
          "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
          "rt_tgsigqueueinfo", "sigaltstack", "signalfd", "signalfd4", "sigprocmask",
          "sigreturn", "sched_getaffinity", "sched_getattr", "sched_getparam",
          "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
          "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity",
          "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp",
          "ioprio_get", "ioprio_set", "wait4", "waitid", "waitpid", "landlock_add_rule",
          "landlock_create_ruleset", "landlock_restrict_self",
          // identity
          "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups",
          "getgroups32", "getresgid", "getresgid32", "getresuid", "getresuid32", "getuid",
          "getuid32", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32",
          "setgroups", "setgroups32", "setregid", "setregid32", "setresgid", "setresgid32",
          "setresuid", "setresuid32", "setreuid", "setreuid32", "setuid", "setuid32",
          // time
          "adjtimex", "alarm", "clock_adjtime", "clock_adjtime64", "clock_getres",
          "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
          "clock_nanosleep_time64", "getitimer", "setitimer", "gettimeofday", "nanosleep",
          "time", "times", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
          "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create",
          "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64",
          // sockets
          "accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt",
          "setsockopt", "listen", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64",
          "recvmsg", "send", "sendmmsg", "sendmsg", "sendto", "shutdown", "socketcall",
          "socketpair",
          // System V and POSIX IPC (the container has its own IPC namespace)
          "ipc", "msgctl", "msgget", "msgrcv", "msgsnd", "semctl", "semget", "semop",
          "semtimedop", "semtimedop_time64", "shmat", "shmctl", "shmdt", "shmget",
          "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
          "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink",
          // information
          "getrandom", "sysinfo", "uname");

  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  /** Built once: the profile is the same for every container; callers get a copy. */
  private static final ObjectNode DEFAULT = build();

  private Seccomp() {}

  /** A fresh copy of the default profile, for {@code linux.seccomp}. */
  static ObjectNode defaultProfile() {
    return DEFAULT.deepCopy();
  }

  private static ObjectNode build() {
    ObjectNode profile = NODES.objectNode();
    profile.put("defaultAction", "SCMP_ACT_ERRNO");
    profile.put("defaultErrnoRet", EPERM);
    // x86 and x32 too, as Docker does: 32-bit programs of an amd64 image keep working under
    // the same allow-list (names are resolved per architecture).
    ArrayNode arches = profile.putArray("architectures");
    arches.add("SCMP_ARCH_X86_64").add("SCMP_ARCH_X86").add("SCMP_ARCH_X32");
    ArrayNode syscalls = profile.putArray("syscalls");
    ObjectNode allowed = syscalls.addObject();
    ArrayNode names = allowed.putArray("names");
    ALLOWED.forEach(names::add);
    allowed.put("action", "SCMP_ACT_ALLOW");
    rule(syscalls, "clone", "SCMP_ACT_ALLOW")
        .putArray("args").add(arg(0, CLONE_NAMESPACE_FLAGS, 0, "SCMP_CMP_MASKED_EQ"));
    rule(syscalls, "clone3", "SCMP_ACT_ERRNO").put("errnoRet", ENOSYS);
    rule(syscalls, "socket", "SCMP_ACT_ALLOW")
        .putArray("args").add(arg(0, AF_VSOCK, 0, "SCMP_CMP_NE"));
    // One rule per value: conditions within a rule are ANDed, rules are ORed.
    for (long p : PERSONALITIES) {
      rule(syscalls, "personality", "SCMP_ACT_ALLOW")
          .putArray("args").add(arg(0, p, 0, "SCMP_CMP_EQ"));
    }
    return profile;
  }

  private static ObjectNode rule(ArrayNode syscalls, String name, String action) {
    ObjectNode rule = syscalls.addObject();
    rule.putArray("names").add(name);
    rule.put("action", action);
    return rule;
  }

  /** For MASKED_EQ, {@code value} is the mask and {@code valueTwo} the expected result. */
  private static ObjectNode arg(int index, long value, long valueTwo, String op) {
    ObjectNode a = NODES.objectNode();
    a.put("index", index);
    a.put("value", value);
    a.put("valueTwo", valueTwo);
    a.put("op", op);
    return a;
  }
}
