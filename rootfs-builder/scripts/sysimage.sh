#!/usr/bin/env bash
# Writes a directory tree as the guest's read-only system image: an ext4 file system (built into
# the guest kernel, so /init needs no module to mount it), without a journal, every inode owned by
# 0:0 with the build's one timestamp, so the same tree gives the same bytes.
#
# usage: sysimage.sh <tree> <out.img> <epoch>
#
# Why ext4 and not erofs or squashfs: both are modules of Debian's cloud kernel (the initramfs would
# load one more before it could mount anything) and need a package the host does not have yet
# (erofs-utils, squashfs-tools); e2fsprogs is already needed for the block rootfs.
#
# What makes mkfs.ext4 -d reproducible (e2fsprogs 1.47.0): a fixed UUID and directory hash seed,
# E2FSPROGS_FAKE_TIME for the times mke2fs takes from the clock (superblock, lost+found, crtime),
# and a size and inode count computed from the tree's file sizes (not from `du`, whose directory
# sizes depend on the host's file system). `-d` copies each file's owner, ctime and atime, which
# the build cannot hold fixed (ctime is the time of the last change on the build host, and reading
# a directory moves its atime): debugfs rewrites them for every inode afterwards.
set -euo pipefail
tree=$1 out=$2 epoch=$3
# The guest's /init finds the image by this label's device serial (QEMU) and mounts it by type.
label=micropod-sys
uuid=6d696372-6f70-6f64-2d73-797300000001   # "micropod-sys" in hex, fixed
hash_seed=6d696372-6f70-6f64-2d73-797300000002

command -v mkfs.ext4 > /dev/null || PATH=$PATH:/usr/sbin:/sbin
for tool in mkfs.ext4 debugfs; do
    command -v "$tool" > /dev/null || { echo "sysimage.sh: $tool not found (install e2fsprogs)" >&2; exit 1; }
done

# Size: the files' bytes rounded up to 4 KiB blocks, one block per directory and symlink, 10 %
# and 8 MiB for ext4's own metadata (inode tables, bitmaps, group descriptors).
read -r bytes entries < <(find "$tree" -printf '%y %s\n' \
    | awk '{ n++; if ($1 == "f") b += int(($2 + 4095) / 4096) * 4096; else b += 4096 } END { print b, n }')
size_kib=$(( (bytes + bytes / 10) / 1024 + 8192 ))
inodes=$(( entries + 64 ))

rm -f "$out"
E2FSPROGS_FAKE_TIME=$epoch mkfs.ext4 -q -F -t ext4 -b 4096 -m 0 -N "$inodes" -O ^has_journal \
    -L "$label" -U "$uuid" -E "hash_seed=$hash_seed,root_owner=0:0,lazy_itable_init=0" \
    -d "$tree" "$out" "${size_kib}k"

# Every inode: owner 0:0, ctime and atime = the build's time (mtime is the tree's, already that;
# atime was too, but reading a directory, as the `find` above does, moves it under relatime).
script=$(mktemp)
trap 'rm -f "$script"' EXIT
(cd "$tree" && find . -mindepth 1 -print0 | sort -z | tr '\0' '\n') | while IFS= read -r p; do
    p=${p#.}
    printf 'sif "%s" uid 0\nsif "%s" gid 0\nsif "%s" ctime @%s\nsif "%s" atime @%s\n' "$p" "$p" "$p" "$epoch" "$p" "$epoch"
done > "$script"
printf 'sif / ctime @%s\nsif / mtime @%s\nsif / atime @%s\n' "$epoch" "$epoch" "$epoch" >> "$script"
E2FSPROGS_FAKE_TIME=$epoch debugfs -w -f "$script" "$out" > /dev/null 2> "$script.err" \
    || { cat "$script.err" >&2; rm -f "$script.err"; exit 1; }
if grep -v '^debugfs ' "$script.err" | grep -q .; then
    grep -v '^debugfs ' "$script.err" | head -20 >&2
    rm -f "$script.err"
    echo "sysimage.sh: debugfs could not normalise every inode of $out (above)" >&2
    exit 1
fi
rm -f "$script.err"
# A clean, checked file system (debugfs wrote to it): fsck must find nothing to fix.
E2FSPROGS_FAKE_TIME=$epoch e2fsck -fn "$out" > /dev/null 2>&1 \
    || { e2fsck -fn "$out" >&2 || true; echo "sysimage.sh: e2fsck finds $out inconsistent" >&2; exit 1; }
