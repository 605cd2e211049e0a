#!/usr/bin/env python3
"""Makes a JDK 25 AOT cache (JEP 483/514) independent of when it was assembled.

usage: aot_normalize.py CACHE MAP

CACHE is the file that `java -Xshare:dump -XX:+AOTClassLinking` (build-guest.sh) or
`java -XX:AOTMode=create` wrote; MAP is that same run's
`-Xlog:aot+map=info,aot+map+oops=trace:file=MAP:none:filesize=0`. CACHE is rewritten in place.

With address randomization off (`setarch -R`) and `-XX:ArchiveRelocationMode=0`, two dumps
from one class list (or AOT configuration) write the same bytes but for the archived
heap's java.lang.ref.SoftReference objects: their `timestamp` field, and the static `clock` in
SoftReference's archived mirror, hold the assembling JVM's soft reference clock, which is the
host's CLOCK_MONOTONIC in milliseconds (time since the host booted), and through them the heap
region's CRC and the header's CRC. This sets them all to 0 and writes both CRCs again.

Why 0 is safe: the JVM sets `clock` at start-up and at every GC, so the archived value is never
used as is; a `timestamp` only orders soft references for the LRU clearing policy, and
`SoftReference.get()` sets it to the running JVM's clock. The assembling host's uptime meant
nothing to the guest either. Every value rewritten is first checked against the map (the old
value must be there), and both CRCs are checked before they are rewritten, so a JDK whose
layout differs fails here instead of writing a broken cache.
"""
import re
import struct
import sys
import zlib

# FileMapHeader (JDK 25, src/hotspot/share/cds/filemap.hpp): GenericCDSFileMapHeader is
# magic, crc, version, header_size (u4 each); the header CRC covers the bytes after header_size
# up to header_size (FileMapHeader::compute_crc), each region's CRC its `used` bytes from its
# file offset (FileMapInfo::write_region).
MAGIC_AOT = 0xF00BABA2
HEADER_CRC_AT = 4
HEADER_SIZE_AT = 12
HEADER_CRC_FROM = 16

OBJECT_RE = re.compile(r"^0x([0-9a-f]+): @@ Object \(0x[0-9a-f]+\) (.*)$")
REGION_RE = re.compile(r'^============ region ============= \d+ "(\w+)"')
FIELD_RE = re.compile(r"^- (\w+):\s+(\S+)")
TIMESTAMP_RE = re.compile(r"^ - private 'timestamp' 'J' @(\d+)\s+(-?\d+) ")
CLOCK_RE = re.compile(r"^ - private static 'clock' 'J' @(\d+)\s+(-?\d+) ")
REFERENT_RE = re.compile(r"^ - private 'referent' ")


def die(msg):
    sys.exit(f"aot_normalize.py: {msg}")


def parse_map(path):
    """Returns (regions {name: {field: int}}, [(heap address, old value)] to zero)."""
    regions, current = {}, None
    fields = []
    obj_addr, obj_type, is_reference = None, "", False
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if obj_addr is None and not line.startswith("0x"):
                m = REGION_RE.match(line)
                if m:
                    current = regions.setdefault(m.group(1), {})
                    continue
                m = FIELD_RE.match(line)
                if m and current is not None and m.group(1) in ("crc", "file_offset", "mapping_offset", "used"):
                    current[m.group(1)] = int(m.group(2), 0)
                    continue
            m = OBJECT_RE.match(line)
            if m:
                obj_addr, obj_type, is_reference = int(m.group(1), 16), m.group(2), False
                continue
            if obj_addr is None:
                continue
            if REFERENT_RE.match(line):
                is_reference = True
                continue
            m = TIMESTAMP_RE.match(line)
            if m and is_reference:  # SoftReference and its subclasses
                fields.append((obj_addr + int(m.group(1)), int(m.group(2))))
                continue
            m = CLOCK_RE.match(line)
            if m and obj_type.startswith("java.lang.Class Ljava/lang/ref/SoftReference;"):
                fields.append((obj_addr + int(m.group(1)), int(m.group(2))))
    return regions, fields


def main(argv):
    if len(argv) != 3:
        die("usage: aot_normalize.py CACHE MAP")
    cache, map_path = argv[1], argv[2]
    regions, fields = parse_map(map_path)
    hp = regions.get("hp")
    if not hp or not hp.get("used"):
        print("aot_normalize.py: no archived heap in the map: nothing to do")
        return 0
    if not any(v for _, v in fields):
        print("aot_normalize.py: no soft reference clock values in the archived heap: nothing to do")
        return 0
    data = bytearray(open(cache, "rb").read())
    magic, header_crc = struct.unpack_from("<II", data, 0)
    header_size = struct.unpack_from("<I", data, HEADER_SIZE_AT)[0]
    if magic != MAGIC_AOT:
        die(f"{cache}: magic {magic:#x}, not an AOT cache ({MAGIC_AOT:#x})")
    if zlib.crc32(data[HEADER_CRC_FROM:header_size]) != header_crc:
        die(f"{cache}: the header CRC is not computed as this script expects (another JDK?)")
    fo, base, used = hp["file_offset"], hp["mapping_offset"], hp["used"]
    if zlib.crc32(data[fo:fo + used]) != hp["crc"]:
        die(f"{cache}: the heap region's CRC does not match the map's (another JDK, or the map of another run?)")
    # The region's CRC is stored once in the header: find where, so it can be written again.
    crc_bytes = struct.pack("<I", hp["crc"])
    crc_at = [i for i in range(HEADER_CRC_FROM, header_size - 3, 4) if data[i:i + 4] == crc_bytes]
    if len(crc_at) != 1:
        die(f"{cache}: the heap region's CRC is at {len(crc_at)} places of the header, expected 1")
    changed = 0
    for addr, old in fields:
        at = fo + addr - base
        if not fo <= at <= fo + used - 8:
            die(f"{cache}: field at {addr:#x} is outside the heap region")
        if struct.unpack_from("<q", data, at)[0] != old:
            die(f"{cache}: field at {addr:#x} holds {struct.unpack_from('<q', data, at)[0]}, the map says {old}")
        if old:
            struct.pack_into("<q", data, at, 0)
            changed += 1
    struct.pack_into("<I", data, crc_at[0], zlib.crc32(data[fo:fo + used]))
    struct.pack_into("<I", data, HEADER_CRC_AT, zlib.crc32(data[HEADER_CRC_FROM:header_size]))
    with open(cache, "wb") as f:
        f.write(data)
    print(f"aot_normalize.py: {changed} soft reference clock values set to 0, CRCs written again")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
