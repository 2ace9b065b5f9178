"""Conformance battery for block device drivers (STYLE.md T4), and a file
storage set-up for tests.

CheckBlockDevContract runs one driver class of ganeti/storage through the
life cycle every driver must honour (ganeti/storage/base.py): create,
attach, assemble, open/close, status, grow, rename, shutdown and remove,
including the refusals (existing device, negative growth, assembling a
removed device). A new driver's test calls it with a factory of logical
ids that are valid in the test's environment.

FileStorageEnv moves every path the file driver and the blockdev
procedures use below a temporary directory (by patching ganeti.pathutils
for the test's duration) and writes the allowed-paths file and the ssconf
files naming the cluster's storage directories.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ganeti import errors, pathutils
from ganeti.storage import base

MIB = 1024 * 1024

# pathutils names that FileStorageEnv moves below the test directory.
_REROOTED = ("DATA_DIR", "FILE_STORAGE_PATHS_FILE", "DISK_LINKS_DIR",
             "BDEV_CACHE_DIR")


@dataclass
class FileStorageEnv:
    """Paths of a file storage set-up below a test directory.

    Attributes:
      root: the test directory every patched path lies below.
      file_dir: the cluster's file storage directory.
      shared_dir: the cluster's shared file storage directory.
    """

    root: Path
    file_dir: Path
    shared_dir: Path

    @classmethod
    def Create(cls, root: Path, monkeypatch: pytest.MonkeyPatch,
               allowed: list[str] | None = None) -> FileStorageEnv:
        """Patch pathutils below root and write the allowed paths and ssconf.

        Args:
          root: an empty test directory.
          monkeypatch: the test's monkeypatch (undoes the patching).
          allowed: entries of the allowed-paths file (default: both dirs).
        """
        for name in _REROOTED:
            monkeypatch.setattr(pathutils, name, str(root) + getattr(pathutils, name))
        env = cls(root=root, file_dir=root / "srv/ganeti/file-storage",
                  shared_dir=root / "srv/ganeti/shared-file-storage")
        env.file_dir.mkdir(parents=True)
        env.shared_dir.mkdir(parents=True)
        env.WriteAllowed([str(env.file_dir), str(env.shared_dir)]
                         if allowed is None else allowed)
        env.WriteSsconf(str(env.file_dir), str(env.shared_dir))
        return env

    def WriteAllowed(self, entries: list[str]) -> None:
        """Replace the allowed file storage paths file."""
        path = Path(pathutils.FILE_STORAGE_PATHS_FILE)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# allowed file storage paths\n"
                        + "".join(f"{entry}\n" for entry in entries))

    def WriteSsconf(self, file_dir: str, shared_dir: str) -> None:
        """Write the ssconf files naming the cluster's storage directories."""
        data_dir = Path(pathutils.DATA_DIR)
        data_dir.mkdir(parents=True, exist_ok=True)
        (data_dir / "ssconf_file_storage_dir").write_text(f"{file_dir}\n")
        (data_dir / "ssconf_shared_file_storage_dir").write_text(f"{shared_dir}\n")
        (data_dir / "ssconf_node_list").write_text("node1.example.com\n")


def _Size(device: base.BlockDev) -> int:
    return device.GetActualSize()


def _Fresh(driver: type[base.BlockDev], unique_id: list[Any],
           size: int) -> base.BlockDev:
    """A new driver object attached (or not) to unique_id's device."""
    return driver(unique_id, [], size, {}, {})


def CheckBlockDevContract(driver: type[base.BlockDev],
                          make_id: Callable[[str], list[Any]], size: int = 4,
                          can_rename: bool = True) -> None:
    """Run driver through the block device life cycle; assert on every step.

    Args:
      driver: the BlockDev subclass under test.
      make_id: name -> a logical id for a new device, valid in this test's
        environment (two different names give two different devices).
      size: the size to create with, in MiB.
      can_rename: whether the driver supports Rename.
    """
    uid = make_id("contract0")
    assert not _Fresh(driver, uid, size).attached, "device exists before Create"
    device = driver.Create(uid, [], size, None, {}, False, {})
    _CheckCreated(driver, device, uid, size)
    _CheckStates(device)
    _CheckGrow(device, size)
    if can_rename:
        new_uid = make_id("contract1")
        old_path = device.dev_path
        device.Rename(new_uid)
        assert device.dev_path != old_path
        assert list(device.unique_id) == list(new_uid)
        assert not _Fresh(driver, uid, size).attached, "old name still exists"
        assert _Fresh(driver, new_uid, size).attached, "new name missing"
        uid = new_uid
    _CheckRemove(driver, device, uid, size)


def _CheckCreated(driver: type[base.BlockDev], device: base.BlockDev,
                  uid: list[Any], size: int) -> None:
    assert device.attached
    assert device.dev_path
    assert _Size(device) == size * MIB
    assert device.GetActualDimensions()[0] == size * MIB
    with pytest.raises(errors.BlockDeviceError):
        driver.Create(uid, [], size + 1, None, {}, False, {})
    assert _Size(device) == size * MIB, "a refused Create changed the device"
    other = _Fresh(driver, uid, size)
    assert other.attached
    assert other.dev_path == device.dev_path


def _CheckStates(device: base.BlockDev) -> None:
    device.Assemble()
    device.Assemble()  # idempotent on an active device
    device.Open()
    device.Open(force=True, exclusive=False)
    device.Close()
    device.SetInfo("contract info")
    status = device.GetSyncStatus()
    assert status.dev_path == device.dev_path
    assert not status.is_degraded
    assert status.ldisk_status == base.LDS_OKAY
    combined = device.CombinedSyncStatus().ToDict()
    assert set(combined) == {"dev_path", "major", "minor", "sync_percent",
                             "estimated_time", "is_degraded", "ldisk_status"}
    assert device.PauseResumeSync(True) and device.PauseResumeSync(False)
    assert device.SetSyncParams({}) == []
    device.Shutdown()
    assert device.Attach(), "Shutdown must not destroy the device"
    device.Assemble()


def _CheckGrow(device: base.BlockDev, size: int) -> None:
    device.Grow(2, True, True, False)
    assert _Size(device) == size * MIB, "a dry run changed the size"
    device.Grow(2, False, False, False)
    assert _Size(device) == size * MIB, "growing logical storage changed a" \
        " backing device"
    device.Grow(2, False, True, False)
    assert _Size(device) == (size + 2) * MIB
    with pytest.raises(errors.BlockDeviceError):
        device.Grow(-1, False, True, False)
    assert _Size(device) == (size + 2) * MIB, "a refused shrink changed the size"


def _CheckRemove(driver: type[base.BlockDev], device: base.BlockDev,
                 uid: list[Any], size: int) -> None:
    path = device.dev_path
    device.Remove()
    assert not _Fresh(driver, uid, size).attached
    assert path is None or not os.path.lexists(path)
    device.Remove()  # removing a missing device is no error
    with pytest.raises(errors.BlockDeviceError):
        _Fresh(driver, uid, size).Assemble()
