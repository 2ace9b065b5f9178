"""The map from disk type to driver, and the helpers backend/blockdev.py uses.

Mirrors the end of Ganeti's lib/storage/bdev.py (DEV_MAP, FindDevice,
Assemble, Create). This node daemon carries the drivers of the file-based
disk templates; the other disk types of Ganeti need host software (LVM,
DRBD, Ceph, GlusterFS, ExtStorage providers) this node does not have, and
asking for one is a clear errors.BlockDeviceError naming what is missing.
Diskless instances have no disks, so a "diskless" disk is refused too.

The data helpers at the end (wipe, copy, image) work on any device path,
file or block device: they are what blockdev_wipe, blockdev_convert and
blockdev_image do with the device a driver found.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from ganeti import constants, defaults, errors
from ganeti.storage import base
from ganeti.storage.filestorage import MIB, FileStorage, SharedFileStorage
from ganeti.utils import process

# Why each known disk type without a driver here is unavailable.
_UNAVAILABLE_REASONS = {
    constants.DT_PLAIN: "LVM is not installed",
    constants.DT_DRBD8: "DRBD is not installed",
    constants.DT_RBD: "Ceph RBD is not installed",
    constants.DT_GLUSTER: "GlusterFS is not installed",
    constants.DT_EXT: "no ExtStorage provider support is installed",
    constants.DT_BLOCK: "host block devices cannot be adopted here",
}


def GetDeviceClass(dev_type: Any) -> type[base.BlockDev]:
    """Return the driver class of a disk type (Ganeti's _VerifyDiskType).

    Raises:
      errors.BlockDeviceError: the type is unknown, diskless, or needs
        software this node does not have.
    """
    cls = DEV_MAP.get(dev_type) if isinstance(dev_type, str) else None
    if cls is not None:
        return cls
    if dev_type in _UNAVAILABLE_REASONS:
        raise errors.BlockDeviceError(
            f"Disk type '{dev_type}' is not available on this node"
            f" ({_UNAVAILABLE_REASONS[dev_type]})")
    if dev_type == constants.DT_DISKLESS:
        raise errors.BlockDeviceError(
            "Disk type 'diskless' has no block devices (a diskless instance"
            " has no disks)")
    raise errors.BlockDeviceError(f"Invalid block device type {dev_type!r}")


def _VerifyDiskParams(disk: Any) -> None:
    """Check the master filled every logical parameter of the disk's type.

    Raises:
      errors.BlockDeviceError: some are missing.
    """
    expected = defaults.DISK_LD_DEFAULTS.get(disk.dev_type, {})
    missing = sorted(set(expected) - set(disk.params or {}))
    if missing:
        raise errors.BlockDeviceError(
            f"Block device is missing disk parameters: {', '.join(missing)}")


def _Instantiate(disk: Any, children: list[base.BlockDev | None]) -> base.BlockDev:
    cls = GetDeviceClass(disk.dev_type)
    return cls(disk.logical_id, children, disk.size, disk.params or {},
               disk.dynamic_params or {})


def FindDevice(disk: Any, children: list[base.BlockDev | None]
               ) -> base.BlockDev | None:
    """Return the device of disk if it exists and is assembled, else None.

    Args:
      disk: an objects.Disk (params filled by the master).
      children: the devices of disk's children.

    Raises:
      errors.BlockDeviceError: the disk type is unavailable or its
        logical_id is malformed.
      errors.FileStoragePathError: a file disk's path is not allowed.
    """
    device = _Instantiate(disk, children)
    return device if device.attached else None


def Assemble(disk: Any, children: list[base.BlockDev | None]) -> base.BlockDev:
    """Attach to or assemble the existing device of disk; safe if active.

    Raises:
      errors.BlockDeviceError: as FindDevice, or the device cannot be
        activated (e.g. its file is missing).
      errors.FileStoragePathError: as FindDevice.
    """
    _VerifyDiskParams(disk)
    device = _Instantiate(disk, children)
    device.Assemble()
    return device


def Create(disk: Any, children: list[base.BlockDev | None],
           excl_stor: bool) -> base.BlockDev:
    """Create the device of disk and return it.

    Raises:
      errors.BlockDeviceError: nothing was created (see the driver).
      errors.FileStoragePathError: a file disk's path is not allowed.
    """
    cls = GetDeviceClass(disk.dev_type)
    _VerifyDiskParams(disk)
    return cls.Create(disk.logical_id, children, disk.size, disk.spindles,
                      disk.params or {}, excl_stor, disk.dynamic_params or {})


# --- data helpers -------------------------------------------------------------------

_CHUNK = MIB
_URL_SCHEMES = frozenset(["http", "https", "ftp"])
# Seconds without data after which an image download is abandoned.
_URL_TIMEOUT = 60


def IsUrl(text: str) -> bool:
    """Whether text is an http, https or ftp URL (Ganeti's utils.IsUrl)."""
    parsed = urllib.parse.urlparse(text)
    return parsed.scheme in _URL_SCHEMES and bool(parsed.netloc)


def DeviceSize(path: str) -> int:
    """Return the size in bytes of a file or block device.

    Raises:
      OSError: it cannot be opened.
    """
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return os.lseek(fd, 0, os.SEEK_END)
    finally:
        os.close(fd)


def _OpenTarget(path: str) -> int:
    # Never through a symlink at the last component; never truncate.
    return os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)


def WipeDevice(path: str, offset: int, size: int) -> None:
    """Overwrite size MiB of path with zeros, starting at offset MiB.

    Raises:
      OSError: the device cannot be opened or written.
    """
    zeros = bytes(_CHUNK)
    fd = _OpenTarget(path)
    try:
        for block in range(offset, offset + size):
            os.pwrite(fd, zeros, block * MIB)
        os.fsync(fd)
    finally:
        os.close(fd)


def _CopyStream(read_fn: Callable[[int], bytes], dst_fd: int, limit: int,
                what: str) -> int:
    """Copy from read_fn into dst_fd from offset 0, at most limit bytes.

    Chunks of zeros are not written where the target already holds zeros,
    so copying onto a fresh sparse file keeps it sparse.

    Returns:
      The number of bytes copied.

    Raises:
      errors.BlockDeviceError: the source has more than limit bytes.
      OSError: reading or writing failed.
    """
    pos = 0
    while True:
        chunk = read_fn(_CHUNK)
        if not chunk:
            break
        if pos + len(chunk) > limit:
            raise errors.BlockDeviceError(
                f"{what} is bigger than the device ({limit // MIB} MiB)")
        if chunk.count(0) != len(chunk) or os.pread(
                dst_fd, len(chunk), pos).count(0) != len(chunk):
            os.pwrite(dst_fd, chunk, pos)
        pos += len(chunk)
    os.fsync(dst_fd)
    return pos


def CopyData(src: str, dst: str, length: int) -> None:
    """Copy the first length bytes of src onto dst (which is not truncated).

    Raises:
      errors.BlockDeviceError: src is longer than length.
      OSError: a device cannot be opened, read or written.
    """
    dst_fd = _OpenTarget(dst)
    try:
        with open(src, "rb") as src_fh:
            _CopyStream(src_fh.read, dst_fd, length, f"Source {src}")
    finally:
        os.close(dst_fd)


def _QemuImgInfo(image: str) -> dict[str, Any]:
    result = process.RunCmd(["qemu-img", "info", "--output=json", image])
    if result.failed:
        raise errors.BlockDeviceError(
            f"qemu-img cannot read image {image}: {result.output.strip()}")
    try:
        info = json.loads(result.stdout)
    except ValueError as err:
        raise errors.BlockDeviceError(
            f"Cannot parse the output of qemu-img info for {image}: {err}") from err
    if not isinstance(info, dict):
        raise errors.BlockDeviceError(f"Unexpected qemu-img info output for {image}")
    return info


def _ConvertWithQemuImg(image: str, dev_path: str) -> None:
    """Write a local image of any format qemu-img knows onto dev_path.

    Images with a backing file are refused: the backing file could be any
    file of this node.
    """
    info = _QemuImgInfo(image)
    if info.get("backing-filename") or info.get("full-backing-filename"):
        raise errors.BlockDeviceError(
            f"Image {image} has a backing file; only self-contained images can"
            " be written onto a disk")
    virtual_size = info.get("virtual-size")
    image_format = info.get("format")
    if not isinstance(virtual_size, int) or not isinstance(image_format, str):
        raise errors.BlockDeviceError(f"qemu-img did not report the format and"
                                      f" size of image {image}")
    dev_size = DeviceSize(dev_path)
    if virtual_size > dev_size:
        raise errors.BlockDeviceError(
            f"Image {image} ({virtual_size // MIB} MiB) is bigger than the device"
            f" ({dev_size // MIB} MiB)")
    result = process.RunCmd(["qemu-img", "convert", "-n", "-f", image_format,
                             "-O", "raw", image, dev_path])
    if result.failed:
        raise errors.BlockDeviceError(
            f"qemu-img convert failed ({result.fail_reason}):"
            f" {result.output.strip()}")


def _DownloadImage(url: str, dev_path: str, limit: int) -> None:
    """Stream a raw image from a URL onto dev_path."""
    dst_fd = _OpenTarget(dev_path)
    try:
        with urllib.request.urlopen(url, timeout=_URL_TIMEOUT) as response:
            _CopyStream(response.read, dst_fd, limit, f"Image {url}")
    except urllib.error.URLError as err:
        raise errors.BlockDeviceError(f"Cannot download {url}: {err.reason}"
                                      ) from err
    finally:
        os.close(dst_fd)


def WriteImage(image: str, dev_path: str, size: int) -> None:
    """Write an image file or URL onto dev_path; at most size MiB.

    Local images go through qemu-img when it is installed (any format it
    reads), otherwise they are copied as raw data; URLs are raw images.

    Raises:
      errors.BlockDeviceError: the image is too big or cannot be converted.
      errors.CommandError: qemu-img cannot be run.
      OSError: a file cannot be read or written.
    """
    if IsUrl(image):
        _DownloadImage(image, dev_path, size * MIB)
    elif shutil.which("qemu-img"):
        _ConvertWithQemuImg(image, dev_path)
    else:
        CopyData(image, dev_path, size * MIB)


# Please keep this at the bottom of the file for visibility (as Ganeti).
DEV_MAP: dict[str, type[base.BlockDev]] = {
    constants.DT_FILE: FileStorage,
    constants.DT_SHARED_FILE: SharedFileStorage,
}
