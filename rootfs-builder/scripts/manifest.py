#!/usr/bin/env python3
"""Writes manifest.json of a guest image directory (see docs/internals/guest-contract.md).

usage: manifest.py <guest dir> <packages file> key=value [key=value ...]

<packages file> holds the versions really used, one `name=version` a line.
Each key=value becomes a top-level string field (version, kernelRelease, jdk,
agentJarSha256, inputsHash, ...). "files" gets the sha256 and size of every
file in the guest dir, so the SDK can verify what it boots.
"""
import hashlib
import json
import os
import sys


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def main(guest_dir, packages_file, pairs):
    manifest = {}
    for pair in pairs:
        k, v = pair.split("=", 1)
        manifest[k] = v
    packages = {}
    with open(packages_file) as f:
        for line in f:
            if "=" in line:
                name, version = line.strip().split("=", 1)
                packages[name] = version
    manifest["packages"] = packages
    # Relative paths with '/', sorted, subdirectories (host/) included: the same bytes give
    # the same manifest.
    names = []
    for root, dirs, files in os.walk(guest_dir):
        dirs.sort()
        for f in files:
            rel = os.path.relpath(os.path.join(root, f), guest_dir).replace(os.sep, "/")
            if rel != "manifest.json":
                names.append(rel)
    manifest["files"] = {
        name: {"sha256": sha256(os.path.join(guest_dir, name)),
               "size": os.path.getsize(os.path.join(guest_dir, name))}
        for name in sorted(names)}
    with open(os.path.join(guest_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2, sort_keys=False)
        f.write("\n")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
