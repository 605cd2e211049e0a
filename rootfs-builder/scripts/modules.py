#!/usr/bin/env python3
"""Resolves the kernel modules the guest needs, in load (dependency) order.

usage: modules.py <modules dir, e.g. .../lib/modules/6.1.0-56-cloud-amd64> NAME [NAME? ...]

Prints one path per line, relative to the modules dir, dependencies first.
A NAME ending in '?' is optional (skipped when this kernel lacks it). Modules
built into the kernel (modules.builtin) need no loading and are skipped.

Debian's linux-image package ships no modules.dep (depmod runs at install
time), so the dependencies come from each .ko's own `depends=` modinfo field.
"""
import os
import sys

from elf import modinfo


def norm(name):
    # The kernel treats '-' and '_' in module names as the same character.
    return name.replace("-", "_")


def main(moddir, wanted):
    index = {}
    for dirpath, _dirs, files in os.walk(os.path.join(moddir, "kernel")):
        for f in files:
            if f.endswith(".ko"):
                index[norm(f[:-3])] = os.path.relpath(os.path.join(dirpath, f), moddir)
    builtin = set()
    with open(os.path.join(moddir, "modules.builtin")) as f:
        for line in f:
            builtin.add(norm(os.path.basename(line.strip())[:-3]))

    order, seen = [], set()

    def visit(name, chain):
        if name in seen or name in builtin:
            return
        if name in chain:
            sys.exit("module dependency cycle: " + " -> ".join(chain + [name]))
        path = index[name]
        for dep in filter(None, modinfo(os.path.join(moddir, path)).get("depends", "").split(",")):
            dep = norm(dep)
            if dep not in index and dep not in builtin:
                sys.exit(f"module {name} depends on {dep}, which this kernel does not have")
            visit(dep, chain + [name])
        seen.add(name)
        order.append(path)

    for w in wanted:
        optional = w.endswith("?")
        name = norm(w.rstrip("?"))
        if name not in index and name not in builtin:
            if optional:
                print(f"note: optional module {name} not in this kernel, skipped", file=sys.stderr)
                continue
            sys.exit(f"required module {name} not found under {moddir}")
        visit(name, [])
    print("\n".join(order))


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
