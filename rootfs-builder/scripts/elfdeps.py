#!/usr/bin/env python3
"""Copies into the guest root the shared libraries its ELF files need.

usage: elfdeps.py <guest root> <pool dir> [<pool dir> ...] [--jar JAR ...] [--also SONAME ...]

Walks every ELF file under the guest root, follows DT_NEEDED transitively and
copies each library from the first pool dir (an unpacked Debian package) that
has it into <root>/lib/x86_64-linux-gnu, under its soname. --also names
libraries that are loaded with dlopen() and so appear in no DT_NEEDED entry.
--jar names jars whose bundled x86-64 native libraries (Netty's epoll library in
the agent jar, unpacked to /tmp and loaded at run time) need libraries too.
Prints what it copied. Fails when a needed library is found nowhere.

Libraries that the guest root already holds (the JRE's own libjava.so etc.,
found through $ORIGIN run paths or loaded by the java launcher) are not copied.
"""
import os
import shutil
import sys
import zipfile

from elf import dynamic, is_elf, is_x86_64

LIBDIR = "lib/x86_64-linux-gnu"
SEARCH = ["lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu", "lib64", "lib", "usr/lib"]


def find_in_pool(pools, soname):
    for pool in pools:
        for d in SEARCH:
            p = os.path.join(pool, d, soname)
            if os.path.exists(p):
                return p
    return None


def jar_natives(jar):
    """The DT_NEEDED entries of the x86-64 shared libraries inside a jar."""
    needed = []
    with zipfile.ZipFile(jar) as z:
        for name in z.namelist():
            if name.endswith(".so"):
                data = z.read(name)
                if is_x86_64(data):
                    needed += dynamic(data)[0]
    return needed


def main(root, pools, jars, also):
    present = set()  # basenames of all files in the guest root
    elves = []
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            present.add(f)
            if not os.path.islink(p) and is_elf(p):
                elves.append(p)

    todo = list(also)
    for jar in jars:
        todo += jar_natives(jar)
    for p in elves:
        todo += dynamic(p)[0]

    copied = []
    while todo:
        soname = todo.pop()
        if soname in present:
            continue
        src = find_in_pool(pools, soname)
        if src is None:
            sys.exit(f"no package in packages.lock provides {soname}")
        dst = os.path.join(root, LIBDIR, soname)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(os.path.realpath(src), dst)
        present.add(soname)
        copied.append(soname)
        todo += dynamic(dst)[0]
    print("\n".join(sorted(copied)))


if __name__ == "__main__":
    pools, jars, also = [], [], []
    dest = pools
    for arg in sys.argv[1:]:
        if arg in ("--jar", "--also"):
            dest = jars if arg == "--jar" else also
        else:
            dest.append(arg)
    if len(pools) < 2:
        sys.exit(__doc__)
    main(pools[0], pools[1:], jars, also)
