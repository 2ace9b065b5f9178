"""Node side of copying a disk from one node to another (gnt-instance move).

Design notes
============
Ganeti copies a disk between nodes with its import/export daemons: the
target node listens (socat, per-transfer X509 certificates and a magic
string), the source node connects and streams the raw device, and the master
only polls their status files. Here the master relays the data instead:

  1. transfer_read on the source returns the next chunk holding data;
  2. transfer_write on the target writes it at the same offset;
  3. when the whole device is across, transfer_checksum runs on both nodes
     and the master compares size and SHA-256.

Why a relay: noded accepts requests only from master candidates (their
client certificates are listed in ssconf master_candidates_certs), so a
regular node cannot call another node's noded, and a second listener per
transfer would add a port, certificates, a process and its clean-up on every
failure path. The relay uses the authenticated RPC channel the master already
has, needs no extra port, and a failed or aborted copy leaves nothing running
on any node. The price is that the data crosses the master.

Sparse devices: the source skips holes (lseek SEEK_DATA/SEEK_HOLE) and
all-zero chunks, so a fresh sparse disk of many GiB costs a few calls. The
target device is freshly created for the copy and reads as zeros, so skipped
ranges need no write; should it not be (or should anything else go wrong),
the checksum comparison catches it. Checksums read holes as zeros, so a file
and its copy hash equal whatever their block allocation.

Devices are named by their disk dicts, never by paths chosen by the caller:
the storage layer finds the device, and a file-based one must lie below an
allowed file storage directory (pathutils.FILE_STORAGE_PATHS_FILE, the rule
of Ganeti's file storage).
"""

from __future__ import annotations

import base64
import errno
import hashlib
import logging
import os
import stat
import zlib
from collections.abc import Iterator
from typing import Any

from ganeti import constants, errors, objects
from ganeti.backend import RPCFail, args
from ganeti.rpc import encoding
from ganeti.storage import bdev

logger = logging.getLogger(__name__)

_MiB = 1024 * 1024
#: Largest chunk a caller may ask for; bounds the memory of one request on
#: both noded and the master (a chunk is base64-encoded in a JSON body).
MAX_CHUNK_SIZE = 16 * _MiB
#: Bytes of zeros one transfer_read may skip before answering without data,
#: so a call on a huge written-zero device still returns within its timeout.
_ZERO_SCAN_LIMIT = 256 * _MiB
#: Read size when hashing.
_HASH_BLOCK = 4 * _MiB
#: Holes are fed to the hash from this zero buffer (kept small: noded may
#: lock all its memory).
_ZEROS = bytes(_MiB)
# zlib level 1: chunks are compressed on the node's critical path and most
# of the gain (zero runs, text) comes at the lowest level.
_ZLIB_LEVEL = 1


# --- device lookup ----------------------------------------------------------------


def DevicePath(disk: Any) -> str:
    """Return this node's path of the existing device described by a disk dict.

    The storage layer finds the device and applies its rules (for file disks:
    the path must lie below an allowed file storage directory, and a path of
    another virtual node moves into this node's root), so that a disk dict
    cannot name an arbitrary file of the node.

    Raises:
      RPCFail: a malformed disk, a path the storage rules refuse, or a
        device that does not exist here.
    """
    args.CheckDict(disk, "argument 'disk'")
    name = f"{disk.get('iv_name') or 'disk'} ({disk.get('dev_type')}" \
        f" {disk.get('logical_id')!r})"
    try:
        device = bdev.FindDevice(objects.Disk.FromDict(disk), [])
    except (errors.GenericError, TypeError, ValueError) as err:
        raise RPCFail(f"Cannot find {name}: {err}") from err
    if device is None or device.dev_path is None:
        raise RPCFail(f"{name} does not exist on this node")
    return device.dev_path


def _Open(path: str, flags: int) -> int:
    """Open an existing regular file or block device.

    Raises:
      RPCFail: it does not exist, is something else, or cannot be opened.
    """
    try:
        fd = os.open(path, flags | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError as err:
        raise RPCFail(f"Cannot open {path}: {err.strerror}") from err
    mode = os.fstat(fd).st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISBLK(mode)):
        os.close(fd)
        raise RPCFail(f"{path} is neither a regular file nor a block device")
    return fd


def _DeviceSize(fd: int) -> int:
    """The size in bytes of an open file or block device."""
    st = os.fstat(fd)
    if stat.S_ISREG(st.st_mode):
        return st.st_size
    return os.lseek(fd, 0, os.SEEK_END)


def _Seek(fd: int, pos: int, whence: int, size: int, fallback: int) -> int:
    """lseek for SEEK_DATA/SEEK_HOLE; size when past the data, fallback when
    the file system cannot tell (it then looks all data)."""
    try:
        return min(os.lseek(fd, pos, whence), size)
    except OSError as err:
        if err.errno == errno.ENXIO:
            return size
        if err.errno in (errno.EINVAL, errno.EOPNOTSUPP):
            return fallback
        raise


def _DataExtents(fd: int, start: int, size: int) -> Iterator[tuple[int, int]]:
    """Yield (offset, end) of the ranges of [start, size) that may hold data."""
    pos = start
    while pos < size:
        data = _Seek(fd, pos, os.SEEK_DATA, size, pos)
        if data >= size:
            return
        hole = _Seek(fd, data, os.SEEK_HOLE, size, size)
        if hole <= data:  # defensive: never loop without progress
            hole = size
        yield data, hole
        pos = hole


# --- wire form of chunks ----------------------------------------------------------


def EncodeChunk(data: bytes) -> list[Any]:
    """[encoding, text] for a binary chunk (always zlib + base64).

    encoding.Compress may send short payloads as plain text, which is only
    safe for text; chunks are binary.
    """
    packed = base64.b64encode(zlib.compress(data, _ZLIB_LEVEL)).decode("ascii")
    return [constants.RPC_ENCODING_ZLIB_BASE64, packed]


def DecodeChunk(value: Any) -> bytes:
    """The bytes of an encoded chunk.

    Raises:
      RPCFail: the value is not a valid encoded chunk.
    """
    try:
        return encoding.Decompress(value)
    except errors.GenericError as err:
        raise RPCFail(f"Invalid chunk data: {err}") from err


# --- the procedures ---------------------------------------------------------------


def ReadChunk(path: str, offset: int, max_size: int) -> dict[str, Any]:
    """Read the next chunk holding data, at or after offset.

    Returns:
      {"size": device size, "offset": o, "data": [enc, text] or None}: the
      data starting at o; None when everything from offset up to o (the
      device size at the end) reads as zeros.

    Raises:
      RPCFail: the device cannot be opened or read.
    """
    fd = _Open(path, os.O_RDONLY)
    try:
        size = _DeviceSize(fd)
        scanned = 0
        for start, end in _DataExtents(fd, offset, size):
            pos = start
            while pos < end:
                chunk = os.pread(fd, min(max_size, end - pos), pos)
                if not chunk:  # shrunk under us
                    return {"size": size, "offset": size, "data": None}
                # A fresh zero buffer is calloc'ed memory: comparing with it
                # is a memcmp, faster than any scan in Python.
                if chunk != bytes(len(chunk)):
                    return {"size": size, "offset": pos, "data": EncodeChunk(chunk)}
                pos += len(chunk)
                scanned += len(chunk)
                if scanned >= _ZERO_SCAN_LIMIT:
                    return {"size": size, "offset": pos, "data": None}
        return {"size": size, "offset": size, "data": None}
    except OSError as err:
        raise RPCFail(f"Cannot read {path}: {err.strerror}") from err
    finally:
        os.close(fd)


def WriteChunk(path: str, offset: int, data: bytes) -> int:
    """Write data at offset; the device must already be large enough.

    Returns:
      The number of bytes written.

    Raises:
      RPCFail: the device cannot be opened or written, or the data would
        go past its end (the device is never grown here).
    """
    fd = _Open(path, os.O_WRONLY)
    try:
        size = _DeviceSize(fd)
        if offset + len(data) > size:
            raise RPCFail(f"Cannot write {len(data)} bytes at offset {offset}"
                          f" of {path}: the device has only {size} bytes")
        view = memoryview(data)
        done = 0
        while done < len(view):
            done += os.pwrite(fd, view[done:], offset + done)
        return done
    except OSError as err:
        raise RPCFail(f"Cannot write {path}: {err.strerror}") from err
    finally:
        os.close(fd)


def Checksum(path: str) -> dict[str, Any]:
    """Flush the device and return {"size": bytes, "sha256": hex digest}.

    Holes read as zeros, so the digest does not depend on allocation.

    Raises:
      RPCFail: the device cannot be opened or read.
    """
    fd = _Open(path, os.O_RDONLY)
    try:
        os.fsync(fd)  # the target's writes reach the disk before we vouch
        size = _DeviceSize(fd)
        digest = hashlib.sha256()
        pos = 0
        for start, end in _DataExtents(fd, 0, size):
            _HashZeros(digest, start - pos)
            pos = start
            while pos < end:
                block = os.pread(fd, min(_HASH_BLOCK, end - pos), pos)
                if not block:
                    break
                digest.update(block)
                pos += len(block)
        _HashZeros(digest, size - pos)
        return {"size": size, "sha256": digest.hexdigest()}
    except OSError as err:
        raise RPCFail(f"Cannot read {path}: {err.strerror}") from err
    finally:
        os.close(fd)


def _HashZeros(digest: Any, count: int) -> None:
    zeros = memoryview(_ZEROS)
    while count > 0:
        step = min(count, len(zeros))
        digest.update(zeros[:step])
        count -= step


@args.RpcProcedure("transfer_read")
def TransferRead(disk: Any, offset: Any, max_size: Any) -> dict[str, Any]:
    """RPC: the next chunk with data of a disk (see ReadChunk)."""
    path = DevicePath(disk)
    offset = args.CheckInt(offset, "argument 'offset'", minimum=0)
    max_size = args.CheckInt(max_size, "argument 'max_size'", minimum=1)
    if max_size > MAX_CHUNK_SIZE:
        raise RPCFail(f"Invalid argument 'max_size': at most {MAX_CHUNK_SIZE}"
                      f" bytes per chunk, got {max_size}")
    return ReadChunk(path, offset, max_size)


@args.RpcProcedure("transfer_write")
def TransferWrite(disk: Any, offset: Any, data: Any) -> int:
    """RPC: write an encoded chunk into a disk (see WriteChunk)."""
    path = DevicePath(disk)
    offset = args.CheckInt(offset, "argument 'offset'", minimum=0)
    return WriteChunk(path, offset, DecodeChunk(data))


@args.RpcProcedure("transfer_checksum")
def TransferChecksum(disk: Any) -> dict[str, Any]:
    """RPC: size and SHA-256 of a disk (see Checksum)."""
    return Checksum(DevicePath(disk))
