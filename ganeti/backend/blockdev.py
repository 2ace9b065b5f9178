"""Block device RPC procedures: the node side of the blockdev_* calls.

Mirrors the Blockdev* functions of Ganeti's lib/backend.py. Disks arrive as
dicts (objects.Disk.ToDict with params filled by the master) and are turned
into drivers by ganeti.storage.bdev; which disk types this node can serve
is decided there (file and sharedfile; the others fail with a message
naming the missing software).

An instance's assembled disks are linked as
pathutils.DISK_LINKS_DIR/<instance name>:<disk index> -> device path; the
hypervisors start instances from these links (GatherAndLinkBlockDevs).
blockdev_assemble creates the link of one disk, blockdev_open those of a
list; blockdev_shutdown and blockdev_remove drop every link pointing to the
device, blockdev_close and instance shutdown (RemoveBlockDevsSymlinks)
those of an instance. pathutils.BDEV_CACHE_DIR keeps, per assembled
device, who owns it (Ganeti's DevCacheManager).

Procedures that change data (create, remove, grow, rename, wipe, image,
convert) report failures as RPCFail with the device and the cause; a
failed create leaves no file behind.
"""

from __future__ import annotations

import logging
import os
import stat
from typing import Any

from ganeti import constants, errors, objects, pathutils
from ganeti.backend import RPCFail, args
from ganeti.storage import base, filestorage
from ganeti.storage import bdev as storage_bdev
from ganeti.utils import io

logger = logging.getLogger(__name__)

# Ganeti's constants.DISK_SEPARATOR: <instance>:<idx> link names.
DISK_SEPARATOR = ":"
_LINKS_DIR_MODE = 0o750
_CACHE_DIR_MODE = 0o750
_STORAGE_ERRORS = (errors.BlockDeviceError, errors.FileStoragePathError)
# Logical disk parameter choosing how hypervisors open a disk.
_LDP_ACCESS = "access"
_DISK_USERSPACE = "userspace"


def _Fail(msg: str) -> RPCFail:
    """Log msg and return it as an RPCFail for the caller to raise."""
    logger.error("%s", msg)
    return RPCFail(msg)


# --- arguments ----------------------------------------------------------------

def _Disk(value: Any, what: str = "disk") -> objects.Disk:
    """Turn a disk dict received over RPC into an objects.Disk.

    Raises:
      RPCFail: not a dict or not a valid disk.
    """
    if isinstance(value, objects.Disk):
        return value
    args.CheckDict(value, what)
    try:
        disk = objects.Disk.FromDict(value)
    except errors.ConfigurationError as err:
        raise RPCFail(f"Invalid {what}: {err}") from err
    if not isinstance(disk.dev_type, str):
        raise RPCFail(f"Invalid {what}: it has no dev_type")
    return disk


def _Disks(value: Any, what: str = "disks") -> list[objects.Disk]:
    items = args.CheckList(value, f"argument '{what}'")
    return [_Disk(item, f"{what}[{idx}]") for idx, item in enumerate(items)]


def _DevPath(device: base.BlockDev) -> str:
    """The device's path on this node (drivers set it once attached).

    Raises:
      errors.BlockDeviceError: the driver did not set it.
    """
    if device.dev_path is None:
        raise errors.BlockDeviceError(f"Device {device!r} has no path on this node")
    return device.dev_path


def _DiskName(disk: objects.Disk) -> str:
    """A short name of a disk for messages."""
    ident = disk.iv_name or disk.uuid or disk.name
    return f"{ident} ({disk.dev_type} {disk.logical_id!r})"


# --- the bdev cache (Ganeti's DevCacheManager) --------------------------------

class DevCacheManager:
    """Remembers, per assembled device, its owner, role and visible name."""

    _DEV_PREFIX = "/dev/"

    @classmethod
    def _ConvertPath(cls, dev_path: str) -> str:
        if dev_path.startswith(cls._DEV_PREFIX):
            dev_path = dev_path[len(cls._DEV_PREFIX):]
        return f"{pathutils.BDEV_CACHE_DIR}/bdev_{dev_path.replace('/', '_')}"

    @classmethod
    def UpdateCache(cls, dev_path: str | None, owner: str, on_primary: bool,
                    iv_name: str | None) -> None:
        """Record "<owner> primary|secondary <iv_name>" for dev_path.

        A failure is logged only: the cache is informational.
        """
        if dev_path is None:
            logger.error("DevCacheManager.UpdateCache got a None dev_path")
            return
        state = "primary" if on_primary else "secondary"
        content = f"{owner} {state} {iv_name or 'not_visible'}\n"
        try:
            io.WriteFile(cls._ConvertPath(dev_path), content,
                         mkdir_mode=_CACHE_DIR_MODE)
        except OSError as err:
            logger.warning("Can't update bdev cache for %s: %s", dev_path, err)

    @classmethod
    def RemoveCache(cls, dev_path: str | None) -> None:
        """Forget dev_path (logged only on failure)."""
        if dev_path is None:
            return
        try:
            io.RemoveFile(cls._ConvertPath(dev_path))
        except OSError as err:
            logger.warning("Can't remove bdev cache for %s: %s", dev_path, err)


# --- symlinks -----------------------------------------------------------------------

def _GetBlockDevSymlinkPath(instance_name: str, idx: int) -> str:
    """Return DISK_LINKS_DIR/<instance_name>:<idx>.

    Raises:
      errors.BlockDeviceError: the name could escape the links directory.
    """
    if (not instance_name or "/" in instance_name or "\0" in instance_name
            or instance_name in (".", "..")):
        raise errors.BlockDeviceError(
            f"Invalid instance name for a disk link: {instance_name!r}")
    return f"{pathutils.DISK_LINKS_DIR}/{instance_name}{DISK_SEPARATOR}{idx}"


def _SymlinkBlockDev(instance_name: str, device_path: str, idx: int) -> str:
    """Point the instance's link for disk idx at device_path; return the link.

    An existing link is replaced atomically (a hypervisor may be reading
    it); an existing non-link is an error.

    Raises:
      OSError: the link cannot be made.
      errors.BlockDeviceError: bad instance name, or a non-link is there.
    """
    link_name = _GetBlockDevSymlinkPath(instance_name, idx)
    os.makedirs(pathutils.DISK_LINKS_DIR, mode=_LINKS_DIR_MODE, exist_ok=True)
    try:
        os.symlink(device_path, link_name)
        return link_name
    except FileExistsError:
        pass
    if not os.path.islink(link_name):
        raise errors.BlockDeviceError(
            f"Cannot create disk link {link_name}: a file that is not a"
            " symbolic link is in the way")
    if os.readlink(link_name) != device_path:
        tmp_name = f"{link_name}.new"
        io.RemoveFile(tmp_name)
        os.symlink(device_path, tmp_name)
        os.rename(tmp_name, link_name)
    return link_name


def _RemoveBlockDevLinks(instance_name: str, disks: list[Any]) -> None:
    """Remove the instance's links for disks 0..len(disks)-1 (errors logged)."""
    for idx in range(len(disks)):
        try:
            link_name = _GetBlockDevSymlinkPath(instance_name, idx)
        except errors.BlockDeviceError as err:
            logger.warning("%s", err)
            return
        if os.path.islink(link_name):
            try:
                os.remove(link_name)
            except OSError:
                logger.exception("Can't remove symlink '%s'", link_name)


def _RelinkDevice(dev_path: str | None, new_path: str | None = None) -> None:
    """Remove (or re-point to new_path) every disk link pointing to dev_path."""
    if dev_path is None:
        return
    try:
        names = os.listdir(pathutils.DISK_LINKS_DIR)
    except OSError:
        return
    for name in names:
        link_name = f"{pathutils.DISK_LINKS_DIR}/{name}"
        try:
            if os.readlink(link_name) != dev_path:
                continue
            if new_path is None:
                os.remove(link_name)
            else:
                os.remove(link_name)
                os.symlink(new_path, link_name)
        except OSError as err:
            logger.warning("Can't update disk link %s: %s", link_name, err)


def RemoveBlockDevsSymlinks(instance_name: str, disks: list[Any]) -> None:
    """Remove the disk links of an instance (after it stopped).

    Args:
      instance_name: the instance's name.
      disks: its disks (only their number matters).
    """
    _RemoveBlockDevLinks(instance_name, disks)


# --- finding and assembling -----------------------------------------------------

def _RecursiveFindBD(disk: objects.Disk) -> base.BlockDev | None:
    """Return the disk's device if it exists and is assembled, else None.

    Raises:
      errors.BlockDeviceError, errors.FileStoragePathError: see storage.bdev.
    """
    children = [_RecursiveFindBD(child) for child in disk.children or ()]
    return storage_bdev.FindDevice(disk, children)


def _RecursiveAssembleBD(disk: objects.Disk, owner: str,
                         as_primary: bool) -> base.BlockDev | bool:
    """Assemble a disk (and its children) on this node.

    Returns:
      The device, or True on a secondary node where the disk type needs no
      assembly there (file-based disks are only used on the primary).
    """
    children = [_RecursiveAssembleBD(child, owner, as_primary)
                for child in disk.children or ()]
    if not as_primary:
        return True
    child_devices: list[base.BlockDev | None] = [
        c for c in children if isinstance(c, base.BlockDev)]
    device = storage_bdev.Assemble(disk, child_devices)
    device.Open()
    DevCacheManager.UpdateCache(device.dev_path, owner, as_primary, disk.iv_name)
    return device


def _CalculateDeviceURI(hypervisor: str | None, disk: objects.Disk,
                        device: base.BlockDev) -> str | None:
    """The userspace URI of the device if the disk's access mode asks for it."""
    if (disk.params or {}).get(_LDP_ACCESS) == _DISK_USERSPACE:
        return device.GetUserspaceAccessUri(str(hypervisor))
    return None


def _DiskObject(disk: Any, what: str = "disk") -> objects.Disk:
    """Like _Disk, for the Python helpers: errors are BlockDeviceErrors."""
    try:
        return _Disk(disk, what)
    except RPCFail as err:
        raise errors.BlockDeviceError(str(err)) from err


def OpenRealBD(disk: objects.Disk | dict[str, Any]) -> base.BlockDev:
    """Find the assembled device of disk and open it (Ganeti's _OpenRealBD).

    Args:
      disk: an objects.Disk or its dict form (params filled).

    Raises:
      errors.BlockDeviceError: malformed, not set up, or cannot be opened.
    """
    disk = _DiskObject(disk)
    try:
        device = _RecursiveFindBD(disk)
    except errors.FileStoragePathError as err:
        raise errors.BlockDeviceError(str(err)) from err
    if device is None:
        raise errors.BlockDeviceError(
            f"Block device '{_DiskName(disk)}' is not set up.")
    device.Open()
    return device


def _InstanceDisksInfo(instance: Any) -> list[Any]:
    """The disk dicts an instance dict/object carries (ED_INST_DICT's disks_info).

    Raises:
      errors.BlockDeviceError: it has disks but no disks_info.
    """
    if isinstance(instance, dict):
        info, disk_uuids = instance.get("disks_info"), instance.get("disks")
    else:
        extra = getattr(instance, "_extra", None) or {}
        info = getattr(instance, "disks_info", None) or extra.get("disks_info")
        disk_uuids = instance.disks
    if info is None:
        if disk_uuids:
            raise errors.BlockDeviceError(
                "The instance description has no disks_info (disk details)")
        return []
    if not isinstance(info, list):
        raise errors.BlockDeviceError("Invalid disks_info: expected a list")
    return info


def _InstanceField(instance: Any, name: str) -> Any:
    return instance.get(name) if isinstance(instance, dict) else getattr(
        instance, name, None)


def GatherAndLinkBlockDevs(instance: Any) -> list[tuple[Any, str, str | None]]:
    """Open every disk of an instance and link it; for StartInstance.

    The disks must be assembled already (blockdev_assemble).

    Args:
      instance: the instance as objects.Instance or dict, with disks_info.

    Returns:
      [(disk dict as received, link name, userspace URI or None), ...] in
      disk order.

    Raises:
      errors.BlockDeviceError: a disk is not set up or cannot be linked;
        the links made by this call are removed again.
    """
    name = _InstanceField(instance, "name")
    disks_info = _InstanceDisksInfo(instance)
    block_devices: list[tuple[Any, str, str | None]] = []
    try:
        for idx, disk_data in enumerate(disks_info):
            disk = _DiskObject(disk_data, f"disks_info[{idx}]")
            device = OpenRealBD(disk)
            try:
                link_name = _SymlinkBlockDev(name, _DevPath(device), idx)
            except OSError as err:
                raise errors.BlockDeviceError(
                    f"Cannot create block device symlink: {err.strerror}") from err
            uri = _CalculateDeviceURI(_InstanceField(instance, "hypervisor"),
                                      disk, device)
            block_devices.append((disk_data, link_name, uri))
    except errors.BlockDeviceError:
        _RemoveBlockDevLinks(name, block_devices)
        raise
    return block_devices


def GetInstanceDiskPaths(instance: Any) -> list[str]:
    """Return the device paths of an instance's (assembled) disks, in order.

    Raises:
      errors.BlockDeviceError: a disk is not set up.
    """
    return [_DevPath(OpenRealBD(disk)) for disk in _InstanceDisksInfo(instance)]


# --- procedures: life cycle -------------------------------------------------------

@args.RpcProcedure("blockdev_create")
def BlockdevCreate(bdev: Any, size: Any, owner: Any, on_primary: Any,
                   info: Any, exclusive_storage: Any) -> list[Any]:
    """Create the device of a disk (Ganeti's BlockdevCreate).

    Returns:
      The device's unique id (its logical_id).

    Raises:
      RPCFail: the disk type is unavailable, the path not allowed, the
        file exists... Nothing is left behind then.
    """
    disk = _Disk(bdev, "argument 'bdev'")
    size = int(args.CheckNumber(size, "argument 'size'", minimum=0))
    owner = args.CheckStr(owner, "argument 'owner'")
    on_primary = args.CheckBool(on_primary, "argument 'on_primary'")
    excl_stor = args.CheckBool(exclusive_storage, "argument 'exclusive_storage'")
    if info is not None:
        args.CheckStr(info, "argument 'info'")
    if disk.size is None:
        disk.size = size
    if disk.children:
        raise _Fail(f"Can't create block device: disk type '{disk.dev_type}'"
                    " cannot have children on this node")
    try:
        device = storage_bdev.Create(disk, [], excl_stor)
    except _STORAGE_ERRORS as err:
        raise _Fail(f"Can't create block device: {err}") from err
    if on_primary:
        try:
            device.Assemble()
            device.Open(force=True)
        except errors.BlockDeviceError as err:
            base.IgnoreError(device.Remove)
            raise _Fail("Can't assemble device after creation, unusual event:"
                        f" {err}") from err
        DevCacheManager.UpdateCache(device.dev_path, owner, on_primary,
                                    disk.iv_name)
    if info:
        device.SetInfo(info)
    return list(device.unique_id)


@args.RpcProcedure("blockdev_remove")
def BlockdevRemove(bdev: Any) -> None:
    """Remove a disk's device and its links; a missing device is fine.

    Raises:
      RPCFail: the device (or a child) still exists.
    """
    _RemoveDisk(_Disk(bdev, "argument 'bdev'"))


def _RemoveDisk(disk: objects.Disk) -> None:
    msgs = []
    try:
        storage_bdev.GetDeviceClass(disk.dev_type)
    except errors.BlockDeviceError as err:
        raise _Fail(f"Can't remove block device {_DiskName(disk)}: {err}") from err
    try:
        device = _RecursiveFindBD(disk)
    except errors.FileStoragePathError as err:
        raise _Fail(f"Can't remove block device {_DiskName(disk)}: {err}") from err
    except errors.BlockDeviceError as err:
        logger.info("Can't attach to device %s in remove: %s", disk, err)
        device = None
    if device is not None:
        dev_path = device.dev_path
        try:
            device.Remove()
        except errors.BlockDeviceError as err:
            msgs.append(str(err))
        else:
            DevCacheManager.RemoveCache(dev_path)
            _RelinkDevice(dev_path)
    for child in disk.children or ():
        try:
            _RemoveDisk(child)
        except RPCFail as err:
            msgs.append(str(err))
    if msgs:
        raise _Fail("; ".join(msgs))


@args.RpcProcedure("blockdev_assemble")
def BlockdevAssemble(disk: Any, instance: Any, on_primary: Any,
                     idx: Any) -> list[Any]:
    """Activate a disk for an instance and link it (on the primary).

    Returns:
      [dev_path, link_name, uri] on the primary node; [True, True] on a
      secondary node where nothing needs assembling (as Ganeti).

    Raises:
      RPCFail: the device cannot be assembled or linked.
    """
    disk_obj = _Disk(disk)
    if isinstance(instance, dict):
        name = args.CheckStr(instance.get("name"), "instance name", non_empty=True)
        hypervisor = instance.get("hypervisor")
    else:
        name, hypervisor = args.CheckStr(instance, "argument 'instance'",
                                         non_empty=True), None
    as_primary = args.CheckBool(on_primary, "argument 'on_primary'")
    idx = args.CheckInt(idx, "argument 'idx'", minimum=0)
    try:
        _GetBlockDevSymlinkPath(name, idx)  # refuse a bad name before any change
        result = _RecursiveAssembleBD(disk_obj, name, as_primary)
        if not isinstance(result, base.BlockDev):
            return [result, result]
        link_name = _SymlinkBlockDev(name, _DevPath(result), idx)
        uri = _CalculateDeviceURI(hypervisor, disk_obj, result)
    except _STORAGE_ERRORS as err:
        raise _Fail(f"Error while assembling disk: {err}") from err
    except OSError as err:
        raise _Fail(f"Error while symlinking disk: {err}") from err
    return [result.dev_path, link_name, uri]


@args.RpcProcedure("blockdev_shutdown")
def BlockdevShutdown(disk: Any) -> None:
    """Deactivate a disk's device and drop its links (children too).

    Raises:
      RPCFail: the device (or a child) could not be shut down.
    """
    _ShutdownDisk(_Disk(disk))


def _ShutdownDisk(disk: objects.Disk) -> None:
    msgs = []
    try:
        device = _RecursiveFindBD(disk)
    except _STORAGE_ERRORS as err:
        raise _Fail(f"Can't shut down block device {_DiskName(disk)}: {err}"
                    ) from err
    if device is not None:
        try:
            device.Shutdown()
        except errors.BlockDeviceError as err:
            msgs.append(str(err))
        else:
            DevCacheManager.RemoveCache(device.dev_path)
            _RelinkDevice(device.dev_path)
    for child in disk.children or ():
        try:
            _ShutdownDisk(child)
        except RPCFail as err:
            msgs.append(str(err))
    if msgs:
        raise _Fail("; ".join(msgs))


def _FindOrFail(disk: objects.Disk, what: str = "Cannot find block device"
                ) -> base.BlockDev:
    try:
        device = _RecursiveFindBD(disk)
    except _STORAGE_ERRORS as err:
        raise _Fail(f"{what} {_DiskName(disk)}: {err}") from err
    if device is None:
        raise _Fail(f"{what} {_DiskName(disk)}")
    return device


@args.RpcProcedure("blockdev_close")
def BlockdevClose(instance_name: Any, disks: Any) -> None:
    """Stop using disks for I/O and drop the instance's links to them.

    Raises:
      RPCFail: a disk is not set up or cannot be closed.
    """
    if instance_name is not None:
        args.CheckStr(instance_name, "argument 'instance_name'")
    disk_objs = _Disks(disks)
    devices = [_FindOrFail(disk, "Can't find device") for disk in disk_objs]
    msgs = []
    for device in devices:
        try:
            device.Close()
        except errors.BlockDeviceError as err:
            msgs.append(str(err))
    if msgs:
        raise _Fail(f"Can't close devices: {', '.join(msgs)}")
    if instance_name:
        _RemoveBlockDevLinks(instance_name, disk_objs)


@args.RpcProcedure("blockdev_open")
def BlockdevOpen(instance_name: Any, disks: Any, exclusive: Any) -> None:
    """Open disks for an instance and link them by index.

    Raises:
      RPCFail: a disk is not set up or cannot be opened or linked.
    """
    name = args.CheckStr(instance_name, "argument 'instance_name'", non_empty=True)
    exclusive = args.CheckBool(exclusive, "argument 'exclusive'")
    devices = [_FindOrFail(disk, "Can't find device") for disk in _Disks(disks)]
    msgs = []
    for idx, device in enumerate(devices):
        try:
            device.Open(exclusive=exclusive)
            _SymlinkBlockDev(name, _DevPath(device), idx)
        except errors.BlockDeviceError as err:
            msgs.append(str(err))
        except OSError as err:
            msgs.append(f"Cannot link {device.dev_path}: {err.strerror}")
    if msgs:
        raise _Fail(f"Can't open devices: {', '.join(msgs)}")


# --- procedures: state --------------------------------------------------------------

@args.RpcProcedure("blockdev_find")
def BlockdevFind(disk: Any) -> dict[str, Any] | None:
    """Return the status of a disk's device, or None if it is not set up."""
    disk_obj = _Disk(disk)
    try:
        device = _RecursiveFindBD(disk_obj)
    except _STORAGE_ERRORS as err:
        raise _Fail(f"Failed to find device: {err}") from err
    return None if device is None else device.GetSyncStatus().ToDict()


@args.RpcProcedure("blockdev_getmirrorstatus")
def BlockdevGetmirrorstatus(disks: Any) -> list[dict[str, Any]]:
    """Return the (combined) status of each disk; all must be set up.

    Devices without mirroring report sync_percent None, not degraded and
    ldisk_status LDS_OKAY, as in Ganeti.
    """
    return [_FindOrFail(disk, "Can't find device").CombinedSyncStatus().ToDict()
            for disk in _Disks(disks)]


@args.RpcProcedure("blockdev_getmirrorstatus_multi")
def BlockdevGetmirrorstatusMulti(node_disks: Any) -> list[list[Any]]:
    """Like blockdev_getmirrorstatus, one [success, status or error] per disk."""
    result: list[list[Any]] = []
    for idx, item in enumerate(args.CheckList(node_disks, "argument 'node_disks'")):
        try:
            disk = _Disk(item, f"node_disks[{idx}]")
            device = _RecursiveFindBD(disk)
            if device is None:
                result.append([False, f"Can't find device {_DiskName(disk)}"])
                continue
            result.append([True, device.CombinedSyncStatus().ToDict()])
        except (RPCFail, *_STORAGE_ERRORS) as err:
            result.append([False, str(err)])
    return result


@args.RpcProcedure("blockdev_getdimensions")
def BlockdevGetdimensions(disks: Any) -> list[list[Any] | None]:
    """Return [size in bytes, spindles or None] per disk; None if not found."""
    result: list[list[Any] | None] = []
    for disk in _Disks(disks):
        try:
            device = _RecursiveFindBD(disk)
            result.append(None if device is None
                          else list(device.GetActualDimensions()))
        except _STORAGE_ERRORS:
            result.append(None)
    return result


@args.RpcProcedure("blockdev_setinfo")
def BlockdevSetInfo(disk: Any, info: Any) -> None:
    """Store metadata text with a device (no-op for files)."""
    info = args.CheckStr(info, "argument 'info'")
    device = _FindOrFail(_Disk(disk))
    try:
        device.SetInfo(info)
    except errors.BlockDeviceError as err:
        raise _Fail(f"Failed to set information on block device: {err}") from err


@args.RpcProcedure("blockdev_pause_resume_sync")
def BlockdevPauseResumeSync(disks: Any, pause: Any) -> list[list[Any]]:
    """Pause or resume resyncs; [success, message or None] per disk."""
    pause = args.CheckBool(pause, "argument 'pause'")
    result: list[list[Any]] = []
    for disk in _Disks(disks):
        try:
            device = _RecursiveFindBD(disk)
        except _STORAGE_ERRORS:
            device = None
        if device is None:
            result.append([False, f"Cannot change sync for device {disk.iv_name}:"
                                  " device not found"])
        elif device.PauseResumeSync(pause):
            result.append([True, None])
        else:
            action = "Pause" if pause else "Resume"
            result.append([False, f"{action} for device {disk.iv_name} failed"])
    return result


# --- procedures: changes --------------------------------------------------------------

@args.RpcProcedure("blockdev_grow")
def BlockdevGrow(cf_bdev: Any, amount: Any, dryrun: Any, backingstore: Any,
                 es_flag: Any) -> None:
    """Grow a disk's device by amount MiB (a dry run only checks).

    Raises:
      RPCFail: not found, negative amount, no space, or the growth failed.
    """
    disk = _Disk(cf_bdev, "argument 'cf_bdev'")
    amount = args.CheckInt(amount, "argument 'amount'")
    dryrun = args.CheckBool(dryrun, "argument 'dryrun'")
    backingstore = args.CheckBool(backingstore, "argument 'backingstore'")
    excl_stor = args.CheckBool(es_flag, "argument 'es_flag'")
    device = _FindOrFail(disk)
    try:
        device.Grow(amount, dryrun, backingstore, excl_stor)
    except errors.BlockDeviceError as err:
        raise _Fail(f"Failed to grow block device: {err}") from err


@args.RpcProcedure("blockdev_snapshot")
def BlockdevSnapshot(cf_bdev: Any, snap_name: Any, snap_size: Any) -> Any:
    """Snapshot a disk: only LVM-based and ExtStorage disks have snapshots.

    Raises:
      RPCFail: always on this node (the message says why).
    """
    disk = _Disk(cf_bdev, "argument 'cf_bdev'")
    if disk.dev_type in (constants.DT_PLAIN, constants.DT_DRBD8, constants.DT_EXT):
        try:
            storage_bdev.GetDeviceClass(disk.dev_type)
        except errors.BlockDeviceError as err:
            raise _Fail(str(err)) from err
    raise _Fail(f"Cannot snapshot block device '{disk.logical_id}' of type"
                f" '{disk.dev_type}'")


@args.RpcProcedure("blockdev_rename")
def BlockdevRename(devlist: Any) -> None:
    """Rename devices: devlist is [[disk dict, new logical_id], ...].

    Every rename is tried; the failures are reported together.
    """
    msgs = []
    for idx, pair in enumerate(args.CheckList(devlist, "argument 'devlist'")):
        disk_data, new_id = args.CheckList(pair, f"devlist[{idx}]", length=2)
        disk = _Disk(disk_data, f"devlist[{idx}] disk")
        try:
            device = _RecursiveFindBD(disk)
        except _STORAGE_ERRORS as err:
            msgs.append(f"Can't find device {_DiskName(disk)} in rename: {err}")
            continue
        if device is None:
            msgs.append(f"Can't find device {_DiskName(disk)} in rename")
            continue
        old_path = device.dev_path
        try:
            device.Rename(new_id)
        except _STORAGE_ERRORS as err:
            msgs.append(f"Can't rename device '{_DiskName(disk)}' to '{new_id}':"
                        f" {err}")
            continue
        if old_path != device.dev_path:
            DevCacheManager.RemoveCache(old_path)
            _RelinkDevice(old_path, device.dev_path)
    if msgs:
        raise _Fail("; ".join(msgs))


@args.RpcProcedure("blockdev_addchildren")
def BlockdevAddchildren(bdev: Any, ndevs: Any) -> None:
    """Add children to a mirrored device (none of this node's types is one)."""
    _RefuseChildren(_Disk(bdev, "argument 'bdev'"), _Disks(ndevs, "ndevs"), "add")


@args.RpcProcedure("blockdev_removechildren")
def BlockdevRemovechildren(bdev: Any, ndevs: Any) -> None:
    """Remove children from a mirrored device (see blockdev_addchildren)."""
    _RefuseChildren(_Disk(bdev, "argument 'bdev'"), _Disks(ndevs, "ndevs"),
                    "remove")


def _RefuseChildren(parent: objects.Disk, _children: list[objects.Disk],
                    action: str) -> None:
    device = _FindOrFail(parent, f"Can't find parent device in {action} children:")
    raise _Fail(f"Can't {action} children of {_DiskName(parent)}: a"
                f" {type(device).__name__} device is not mirrored")


@args.RpcProcedure("blockdev_wipe")
def BlockdevWipe(bdev: Any, offset: Any, size: Any) -> None:
    """Overwrite size MiB of a device with zeros, from offset MiB.

    Raises:
      RPCFail: not found, a bad range, or the write failed.
    """
    disk = _Disk(bdev, "argument 'bdev'")
    offset = args.CheckInt(offset, "argument 'offset'")
    size = args.CheckInt(size, "argument 'size'")
    device = _FindOrFail(disk, "Cannot execute wipe for device")
    dev_size = device.size or 0
    if offset < 0:
        raise _Fail("Negative offset")
    if size < 0:
        raise _Fail("Negative size")
    if offset > dev_size:
        raise _Fail("Offset is bigger than device size")
    if offset + size > dev_size:
        raise _Fail("The provided offset and size to wipe is bigger than device"
                    " size")
    try:
        storage_bdev.WipeDevice(_DevPath(device), offset, size)
    except OSError as err:
        raise _Fail(f"Can't wipe {device.dev_path}: {err.strerror}") from err


@args.RpcProcedure("blockdev_image")
def BlockdevImage(bdev: Any, image: Any, size: Any) -> None:
    """Write an image (file or http/https/ftp URL) onto a device.

    Local images go through "qemu-img convert" when it is installed (so
    qcow2 and other formats work), else they are copied as raw data.

    Raises:
      RPCFail: image or device missing, image too big, or the write failed.
    """
    disk = _Disk(bdev, "argument 'bdev'")
    image = args.CheckStr(image, "argument 'image'", non_empty=True)
    size = args.CheckInt(size, "argument 'size'")
    if image.startswith(constants.VIRTUAL_PATH_PREFIX):
        image = args.LocalizePath(image, "argument 'image'")
    if not (storage_bdev.IsUrl(image) or os.path.exists(image)):
        raise _Fail(f"Image '{image}' not found")
    device = _FindOrFail(disk, "Cannot image device")
    if size < 0:
        raise _Fail("Negative size")
    if size > (device.size or 0):
        raise _Fail("Image size is bigger than device size")
    try:
        storage_bdev.WriteImage(image, _DevPath(device), size)
    except (OSError, errors.GenericError) as err:
        raise _Fail(f"Can't write image '{image}' onto {device.dev_path}: {err}"
                    ) from err


@args.RpcProcedure("blockdev_convert")
def BlockdevConvert(bdev_src: Any, bdev_dest: Any) -> None:
    """Copy the data of one device onto another (disk template conversion).

    Raises:
      RPCFail: a device is missing, the target is smaller, or copying failed.
    """
    src = _FindOrFail(_Disk(bdev_src, "argument 'bdev_src'"),
                      "Cannot copy from device")
    dest = _FindOrFail(_Disk(bdev_dest, "argument 'bdev_dest'"),
                       "Cannot copy to device")
    try:
        src_size = src.GetActualSize()
        if src_size > dest.GetActualSize():
            raise _Fail(f"Cannot copy {src.dev_path} ({src_size} bytes) onto the"
                        f" smaller {dest.dev_path}")
        storage_bdev.CopyData(_DevPath(src), _DevPath(dest), src_size)
    except errors.BlockDeviceError as err:
        raise _Fail(f"Disk conversion failed: {err}") from err
    except OSError as err:
        raise _Fail(f"Disk conversion from {src.dev_path} to {dest.dev_path}"
                    f" failed: {err.strerror}") from err


@args.RpcProcedure("bdev_sizes")
def GetBlockDevSizes(devices: Any) -> dict[str, int]:
    """Return path -> size in MiB for the given block devices below /dev.

    Paths that are not block devices, are outside /dev or cannot be read
    are left out (as in Ganeti).
    """
    result: dict[str, int] = {}
    for path in args.CheckList(devices, "argument 'devices'"):
        if not isinstance(path, str) or not io.IsBelowDir("/dev", path):
            continue
        try:
            if not stat.S_ISBLK(os.stat(path).st_mode):
                continue
            result[path] = storage_bdev.DeviceSize(path) // filestorage.MIB
        except OSError as err:
            logger.warning("Cannot get size of block device %s: %s", path, err)
    return result


# --- procedures: file storage directories ---------------------------------------

def _StorageDir(value: Any, what: str, exact_ok: bool = True) -> tuple[str, str]:
    """Check a storage directory argument: (storage type, local path).

    Raises:
      RPCFail: the path breaks the file storage path rules.
    """
    path = args.CheckStr(value, what, non_empty=True)
    try:
        storage_type, local = filestorage.ClassifyStorageDir(path)
        filestorage.CheckFileStoragePathAcceptance(local, exact_match_ok=exact_ok)
    except errors.FileStoragePathError as err:
        raise _Fail(f"Invalid {what}: {err}") from err
    return storage_type, local


@args.RpcProcedure("file_storage_dir_create")
def CreateFileStorageDir(file_storage_dir: Any) -> None:
    """Create a directory for file disks (0750, with parents) if missing.

    Raises:
      RPCFail: the path is not allowed, is not a directory, or mkdir failed.
    """
    _, path = _StorageDir(file_storage_dir, "file storage directory")
    if os.path.lexists(path):
        if not os.path.isdir(path) or os.path.islink(path):
            raise _Fail(f"Specified storage dir '{path}' is not a directory")
        return
    try:
        os.makedirs(path, filestorage.DIR_MODE)
    except OSError as err:
        raise _Fail(f"Cannot create file storage directory '{path}': {err}") from err


@args.RpcProcedure("file_storage_dir_remove")
def RemoveFileStorageDir(file_storage_dir: Any) -> None:
    """Remove an (empty) directory of file disks; a missing one is fine.

    Raises:
      RPCFail: not allowed, the cluster's storage directory itself, not a
        directory, or not empty.
    """
    _, path = _StorageDir(file_storage_dir, "file storage directory",
                          exact_ok=False)
    if not os.path.lexists(path):
        return
    if not os.path.isdir(path) or os.path.islink(path):
        raise _Fail(f"Specified Storage directory '{path}' is not a directory")
    try:
        os.rmdir(path)
    except OSError as err:
        raise _Fail(f"Cannot remove file storage directory '{path}': {err}") from err


@args.RpcProcedure("file_storage_dir_rename")
def RenameFileStorageDir(old_file_storage_dir: Any,
                         new_file_storage_dir: Any) -> None:
    """Rename a directory of file disks (instance rename).

    Done already (old missing, new present) counts as success, as Ganeti.

    Raises:
      RPCFail: a path is not allowed, the two are of different storage
        types, both exist, or the rename failed.
    """
    old_type, old = _StorageDir(old_file_storage_dir, "old file storage directory",
                                exact_ok=False)
    new_type, new = _StorageDir(new_file_storage_dir, "new file storage directory",
                                exact_ok=False)
    if old_type != new_type:
        raise _Fail(f"Cannot rename '{old}' ({old_type}) to '{new}' ({new_type}):"
                    " different storage types")
    if os.path.lexists(new):
        if os.path.lexists(old):
            raise _Fail(f"Cannot rename '{old}' to '{new}': both locations exist")
        return
    if not os.path.isdir(old) or os.path.islink(old):
        raise _Fail(f"Specified storage dir '{old}' is not a directory")
    try:
        os.rename(old, new)
    except OSError as err:
        raise _Fail(f"Cannot rename '{old}' to '{new}': {err}") from err
