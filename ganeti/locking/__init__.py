"""Shared/exclusive locks, lock sets and the leveled lock manager of masterd.

Mirrors the public names and behaviour of Ganeti's lib/locking.py (2.x, the
last release whose lock manager ran inside masterd) and of
LockAttemptTimeoutStrategy from lib/mcpu.py.

Design notes
============

Who uses this.  Every opcode a job runs takes its locks through
GanetiLockManager before the logical unit's CheckPrereq/Exec (mcpu). Locks
live in masterd's memory only; their owner is the calling thread, since one
job runs in one worker thread at a time.

Why it cannot deadlock.  All locks are totally ordered by
(level, set lock before members, member name), and a thread only ever waits
for a lock greater than every lock it holds:
  * levels come in the order of LEVELS (cluster < instance < nodegroup <
    node < node-res < network); GanetiLockManager refuses, with
    ProgrammerError, to acquire at a level while holding any higher one;
  * a LockSet is acquired once per level and call, its members in sorted
    name order, after its set-level "[lockset]" lock when the whole set is
    wanted; acquiring a level already held is refused too;
  * add() waits for a set lock only where the caller holds nothing at that
    level or above; remove() either deletes locks the caller already holds
    exclusively, or deletes them one at a time holding nothing at the level.
Queues are fair, so a waiter also waits for the waiters queued ahead of it on
the same lock; those wait for the holders, and holders wait only for greater
locks. Every chain of "waits for" therefore climbs the order and can never
close into a cycle. This is why mcpu must declare locks level by level
(ExpandNames/DeclareLocks) and may never go back to a lower level.

The BGL.  "cluster/BGL" must be held, shared or exclusive, before any other
level. Most LUs take it shared; the few that need a quiet cluster
(REQ_BGL) take it exclusively and thereby exclude every other job.

Fairness and priorities.  Each SharedLock keeps its waiters in groups,
ordered by priority (lower number first; opcode priorities run from -20 to
19, default 0) and then by arrival. A waiter gets the lock only when its
group is at the head of the queue and its mode is compatible with the
current holders; a newcomer skips the queue only when nobody waits, so there
is no barging. All shared waiters of one priority share one group, which is
woken and admitted as a whole, even past exclusive waiters of the same
priority that came later (as in Ganeti: readers are not serialised behind
each other). Once woken, a group takes no more members, so a stream of
readers cannot starve a writer for ever.

Waiting.  One threading.Condition per waiter group, all bound to the lock's
internal mutex; a release wakes only the head group. Python 3's
Condition.wait(timeout) blocks in the kernel, so there is no polling.
Ganeti built pipe-and-poll conditions because Python 2's timed wait slept in
a loop; that reason is gone and so are they.

Timeouts.  timeout=None blocks, 0 tries once, a positive value is a budget
for the whole call (a LockSet spreads it over its members). A LockSet whose
budget runs out releases whatever that call took and returns None. mcpu
retries with the growing timeouts of LockAttemptTimeoutStrategy and finally
blocks; between attempts the job may raise its priority (spec/jobs.md 3).

Observability.  The test_notify callback of acquire() is called once, when
the thread is about to block, outside the lock's internal mutex: mcpu uses it
to mark the job "waiting". LockMonitor.QueryLocks gives the rows of the lock
query (gnt-debug locks): name, mode, owner, pending.

Rejected designs.  One global mutex for the whole manager (simple, but
every wake-up would go through one condition: a thundering herd on a busy
cluster); re-entrant locks (they would hide level-order mistakes); deadlock
detection such as wait-die (the order above makes it unnecessary).

Layout.  sharedlock.py (SharedLock), lockset.py (LockSet), monitor.py
(LockMonitor); this file holds the levels, GanetiLockManager and
LockAttemptTimeoutStrategy, and re-exports everything under Ganeti's names,
so callers only ever import ganeti.locking.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from typing import Any

from ganeti import errors
from ganeti.locking.lockset import (  # noqa: F401
    ALL_SET,
    LOCKSET_NAME,
    LockSet,
    _NameList,
)
from ganeti.locking.monitor import (  # noqa: F401
    LOCK_FIELDS,
    LockInfoProvider,
    LockMonitor,
)
from ganeti.locking.sharedlock import (  # noqa: F401
    LQ_MODE,
    LQ_OWNER,
    LQ_PENDING,
    NotifyFn,
    SharedLock,
    ssynchronized,
)

# Locking levels, acquired in increasing order only (see the design notes).
LEVEL_CLUSTER = 0
LEVEL_INSTANCE = 1
LEVEL_NODEGROUP = 2
LEVEL_NODE = 3
LEVEL_NODE_RES = 4
LEVEL_NETWORK = 5

LEVELS = [
    LEVEL_CLUSTER,
    LEVEL_INSTANCE,
    LEVEL_NODEGROUP,
    LEVEL_NODE,
    LEVEL_NODE_RES,
    LEVEL_NETWORK,
]

#: Levels whose locks can be added and removed at run time.
LEVELS_MOD = frozenset([
    LEVEL_NODE_RES,
    LEVEL_NODE,
    LEVEL_NODEGROUP,
    LEVEL_INSTANCE,
    LEVEL_NETWORK,
])

#: Lock level names (singular), also the prefix of every lock name.
LEVEL_NAMES = {
    LEVEL_CLUSTER: "cluster",
    LEVEL_INSTANCE: "instance",
    LEVEL_NODEGROUP: "nodegroup",
    LEVEL_NODE: "node",
    LEVEL_NODE_RES: "node-res",
    LEVEL_NETWORK: "network",
}

#: The Big Ganeti Lock, the only lock at LEVEL_CLUSTER.
BGL = "BGL"

# Lock attempt timeouts (Ganeti constants LOCK_ATTEMPTS_*), in seconds: the
# attempts together last at least LOCK_ATTEMPTS_TIMEOUT (half an hour) before
# mcpu switches to a blocking acquire; each attempt lasts between MINWAIT and
# MAXWAIT so that other jobs get a chance in between.
LOCK_ATTEMPTS_TIMEOUT = 10 * 3600 / 20.0
LOCK_ATTEMPTS_MAXWAIT = 15.0
LOCK_ATTEMPTS_MINWAIT = 1.0


class GanetiLockManager:
    """The cluster's locks, by level, with the ordering rules enforced.

    See the package's design notes for the rules and why they rule out
    deadlocks. Every method acts for the calling thread.
    """

    def __init__(self, nodes: Iterable[str], nodegroups: Iterable[str],
                 instances: Iterable[str], networks: Iterable[str]) -> None:
        """Create every lock set.

        Args:
          nodes: node names (or UUIDs), for LEVEL_NODE and LEVEL_NODE_RES
          nodegroups: node group UUIDs
          instances: instance names (or UUIDs)
          networks: network UUIDs
        """
        nodes = list(nodes)
        self._monitor = LockMonitor()
        members = {
            LEVEL_CLUSTER: [BGL],
            LEVEL_INSTANCE: instances,
            LEVEL_NODEGROUP: nodegroups,
            LEVEL_NODE: nodes,
            LEVEL_NODE_RES: nodes,
            LEVEL_NETWORK: networks,
        }
        self._keyring = {
            level: LockSet(members[level], LEVEL_NAMES[level], monitor=self._monitor)
            for level in LEVELS
        }

    def AddToLockMonitor(self, provider: LockInfoProvider) -> None:
        """Show another lock (e.g. the job queue's) in the lock query."""
        self._monitor.RegisterLock(provider)

    def QueryLocks(self, fields: list[str]) -> list[list[Any]]:
        """Rows of the lock query; see LockMonitor.QueryLocks."""
        return self._monitor.QueryLocks(fields)

    def _Set(self, level: int, levels: Iterable[int] = LEVELS) -> LockSet:
        if level not in LEVELS:
            raise errors.ProgrammerError(f"Invalid locking level {level!r}")
        if level not in levels:
            raise errors.ProgrammerError(
                f"Locks cannot be added or removed at level {LEVEL_NAMES[level]}")
        return self._keyring[level]

    def _names(self, level: int) -> set[str]:
        """The lock names at a level (for tests and debugging)."""
        return self._Set(level)._names()

    def is_owned(self, level: int) -> bool:
        """Tell whether the calling thread holds any lock at a level."""
        return self._Set(level).is_owned()

    def list_owned(self, level: int) -> set[str]:
        """The names the calling thread holds at a level."""
        return self._Set(level).list_owned()

    def check_owned(self, level: int, names: str | Iterable[str],
                    shared: int = -1) -> bool:
        """Tell whether the calling thread holds these locks; see LockSet."""
        return self._Set(level).check_owned(names, shared=shared)

    def owning_all(self, level: int) -> bool:
        """Tell whether the calling thread holds a whole level (ALL_SET)."""
        return self._Set(level).owning_all()

    def _upper_owned(self, level: int) -> bool:
        return any(self.is_owned(other) for other in LEVELS if other > level)

    def _OwnedText(self) -> str:
        return ", ".join(f"{LEVEL_NAMES[level]}={sorted(self.list_owned(level))}"
                         for level in LEVELS if self.is_owned(level))

    def _BGL_owned(self) -> bool:
        return BGL in self._keyring[LEVEL_CLUSTER].list_owned()

    @staticmethod
    def _contains_BGL(level: int, names: str | Iterable[str] | None) -> bool:
        return level == LEVEL_CLUSTER and (names is None or BGL in _NameList(names))

    def acquire(self, level: int, names: str | Iterable[str] | None,
                timeout: float | None = None, shared: int = 0,
                priority: int | None = None, opportunistic: bool = False,
                test_notify: Callable[[str], None] | None = None
                ) -> set[str] | None:
        """Acquire locks at one level; see LockSet.acquire.

        Raises:
          ProgrammerError: the BGL is not held (and not being acquired), a
            higher or the same level is already held, or bad level.
          LockError: a named lock does not exist.
        """
        lockset = self._Set(level)
        if not (self._contains_BGL(level, names) or self._BGL_owned()):
            raise errors.ProgrammerError(
                "You must own the Big Ganeti Lock before acquiring any other")
        if self._upper_owned(level):
            raise errors.ProgrammerError(
                f"Cannot acquire locks at level {LEVEL_NAMES[level]} while"
                f" owning some at a greater one ({self._OwnedText()})")
        return lockset.acquire(names, timeout=timeout, shared=shared,
                               priority=priority, opportunistic=opportunistic,
                               test_notify=test_notify)

    def downgrade(self, level: int, names: str | Iterable[str] | None = None
                  ) -> bool:
        """Make exclusively held locks at a level shared; see LockSet."""
        return self._Set(level).downgrade(names=names)

    def release(self, level: int, names: str | Iterable[str] | None = None) -> None:
        """Release locks at a level (all of them when names is None).

        Raises:
          ProgrammerError: releasing the BGL while holding other levels, or
            releasing locks not held.
        """
        lockset = self._Set(level)
        if self._contains_BGL(level, names) and self._upper_owned(LEVEL_CLUSTER):
            raise errors.ProgrammerError(
                "Cannot release the Big Ganeti Lock while holding something"
                f" at upper levels ({self._OwnedText()})")
        lockset.release(names)

    def add(self, level: int, names: str | Iterable[str], acquired: int = 0,
            shared: int = 0) -> bool:
        """Add locks at a modifiable level; see LockSet.add.

        Raises:
          ProgrammerError: immutable level, BGL not held, or a higher level
            held.
          LockError: a name already exists.
        """
        lockset = self._Set(level, LEVELS_MOD)
        self._CheckModifiable(level)
        if self._upper_owned(level):
            raise errors.ProgrammerError(
                f"Cannot add locks at level {LEVEL_NAMES[level]} while owning"
                f" some at a greater one ({self._OwnedText()})")
        return lockset.add(names, acquired=acquired, shared=shared)

    def remove(self, level: int, names: str | Iterable[str]) -> list[str]:
        """Remove locks at a modifiable level; see LockSet.remove.

        Raises:
          ProgrammerError: immutable level, BGL not held, or a higher level
            held while the level itself is not.
        """
        lockset = self._Set(level, LEVELS_MOD)
        self._CheckModifiable(level)
        if not self.is_owned(level) and self._upper_owned(level):
            raise errors.ProgrammerError(
                f"Cannot remove locks at level {LEVEL_NAMES[level]} while not"
                f" owning it or owning some at a greater one ({self._OwnedText()})")
        return lockset.remove(names)

    def _CheckModifiable(self, level: int) -> None:
        if not self._BGL_owned():
            raise errors.ProgrammerError(
                "You must own the BGL before adding or removing locks"
                f" at level {LEVEL_NAMES[level]}")


def _CalculateLockAttemptTimeouts() -> list[float]:
    """The per-attempt timeouts, before jitter."""
    result = [LOCK_ATTEMPTS_MINWAIT]
    total = result[0]
    while total < LOCK_ATTEMPTS_TIMEOUT:
        grown = (result[-1] * 1.05) ** 1.25
        timeout = max(LOCK_ATTEMPTS_MINWAIT, min(grown, LOCK_ATTEMPTS_MAXWAIT))
        result.append(timeout)
        total += timeout
    return result


class LockAttemptTimeoutStrategy:
    """Growing timeouts for mcpu's lock attempts, then a blocking acquire.

    The first attempt waits LOCK_ATTEMPTS_MINWAIT seconds; each next one
    waits (previous * 1.05) ** 1.25, kept within [MINWAIT, MAXWAIT], until
    the attempts add up to LOCK_ATTEMPTS_TIMEOUT (as Ganeti's
    lib/mcpu.py). After that NextAttempt returns None: block. Each timeout
    varies by up to +/-5% so that jobs fighting for the same locks do not
    retry in lockstep.
    """

    __slots__ = ("_timeouts", "_random_fn", "_time_fn")

    _TIMEOUT_PER_ATTEMPT = tuple(_CalculateLockAttemptTimeouts())

    def __init__(self, _time_fn: Callable[[], float] = time.time,
                 _random_fn: Callable[[], float] = random.random) -> None:
        """Start a new series of attempts.

        Args:
          _time_fn: clock (kept for Ganeti's signature; unused)
          _random_fn: source of the jitter, uniform in [0, 1)
        """
        self._timeouts = iter(self._TIMEOUT_PER_ATTEMPT)
        self._time_fn = _time_fn
        self._random_fn = _random_fn

    def NextAttempt(self) -> float | None:
        """Timeout in seconds for the next attempt; None: block."""
        timeout = next(self._timeouts, None)
        if timeout is None:
            return None
        spread = timeout * 0.1
        return timeout + self._random_fn() * spread - spread / 2
