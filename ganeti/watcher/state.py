"""The watcher's per-group state: restart attempts and node boot ids.

The file (pathutils.WATCHER_GROUP_STATE_FILE % group uuid) holds JSON with
the shape of Ganeti's lib/watcher/state.py:

  {"instance": {name: {"restart_count": n, "restart_when": t}, ...},
   "node": {name: {"bootid": "..."}, ...}}

It is opened and locked (flock, exclusive, non-blocking) for the whole run of
a group watcher, so that two watchers never work on the same group, and
written back atomically (utils.io.WriteFile) only when something changed.
The per-group instance status file (WATCHER_GROUP_INSTANCE_STATUS_FILE) has
one "name status" line per instance; the files of all groups are merged into
pathutils.INSTANCE_STATUS_FILE.
"""

from __future__ import annotations

import glob
import logging
import os
import time
from typing import Any

from ganeti import errors, serializer
from ganeti.utils import filelock, io

logger = logging.getLogger(__name__)

# A record older than this is forgotten: with MAXTRIES = 5 and a run every
# five minutes the limit is hit within half an hour, so after 8 hours the
# watcher tries again (Ganeti's value).
RETRY_EXPIRATION = 8 * 3600

KEY_CLEANUP_COUNT = "cleanup_count"
KEY_CLEANUP_WHEN = "cleanup_when"
KEY_RESTART_COUNT = "restart_count"
KEY_RESTART_WHEN = "restart_when"
KEY_BOOT_ID = "bootid"

_KEY_INSTANCE = "instance"
_KEY_NODE = "node"


def OpenStateFile(path: str) -> filelock.FileLock | None:
    """Open (creating it if needed) and exclusively lock a state file.

    Args:
      path: the state file.

    Returns:
      the locked file, or None when another process holds the lock (an error
      is logged).

    Raises:
      errors.LockError: the file cannot be opened or created.
    """
    lock = filelock.FileLock.Open(path)
    try:
        lock.Exclusive(blocking=False)
    except errors.LockError as err:
        logger.error("Can't acquire lock on state file %s: %s", path, err)
        lock.Close()
        return None
    return lock


class WatcherState:
    """Restart attempts of instances and boot ids of nodes, from a state file."""

    def __init__(self, statefile: filelock.FileLock,
                 now_fn: Any = time.time) -> None:
        """Read and parse the (locked) state file; a bad file counts as empty.

        Args:
          statefile: the locked file from OpenStateFile.
          now_fn: the clock (test seam).
        """
        self.statefile: filelock.FileLock | None = statefile
        self._now = now_fn
        self._data: dict[str, Any] = {}
        try:
            text = io.ReadFile(statefile.filename)
            if text.strip():
                loaded = serializer.LoadJson(text)
                if not isinstance(loaded, dict):
                    raise ValueError("not a JSON object")
                self._data = loaded
        except (OSError, ValueError, errors.ParseError) as err:
            logger.warning("Invalid state file. Using defaults. Error message: %s",
                           err)
            self._data = {}
        for key in (_KEY_INSTANCE, _KEY_NODE):
            if not isinstance(self._data.get(key), dict):
                self._data[key] = {}
        self._orig_data = serializer.DumpJson(self._data)

    def Save(self, filename: str) -> None:
        """Write the state back (atomically) if it changed, else touch the file.

        Args:
          filename: the state file's path.
        """
        serialized = serializer.DumpJson(self._data)
        if serialized == self._orig_data:
            logger.debug("Data didn't change, just touching status file")
            os.utime(filename, None)
            return
        # Our lock is on the old inode, which the rename unlinks; a watcher
        # opening the new file right after could run, so the new file is
        # locked by us before it replaces the old one (as Ganeti does).
        new_locks: list[filelock.FileLock] = []

        def _LockNew(tmp_name: str) -> None:
            lock = filelock.FileLock.Open(tmp_name)
            lock.filename = filename
            lock.Exclusive(blocking=False)
            new_locks.append(lock)

        try:
            io.WriteFile(filename, data=serialized, _before_rename=_LockNew)
        except BaseException:
            for lock in new_locks:
                lock.Close()
            raise
        if self.statefile is not None:
            self.statefile.Close()
        self.statefile = new_locks[0]
        self._orig_data = serialized

    def Close(self) -> None:
        """Release the lock and close the file."""
        if self.statefile is not None:
            self.statefile.Close()
            self.statefile = None

    def GetNodeBootID(self, name: str) -> str | None:
        """Return the last recorded boot id of a node, or None."""
        return self._data[_KEY_NODE].get(name, {}).get(KEY_BOOT_ID)

    def SetNodeBootID(self, name: str, bootid: str) -> None:
        """Record the boot id of a node."""
        self._data[_KEY_NODE].setdefault(name, {})[KEY_BOOT_ID] = bootid

    def NumberOfRestartAttempts(self, instance_name: str) -> int:
        """Return how many restarts of the instance were recorded."""
        record = self._data[_KEY_INSTANCE].get(instance_name, {})
        return int(record.get(KEY_RESTART_COUNT, 0))

    def NumberOfCleanupAttempts(self, instance_name: str) -> int:
        """Return how many cleanups of the instance were recorded."""
        record = self._data[_KEY_INSTANCE].get(instance_name, {})
        return int(record.get(KEY_CLEANUP_COUNT, 0))

    def MaintainInstanceList(self, instances: list[str]) -> None:
        """Forget instances that no longer exist and records that expired.

        Args:
          instances: the names of the existing instances.
        """
        idict = self._data[_KEY_INSTANCE]
        for name in set(idict).difference(instances):
            logger.debug("Forgetting obsolete instance %s", name)
            idict.pop(name, None)
        earliest = self._now() - RETRY_EXPIRATION
        for name in list(idict):
            when = idict[name].get(KEY_RESTART_WHEN,
                                   idict[name].get(KEY_CLEANUP_WHEN, 0))
            if when < earliest:
                logger.debug("Expiring record for instance %s", name)
                idict.pop(name, None)

    def _RecordAttempt(self, instance_name: str, key_when: str,
                       key_count: str) -> None:
        record = self._data[_KEY_INSTANCE].setdefault(instance_name, {})
        record[key_when] = self._now()
        record[key_count] = record.get(key_count, 0) + 1

    def RecordRestartAttempt(self, instance_name: str) -> None:
        """Count one more restart attempt of the instance."""
        self._RecordAttempt(instance_name, KEY_RESTART_WHEN, KEY_RESTART_COUNT)

    def RecordCleanupAttempt(self, instance_name: str) -> None:
        """Count one more cleanup attempt of the instance."""
        self._RecordAttempt(instance_name, KEY_CLEANUP_WHEN, KEY_CLEANUP_COUNT)

    def RemoveInstance(self, instance_name: str) -> None:
        """Forget the instance (it runs again)."""
        self._data[_KEY_INSTANCE].pop(instance_name, None)


def ReadRestartCounts(path: str) -> dict[str, int]:
    """Return instance name -> restart count from a state file (no lock taken).

    A missing or unparseable file gives an empty dict.
    """
    try:
        data = serializer.LoadJson(io.ReadFile(path))
    except (OSError, ValueError, errors.ParseError):
        return {}
    instances = data.get(_KEY_INSTANCE) if isinstance(data, dict) else None
    if not isinstance(instances, dict):
        return {}
    return {name: int(rec.get(KEY_RESTART_COUNT, 0))
            for name, rec in instances.items() if isinstance(rec, dict)}


# --- instance status files ---------------------------------------------------------


def WriteInstanceStatus(filename: str, data: list[tuple[str, str]]) -> None:
    """Write "name status" lines, sorted by name, atomically.

    Args:
      filename: the status file.
      data: (instance name, status) pairs.
    """
    text = "".join(f"{name} {status}\n" for name, status in sorted(data))
    io.WriteFile(filename, data=text)


def ReadInstanceStatus(filename: str) -> list[tuple[str, str]]:
    """Read an instance status file; a missing file gives an empty list."""
    try:
        text = io.ReadFile(filename)
    except FileNotFoundError:
        return []
    result = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            result.append((parts[0], parts[1]))
        elif line.strip():
            logger.warning("Ignoring bad line %r in %s", line, filename)
    return result


def MergeInstanceStatus(status_file: str, pattern: str) -> None:
    """Merge the per-group status files into the global one.

    When an instance appears in several group files (it moved between
    groups), the newest file wins.

    Args:
      status_file: pathutils.INSTANCE_STATUS_FILE.
      pattern: pathutils.WATCHER_GROUP_INSTANCE_STATUS_FILE (with one %s).
    """
    files = []
    for path in glob.glob(pattern % "*"):
        try:
            files.append((os.stat(path).st_mtime, path))
        except FileNotFoundError:
            continue
    merged: dict[str, str] = {}
    for _, path in sorted(files):
        merged.update(ReadInstanceStatus(path))
    WriteInstanceStatus(status_file, list(merged.items()))
