"""Tests for ganeti.utils.filelock with real flock locks."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from ganeti import errors
from ganeti.utils.filelock import FileLock


@pytest.fixture
def lock_path(tmp_path):
    return str(tmp_path / "test.lock")


def test_open_creates_file_and_exclusive_excludes_others(lock_path):
    with FileLock.Open(lock_path) as first, FileLock.Open(lock_path) as second:
        first.Exclusive()
        with pytest.raises(errors.LockError, match="exclusive mode"):
            second.Exclusive()
        with pytest.raises(errors.LockError, match="shared mode"):
            second.Shared()
        first.Unlock()
        second.Exclusive()


def test_shared_locks_coexist_but_block_exclusive(lock_path):
    with (FileLock.Open(lock_path) as a, FileLock.Open(lock_path) as b,
          FileLock.Open(lock_path) as c):
        a.Shared()
        b.Shared()
        with pytest.raises(errors.LockError):
            c.Exclusive()


def test_timeout_expires_with_lock_error(lock_path):
    with FileLock.Open(lock_path) as holder, FileLock.Open(lock_path) as waiter:
        holder.Exclusive()
        start = time.monotonic()
        with pytest.raises(errors.LockError, match="Can't acquire lock.*0.3 sec"):
            waiter.Exclusive(timeout=0.3)
        assert 0.25 <= time.monotonic() - start < 2


def test_timeout_acquires_when_released(lock_path):
    with FileLock.Open(lock_path) as holder, FileLock.Open(lock_path) as waiter:
        holder.Exclusive()
        releaser = threading.Timer(0.2, holder.Unlock)
        releaser.start()
        try:
            waiter.Exclusive(timeout=5)
        finally:
            releaser.join()
        with pytest.raises(errors.LockError):
            holder.Shared()


def test_blocking_waits_for_release(lock_path):
    with FileLock.Open(lock_path) as holder, FileLock.Open(lock_path) as waiter:
        holder.Exclusive()
        releaser = threading.Timer(0.2, holder.Close)
        releaser.start()
        start = time.monotonic()
        waiter.Shared(blocking=True)
        releaser.join()
        assert time.monotonic() - start >= 0.15


def test_close_releases_and_forbids_further_use(lock_path):
    lock = FileLock.Open(lock_path)
    lock.Exclusive()
    lock.Close()
    lock.Close()
    with pytest.raises(errors.LockError, match="closed"):
        lock.Exclusive()
    with FileLock.Open(lock_path) as other:
        other.Exclusive()


def test_lock_held_by_other_process(lock_path):
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, sys\n"
         "fh = open(sys.argv[1], 'a')\n"
         "fcntl.flock(fh, fcntl.LOCK_EX)\n"
         "print('locked', flush=True)\n"
         "sys.stdin.read()", lock_path],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b"locked\n"
        with FileLock.Open(lock_path) as lock:
            with pytest.raises(errors.LockError):
                lock.Shared(timeout=0.1)
            holder.stdin.close()
            holder.wait(timeout=5)
            lock.Shared(timeout=2)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        holder.stdout.close()


def test_open_in_missing_directory(tmp_path):
    with pytest.raises(errors.LockError, match="Can't open lock file"):
        FileLock.Open(str(tmp_path / "nodir" / "x.lock"))
