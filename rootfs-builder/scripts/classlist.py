#!/usr/bin/env python3
"""Writes the agent's canonical class list (rootfs-builder/agent.classlist) from recordings.

usage: classlist.py OUT RECORDING...

Each RECORDING is a class list that one training run of the agent wrote
(`java -XX:DumpLoadedClassList=FILE -jar micropod-agent.jar --train`). OUT keeps what every
recording holds, in an order that does not depend on the run:
- class names (without the loader's `id: N`, which only numbers the load order), sorted;
- `@lambda-proxy` and `@lambda-form-invoker` lines present in every recording, sorted;
- `@cp CLASS INDEX...` (constant pool entries the run resolved, which the dump resolves ahead
  of time) with the indices every recording resolved, sorted.

Why the intersection: the agent's training run serves gRPC on event loop threads while its
client calls it, so what a run loads and resolves varies a little from run to run (measured:
3 to 8 of ~3,750 classes, and the resolved entries of ~15 classes, between any two runs); an
entry that one run lacks is one that a real start may lack too. The file is an input of the
build (committed), so two builds of one commit dump the same archive.
"""
import sys

HEADER = """\
# The agent's canonical class list: what the guest JVM's AOT cache (agent.aot) holds.
# Written by rootfs-builder/build-guest.sh --update-classlist (scripts/classlist.py): the
# intersection of {runs} training runs (java -jar micropod-agent.jar --train), sorted.
# An input of the guest build, so that two builds of one commit are byte-identical
# (README.md, "Reproducible builds"). Refresh it when the build warns that it is stale.
"""


def read(path):
    classes, lines, cp = set(), set(), {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            if line.startswith("@cp "):
                parts = line.split()
                cp.setdefault(parts[1], set()).update(int(i) for i in parts[2:])
            elif line.startswith("@lambda-proxy ") or line.startswith("@lambda-form-invoker "):
                lines.add(line)
            elif line.startswith("@"):
                sys.exit(f"classlist.py: {path}: unknown line {line[:80]!r} (another JDK?)")
            else:
                parts = line.split()
                if not (len(parts) == 1 or (len(parts) == 3 and parts[1] == "id:")):
                    # "super:"/"source:": a class of a custom loader, which the agent has none of.
                    sys.exit(f"classlist.py: {path}: unexpected class line {line[:80]!r}")
                classes.add(parts[0])
    return classes, lines, cp


def main(argv):
    if len(argv) < 3:
        sys.exit("usage: classlist.py OUT RECORDING...")
    runs = [read(p) for p in argv[2:]]
    classes = set.intersection(*(r[0] for r in runs))
    lines = set.intersection(*(r[1] for r in runs))
    cp = {}
    for name in set.intersection(*(set(r[2]) for r in runs)) & classes:
        indices = set.intersection(*(r[2][name] for r in runs))
        if indices:
            cp[name] = indices
    with open(argv[1], "w", encoding="utf-8") as out:
        out.write(HEADER.format(runs=len(runs)))
        for name in sorted(classes):
            out.write(name + "\n")
        for line in sorted(lines):
            out.write(line + "\n")
        for name in sorted(cp):
            out.write("@cp " + name + " " + " ".join(str(i) for i in sorted(cp[name])) + "\n")
    print(f"classlist.py: {argv[1]}: {len(classes)} classes, {len(lines)} lambda lines, "
          f"{len(cp)} classes with resolved entries (intersection of {len(runs)} runs; "
          f"per run: {', '.join(str(len(r[0])) for r in runs)} classes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
