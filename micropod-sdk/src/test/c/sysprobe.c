/*
 * sysprobe: makes system calls a hardened container must not make and prints, per call, "NAME ok"
 * or "NAME errno=N" (SeccompIT). Each call runs in a child of its own so that one probe's effect
 * (a new user namespace, a key) cannot change the next one's answer. "sysprobe id" prints the
 * real and effective uid (the setuid copy, /bin/sysprobe-suid, shows whether setuid works).
 * "sysprobe swap A B" exchanges the names A and B atomically (renameat2 RENAME_EXCHANGE) in a
 * tight loop until killed: the container side of a symlink-exchange race (CopyInRaceIT).
 * Built with gcc -static: busybox has no way to make these calls. Run it only in a container:
 * the "mount" probe mounts a tmpfs on /mnt where it is allowed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

static long call(const char *name) {
  if (!strcmp(name, "keyctl")) {
    return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
  }
  if (!strcmp(name, "add_key")) {
    return syscall(SYS_add_key, "user", "micropod-probe", "x", 1, KEY_SPEC_PROCESS_KEYRING);
  }
  if (!strcmp(name, "request_key")) {
    return syscall(SYS_request_key, "user", "micropod-probe-none", NULL, 0);
  }
  if (!strcmp(name, "unshare_user")) {
    return unshare(CLONE_NEWUSER);
  }
  if (!strcmp(name, "clone_newuser")) {
    long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) {
      _exit(0);
    }
    if (pid > 0) {
      waitpid((pid_t)pid, NULL, 0);
    }
    return pid < 0 ? -1 : 0;
  }
  if (!strcmp(name, "open_by_handle_at")) {
    struct { unsigned int bytes; int type; unsigned char h[8]; } handle = {8, 1, {0}};
    return syscall(SYS_open_by_handle_at, AT_FDCWD, &handle, O_RDONLY);
  }
  if (!strcmp(name, "bpf")) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.map_type = BPF_MAP_TYPE_ARRAY;
    attr.key_size = 4;
    attr.value_size = 4;
    attr.max_entries = 1;
    return syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr);
  }
  if (!strcmp(name, "perf_event_open")) {
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_TASK_CLOCK;
    attr.exclude_kernel = 1;
    return syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
  }
  if (!strcmp(name, "kexec_load")) {
    return syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0UL);
  }
  if (!strcmp(name, "mount")) {
    return mount("none", "/mnt", "tmpfs", 0, NULL);
  }
  if (!strcmp(name, "userfaultfd")) {
    return syscall(SYS_userfaultfd, 0);
  }
  if (!strcmp(name, "vsock")) {
    return socket(AF_VSOCK, SOCK_STREAM, 0);
  }
  if (!strcmp(name, "personality_query")) {
    return personality(0xffffffff);
  }
  if (!strcmp(name, "personality_addr_no_randomize")) {
    return personality(ADDR_NO_RANDOMIZE);
  }
  if (!strcmp(name, "fork")) {
    pid_t pid = fork();
    if (pid == 0) {
      _exit(0);
    }
    if (pid > 0) {
      waitpid(pid, NULL, 0);
    }
    return pid < 0 ? -1 : 0;
  }
  if (!strcmp(name, "socket_inet")) {
    return socket(AF_INET, SOCK_DGRAM, 0);
  }
  errno = ENOENT;
  fprintf(stderr, "sysprobe: unknown probe %s\n", name);
  exit(2);
}

int main(int argc, char **argv) {
  if (argc == 4 && !strcmp(argv[1], "swap")) {
    for (;;) {
      if (syscall(SYS_renameat2, AT_FDCWD, argv[2], AT_FDCWD, argv[3], RENAME_EXCHANGE) != 0) {
        perror("renameat2");
        return 1;
      }
    }
  }
  if (argc == 2 && !strcmp(argv[1], "id")) {
    printf("uid=%d euid=%d\n", (int)getuid(), (int)geteuid());
    return 0;
  }
  for (int i = 1; i < argc; i++) {
    int p[2];
    if (pipe(p) != 0) {
      perror("pipe");
      return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
      perror("fork");
      return 1;
    }
    if (pid == 0) {
      close(p[0]);
      long r = call(argv[i]);
      int err = r < 0 ? errno : 0;
      if (write(p[1], &err, sizeof err) != sizeof err) {
        _exit(1);
      }
      _exit(0);
    }
    close(p[1]);
    int err = -1;
    ssize_t n = read(p[0], &err, sizeof err);
    close(p[0]);
    waitpid(pid, NULL, 0);
    if (n != sizeof err) {
      printf("%s crashed\n", argv[i]);
    } else if (err == 0) {
      printf("%s ok\n", argv[i]);
    } else {
      printf("%s errno=%d\n", argv[i], err);
    }
  }
  return 0;
}
