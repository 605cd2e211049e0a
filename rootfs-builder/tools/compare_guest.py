#!/usr/bin/env python3
"""Compares two builds of the guest image, byte for byte, and says where they differ.

usage: compare_guest.py A B

A and B are directories, each holding guest/ (the guest image directory),
oci/ (the busybox OCI image) and guest.jar (the micropod-guest artifact). Every
file must be identical. Where a file differs, the initramfs is compared entry by
entry (name, mode, owner, mtime, device, content) and the jar entry by entry, so
the report names what differs inside them. No difference is allowed, the agent's
AOT cache (agent.aot) included. Prints the sha256 of both builds' artifacts.
Exit 0: identical, 1: anything differs.
"""
import argparse
import hashlib
import json
import os
import sys
import zipfile

# One sha256 of a file for the manifest and this check (not a build input: in tools/, so changing
# the check does not rebuild the image).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from manifest import sha256  # noqa: E402


def files(root):
    out = []
    for d, dirs, names in os.walk(root):
        dirs.sort()
        for n in sorted(names):
            out.append(os.path.relpath(os.path.join(d, n), root))
    return out


def cpio_entries(path):
    """{name: (mode, uid, gid, nlink, mtime, rdevmajor, rdevminor, size, sha256)} of a newc cpio."""
    entries, order = {}, []
    with open(path, "rb") as f:
        while True:
            hdr = f.read(110)
            if len(hdr) < 110 or hdr[:6] != b"070701":
                raise ValueError(f"{path}: not a newc cpio at offset {f.tell() - len(hdr)}")
            fld = [int(hdr[6 + 8 * i:14 + 8 * i], 16) for i in range(13)]
            namesize, size = fld[11], fld[6]
            name = f.read(namesize)[:-1].decode()
            f.read(-(110 + namesize) % 4)
            data = f.read(size)
            f.read(-size % 4)
            if name == "TRAILER!!!":
                return entries, order
            entries[name] = (fld[1], fld[2], fld[3], fld[4], fld[5], fld[9], fld[10], size,
                             hashlib.sha256(data).hexdigest())
            order.append(name)


def zip_entries(path):
    with zipfile.ZipFile(path) as z:
        return [(i.filename, i.date_time, i.external_attr, i.compress_type, i.CRC, i.file_size, i.extra)
                for i in z.infolist()]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a")
    ap.add_argument("b")
    args = ap.parse_args()
    problems = []

    fa, fb = files(args.a), files(args.b)
    for name in sorted(set(fa) ^ set(fb)):
        problems.append(f"{name}: only in {'A' if name in fa else 'B'}")
    differing = [n for n in fa if n in fb and sha256(os.path.join(args.a, n)) != sha256(os.path.join(args.b, n))]
    for name in differing:
        problems.append(f"{name}: differs")
    # Where a container differs, name what differs inside it.
    if "guest/initramfs.cpio" in differing:
        (ea, oa), (eb, ob) = (cpio_entries(os.path.join(x, "guest/initramfs.cpio")) for x in (args.a, args.b))
        if oa != ob:
            problems.append("initramfs.cpio: the entries are not in the same order")
        fields = "mode uid gid nlink mtime rdevmajor rdevminor size sha256".split()
        for name in sorted(set(ea) | set(eb)):
            va, vb = ea.get(name), eb.get(name)
            if va != vb:
                what = ", ".join(f"{k} {x} / {y}" for k, x, y in zip(fields, va or [None] * 9, vb or [None] * 9) if x != y)
                problems.append(f"initramfs.cpio:{name}: {what}")
    if "guest/manifest.json" in differing:
        ma, mb = (json.load(open(os.path.join(x, "guest/manifest.json"))) for x in (args.a, args.b))
        keys = sorted(k for k in set(ma) | set(mb) if ma.get(k) != mb.get(k))
        problems.append(f"manifest.json: these keys differ: {keys}")
    if "guest.jar" in differing:
        za, zb = (zip_entries(os.path.join(x, "guest.jar")) for x in (args.a, args.b))
        if [e[0] for e in za] != [e[0] for e in zb]:
            problems.append("guest.jar: the entries differ in names or order")
        for x, y in zip(za, zb):
            if x != y:
                problems.append(f"guest.jar:{x[0]}: differs")

    for label, root in (("A", args.a), ("B", args.b)):
        for name in ["guest.jar", "guest/initramfs.cpio", "guest/system.img", "guest/vmlinuz", "guest/vmlinux", "guest/manifest.json"] \
                + [n for n in files(root) if n.startswith("guest/host/")]:
            path = os.path.join(root, name)
            if os.path.exists(path):
                print(f"{label} sha256 {sha256(path)}  {name}")
    for line in problems:
        print(f"DIFFERS {line}")
    if problems:
        print(f"NOT reproducible: {len(problems)} difference(s)")
        return 1
    print("reproducible: identical")
    return 0


if __name__ == "__main__":
    sys.exit(main())
