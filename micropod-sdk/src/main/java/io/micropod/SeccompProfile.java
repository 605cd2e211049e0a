package io.micropod;

/**
 * The seccomp filter of a pod's container: which system calls its processes (and every
 * {@link MicroPod#exec exec}) may make.
 *
 * @see MicroPodSpec.Builder#seccomp(SeccompProfile)
 */
public enum SeccompProfile {
  /**
   * The default: an allow-list modelled on Docker's default profile. Every call outside it fails
   * with {@code EPERM}: among them {@code mount}, {@code unshare}/{@code setns} and {@code clone}
   * with namespace flags, {@code keyctl}/{@code add_key}/{@code request_key}, {@code bpf},
   * {@code perf_event_open}, {@code kexec_load}, {@code init_module},
   * {@code open_by_handle_at}, {@code userfaultfd} and {@code AF_VSOCK} sockets. What ordinary
   * programs, shells, package managers and setuid binaries use is allowed. See docs/security.md.
   */
  DEFAULT,
  /**
   * No seccomp filter, like Docker's {@code --security-opt seccomp=unconfined}: the container is
   * held only by its capabilities, namespaces and the VM. For tools that need the calls above
   * (nested containers, {@code perf}, eBPF programs).
   */
  UNCONFINED
}
