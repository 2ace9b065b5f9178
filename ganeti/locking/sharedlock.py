"""SharedLock: one shared/exclusive lock with priority-ordered waiters.

Part of ganeti.locking; the package docstring holds the design notes
(fairness, priorities, why Condition.wait instead of Ganeti's pipes).
"""

from __future__ import annotations

import collections
import functools
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from ganeti import errors, utils

if TYPE_CHECKING:
    from ganeti.locking.monitor import LockMonitor

_EXCLUSIVE_TEXT = "exclusive"
_SHARED_TEXT = "shared"
_DELETED_TEXT = "deleted"

_DEFAULT_PRIORITY = 0

# Ganeti lib/locking.py: a timeout below one millisecond is not worth
# queueing for, so such an acquire behaves like a single try.
_LOCK_ACQUIRE_MIN_TIMEOUT = 1.0 / 1000

# Information a lock can report (Ganeti lib/query.py LQ_*).
LQ_MODE = 10
LQ_OWNER = 11
LQ_PENDING = 12

NotifyFn = Callable[[], None]
LockInfo = tuple[str, str | None, list[str] | None, list[tuple[str, list[str]]] | None]
_F = TypeVar("_F", bound=Callable[..., Any])


def _CheckTimeout(timeout: float | None) -> None:
    """Refuse a negative timeout.

    Raises:
      ProgrammerError: the timeout is negative.
    """
    if timeout is not None and timeout < 0:
        raise errors.ProgrammerError(f"Lock timeout must not be negative: {timeout}")


def ssynchronized(mylock: SharedLock | str, shared: int = 0) -> Callable[[_F], _F]:
    """Decorator: run the function while holding a SharedLock.

    Args:
      mylock: the lock, or the name of an attribute of the method's object
        that holds it
      shared: whether to take the lock shared (default: exclusive)
    """

    def Wrap(fn: _F) -> _F:
        @functools.wraps(fn)
        def Synchronized(*args: Any, **kwargs: Any) -> Any:
            lock = getattr(args[0], mylock) if isinstance(mylock, str) else mylock
            lock.acquire(shared=shared)
            try:
                return fn(*args, **kwargs)
            finally:
                lock.release()

        return Synchronized  # type: ignore[return-value]

    return Wrap


class _WaiterGroup:
    """Threads waiting together for one lock in one mode and priority."""

    __slots__ = ("shared", "priority", "cond", "waiters")

    def __init__(self, mutex: threading.Lock, shared: bool, priority: int) -> None:
        self.shared = shared
        self.priority = priority
        self.cond = threading.Condition(mutex)
        # A dict used as an ordered set: arrival order is shown by the query.
        self.waiters: dict[threading.Thread, None] = {}


class SharedLock:
    """A lock held either by one thread exclusively or by many shared.

    Waiters are served by priority, then in arrival order; see the design notes
    in ganeti.locking. The lock is not re-entrant.
    """

    __slots__ = (
        "__weakref__",
        "name",
        "_mutex",
        "_time_fn",
        "_exc",
        "_shr",
        "_deleted",
        "_queues",
        "_joinable",
    )

    def __init__(self, name: str, monitor: LockMonitor | None = None,
                 _time_fn: Callable[[], float] = time.time) -> None:
        """Create an unlocked lock.

        Args:
          name: the lock's name, as the lock query shows it
          monitor: the LockMonitor to register with, if any
          _time_fn: clock used for timeouts (a seam for tests)
        """
        self.name = name
        self._time_fn = _time_fn
        # Guards every attribute below; never held while blocking except
        # inside Condition.wait, which releases it.
        self._mutex = threading.Lock()
        self._exc: threading.Thread | None = None
        self._shr: set[threading.Thread] = set()
        self._deleted = False
        # priority -> waiter groups in arrival order; no empty deque is kept.
        self._queues: dict[int, collections.deque[_WaiterGroup]] = {}
        # priority -> the shared group new shared waiters may still join.
        self._joinable: dict[int, _WaiterGroup] = {}
        if monitor is not None:
            monitor.RegisterLock(self)

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__} name={self.name} at {id(self):#x}>"

    # -- state helpers; all require self._mutex ------------------------------

    def _CheckDeleted(self) -> None:
        if self._deleted:
            raise errors.LockError(f"Deleted lock {self.name}")

    def _IsOwned(self, me: threading.Thread, shared: int = -1) -> bool:
        if shared < 0:
            return me is self._exc or me in self._shr
        if shared:
            return me in self._shr
        return me is self._exc

    def _CanAcquire(self, shared: int) -> bool:
        if shared:
            return self._exc is None
        return self._exc is None and not self._shr

    def _DoAcquire(self, me: threading.Thread, shared: int) -> None:
        if shared:
            self._shr.add(me)
        else:
            self._exc = me

    def _Head(self) -> _WaiterGroup | None:
        if not self._queues:
            return None
        return self._queues[min(self._queues)][0]

    def _NotifyHead(self) -> None:
        """Wake the group at the head of the queue, if any."""
        head = self._Head()
        if head is None:
            return
        head.cond.notify_all()
        if head.shared and self._joinable.get(head.priority) is head:
            # A woken group takes no newcomers: they would overtake the
            # exclusive waiters queued behind it.
            del self._joinable[head.priority]

    def _JoinQueue(self, me: threading.Thread, shared: int,
                   priority: int) -> _WaiterGroup:
        group = self._joinable.get(priority) if shared else None
        if group is None:
            group = _WaiterGroup(self._mutex, bool(shared), priority)
            self._queues.setdefault(priority, collections.deque()).append(group)
            if shared:
                self._joinable[priority] = group
        group.waiters[me] = None
        return group

    def _LeaveQueue(self, me: threading.Thread, group: _WaiterGroup) -> None:
        del group.waiters[me]
        if group.waiters:
            return
        was_head = self._Head() is group
        queue = self._queues[group.priority]
        queue.remove(group)
        if not queue:
            del self._queues[group.priority]
        if self._joinable.get(group.priority) is group:
            del self._joinable[group.priority]
        head = self._Head()
        if was_head and head is not None and self._CanAcquire(head.shared):
            # The new head is compatible with the current holders (e.g.
            # shared waiters behind an exclusive one that timed out), and no
            # release is going to wake it.
            self._NotifyHead()

    def _AcquireLocked(self, me: threading.Thread, shared: int,
                       timeout: float | None, priority: int,
                       test_notify: NotifyFn | None) -> bool:
        """Acquire with self._mutex held; see acquire()."""
        self._CheckDeleted()
        if self._IsOwned(me):
            raise errors.ProgrammerError(
                f"Double acquire() on non-recursive lock {self.name}")
        if not self._queues and self._CanAcquire(shared):
            self._DoAcquire(me, shared)
            return True
        if timeout is not None and timeout < _LOCK_ACQUIRE_MIN_TIMEOUT:
            return False
        group = self._JoinQueue(me, shared, priority)
        try:
            return self._WaitInQueue(me, group, timeout, test_notify)
        finally:
            self._LeaveQueue(me, group)

    def _WaitInQueue(self, me: threading.Thread, group: _WaiterGroup,
                     timeout: float | None, test_notify: NotifyFn | None) -> bool:
        deadline = None if timeout is None else self._time_fn() + timeout
        while True:
            # Deletion may happen while we wait or run the callback.
            self._CheckDeleted()
            if self._Head() is group and self._CanAcquire(group.shared):
                self._DoAcquire(me, group.shared)
                return True
            remaining = None
            if deadline is not None:
                remaining = deadline - self._time_fn()
                if remaining <= 0:
                    return False
            if test_notify is not None:
                # Called without the mutex so that the callback may block or
                # write files; the loop re-checks everything afterwards.
                self._mutex.release()
                try:
                    test_notify()
                finally:
                    self._mutex.acquire()
                test_notify = None
                continue
            group.cond.wait(remaining)

    # -- public interface -----------------------------------------------------

    def acquire(self, shared: int = 0, timeout: float | None = None,
                priority: int | None = None,
                test_notify: NotifyFn | None = None) -> bool:
        """Acquire the lock.

        Args:
          shared: take the lock shared (non-zero) or exclusively (0)
          timeout: None blocks, 0 tries once, otherwise the longest wait in
            seconds
          priority: lower numbers are served first (default 0)
          test_notify: called once, without internal locks held, when the
            thread is about to block

        Returns:
          True once acquired; False when the timeout expired (never raises
          for a timeout).

        Raises:
          LockError: the lock was deleted, before or while waiting.
          ProgrammerError: the thread already holds this lock, or the
            timeout is negative.
        """
        _CheckTimeout(timeout)
        if priority is None:
            priority = _DEFAULT_PRIORITY
        me = threading.current_thread()
        with self._mutex:
            return self._AcquireLocked(me, shared, timeout, priority, test_notify)

    def release(self) -> None:
        """Release the lock, whichever mode it was held in.

        Raises:
          ProgrammerError: the calling thread does not hold the lock.
        """
        me = threading.current_thread()
        with self._mutex:
            if self._exc is me:
                self._exc = None
                notify = True
            elif me in self._shr:
                self._shr.remove(me)
                notify = not self._shr
            else:
                raise errors.ProgrammerError(
                    f"Cannot release non-owned lock {self.name}")
            if notify:
                self._NotifyHead()

    def downgrade(self) -> bool:
        """Turn an exclusive hold into a shared one; no-op when shared.

        Shared waiters at the head priority are let in at once.

        Returns:
          True.

        Raises:
          ProgrammerError: the calling thread does not hold the lock.
        """
        me = threading.current_thread()
        with self._mutex:
            if not self._IsOwned(me):
                raise errors.ProgrammerError(
                    f"Cannot downgrade non-owned lock {self.name}")
            if self._exc is me:
                self._exc = None
                self._shr.add(me)
                # Only on a real exclusive->shared change: otherwise a sharer
                # could keep pushing shared waiters ahead of writers.
                head = self._Head()
                group = None if head is None else self._joinable.get(head.priority)
                if head is not None and group is not None and group is not head:
                    queue = self._queues[head.priority]
                    queue.remove(group)
                    queue.appendleft(group)
                self._NotifyHead()
            return True

    def delete(self, timeout: float | None = None,
               priority: int | None = None) -> bool:
        """Acquire the lock exclusively (unless already so) and delete it.

        Every pending and later acquire() raises LockError afterwards.

        Args:
          timeout: as for acquire()
          priority: as for acquire()

        Returns:
          True if deleted; False if the timeout expired first.

        Raises:
          LockError: the lock was already deleted.
          ProgrammerError: the calling thread holds the lock shared.
        """
        _CheckTimeout(timeout)
        if priority is None:
            priority = _DEFAULT_PRIORITY
        me = threading.current_thread()
        with self._mutex:
            if me in self._shr:
                raise errors.ProgrammerError(
                    f"Cannot delete() lock {self.name} while sharing it")
            self._CheckDeleted()
            acquired = self._exc is me or self._AcquireLocked(
                me, 0, timeout, priority, None)
            if acquired:
                self._deleted = True
                self._exc = None
                for queue in self._queues.values():
                    for group in queue:
                        group.cond.notify_all()
            return acquired

    def is_owned(self, shared: int = -1) -> bool:
        """Tell whether the calling thread holds the lock.

        Args:
          shared: < 0 in any mode, 0 exclusively, > 0 shared
        """
        me = threading.current_thread()
        with self._mutex:
            return self._IsOwned(me, shared)

    # Ganeti's threading.Condition compatibility name.
    _is_owned = is_owned

    def _count_pending(self) -> int:
        """Number of threads waiting for this lock (a test helper).

        Ganeti counted queue entries, where shared waiters of one priority
        make one entry; threads are what a test can reason about.
        """
        with self._mutex:
            return sum(len(group.waiters) for queue in self._queues.values()
                       for group in queue)

    def GetLockInfo(self, requested: Iterable[int]) -> list[LockInfo]:
        """Describe the lock for the lock query.

        Args:
          requested: the LQ_* items wanted

        Returns:
          One (name, mode, owners, pending) tuple. mode is "exclusive",
          "shared", "deleted" or None; owners is a sorted list of thread
          names or None when nobody holds the lock; pending is a list of
          (mode, sorted thread names) in the order waiters will be served.
          Items not requested are None.
        """
        requested = set(requested)
        with self._mutex:
            mode = owners = pending = None
            if LQ_MODE in requested:
                if self._deleted:
                    mode = _DELETED_TEXT
                elif self._exc is not None:
                    mode = _EXCLUSIVE_TEXT
                elif self._shr:
                    mode = _SHARED_TEXT
            if LQ_OWNER in requested:
                holders = [self._exc] if self._exc is not None else self._shr
                if holders:
                    owners = utils.NiceSort(t.name for t in holders)
            if LQ_PENDING in requested:
                pending = [
                    (_SHARED_TEXT if group.shared else _EXCLUSIVE_TEXT,
                     utils.NiceSort(t.name for t in group.waiters))
                    for prio in sorted(self._queues)
                    for group in self._queues[prio] if group.waiters
                ]
            return [(self.name, mode, owners, pending)]
