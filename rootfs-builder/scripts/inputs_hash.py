#!/usr/bin/env python3
"""Prints one sha256 over everything a guest image is built from.

usage: inputs_hash.py [--text STRING ...] [FILE ...]

Files are hashed by path name and content, except jars: a jar is hashed by
its entries (name, CRC-32, size), read from the central directory. Maven
rewrites the agent jar on every `mvn install`, with new timestamps inside and
hence new bytes, while its classes stay the same; hashing the entries keeps
the no-op rebuild a no-op. Fast: it reads no jar entry's data.
"""
import hashlib
import os
import sys
import zipfile


def main(args):
    h = hashlib.sha256()
    texts, files = [], []
    i = 0
    while i < len(args):
        if args[i] == "--text":
            texts.append(args[i + 1])
            i += 2
        else:
            files.append(args[i])
            i += 1
    for t in texts:
        h.update(b"text\0" + t.encode() + b"\0")
    for path in files:
        # Relative paths (the builder's own files) are part of the identity;
        # an absolute one (the agent jar) is named by its file name only.
        name = os.path.basename(path) if os.path.isabs(path) else path
        h.update(b"file\0" + name.encode() + b"\0")
        if path.endswith(".jar"):
            with zipfile.ZipFile(path) as z:
                for e in z.infolist():
                    h.update(b"%s\0%08x\0%d\0" % (e.filename.encode(), e.CRC, e.file_size))
        else:
            with open(path, "rb") as f:
                h.update(hashlib.sha256(f.read()).digest())
    print(h.hexdigest())


if __name__ == "__main__":
    main(sys.argv[1:])
