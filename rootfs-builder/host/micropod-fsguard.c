/*
 * micropod-fsguard PROG ARGS...: runs PROG (virtiofsd) under a seccomp filter so that what a
 * guest creates through it lands on the host as a plain file, directory or symlink owned by the
 * user running the SDK: never a device node, FIFO or socket, never setuid/setgid, never an
 * extended attribute (file capabilities live in security.capability), never another owner.
 *
 *   mknod/mknodat of anything but a regular file            -> EPERM
 *   chmod/fchmod/fchmodat/fchmodat2 with S_ISUID|S_ISGID     -> EPERM
 *   open/openat/creat/mkdir/mkdirat with S_ISUID|S_ISGID     -> EPERM (mode bits, whatever flags)
 *   openat2                                                  -> ENOSYS (its mode is in a struct
 *                                                               the filter cannot read; callers
 *                                                               fall back to openat)
 *   setxattr/lsetxattr/fsetxattr                             -> EPERM
 *   set*uid/set*gid/setgroups/setfs*id                       -> 0, nothing done: virtiofsd keeps
 *                                                               the SDK user's identity instead of
 *                                                               taking the guest caller's
 *   chown/fchown/lchown/fchownat                             -> 0, nothing done (all_squash)
 *   non-x86_64 ABI: killed; x32 syscalls: EPERM
 *
 * Filters stack: virtiofsd installs its own allow-list on top, and the strictest result wins.
 * No libseccomp: the build links this statically and the filter is small.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452
#endif
#ifndef __NR_openat2
#define __NR_openat2 437
#endif
#define X32_SYSCALL_BIT 0x40000000u

/* Low 32 bits of argument i (x86_64 is little-endian; modes fit in 32 bits). */
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + (i) * sizeof(__u64))

#define LOAD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
#define ERRNO(e) RET(SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))

/* if nr == NR: A = arg i & mask; return ERRNO(e) if A != 0; else fall through to the next check
 * with A reloaded. 6 instructions. */
#define MODE_BITS(NR, i, mask, e)                                                  \
  LOAD_NR, BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (NR), 0, 4),                        \
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(i)),                               \
      BPF_STMT(BPF_ALU | BPF_AND | BPF_K, (mask)),                                 \
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0), ERRNO(e)

/* if nr == NR: allow only a file type of 0 or S_IFREG. 8 instructions. */
#define NODE_TYPE(NR, i)                                                           \
  LOAD_NR, BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (NR), 0, 6),                        \
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(i)),                               \
      BPF_STMT(BPF_ALU | BPF_AND | BPF_K, S_IFMT),                                 \
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 2, 0),                                \
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, S_IFREG, 1, 0), ERRNO(EPERM), RET(SECCOMP_RET_ALLOW)

/* if nr == NR: return v. Expects A == nr. */
#define NR_RET(NR, v) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (NR), 0, 1), RET(v)

#define SUID_SGID (S_ISUID | S_ISGID)

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: micropod-fsguard PROG [ARGS...]\n");
    return 2;
  }
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      RET(SECCOMP_RET_KILL_PROCESS),
      LOAD_NR,
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 0, 1),
      ERRNO(EPERM),

      NODE_TYPE(__NR_mknod, 1),
      NODE_TYPE(__NR_mknodat, 2),
      MODE_BITS(__NR_chmod, 1, SUID_SGID, EPERM),
      MODE_BITS(__NR_fchmod, 1, SUID_SGID, EPERM),
      MODE_BITS(__NR_fchmodat, 2, SUID_SGID, EPERM),
      MODE_BITS(__NR_fchmodat2, 2, SUID_SGID, EPERM),
      MODE_BITS(__NR_open, 2, SUID_SGID, EPERM),
      MODE_BITS(__NR_openat, 3, SUID_SGID, EPERM),
      MODE_BITS(__NR_creat, 1, SUID_SGID, EPERM),
      MODE_BITS(__NR_mkdir, 1, SUID_SGID, EPERM),
      MODE_BITS(__NR_mkdirat, 2, SUID_SGID, EPERM),

      LOAD_NR,
      NR_RET(__NR_openat2, SECCOMP_RET_ERRNO | ENOSYS),
      NR_RET(__NR_setxattr, SECCOMP_RET_ERRNO | EPERM),
      NR_RET(__NR_lsetxattr, SECCOMP_RET_ERRNO | EPERM),
      NR_RET(__NR_fsetxattr, SECCOMP_RET_ERRNO | EPERM),
      NR_RET(__NR_setuid, SECCOMP_RET_ERRNO | 0),
      NR_RET(__NR_setgid, SECCOMP_RET_ERRNO | 0),
      NR_RET(__NR_setreuid, SECCOMP_RET_ERRNO | 0),
      NR_RET(__NR_setregid, SECCOMP_RET_ERRNO | 0),
      NR_RET(__NR_setresuid, SECCOMP_RET_ERRNO | 0),
      NR_RET(__NR_setresgid, SECCOMP_RET_ERRNO | 0),
      NR_RET(__NR_setfsuid, SECCOMP_RET_ERRNO | 0),
      NR_RET(__NR_setfsgid, SECCOMP_RET_ERRNO | 0),
      NR_RET(__NR_setgroups, SECCOMP_RET_ERRNO | 0),
      NR_RET(__NR_chown, SECCOMP_RET_ERRNO | 0),
      NR_RET(__NR_fchown, SECCOMP_RET_ERRNO | 0),
      NR_RET(__NR_lchown, SECCOMP_RET_ERRNO | 0),
      NR_RET(__NR_fchownat, SECCOMP_RET_ERRNO | 0),
      RET(SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {.len = sizeof(filter) / sizeof(filter[0]), .filter = filter};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    fprintf(stderr, "micropod-fsguard: PR_SET_NO_NEW_PRIVS: %s\n", strerror(errno));
    return 126;
  }
  if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
    fprintf(stderr, "micropod-fsguard: seccomp: %s\n", strerror(errno));
    return 126;
  }
  execvp(argv[1], argv + 1);
  fprintf(stderr, "micropod-fsguard: cannot run %s: %s\n", argv[1], strerror(errno));
  return 127;
}
