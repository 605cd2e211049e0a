#!/usr/bin/env python3
"""Writes a directory tree as an uncompressed newc cpio archive (the initramfs).

usage: mkcpio.py <root dir> <out.cpio>

Why not `find | cpio -o -H newc`: the archive must hold a /dev/console
character device (5,1) so that the kernel can open the console for /init before
anything is mounted, and making one with mknod needs root. Here it is just a
header. Every entry is owned by 0:0 whoever builds it. Modification times are
kept: the kernel restores them (CONFIG_INITRAMFS_PRESERVE_MTIME) and the JVM
checks the agent jar's and the runtime image's mtime against its AOT/CDS
archive (build-guest.sh gives every staged file one mtime, for reproducible
builds). Entries are sorted and inode numbers counted, so the same tree gives
the same bytes.
Uncompressed on purpose: decompressing ~100 MB in the guest costs seconds
under TCG, reading plain bytes from guest RAM costs almost nothing.
"""
import os
import stat
import sys

CHUNK = 1 << 20


class Writer:
    def __init__(self, out):
        self.out = out
        self.ino = 1000
        self.pos = 0

    def _write(self, b):
        self.out.write(b)
        self.pos += len(b)

    def _pad(self):
        self._write(b"\0" * (-self.pos % 4))

    def entry(self, name, mode, mtime=0, size=0, nlink=1, rdev=(0, 0)):
        self.ino += 1
        fields = [self.ino, mode, 0, 0, nlink, int(mtime), size, 0, 0, rdev[0], rdev[1], len(name) + 1, 0]
        self._write(b"070701" + b"".join(b"%08X" % v for v in fields))
        self._write(name.encode() + b"\0")
        self._pad()

    def data(self, b):
        self._write(b)

    def end_data(self):
        self._pad()

    def trailer(self):
        self.entry("TRAILER!!!", 0)
        self._write(b"\0" * (-self.pos % 512))


def walk(root):
    """Relative paths of everything under root, parents before children, sorted."""
    for dirpath, dirs, files in os.walk(root):
        dirs.sort()
        rel = os.path.relpath(dirpath, root)
        names = sorted(dirs + files)
        for n in names:
            yield n if rel == "." else os.path.join(rel, n)


def main(root, out_path):
    with open(out_path, "wb") as out:
        w = Writer(out)
        has_console = os.path.lexists(os.path.join(root, "dev/console"))
        for rel in walk(root):
            st = os.lstat(os.path.join(root, rel))
            mode = st.st_mode
            if stat.S_ISDIR(mode):
                w.entry(rel, mode, st.st_mtime, nlink=2)
                if rel == "dev" and not has_console:
                    w.entry("dev/console", stat.S_IFCHR | 0o600, st.st_mtime, rdev=(5, 1))
            elif stat.S_ISLNK(mode):
                target = os.readlink(os.path.join(root, rel)).encode()
                w.entry(rel, mode, st.st_mtime, size=len(target))
                w.data(target)
                w.end_data()
            elif stat.S_ISREG(mode):
                w.entry(rel, mode, st.st_mtime, size=st.st_size)
                with open(os.path.join(root, rel), "rb") as f:
                    while chunk := f.read(CHUNK):
                        w.data(chunk)
                w.end_data()
            else:
                sys.exit(f"{rel}: only directories, files and symlinks may be staged")
        w.trailer()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
