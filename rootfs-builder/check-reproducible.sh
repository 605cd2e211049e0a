#!/usr/bin/env bash
# Builds the guest image twice from the same sources and checks that the two builds are
# byte-identical: kernel, vmlinux, initramfs (entry by entry), manifest.json, host helpers,
# the busybox OCI image and the io.micropod:micropod-guest:linux-x86_64 jar.
#
# usage: rootfs-builder/check-reproducible.sh [MAVEN ARGS...]   (e.g. -o -Dmaven.repo.local=DIR)
#
# Each build is independent: its own copy of the working tree (tracked and untracked, not
# ignored, files) in its own directory, its own empty MICROPOD_HOME, and
# `mvn -pl micropod-guest -am package`, so the agent jar, the guest image and the jar are all
# built again. The downloaded .debs are shared ($MICROPOD_HOME/cache/debs, else
# ~/.cache/micropod/cache/debs, is copied in; when it does not exist, build 1 downloads them and
# they are kept there for build 2 and later builds): they are pinned inputs, not outputs.
# No difference is allowed, the agent's AOT cache (JDK 25) included: it is dumped from the
# committed rootfs-builder/agent.classlist (README.md, "Reproducible builds").
# MICROPOD_REPRO_KEEP=1 keeps the work directory. CI runs this (.ci/run).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
say() { echo "[check-reproducible] $*"; }
t0=$SECONDS

work=$(mktemp -d "${TMPDIR:-/tmp}/micropod-repro.XXXXXX")
cleanup() { [ "${MICROPOD_REPRO_KEEP:-0}" = 1 ] && say "kept $work" || rm -rf "$work"; }
trap cleanup EXIT

debs=${MICROPOD_HOME:-$HOME/.cache/micropod}/cache/debs
version=$(sed -n '/<parent>/,/<\/parent>/s:.*<version>\(.*\)</version>.*:\1:p' "$ROOT/rootfs-builder/pom.xml")
for i in 1 2; do
    src=$work/src$i home=$work/home$i out=$work/out$i
    mkdir -p "$src" "$home/cache" "$out"
    if git -C "$ROOT" rev-parse --git-dir > /dev/null 2>&1; then
        (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard \
            | xargs -0 -I{} sh -c '[ -e "{}" ] && printf "%s\0" "{}"' \
            | tar --null -T - -cf -) | tar -xf - -C "$src"
    else
        say "$ROOT is not a git checkout: copying it without target/ directories"
        tar -C "$ROOT" --exclude=target -cf - . | tar -xf - -C "$src"
    fi
    if [ -d "$debs" ]; then
        cp -a "$debs" "$home/cache/debs"
    fi
    say "build $i of 2 in $src (MICROPOD_HOME=$home) (+$((SECONDS - t0))s)"
    # The check does not need sources or javadoc jars.
    if ! (cd "$src" && MICROPOD_HOME=$home mvn -B -q "$@" -pl micropod-guest -am package \
            -DskipTests -Dmicropod.javadoc.skip=true -Dmaven.source.skip=true > "$work/build$i.log" 2>&1); then
        tail -40 "$work/build$i.log" >&2
        say "build $i failed (log above)"
        exit 1
    fi
    if [ $i = 1 ] && [ ! -d "$debs" ] && [ -d "$home/cache/debs" ]; then
        # A fresh machine (CI): keep what build 1 downloaded for `mvn verify`'s own guest build.
        mkdir -p "$(dirname "$debs")" && cp -a "$home/cache/debs" "$debs"
    fi
    cp -a "$home/guest/$version" "$out/guest"
    cp -a "$home/oci" "$out/oci"
    cp "$src/micropod-guest/target/micropod-guest-$version-linux-x86_64.jar" "$out/guest.jar"
done

say "comparing (+$((SECONDS - t0))s)"
PYTHONDONTWRITEBYTECODE=1 python3 "$ROOT/rootfs-builder/tools/compare_guest.py" "$work/out1" "$work/out2"
say "done (+$((SECONDS - t0))s)"
