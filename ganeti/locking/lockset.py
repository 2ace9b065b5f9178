"""LockSet: the locks of one kind of resource, acquired together in order.

Part of ganeti.locking; see the package docstring for the ordering rules.
"""

from __future__ import annotations

import collections
import functools
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from ganeti import errors
from ganeti.locking.sharedlock import _DEFAULT_PRIORITY, SharedLock, _CheckTimeout

if TYPE_CHECKING:
    from ganeti.locking.monitor import LockMonitor

#: Passed as the names to LockSet.acquire: all current members, and the
#: set-level lock, which keeps add() out while it is held.
ALL_SET = None

#: Name of a LockSet's internal lock, within the set's name.
LOCKSET_NAME = "[lockset]"


def _NameList(names: str | Iterable[str]) -> list[str]:
    """Accept a single lock name as well as a sequence of them."""
    if isinstance(names, str):
        return [names]
    return list(names)


class _AcquireTimeout(Exception):
    """Internal: a LockSet acquire ran out of time."""


def _TimeoutZero() -> float:
    """Per-member timeout of opportunistic acquires: a single try."""
    return 0.0


class LockSet:
    """A set of SharedLocks for one kind of resource, distinguished by name.

    Locks of one set are acquired together in one call, in sorted order.
    The set-level lock "<name>/[lockset]" is taken when the whole set is
    acquired (ALL_SET) and by add(), so holding the whole set keeps new
    members out.
    """

    def __init__(self, members: Iterable[str], name: str,
                 monitor: LockMonitor | None = None) -> None:
        """Create the set.

        Args:
          members: initial lock names
          name: the set's name, prefix of its locks' names
          monitor: the LockMonitor every lock of the set registers with
        """
        self.name = name
        self._monitor = monitor
        self._lock = SharedLock(self._GetLockName(LOCKSET_NAME), monitor=monitor)
        # Guards _lockdict and _owners; held only briefly, never while
        # waiting for a SharedLock.
        self._mutex = threading.Lock()
        self._lockdict = {
            mname: SharedLock(self._GetLockName(mname), monitor=monitor)
            for mname in members
        }
        # thread -> names of members it holds; a key exists while the thread
        # holds anything here, the set-level lock included.
        self._owners: dict[threading.Thread, set[str]] = {}

    def _GetLockName(self, mname: str) -> str:
        return f"{self.name}/{mname}"

    def _NonExisting(self, lname: str) -> errors.LockError:
        return errors.LockError(
            f"Non-existing lock in set ({self._GetLockName(lname)});"
            " it may have been removed")

    # -- ownership bookkeeping --------------------------------------------------

    def _AddOwned(self, name: str | None = None) -> None:
        me = threading.current_thread()
        with self._mutex:
            owned = self._owners.setdefault(me, set())
            if name is not None:
                owned.add(name)

    def _DelOwned(self, name: str | None = None) -> None:
        me = threading.current_thread()
        with self._mutex:
            owned = self._owners.get(me)
            if owned is None:
                return
            if name is not None:
                owned.discard(name)
            if not owned and not self._lock.is_owned():
                del self._owners[me]

    def is_owned(self) -> bool:
        """Tell whether the calling thread holds any lock of this set."""
        return threading.current_thread() in self._owners

    def list_owned(self) -> set[str]:
        """Names of the member locks the calling thread holds."""
        with self._mutex:
            return set(self._owners.get(threading.current_thread(), ()))

    def owning_all(self) -> bool:
        """Tell whether the calling thread holds the whole set (ALL_SET)."""
        return self._lock.is_owned()

    def check_owned(self, names: str | Iterable[str], shared: int = -1) -> bool:
        """Tell whether the calling thread holds all these locks.

        Args:
          names: a lock name or several
          shared: as for SharedLock.is_owned

        Raises:
          LockError: a name is not in the set.
        """
        names = _NameList(names)
        if not names or not self.is_owned():
            return False
        with self._mutex:
            try:
                locks = [self._lockdict[lname] for lname in names]
            except KeyError as err:
                raise self._NonExisting(err.args[0]) from err
        return all(lock.is_owned(shared=shared) for lock in locks)

    def _names(self) -> set[str]:
        """The current member names (a copy)."""
        with self._mutex:
            return set(self._lockdict)

    # -- acquire / release ------------------------------------------------------

    def acquire(self, names: str | Iterable[str] | None,
                timeout: float | None = None, shared: int = 0,
                priority: int | None = None, opportunistic: bool = False,
                test_notify: Callable[[str], None] | None = None
                ) -> set[str] | None:
        """Acquire some locks of the set, or all of them.

        Args:
          names: lock names, a single name, or ALL_SET for every current
            member plus the set-level lock (which blocks add())
          timeout: None blocks, 0 tries once, otherwise the budget in seconds
            for the whole call
          shared: take the locks shared (non-zero) or exclusively (0)
          priority: lower numbers are served first (default 0)
          opportunistic: take only the members free right now (each is tried
            once) and skip the others and any removed meanwhile; the timeout
            still applies to the set-level lock
          test_notify: called with a lock's name (LOCKSET_NAME for the
            set-level lock) when the thread is about to block for it

        Returns:
          The set of names acquired; None when the timeout expired, in
          which case nothing is held.

        Raises:
          LockError: a named lock does not exist or was removed while
            waiting (not for ALL_SET or opportunistic); nothing is held.
          ProgrammerError: the thread already holds locks of this set, or
            the timeout is negative.
        """
        _CheckTimeout(timeout)
        if self.is_owned():
            raise errors.ProgrammerError(
                f"Cannot acquire locks in the same set twice (lockset {self.name})")
        if priority is None:
            priority = _DEFAULT_PRIORITY
        deadline = None if timeout is None else time.monotonic() + timeout

        def Remaining() -> float | None:
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        timeout_fn = _TimeoutZero if opportunistic else Remaining
        want_all = names is ALL_SET
        try:
            if names is None:  # ALL_SET
                notify = None
                if test_notify is not None:
                    notify = functools.partial(test_notify, LOCKSET_NAME)
                if not self._lock.acquire(shared=shared, timeout=Remaining(),
                                          priority=priority, test_notify=notify):
                    return None
                self._AddOwned()
                names = self._names()
            return self._AcquireMembers(_NameList(names), want_all, opportunistic,
                                        shared, priority, timeout_fn, test_notify)
        except _AcquireTimeout:
            return None

    def _LookUp(self, names: list[str], skip_missing: bool
                ) -> list[tuple[str, SharedLock]]:
        with self._mutex:
            found = []
            for lname in sorted(set(names)):
                lock = self._lockdict.get(lname)
                if lock is not None:
                    found.append((lname, lock))
                elif not skip_missing:
                    raise self._NonExisting(lname)
            return found

    def _AcquireMembers(self, names: list[str], want_all: bool,
                        opportunistic: bool, shared: int, priority: int,
                        timeout_fn: Callable[[], float | None],
                        test_notify: Callable[[str], None] | None) -> set[str]:
        """Acquire members in sorted order; undo everything on failure."""
        acquired: set[str] = set()
        try:
            for lname, lock in self._LookUp(names, skip_missing=want_all):
                notify = None
                if test_notify is not None:
                    notify = functools.partial(test_notify, lname)
                timeout = timeout_fn()
                try:
                    got = lock.acquire(shared=shared, timeout=timeout,
                                       priority=priority, test_notify=notify)
                except errors.LockError as err:
                    if want_all or opportunistic:
                        continue  # removed meanwhile: no longer a member
                    raise self._NonExisting(lname) from err
                if got:
                    self._AddOwned(lname)
                    acquired.add(lname)
                elif not opportunistic:
                    raise _AcquireTimeout()
        except BaseException:
            self._ReleaseOwned()
            raise
        return acquired

    def _ReleaseOwned(self) -> None:
        """Release everything the calling thread holds in this set."""
        if self._lock.is_owned():
            self._lock.release()
        for lname in self.list_owned():
            with self._mutex:
                lock = self._lockdict.get(lname)
            if lock is not None and lock.is_owned():
                lock.release()
            self._DelOwned(lname)
        self._DelOwned()

    def release(self, names: str | Iterable[str] | None = None) -> None:
        """Release some or all of the locks held in this set.

        Releasing any of them also releases the set-level lock, so add() can
        go ahead again.

        Args:
          names: names to release; None for all (and the set-level lock)

        Raises:
          ProgrammerError: the thread holds nothing here, or not all names.
        """
        if not self.is_owned():
            raise errors.ProgrammerError(
                f"release() on lock set {self.name} while not owner")
        owned = self.list_owned()
        wanted = owned if names is None else set(_NameList(names))
        if not owned.issuperset(wanted):
            raise errors.ProgrammerError(
                f"release() on unheld resources {sorted(wanted - owned)}"
                f" (set {self.name})")
        if self._lock.is_owned():
            self._lock.release()
        with self._mutex:
            locks = [(lname, self._lockdict[lname]) for lname in wanted]
        for lname, lock in locks:
            lock.release()
            self._DelOwned(lname)
        self._DelOwned()

    def downgrade(self, names: str | Iterable[str] | None = None) -> bool:
        """Make exclusively held locks shared.

        When the whole set is held exclusively and no member stays
        exclusive, the set-level lock is downgraded too.

        Args:
          names: names to downgrade; None for all held

        Returns:
          True.

        Raises:
          ProgrammerError: the thread holds nothing here, or not all names.
        """
        if not self.is_owned():
            raise errors.ProgrammerError(
                f"downgrade on lockset {self.name} while not owning any lock")
        owned = self.list_owned()
        wanted = owned if names is None else set(_NameList(names))
        if not owned.issuperset(wanted):
            raise errors.ProgrammerError(
                f"downgrade() on unheld resources {sorted(wanted - owned)}"
                f" (set {self.name})")
        with self._mutex:
            held = {lname: self._lockdict[lname] for lname in owned}
        for lname in wanted:
            held[lname].downgrade()
        if self._lock.is_owned(shared=0) and not any(
                lock.is_owned(shared=0) for lock in held.values()):
            self._lock.downgrade()
        return True

    # -- membership -------------------------------------------------------------

    def add(self, names: str | Iterable[str], acquired: int = 0,
            shared: int = 0) -> bool:
        """Add new locks to the set.

        The caller holds nothing in the set (the set-level lock is then
        taken exclusively for the duration, waiting for ALL_SET holders) or
        holds the whole set exclusively.

        Args:
          names: new lock names
          acquired: hold the new locks on return
          shared: hold them shared rather than exclusively

        Returns:
          True.

        Raises:
          LockError: a name is already in the set; nothing was added.
          ProgrammerError: the set is held partially or shared.
        """
        names = _NameList(names)
        if self.is_owned() and not self._lock.is_owned(shared=0):
            raise errors.ProgrammerError(
                f"Cannot add locks if the set {self.name} is only partially"
                " owned, or shared")
        release_lock = not self._lock.is_owned()
        if release_lock:
            self._lock.acquire()
        try:
            with self._mutex:
                counts = collections.Counter(names)
                dups = sorted(n for n, count in counts.items()
                              if count > 1 or n in self._lockdict)
            if dups:
                raise errors.LockError(
                    f"duplicate add({', '.join(dups)}) on lockset {self.name}")
            new_locks = {}
            for lname in names:
                lock = SharedLock(self._GetLockName(lname), monitor=self._monitor)
                if acquired:
                    # Fresh and not yet visible to anyone: cannot block.
                    lock.acquire(shared=shared)
                new_locks[lname] = lock
            with self._mutex:
                self._lockdict.update(new_locks)
            if acquired:
                for lname in names:
                    self._AddOwned(lname)
        finally:
            if release_lock:
                self._lock.release()
        return True

    def remove(self, names: str | Iterable[str]) -> list[str]:
        """Delete locks from the set.

        The caller holds nothing in the set (each lock is then acquired
        exclusively, waiting for its holders, and deleted) or already holds
        all of these names exclusively.

        Args:
          names: names to remove

        Returns:
          The names actually removed: all of them if they were held, else
          those that still existed.

        Raises:
          ProgrammerError: the thread holds some locks of the set but not
            all of these names, or holds one of them shared.
        """
        names = _NameList(names)
        if self.is_owned() and not (self.list_owned().issuperset(names)
                                    and self.check_owned(names, shared=0)):
            raise errors.ProgrammerError(
                f"remove() on acquired lockset {self.name} while not owning"
                " all elements exclusively")
        removed = []
        for lname in names:
            with self._mutex:
                lock = self._lockdict.get(lname)
            if lock is None:
                continue
            try:
                # Acquires exclusively unless held; fails for all waiters.
                deleted = lock.delete()
            except errors.LockError:
                continue  # somebody else removed it first
            if not deleted:
                continue
            with self._mutex:
                if self._lockdict.get(lname) is lock:
                    del self._lockdict[lname]
            self._DelOwned(lname)
            removed.append(lname)
        return removed
