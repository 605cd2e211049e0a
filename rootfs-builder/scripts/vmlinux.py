#!/usr/bin/env python3
"""Extracts the uncompressed ELF kernel (vmlinux) from a Debian bzImage.

usage: vmlinux.py <vmlinuz> <out vmlinux>

QEMU's -machine microvm boots an ELF vmlinux through its PVH entry point (and
Firecracker needs one): that skips the bzImage's own decompressor, which under
TCG is a large part of the boot. Debian's payload is LZ4 in the legacy frame
format (magic 02 21 4c 18); `lz4 -d` decodes it, then complains about the
bytes after the payload (exit 1), so we trim the output to the ELF's real end
(end of the section header table) and check it instead of trusting lz4's
exit status. The magic can also occur by chance: try each occurrence.
"""
import struct
import subprocess
import sys

MAGIC = b"\x02\x21\x4c\x18"
PVH_NOTE = 18  # XEN_ELFNOTE_PHYS32_ENTRY: the PVH entry point QEMU looks for


def elf_end(data):
    if data[:4] != b"\x7fELF" or data[4] != 2:
        return None
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    end = shoff + shentsize * shnum
    return end if 0 < end <= len(data) else None


def has_pvh_note(data):
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        ptype, _flags, off, _va, _pa, filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
        if ptype != 4:  # PT_NOTE
            continue
        pos = off
        while pos < off + filesz:
            namesz, descsz, ntype = struct.unpack_from("<III", data, pos)
            name = data[pos + 12:pos + 12 + namesz].rstrip(b"\0")
            if name == b"Xen" and ntype == PVH_NOTE:
                return True
            pos += 12 + (namesz + 3) // 4 * 4 + (descsz + 3) // 4 * 4
    return False


def main(src, dst):
    with open(src, "rb") as f:
        image = f.read()
    pos = image.find(MAGIC)
    while pos >= 0:
        out = subprocess.run(["lz4", "-dc"], input=image[pos:], capture_output=True).stdout
        end = elf_end(out)
        if end:
            kernel = out[:end]
            if not has_pvh_note(kernel):
                sys.exit(f"{src}: the extracted vmlinux has no PVH entry note; QEMU cannot boot it")
            with open(dst, "wb") as f:
                f.write(kernel)
            print(f"vmlinux: {end} bytes (LZ4 payload at offset {pos})")
            return
        pos = image.find(MAGIC, pos + 1)
    sys.exit(f"{src}: no LZ4 payload that decompresses to an ELF kernel")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
