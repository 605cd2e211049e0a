#!/usr/bin/env python3
"""Boots the built guest image by hand with the contract's QEMU command line.

usage:
  boot-test.py bench [--runs 5]              bare boot: QEMU start -> /init marker
  boot-test.py full --tree DIR [--debug]     full boot: virtiofs image tree, agent,
                                             HTTP/2 handshake over the serial channel
common options: --guest DIR (default $MICROPOD_HOME/guest/<version>), --mem MiB,
                --machine microvm|q35, --keep (keep the pod dir)

Not part of the build: a tool to prove and measure the guest image (README.md,
"Booting it by hand"). It starts virtiofsd and QEMU exactly as
docs/internals/guest-contract.md describes and kills both before it exits.
"""
import argparse
import glob
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

QEMU = "qemu-system-x86_64"
VIRTIOFSD = "/usr/lib/qemu/virtiofsd"


def tsc_khz():
    # Under TCG the guest TSC runs at the host's rate: tell the kernel, or
    # -machine microvm hangs in early boot in about 1 of 3 boots (DESIGN.md).
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("cpu MHz"):
                return int(float(line.split(":")[1]) * 1000)
    raise SystemExit("no 'cpu MHz' in /proc/cpuinfo")


def qemu_args(guest, poddir, sockdir, mem, cmdline, machine):
    if machine == "microvm":
        m = ["-machine", "microvm,accel=tcg,acpi=on,rtc=on,isa-serial=on,memory-backend=mem",
             "-global", "virtio-mmio.force-legacy=false"]
        serial_dev, fs_dev = "virtio-serial-device", "vhost-user-fs-device"
    else:
        m = ["-machine", "q35,accel=tcg,memory-backend=mem"]
        serial_dev, fs_dev = "virtio-serial-pci", "vhost-user-fs-pci"
    return [QEMU, "-nodefaults", "-no-user-config", "-nographic", "-no-reboot", *m,
            "-cpu", "max", "-m", f"{mem}M", "-smp", "1",
            "-object", f"memory-backend-memfd,id=mem,size={mem}M,share=on",
            "-kernel", f"{guest}/vmlinux", "-initrd", f"{guest}/initramfs.cpio",
            "-append", cmdline,
            "-chardev", f"file,id=console,path={poddir}/console.log", "-serial", "chardev:console",
            "-device", serial_dev,
            "-chardev", f"socket,id=agent,path={sockdir}/agent.sock,server=on,wait=off",
            "-device", "virtserialport,chardev=agent,name=io.micropod.agent.0",
            "-chardev", f"socket,id=rootfs,path={sockdir}/virtiofs.sock",
            "-device", f"{fs_dev},chardev=rootfs,tag=micropod-rootfs"]


class Pod:
    """One VM: virtiofsd + QEMU, torn down (killed) on exit whatever happened."""

    def __init__(self, guest, tree, mem, cmdline, machine, keep):
        self.poddir = tempfile.mkdtemp(prefix="micropod-pod-")
        self.sockdir = tempfile.mkdtemp(prefix="micropod-")
        self.keep = keep
        self.procs = []
        prefix = [] if os.geteuid() == 0 else ["unshare", "-r", "--"]
        self._start(prefix + [VIRTIOFSD, f"--socket-path={self.sockdir}/virtiofs.sock",
                              "-o", f"source={tree}", "-o", "cache=none", "-o", "sandbox=chroot"],
                    "virtiofsd.log")
        deadline = time.monotonic() + 10
        while not os.path.exists(f"{self.sockdir}/virtiofs.sock"):
            if time.monotonic() > deadline or self.procs[0].poll() is not None:
                with open(f"{self.poddir}/virtiofsd.log", errors="replace") as f:
                    log = f.read()[-1000:]
                self.keep = False
                self.close()
                raise SystemExit("virtiofsd did not create its socket:\n" + log)
            time.sleep(0.005)
        self.t0 = time.monotonic()
        self.qemu = self._start(qemu_args(guest, self.poddir, self.sockdir, mem, cmdline, machine), "qemu.log")

    def _start(self, argv, log):
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=open(f"{self.poddir}/{log}", "wb"),
                             stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(p)
        return p

    def console(self):
        try:
            with open(f"{self.poddir}/console.log", "rb") as f:
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_console(self, text, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.console():
                return time.monotonic() - self.t0
            if self.qemu.poll() is not None:
                return None
            time.sleep(0.002)
        return None

    def wait_exit(self, timeout):
        try:
            self.qemu.wait(timeout)
            return time.monotonic() - self.t0
        except subprocess.TimeoutExpired:
            return None

    def close(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        shutil.rmtree(self.sockdir, ignore_errors=True)
        if not self.keep:
            shutil.rmtree(self.poddir, ignore_errors=True)


def base_cmdline():
    return f"console=ttyS0 quiet panic=1 cryptomgr.notests rdinit=/init tsc_early_khz={tsc_khz()}"


def bench(a):
    tree = tempfile.mkdtemp(prefix="micropod-empty-")
    marks, exits = [], []
    try:
        for i in range(a.runs):
            pod = Pod(a.guest, tree, a.mem, base_cmdline() + " micropod.bench=init", a.machine, a.keep)
            try:
                t_mark = pod.wait_console("MICROPOD-INIT-REACHED", 60)
                t_exit = pod.wait_exit(30)
                if t_mark is None or t_exit is None:
                    print(pod.console()[-2000:])
                    raise SystemExit(f"run {i + 1}: marker {t_mark}, exit {t_exit}: FAILED")
                marks.append(t_mark)
                exits.append(t_exit)
                print(f"run {i + 1}: marker {t_mark:.3f} s, QEMU exited {t_exit:.3f} s")
            finally:
                pod.close()
    finally:
        shutil.rmtree(tree, ignore_errors=True)
    print(f"median of {a.runs}: QEMU start -> MICROPOD-INIT-REACHED {statistics.median(marks):.3f} s, "
          f"-> QEMU exit {statistics.median(exits):.3f} s")


def http2_handshake(sock_path, timeout):
    """Opens the host end of the agent channel and checks that an HTTP/2 server answers."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(sock_path)
    # Client preface + an empty SETTINGS frame; a gRPC server answers with SETTINGS.
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
    head = s.recv(9)
    s.close()
    return len(head) == 9 and head[3] == 0x04


def full(a):
    debug = " micropod.debug=1" if a.debug else ""
    cmdline = base_cmdline() + " micropod.accel=tcg micropod.channel=serial micropod.rootfs=virtiofs" + debug
    pod = Pod(a.guest, a.tree, a.mem, cmdline, a.machine, a.keep)
    ok = False
    try:
        deadline = time.monotonic() + a.timeout
        answered = None
        while time.monotonic() < deadline and pod.qemu.poll() is None:
            try:
                if http2_handshake(f"{pod.sockdir}/agent.sock", max(0.1, deadline - time.monotonic())):
                    answered = time.monotonic() - pod.t0
                    break
            except (OSError, socket.timeout):
                time.sleep(0.05)
        print(pod.console())
        if answered is None:
            print(f"FAILED: no HTTP/2 answer on {pod.sockdir}/agent.sock within {a.timeout} s "
                  f"(QEMU {'exited ' + str(pod.qemu.returncode) if pod.qemu.poll() is not None else 'running'})")
        else:
            print(f"agent answered HTTP/2 over the virtio-serial channel {answered:.2f} s after QEMU start")
            ok = True
        if a.hold:
            input(f"agent.sock: {pod.sockdir}/agent.sock — press Enter to stop the VM ")
    finally:
        pod.close()
        if a.keep:
            print("pod dir kept:", pod.poddir)
    sys.exit(0 if ok else 1)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["bench", "full"])
    p.add_argument("--guest")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--tree", help="image tree shared over virtio-fs (full mode)")
    p.add_argument("--mem", type=int, default=512)
    p.add_argument("--machine", default="microvm", choices=["microvm", "q35"])
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("--debug", action="store_true")
    p.add_argument("--hold", action="store_true", help="full mode: keep the VM until Enter")
    p.add_argument("--keep", action="store_true")
    a = p.parse_args()
    if not a.guest:
        home = os.environ.get("MICROPOD_HOME", os.path.expanduser("~/.cache/micropod"))
        versions = sorted(glob.glob(f"{home}/guest/[!.]*"), key=os.path.getmtime)
        if not versions:
            raise SystemExit(f"no guest image under {home}/guest: build one first")
        a.guest = versions[-1]
    if a.mode == "full" and not a.tree:
        raise SystemExit("full mode needs --tree (e.g. an `umoci unpack` of $MICROPOD_HOME/oci/busybox)")
    print("guest:", a.guest)
    bench(a) if a.mode == "bench" else full(a)


if __name__ == "__main__":
    main()
