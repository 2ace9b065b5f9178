"""Tests for ganeti.locking: SharedLock, LockSet, GanetiLockManager."""

from __future__ import annotations

import collections
import functools
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from ganeti import errors, locking, utils

_JOIN_TIMEOUT = 10.0


class _Worker:
    """Runs a function in a named thread and keeps its result or exception."""

    def __init__(self, fn: Callable[[], Any], name: str):
        self.result: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._Run, args=(fn,), name=name,
                                       daemon=True)
        self.thread.start()

    def _Run(self, fn: Callable[[], Any]) -> None:
        try:
            self.result = fn()
        except BaseException as err:  # handed to the test thread
            self.error = err

    def Join(self) -> Any:
        self.thread.join(_JOIN_TIMEOUT)
        assert not self.thread.is_alive(), f"{self.thread.name} still running"
        if self.error is not None:
            raise self.error
        return self.result


def _StartWaiter(lock: locking.SharedLock, name: str, log: list[str],
                 shared: int = 0, priority: int | None = None,
                 hold: threading.Event | None = None) -> _Worker:
    """Start a thread that blocks on the lock; return once it is queued."""
    queued = threading.Event()

    def Fn() -> bool:
        ok = lock.acquire(shared=shared, priority=priority,
                          test_notify=queued.set)
        log.append(name)
        if hold is not None:
            hold.wait(_JOIN_TIMEOUT)
        lock.release()
        return ok

    worker = _Worker(Fn, name)
    assert queued.wait(_JOIN_TIMEOUT), f"{name} never blocked"
    return worker


def _WaitUntil(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + _JOIN_TIMEOUT
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.002)


# -- SharedLock ----------------------------------------------------------------


def test_shared_holders_coexist_and_exclude_writers() -> None:
    lock = locking.SharedLock("x")
    assert lock.acquire(shared=1)
    assert _Worker(lambda: lock.acquire(shared=1, timeout=0), "reader").Join()
    assert not _Worker(lambda: lock.acquire(timeout=0), "writer").Join()
    assert lock.is_owned() and lock.is_owned(shared=1)
    assert not lock.is_owned(shared=0)


def test_exclusive_holder_is_alone_and_timeout_returns_false() -> None:
    lock = locking.SharedLock("x")
    assert lock.acquire()
    assert lock.is_owned(shared=0)
    start = time.monotonic()
    assert not _Worker(lambda: lock.acquire(shared=1, timeout=0.05), "r").Join()
    assert time.monotonic() - start >= 0.05
    assert not _Worker(lambda: lock.acquire(timeout=0), "w").Join()
    assert lock._count_pending() == 0
    lock.release()
    assert not lock.is_owned()
    assert _Worker(lambda: lock.acquire(timeout=0), "w2").Join()


def test_timeout_uses_injected_clock() -> None:
    ticks = iter(range(0, 10_000, 100))
    lock = locking.SharedLock("x", _time_fn=lambda: float(next(ticks)))
    lock.acquire()
    start = time.monotonic()
    # 50 "seconds" of the fake clock pass between two readings.
    assert not _Worker(lambda: lock.acquire(timeout=50), "w").Join()
    assert time.monotonic() - start < 5


def test_blocked_waiter_gets_lock_on_release() -> None:
    lock = locking.SharedLock("x")
    lock.acquire()
    log: list[str] = []
    waiter = _StartWaiter(lock, "w", log)
    assert lock._count_pending() == 1 and log == []
    lock.release()
    assert waiter.Join() is True
    assert log == ["w"]


def test_misuse_raises_programmer_error() -> None:
    lock = locking.SharedLock("x")
    with pytest.raises(errors.ProgrammerError):
        lock.release()
    with pytest.raises(errors.ProgrammerError):
        lock.downgrade()
    with pytest.raises(errors.ProgrammerError):
        lock.acquire(timeout=-1)
    lock.acquire(shared=1)
    with pytest.raises(errors.ProgrammerError, match="Double acquire"):
        lock.acquire(shared=1)
    with pytest.raises(errors.ProgrammerError, match="sharing"):
        lock.delete()


def test_downgrade_lets_shared_waiters_in_but_not_writers() -> None:
    lock = locking.SharedLock("x")
    lock.acquire()
    log: list[str] = []
    hold = threading.Event()
    writer = _StartWaiter(lock, "writer", log)
    reader = _StartWaiter(lock, "reader", log, shared=1, hold=hold)
    assert lock.downgrade() is True
    assert lock.is_owned(shared=1)
    _WaitUntil(lambda: log == ["reader"], "the reader")
    info = lock.GetLockInfo([locking.LQ_MODE, locking.LQ_OWNER])
    assert info[0][1] == "shared"
    assert info[0][2] == [threading.current_thread().name, "reader"]
    lock.release()
    hold.set()
    reader.Join()
    writer.Join()
    assert log == ["reader", "writer"]


def test_delete_fails_current_and_later_acquires() -> None:
    lock = locking.SharedLock("instance/web1")
    lock.acquire()
    log: list[str] = []
    waiter = _StartWaiter(lock, "w", log)
    assert lock.delete() is True
    with pytest.raises(errors.LockError, match="Deleted lock instance/web1"):
        waiter.Join()
    with pytest.raises(errors.LockError, match="Deleted lock"):
        lock.acquire(timeout=0)
    with pytest.raises(errors.LockError):
        lock.delete()
    assert lock.GetLockInfo([locking.LQ_MODE])[0][1] == "deleted"


def test_delete_times_out_while_held_elsewhere() -> None:
    lock = locking.SharedLock("x")
    lock.acquire(shared=1)
    assert _Worker(lambda: lock.delete(timeout=0.01), "d").Join() is False
    lock.release()
    assert lock.delete(timeout=0) is True


def test_lower_priority_number_is_served_first() -> None:
    lock = locking.SharedLock("x")
    lock.acquire()
    log: list[str] = []
    low = _StartWaiter(lock, "low", log, priority=10)
    normal = _StartWaiter(lock, "normal", log, priority=0)
    high = _StartWaiter(lock, "high", log, priority=-20)
    lock.release()
    for worker in (low, normal, high):
        worker.Join()
    assert log == ["high", "normal", "low"]


def test_fifo_within_a_priority() -> None:
    lock = locking.SharedLock("x")
    lock.acquire()
    log: list[str] = []
    workers = [_StartWaiter(lock, f"w{i}", log, priority=5) for i in range(5)]
    pending = lock.GetLockInfo([locking.LQ_PENDING])[0][3]
    assert pending == [("exclusive", [f"w{i}"]) for i in range(5)]
    lock.release()
    for worker in workers:
        worker.Join()
    assert log == [f"w{i}" for i in range(5)]


def test_shared_waiters_of_one_priority_are_woken_together() -> None:
    lock = locking.SharedLock("x")
    lock.acquire()
    log: list[str] = []
    both_in = threading.Barrier(3, timeout=_JOIN_TIMEOUT)

    def Reader(name: str) -> _Worker:
        queued = threading.Event()

        def Fn() -> None:
            lock.acquire(shared=1, test_notify=queued.set)
            log.append(name)
            both_in.wait()  # fails unless both readers hold the lock at once
            lock.release()

        worker = _Worker(Fn, name)
        assert queued.wait(_JOIN_TIMEOUT)
        return worker

    r1 = Reader("r1")
    writer = _StartWaiter(lock, "writer", log)
    r2 = Reader("r2")
    pending = lock.GetLockInfo([locking.LQ_PENDING])[0][3]
    assert pending == [("shared", ["r1", "r2"]), ("exclusive", ["writer"])]
    lock.release()
    both_in.wait()
    for worker in (r1, r2, writer):
        worker.Join()
    assert sorted(log[:2]) == ["r1", "r2"] and log[2] == "writer"


def test_waiting_reader_does_not_overtake_queued_writer() -> None:
    lock = locking.SharedLock("x")
    lock.acquire(shared=1)
    log: list[str] = []
    writer = _StartWaiter(lock, "writer", log)
    # The lock is only shared, yet a new reader queues behind the writer.
    assert not _Worker(lambda: lock.acquire(shared=1, timeout=0), "r").Join()
    lock.release()
    writer.Join()


def test_reader_behind_timed_out_writer_is_admitted() -> None:
    lock = locking.SharedLock("x")
    lock.acquire(shared=1)
    writer_queued = threading.Event()
    writer = _Worker(lambda: lock.acquire(timeout=0.5,
                                          test_notify=writer_queued.set), "w")
    assert writer_queued.wait(_JOIN_TIMEOUT)
    log: list[str] = []
    reader = _StartWaiter(lock, "reader", log, shared=1)
    assert writer.Join() is False
    # No release happened: the reader must be woken when the writer leaves.
    reader.Join()
    assert log == ["reader"]
    lock.release()


def test_wait_callback_runs_outside_internal_mutex() -> None:
    lock = locking.SharedLock("x")
    lock.acquire()
    seen: list[Any] = []

    def Notify() -> None:
        # Would deadlock if the lock's internal mutex were held here.
        seen.append(lock.GetLockInfo([locking.LQ_PENDING])[0][3])

    def Fn() -> bool:
        return lock.acquire(timeout=0.05, test_notify=Notify)

    assert _Worker(Fn, "w").Join() is False
    assert seen == [[("exclusive", ["w"])]]
    # Not called when the lock is free.
    lock.release()
    assert lock.acquire(test_notify=lambda: seen.append("bad"))
    assert len(seen) == 1


def test_lock_info_fields() -> None:
    lock = locking.SharedLock("node/n1")
    everything = [locking.LQ_MODE, locking.LQ_OWNER, locking.LQ_PENDING]
    assert lock.GetLockInfo(everything) == [("node/n1", None, None, [])]
    assert lock.GetLockInfo([]) == [("node/n1", None, None, None)]
    lock.acquire()
    me = threading.current_thread().name
    assert lock.GetLockInfo(everything) == [("node/n1", "exclusive", [me], [])]


def test_ssynchronized_holds_lock_during_call() -> None:
    lock = locking.SharedLock("x")

    @locking.ssynchronized(lock, shared=1)
    def Fn() -> bool:
        return lock.is_owned(shared=1)

    assert Fn() is True
    assert not lock.is_owned()


# -- LockSet -------------------------------------------------------------------


def _Set(*names: str, monitor: locking.LockMonitor | None = None) -> locking.LockSet:
    return locking.LockSet(names, "instance", monitor=monitor)


def test_lockset_acquire_release_and_ownership() -> None:
    lset = _Set("a", "b", "c")
    assert lset.acquire(["b", "a"]) == {"a", "b"}
    assert lset.is_owned() and lset.list_owned() == {"a", "b"}
    assert lset.check_owned("a", shared=0) and not lset.check_owned(["a", "c"])
    assert not lset.owning_all()
    with pytest.raises(errors.ProgrammerError, match="same set twice"):
        lset.acquire(["c"])
    with pytest.raises(errors.ProgrammerError, match="unheld"):
        lset.release(["c"])
    lset.release(["a"])
    assert lset.list_owned() == {"b"}
    lset.release()
    assert not lset.is_owned()
    with pytest.raises(errors.ProgrammerError):
        lset.release()


def test_lockset_unknown_name_raises_and_holds_nothing() -> None:
    lset = _Set("a", "b")
    with pytest.raises(errors.LockError, match=r"Non-existing lock in set"):
        lset.acquire(["a", "zzz"])
    assert not lset.is_owned()
    assert lset.acquire("a", timeout=0) == {"a"}
    with pytest.raises(errors.LockError, match="Non-existing"):
        lset.check_owned(["a", "zzz"])


def test_lockset_timeout_releases_everything() -> None:
    lset = _Set("a", "b", "c")
    taken = threading.Event()
    done = threading.Event()

    def Holder() -> None:
        lset.acquire(["c"])
        taken.set()
        done.wait(_JOIN_TIMEOUT)
        lset.release()

    holder = _Worker(Holder, "holder")
    assert taken.wait(_JOIN_TIMEOUT)
    assert lset.acquire(["a", "b", "c"], timeout=0.02) is None
    assert not lset.is_owned()
    assert lset.acquire(locking.ALL_SET, timeout=0) is None
    assert not lset.is_owned() and not lset.owning_all()
    done.set()
    holder.Join()
    assert lset.acquire(locking.ALL_SET, timeout=0) == {"a", "b", "c"}


def test_lockset_opportunistic_takes_what_is_free() -> None:
    lset = _Set("a", "b", "c")
    taken = threading.Event()
    done = threading.Event()

    def Holder() -> None:
        lset.acquire("b")
        taken.set()
        done.wait(_JOIN_TIMEOUT)
        lset.release()

    holder = _Worker(Holder, "holder")
    assert taken.wait(_JOIN_TIMEOUT)
    assert lset.acquire(["a", "b", "c"], opportunistic=True) == {"a", "c"}
    lset.release()
    assert lset.acquire(locking.ALL_SET, opportunistic=True) == {"a", "c"}
    assert lset.owning_all()
    lset.release()
    done.set()
    holder.Join()


def test_lockset_all_set_blocks_add_until_released() -> None:
    monitor = locking.LockMonitor()
    lset = _Set("a", monitor=monitor)
    assert lset.acquire(locking.ALL_SET, shared=1) == {"a"}
    assert lset.owning_all()
    adder = _Worker(lambda: lset.add(["new"]), "adder")

    def AdderWaits() -> bool:
        rows = monitor.QueryLocks(["name", "pending"])
        return ["instance/[lockset]", [("exclusive", ["adder"])]] in rows

    _WaitUntil(AdderWaits, "the adder to queue on the set-level lock")
    assert lset._names() == {"a"}
    lset.release()
    assert adder.Join() is True
    assert lset._names() == {"a", "new"}


def test_lockset_add_rules() -> None:
    lset = _Set("a")
    assert lset.add(["b", "c"], acquired=1, shared=1)
    assert lset.list_owned() == {"b", "c"} and lset.check_owned("b", shared=1)
    with pytest.raises(errors.ProgrammerError, match="partially"):
        lset.add(["d"])
    lset.release()
    with pytest.raises(errors.LockError, match="duplicate add"):
        lset.add(["d", "a"])
    with pytest.raises(errors.LockError, match="duplicate add"):
        lset.add(["e", "e"])
    assert lset._names() == {"a", "b", "c"}
    # Holding the whole set exclusively allows adding, too.
    lset.acquire(locking.ALL_SET)
    lset.add("d", acquired=1)
    assert lset.list_owned() == {"a", "b", "c", "d"}
    lset.release()


def test_lockset_remove() -> None:
    monitor = locking.LockMonitor()
    lset = _Set("a", "b", "c", monitor=monitor)
    lset.acquire(["a"])
    waiter = _Worker(lambda: lset.acquire(["a"]), "w")
    _WaitUntil(lambda: ["instance/a", [("exclusive", ["w"])]]
               in monitor.QueryLocks(["name", "pending"]), "w to queue")
    with pytest.raises(errors.ProgrammerError, match="not owning"):
        lset.remove(["a", "b"])
    assert lset.remove(["a"]) == ["a"]
    # The waiter learns that its lock is gone; it holds nothing.
    with pytest.raises(errors.LockError, match="Non-existing lock in set"):
        waiter.Join()
    assert not lset.is_owned()
    assert lset.remove(["b", "zzz"]) == ["b"]
    assert lset._names() == {"c"}
    with pytest.raises(errors.LockError, match="Non-existing"):
        lset.acquire(["a"])


def test_lockset_remove_refuses_shared_hold() -> None:
    lset = _Set("a")
    lset.acquire(["a"], shared=1)
    with pytest.raises(errors.ProgrammerError, match="exclusively"):
        lset.remove(["a"])
    assert lset._names() == {"a"} and lset.check_owned("a", shared=1)


def test_lockset_downgrade_whole_set() -> None:
    lset = _Set("a", "b")
    lset.acquire(locking.ALL_SET)
    lset.downgrade(["a"])
    assert lset.check_owned("a", shared=1) and lset.check_owned("b", shared=0)
    assert lset._lock.is_owned(shared=0)
    lset.downgrade()
    assert lset.check_owned(["a", "b"], shared=1)
    assert lset._lock.is_owned(shared=1)
    lset.release()


def test_lockset_test_notify_names_the_lock() -> None:
    lset = _Set("a", "b")
    lset.acquire(["b"])
    names: list[str] = []
    got = _Worker(lambda: lset.acquire(["a", "b"], timeout=0.2,
                                       test_notify=names.append), "w").Join()
    assert got is None and names == ["b"]


# -- GanetiLockManager -----------------------------------------------------------


def _Glm() -> locking.GanetiLockManager:
    return locking.GanetiLockManager(["node1", "node2", "node10"], ["uuid-g1"],
                                     ["web1", "web2"], ["net1"])


def test_levels_match_ganeti() -> None:
    assert locking.LEVELS == list(range(6))
    assert [locking.LEVEL_NAMES[level] for level in locking.LEVELS] == [
        "cluster", "instance", "nodegroup", "node", "node-res", "network"]
    assert locking.LEVEL_CLUSTER not in locking.LEVELS_MOD
    assert locking.LEVELS_MOD == frozenset(locking.LEVELS[1:])
    assert locking.BGL == "BGL" and locking.ALL_SET is None


def test_manager_requires_bgl_first() -> None:
    glm = _Glm()
    with pytest.raises(errors.ProgrammerError, match="Big Ganeti Lock"):
        glm.acquire(locking.LEVEL_INSTANCE, ["web1"])
    assert glm.acquire(locking.LEVEL_CLUSTER, [locking.BGL], shared=1) == {"BGL"}
    assert glm.acquire(locking.LEVEL_INSTANCE, ["web1"]) == {"web1"}
    assert glm._names(locking.LEVEL_NODE_RES) == {"node1", "node2", "node10"}


def test_manager_level_order_is_enforced() -> None:
    glm = _Glm()
    glm.acquire(locking.LEVEL_CLUSTER, locking.ALL_SET, shared=1)
    glm.acquire(locking.LEVEL_NODE, ["node1"])
    with pytest.raises(errors.ProgrammerError, match="greater one"):
        glm.acquire(locking.LEVEL_INSTANCE, ["web1"])
    with pytest.raises(errors.ProgrammerError, match="same set twice"):
        glm.acquire(locking.LEVEL_NODE, ["node2"])
    with pytest.raises(errors.ProgrammerError, match="Big Ganeti Lock"):
        glm.release(locking.LEVEL_CLUSTER)
    with pytest.raises(errors.ProgrammerError, match="greater one"):
        glm.add(locking.LEVEL_INSTANCE, ["web3"])
    with pytest.raises(errors.ProgrammerError, match="Invalid locking level"):
        glm.acquire(17, ["x"])
    assert glm.acquire(locking.LEVEL_NODE_RES, ["node1"], shared=1) == {"node1"}
    glm.release(locking.LEVEL_NODE_RES)
    glm.release(locking.LEVEL_NODE)
    glm.release(locking.LEVEL_CLUSTER)
    assert not any(glm.is_owned(level) for level in locking.LEVELS)


def test_manager_add_and_remove() -> None:
    glm = _Glm()
    with pytest.raises(errors.ProgrammerError, match="BGL"):
        glm.add(locking.LEVEL_INSTANCE, ["web3"])
    glm.acquire(locking.LEVEL_CLUSTER, [locking.BGL], shared=1)
    with pytest.raises(errors.ProgrammerError, match="cluster"):
        glm.add(locking.LEVEL_CLUSTER, ["other"])
    glm.add(locking.LEVEL_INSTANCE, ["web3"], acquired=1)
    assert glm.check_owned(locking.LEVEL_INSTANCE, "web3", shared=0)
    assert glm.remove(locking.LEVEL_INSTANCE, ["web3"]) == ["web3"]
    assert not glm.is_owned(locking.LEVEL_INSTANCE)
    assert glm.remove(locking.LEVEL_INSTANCE, "web2") == ["web2"]
    assert glm._names(locking.LEVEL_INSTANCE) == {"web1"}
    glm.acquire(locking.LEVEL_INSTANCE, locking.ALL_SET)
    assert glm.owning_all(locking.LEVEL_INSTANCE)
    glm.add(locking.LEVEL_INSTANCE, ["web4"])
    glm.downgrade(locking.LEVEL_INSTANCE)
    assert glm.check_owned(locking.LEVEL_INSTANCE, ["web1"], shared=1)
    glm.release(locking.LEVEL_INSTANCE)
    glm.release(locking.LEVEL_CLUSTER)


def test_manager_opportunistic() -> None:
    glm = _Glm()
    taken = threading.Event()
    done = threading.Event()

    def Holder() -> None:
        glm.acquire(locking.LEVEL_CLUSTER, [locking.BGL], shared=1)
        glm.acquire(locking.LEVEL_NODE, ["node2"])
        taken.set()
        done.wait(_JOIN_TIMEOUT)
        glm.release(locking.LEVEL_NODE)
        glm.release(locking.LEVEL_CLUSTER)

    holder = _Worker(Holder, "holder")
    assert taken.wait(_JOIN_TIMEOUT)
    glm.acquire(locking.LEVEL_CLUSTER, [locking.BGL], shared=1)
    got = glm.acquire(locking.LEVEL_NODE, locking.ALL_SET, opportunistic=True)
    assert got == {"node1", "node10"}
    done.set()
    holder.Join()


def test_query_locks_shows_owners_and_pending() -> None:
    glm = _Glm()
    me = threading.current_thread().name
    glm.acquire(locking.LEVEL_CLUSTER, [locking.BGL], shared=1)
    glm.acquire(locking.LEVEL_INSTANCE, ["web1"])

    def Waiter() -> None:
        glm.acquire(locking.LEVEL_CLUSTER, [locking.BGL], shared=1)
        glm.acquire(locking.LEVEL_INSTANCE, ["web1"], shared=1, test_notify=queued)
        glm.release(locking.LEVEL_INSTANCE)
        glm.release(locking.LEVEL_CLUSTER)

    queued_event = threading.Event()

    def queued(name: str) -> None:
        assert name == "web1"
        queued_event.set()

    worker = _Worker(Waiter, "Job42")
    assert queued_event.wait(_JOIN_TIMEOUT)
    rows = glm.QueryLocks(["name", "mode", "owner", "pending"])
    by_name = {row[0]: row[1:] for row in rows}
    assert [row[0] for row in rows] == utils.NiceSort(by_name)
    assert by_name["cluster/BGL"] == ["shared", sorted(["Job42", me]), []]
    assert by_name["instance/web1"] == ["exclusive", [me], [("shared", ["Job42"])]]
    assert by_name["instance/web2"] == [None, None, []]
    assert by_name["node-res/node10"] == [None, None, []]
    assert "instance/[lockset]" in by_name
    names = [row[0] for row in rows if row[0].startswith("node/")]
    assert names == ["node/[lockset]", "node/node1", "node/node2", "node/node10"]
    assert glm.QueryLocks(["owner", "name"])[0] == [["Job42", me], "cluster/BGL"]
    with pytest.raises(errors.ParameterError, match="bogus"):
        glm.QueryLocks(["name", "bogus"])
    glm.release(locking.LEVEL_INSTANCE)
    worker.Join()
    glm.release(locking.LEVEL_CLUSTER)


def test_removed_lock_disappears_from_query() -> None:
    glm = _Glm()
    glm.acquire(locking.LEVEL_CLUSTER, [locking.BGL], shared=1)
    glm.remove(locking.LEVEL_INSTANCE, ["web2"])
    names = [row[0] for row in glm.QueryLocks(["name"])]
    assert "instance/web2" not in names and "instance/web1" in names


# -- LockAttemptTimeoutStrategy ----------------------------------------------------


def test_lock_attempt_timeouts_grow_then_block() -> None:
    strategy = locking.LockAttemptTimeoutStrategy(_random_fn=lambda: 0.5)
    timeouts = []
    while (timeout := strategy.NextAttempt()) is not None:
        timeouts.append(timeout)
        assert len(timeouts) < 10_000
    assert timeouts[0] == pytest.approx(locking.LOCK_ATTEMPTS_MINWAIT)
    assert timeouts == sorted(timeouts)
    assert max(timeouts) == pytest.approx(locking.LOCK_ATTEMPTS_MAXWAIT)
    assert sum(timeouts) >= locking.LOCK_ATTEMPTS_TIMEOUT
    assert sum(timeouts[:-1]) < locking.LOCK_ATTEMPTS_TIMEOUT
    assert strategy.NextAttempt() is None


def test_lock_attempt_timeouts_jitter_five_percent() -> None:
    low = locking.LockAttemptTimeoutStrategy(_random_fn=lambda: 0.0)
    high = locking.LockAttemptTimeoutStrategy(_random_fn=lambda: 1.0)
    assert low.NextAttempt() == pytest.approx(0.95)
    assert high.NextAttempt() == pytest.approx(1.05)


# -- randomized concurrent stress --------------------------------------------------

_STRESS_SEEDS = [1, 7, 42]
_STRESS_THREADS = 20
_STRESS_ROUNDS = 50
_STRESS_DEADLINE = 30.0


class _Ledger:
    """Who holds which lock, as the workers believe; checks exclusion."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._holders: dict[str, dict[str, bool]] = collections.defaultdict(dict)
        self.violations: list[str] = []

    def Enter(self, who: str, names: list[str], shared: bool) -> None:
        with self._mutex:
            for name in names:
                holders = self._holders[name]
                others = {h: s for h, s in holders.items() if h != who}
                if others and (not shared or not all(others.values())):
                    self.violations.append(
                        f"{who} got {name} shared={shared} while {others} hold it")
                holders[who] = shared

    def Downgrade(self, who: str, names: list[str]) -> None:
        with self._mutex:
            for name in names:
                self._holders[name][who] = True

    def Leave(self, who: str, names: list[str]) -> None:
        with self._mutex:
            for name in names:
                del self._holders[name][who]


def _StressWorker(glm: locking.GanetiLockManager, ledger: _Ledger,
                  rng: random.Random, who: str) -> None:
    for round_no in range(_STRESS_ROUNDS):
        held: list[tuple[int, list[str]]] = []
        try:
            _StressRound(glm, ledger, rng, who, round_no, held)
        finally:
            for level, names in reversed(held):
                ledger.Leave(who, names)
                glm.release(level)


def _StressRound(glm: locking.GanetiLockManager, ledger: _Ledger,
                 rng: random.Random, who: str, round_no: int,
                 held: list[tuple[int, list[str]]]) -> None:
    priority = rng.choice([None, -20, -10, 0, 10, 19])
    bgl_shared = int(rng.random() > 0.03)
    if glm.acquire(locking.LEVEL_CLUSTER, [locking.BGL], shared=bgl_shared,
                   timeout=rng.choice([None, 0.05, 0.2]), priority=priority) is None:
        return
    held.append((locking.LEVEL_CLUSTER, [f"cluster/{locking.BGL}"]))
    ledger.Enter(who, held[-1][1], bool(bgl_shared))
    levels = sorted(rng.sample(locking.LEVELS[1:], rng.randint(0, 3)))
    for level in levels:
        prefix = locking.LEVEL_NAMES[level]
        if level == locking.LEVEL_INSTANCE and rng.random() < 0.1:
            # Add and remove a private lock; needs nothing else held here.
            new = f"tmp-{who}-{round_no}"
            glm.add(level, [new], acquired=1)
            assert glm.remove(level, [new]) == [new]
            continue
        shared = int(rng.random() < 0.5)
        if rng.random() < 0.1:
            names = locking.ALL_SET
        else:
            names = rng.sample(sorted(glm._names(level)), rng.randint(1, 2))
        got = glm.acquire(level, names, shared=shared, priority=priority,
                          timeout=rng.choice([None, 0, 0.001, 0.01, 0.05]),
                          opportunistic=rng.random() < 0.1)
        if got is None:
            break
        if not glm.is_owned(level):
            continue  # opportunistic, and nothing was free
        full = [f"{prefix}/{name}" for name in got]
        held.append((level, full))
        ledger.Enter(who, full, bool(shared))
        if not shared and rng.random() < 0.2:
            ledger.Downgrade(who, full)
            glm.downgrade(level)
        # Hold for a moment now and then, so that others have to queue.
        time.sleep(rng.choice([0, 0, 0, 0.0002, 0.001]))


@pytest.mark.parametrize("seed", _STRESS_SEEDS)
def test_random_concurrent_use_keeps_exclusion_and_finishes(seed: int) -> None:
    glm = locking.GanetiLockManager(
        [f"node{i}" for i in range(4)], ["g1", "g2"],
        [f"inst{i}" for i in range(6)], ["net1", "net2"])
    ledger = _Ledger()
    workers = [
        _Worker(functools.partial(_StressWorker, glm, ledger,
                                  random.Random(seed * 1000 + i), f"w{i}"), f"w{i}")
        for i in range(_STRESS_THREADS)
    ]
    deadline = time.monotonic() + _STRESS_DEADLINE
    for worker in workers:
        worker.thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [w.thread.name for w in workers if w.thread.is_alive()]
    if stuck:
        rows = glm.QueryLocks(["name", "mode", "owner", "pending"])
        dump = "\n".join(str(row) for row in rows if row[1] or row[3])
        pytest.fail(f"seed {seed}: deadlock or livelock, stuck {stuck}:\n{dump}")
    for worker in workers:
        worker.Join()
    assert ledger.violations == []
    rows = glm.QueryLocks(["name", "mode", "pending"])
    assert all(row[1] is None and row[2] == [] for row in rows), rows
    assert glm._names(locking.LEVEL_INSTANCE) == {f"inst{i}" for i in range(6)}

