"""LockMonitor: the registry behind the lock query (gnt-debug locks).

Part of ganeti.locking.
"""

from __future__ import annotations

import itertools
import threading
import weakref
from collections.abc import Iterable
from typing import Any, Protocol

from ganeti import errors, utils
from ganeti.locking.sharedlock import LQ_MODE, LQ_OWNER, LQ_PENDING, LockInfo

#: Fields of the lock query, in Ganeti's order, and what each one needs.
LOCK_FIELDS: dict[str, int | None] = {
    "name": None,
    "mode": LQ_MODE,
    "owner": LQ_OWNER,
    "pending": LQ_PENDING,
}


class LockInfoProvider(Protocol):
    """Anything the LockMonitor can ask for lock information."""

    def GetLockInfo(self, requested: Iterable[int]) -> list[LockInfo]:
        ...


class LockMonitor:
    """Registry of locks for the lock query.

    Holds weak references only: a removed lock disappears from the query
    once nothing uses it any more.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        # Registration order breaks ties between locks of the same name (a
        # lock re-created before the old one was collected).
        self._counter = itertools.count()
        self._locks: weakref.WeakKeyDictionary[LockInfoProvider, int] = (
            weakref.WeakKeyDictionary())

    def RegisterLock(self, provider: LockInfoProvider) -> None:
        """Track a lock (anything with GetLockInfo).

        Raises:
          ProgrammerError: the provider is already registered.
        """
        with self._mutex:
            if provider in self._locks:
                raise errors.ProgrammerError(f"Duplicate registration: {provider}")
            self._locks[provider] = next(self._counter)

    def _GetLockInfo(self, requested: set[int]) -> list[LockInfo]:
        with self._mutex:
            items = list(self._locks.items())
        infos = [(num, idx, info) for provider, num in items
                 for idx, info in enumerate(provider.GetLockInfo(requested))]
        infos.sort(key=lambda item: (item[0], item[1]))
        return [info for _, _, info in
                utils.NiceSort(infos, key=lambda item: item[2][0])]

    def QueryLocks(self, fields: list[str]) -> list[list[Any]]:
        """Rows of the lock query, sorted by lock name.

        Args:
          fields: names from LOCK_FIELDS ("name", "mode", "owner", "pending")

        Returns:
          One row per lock, holding the fields' values in the given order:
          the name, the mode ("exclusive", "shared", "deleted" or None), the
          sorted owner names (None when unowned) and the pending acquires as
          (mode, sorted owner names) in the order they will be served.

        Raises:
          ParameterError: a field is unknown.
        """
        unknown = [field for field in fields if field not in LOCK_FIELDS]
        if unknown:
            raise errors.ParameterError(
                f"Unknown lock field(s): {', '.join(unknown)}")
        requested = {lq for f in fields if (lq := LOCK_FIELDS[f]) is not None}
        positions = {"name": 0, "mode": 1, "owner": 2, "pending": 3}
        return [[info[positions[field]] for field in fields]
                for info in self._GetLockInfo(requested)]
