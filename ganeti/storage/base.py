"""The block device contract every storage driver implements.

Mirrors Ganeti's lib/storage/base.py. A device moves through these states:

  not existing --Create()--> existing, inactive --Assemble()--> active
  --Open()--> in use by an instance --Close()--> active --Shutdown()-->
  inactive --Remove()--> not existing

and a Python object can be attached to an existing device at any time
(the constructor calls Attach(); `attached` says whether it found one).
A device is named by its unique_id (the disk's logical_id, static, as the
configuration stores it) and by dev_path (where it lives on this node,
which may differ per node: see filestorage.LocalizeStoragePath).

Failures are errors.BlockDeviceError with a message meant for the user
(ThrowError logs it too); unless a method says otherwise the device is
left as it was before the failing call.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from ganeti import errors

logger = logging.getLogger(__name__)

# Local disk states (Ganeti's constants.LDS_*): how healthy this node's
# copy of the data is. Devices without mirroring are always LDS_OKAY.
LDS_OKAY = 1
LDS_UNKNOWN = 2
LDS_FAULTY = 3
LDS_SYNC = 4


@dataclass(frozen=True)
class BlockDevStatus:
    """A device's state as blockdev_find and the mirror status calls report it.

    Ganeti's objects.BlockDevStatus; the wire form is ToDict().

    Attributes:
      dev_path: the device's path on this node.
      major, minor: device numbers (None for file-backed devices).
      sync_percent: resync progress, None when not syncing.
      estimated_time: seconds until the resync ends, None if unknown.
      is_degraded: whether the device lacks redundancy it should have.
      ldisk_status: one of the LDS_* values.
    """

    dev_path: str | None
    major: int | None = None
    minor: int | None = None
    sync_percent: float | None = None
    estimated_time: int | None = None
    is_degraded: bool = False
    ldisk_status: int | None = LDS_OKAY

    def ToDict(self) -> dict[str, Any]:
        """Return the JSON form (every field, Ganeti's key names)."""
        return {
            "dev_path": self.dev_path,
            "major": self.major,
            "minor": self.minor,
            "sync_percent": self.sync_percent,
            "estimated_time": self.estimated_time,
            "is_degraded": self.is_degraded,
            "ldisk_status": self.ldisk_status,
        }


def ThrowError(msg: str) -> NoReturn:
    """Log msg as an error of this node and raise it as a BlockDeviceError.

    Raises:
      errors.BlockDeviceError: always, with msg as its text.
    """
    logger.error("%s", msg)
    raise errors.BlockDeviceError(msg)


def IgnoreError(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
    """Run fn, logging instead of raising a BlockDeviceError (for clean-ups).

    Returns:
      True if fn returned normally, False if it raised BlockDeviceError.
    """
    try:
        fn(*args, **kwargs)
    except errors.BlockDeviceError as err:
        logger.warning("Caught BlockDeviceError but ignoring: %s", err)
        return False
    return True


class BlockDev(abc.ABC):
    """One block device of a disk on this node (see the module docstring).

    Attributes:
      unique_id: the disk's logical_id, as the configuration has it.
      dev_path: the device's path on this node (None until known).
      major, minor: device numbers, None for devices that have none.
      attached: whether an existing device was found (Attach()).
      size: the size recorded in the configuration, in MiB.
      params: the disk's logical parameters (filled from the cluster's).
      dyn_params: per-node dynamic parameters (DRBD peers), usually {}.
    """

    def __init__(self, unique_id: Sequence[Any], children: list[BlockDev | None],
                 size: int | None, params: dict[str, Any] | None,
                 dyn_params: dict[str, Any] | None, **_kwargs: Any) -> None:
        self._children = children
        self.dev_path: str | None = None
        self.unique_id = unique_id
        self.major: int | None = None
        self.minor: int | None = None
        self.attached = False
        self.size = size
        self.params = params or {}
        self.dyn_params = dyn_params or {}

    def __repr__(self) -> str:
        return (f"<{type(self).__name__}: unique_id: {self.unique_id!r},"
                f" children: {self._children!r}, {self.major}:{self.minor},"
                f" {self.dev_path}>")

    # --- life cycle ---------------------------------------------------------

    @classmethod
    @abc.abstractmethod
    def Create(cls, unique_id: Sequence[Any], children: list[BlockDev | None],
               size: int, spindles: int | None, params: dict[str, Any],
               excl_stor: bool, dyn_params: dict[str, Any],
               **kwargs: Any) -> BlockDev:
        """Create the device and return an object attached to it.

        Args:
          unique_id: the disk's logical_id.
          children: devices of the children (for stacked devices).
          size: size in MiB.
          spindles: physical disks to dedicate (LVM exclusive storage).
          params: the disk's logical parameters.
          excl_stor: whether exclusive storage is enabled on the node.
          dyn_params: per-node dynamic parameters.

        Raises:
          errors.BlockDeviceError: nothing was created.
        """

    @abc.abstractmethod
    def Attach(self) -> bool:
        """Look for the existing device; set and return self.attached."""

    @abc.abstractmethod
    def Assemble(self) -> None:
        """Make the existing device active; safe on an active device.

        Raises:
          errors.BlockDeviceError: the device cannot be activated.
        """

    @abc.abstractmethod
    def Open(self, force: bool = False, exclusive: bool = True) -> None:
        """Make the active device ready for I/O by an instance.

        Args:
          force: override safety checks the device type may have.
          exclusive: False when two nodes share the device (migration).
        """

    @abc.abstractmethod
    def Close(self) -> None:
        """Tell the device it is no longer used for I/O."""

    @abc.abstractmethod
    def Shutdown(self) -> None:
        """Undo Assemble (the children stay assembled)."""

    @abc.abstractmethod
    def Remove(self) -> None:
        """Destroy the device and its data; a missing device is no error.

        Raises:
          errors.BlockDeviceError: the device still exists.
        """

    def Rename(self, new_id: Sequence[Any]) -> None:
        """Give the device a new unique_id (and dev_path).

        Raises:
          errors.BlockDeviceError: the device type cannot be renamed, or the
            rename failed (the device keeps its old name then).
        """
        ThrowError(f"Rename is not supported for {type(self).__name__} devices")

    @abc.abstractmethod
    def Grow(self, amount: int, dryrun: bool, backingstore: bool,
             excl_stor: bool) -> None:
        """Grow the device by amount MiB.

        Args:
          amount: MiB to add (never negative).
          dryrun: only check that the growth would succeed.
          backingstore: act on backing storage (files, LVs) rather than on
            logical storage (DRBD); a device of the other kind does nothing.
          excl_stor: whether exclusive storage is enabled on the node.

        Raises:
          errors.BlockDeviceError: the device keeps its old size.
        """

    def Snapshot(self, snap_name: str, snap_size: int) -> Sequence[Any]:
        """Create a snapshot and return its logical_id.

        Raises:
          errors.BlockDeviceError: the device type has no snapshots.
        """
        ThrowError(f"Snapshot is not supported for disk {self.unique_id!r} of"
                   f" type {type(self).__name__}.")

    def SetInfo(self, text: str) -> None:
        """Store free-form metadata with the device (e.g. LVM tags)."""
        for child in self._children:
            if child is not None:
                child.SetInfo(text)

    # --- mirroring ------------------------------------------------------------

    def SetSyncParams(self, params: dict[str, Any]) -> list[str]:
        """Adjust resync parameters; returns error messages (none if mirrorless)."""
        result: list[str] = []
        for child in self._children:
            if child is not None:
                result.extend(child.SetSyncParams(params))
        return result

    def PauseResumeSync(self, pause: bool) -> bool:
        """Pause or resume a resync; True if every device agreed."""
        result = True
        for child in self._children:
            if child is not None:
                result = child.PauseResumeSync(pause) and result
        return result

    def GetSyncStatus(self) -> BlockDevStatus:
        """Return this device's status; a device without mirror is healthy."""
        return BlockDevStatus(dev_path=self.dev_path, major=self.major,
                              minor=self.minor)

    def CombinedSyncStatus(self) -> BlockDevStatus:
        """Combine the status of this device and of its children.

        The least progress, the longest estimate and the worst local disk
        state win; the device is degraded if any part is.
        """
        status = self.GetSyncStatus()
        percent, eta = status.sync_percent, status.estimated_time
        degraded, ldisk = status.is_degraded, status.ldisk_status
        for child in self._children:
            if child is None:
                continue
            cstatus = child.GetSyncStatus()
            if cstatus.sync_percent is not None:
                percent = (cstatus.sync_percent if percent is None
                           else min(percent, cstatus.sync_percent))
            if cstatus.estimated_time is not None:
                eta = (cstatus.estimated_time if eta is None
                       else max(eta, cstatus.estimated_time))
            degraded = degraded or cstatus.is_degraded
            if cstatus.ldisk_status is not None:
                ldisk = (cstatus.ldisk_status if ldisk is None
                         else max(ldisk, cstatus.ldisk_status))
        return BlockDevStatus(dev_path=self.dev_path, major=self.major,
                              minor=self.minor, sync_percent=percent,
                              estimated_time=eta, is_degraded=degraded,
                              ldisk_status=ldisk)

    # --- sizes and access -------------------------------------------------------

    @abc.abstractmethod
    def GetActualSize(self) -> int:
        """Return the device's real size in bytes (it must be attached).

        Raises:
          errors.BlockDeviceError: the size cannot be read.
        """

    def GetActualSpindles(self) -> int | None:
        """Return the spindles used, or None where the notion does not apply."""
        return None

    def GetActualDimensions(self) -> tuple[int, int | None]:
        """Return (size in bytes, spindles or None)."""
        return self.GetActualSize(), self.GetActualSpindles()

    def GetUserspaceAccessUri(self, hypervisor: str) -> str:
        """Return a URI the hypervisor can open the device with in userspace.

        Raises:
          errors.BlockDeviceError: the device type has no userspace access.
        """
        ThrowError(f"Userspace access with {type(self).__name__} block device"
                   f" and {hypervisor} hypervisor is not supported.")
