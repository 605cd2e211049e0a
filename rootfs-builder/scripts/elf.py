"""Just enough ELF64 (little-endian, x86-64) reading for the guest builder.

We read section headers ourselves instead of calling readelf/modinfo so that the
build needs neither binutils nor kmod on the host.
"""
import struct

SHT_DYNAMIC = 6
DT_NEEDED, DT_RPATH, DT_RUNPATH = 1, 15, 29


def is_elf(path):
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def _sections(data):
    """Yields (name, type, offset, size, link) for every section."""
    if data[:4] != b"\x7fELF" or data[4] != 2:
        raise ValueError("not an ELF64 file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    headers = []
    for i in range(shnum):
        name, typ, _flags, _addr, off, size, link = struct.unpack_from(
            "<IIQQQQI", data, shoff + i * shentsize)
        headers.append((name, typ, off, size, link))
    strtab_off = headers[shstrndx][2] if shnum else 0
    for name, typ, off, size, link in headers:
        end = data.index(b"\0", strtab_off + name)
        yield data[strtab_off + name:end].decode(), typ, off, size, link, headers


def section(data, wanted):
    for name, _typ, off, size, _link, _all in _sections(data):
        if name == wanted:
            return data[off:off + size]
    return None


def modinfo(path):
    """The key=value strings of a kernel module's .modinfo section."""
    with open(path, "rb") as f:
        raw = section(f.read(), ".modinfo") or b""
    info = {}
    for item in raw.split(b"\0"):
        if b"=" in item:
            k, v = item.decode(errors="replace").split("=", 1)
            info.setdefault(k, v)
    return info


EM_X86_64 = 62


def is_x86_64(data):
    return data[:4] == b"\x7fELF" and data[4] == 2 and struct.unpack_from("<H", data, 0x12)[0] == EM_X86_64


def dynamic(path_or_bytes):
    """(needed sonames, run paths) of a dynamically linked ELF file (a path or its bytes)."""
    data = path_or_bytes
    if not isinstance(data, bytes):
        with open(path_or_bytes, "rb") as f:
            data = f.read()
    needed, runpaths = [], []
    for _name, typ, off, size, link, headers in _sections(data):
        if typ != SHT_DYNAMIC:
            continue
        strtab = headers[link][2]
        for i in range(0, size, 16):
            tag, val = struct.unpack_from("<qQ", data, off + i)
            if tag == 0:
                break
            if tag in (DT_NEEDED, DT_RPATH, DT_RUNPATH):
                s = data[strtab + val:data.index(b"\0", strtab + val)].decode()
                (needed if tag == DT_NEEDED else runpaths).append(s)
    return needed, runpaths
