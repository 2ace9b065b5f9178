"""Advisory whole-file locks (flock), as Ganeti's lib/utils/filelock.py.

flock locks belong to the open file description: two FileLock objects on the
same file conflict even within one process, and a lock is dropped when the
descriptor is closed (by Close, the context manager or process exit).
"""

from __future__ import annotations

import errno
import fcntl
import os
from types import TracebackType

from ganeti import errors
from ganeti.utils import retry as utils_retry

# Back-off while waiting for a lock with a timeout: 0.1 s growing to 1 s.
_LOCK_RETRY_DELAY = (0.1, 1.2, 1.0)


class FileLock:
    """An flock-based lock on an open file."""

    def __init__(self, fd: int, filename: str):
        """Wrap an already open descriptor (the lock takes ownership of it)."""
        self.fd: int | None = fd
        self.filename = filename

    @classmethod
    def Open(cls, filename: str) -> FileLock:
        """Open (creating if needed) filename for locking.

        Raises:
          errors.LockError: the file cannot be opened or created.
        """
        try:
            fd = os.open(filename, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o664)
        except OSError as err:
            raise errors.LockError(
                f"Can't open lock file {filename}: {err.strerror}") from err
        return cls(fd, filename)

    def __enter__(self) -> FileLock:
        return self

    def __exit__(self, exc_type: type[BaseException] | None,
                 exc: BaseException | None, tb: TracebackType | None) -> None:
        self.Close()

    def __del__(self) -> None:
        self.Close()

    def Close(self) -> None:
        """Close the file, releasing any lock held through it."""
        fd = getattr(self, "fd", None)
        if fd is not None:
            self.fd = None
            os.close(fd)

    def _Flock(self, flag: int, blocking: bool, timeout: float | None,
               what: str) -> None:
        if self.fd is None:
            raise errors.LockError(f"Lock file {self.filename} is closed")
        if timeout is not None and timeout < 0:
            raise errors.ProgrammerError(f"Negative lock timeout {timeout}")
        fd = self.fd
        if timeout is None and blocking:
            _FlockOnce(fd, flag, self.filename)
            return
        flag |= fcntl.LOCK_NB
        if timeout is None:
            if not _FlockOnce(fd, flag, self.filename):
                raise errors.LockError(
                    f"Can't acquire lock on {self.filename} in {what} mode:"
                    " held by another process")
            return

        def _TryOnce() -> None:
            if not _FlockOnce(fd, flag, self.filename):
                raise utils_retry.RetryAgain()

        try:
            utils_retry.Retry(_TryOnce, _LOCK_RETRY_DELAY, timeout)
        except utils_retry.RetryTimeout as err:
            raise errors.LockError(
                f"Can't acquire lock on {self.filename} in {what} mode"
                f" within {timeout:g} seconds") from err

    def Exclusive(self, blocking: bool = False,
                  timeout: float | None = None) -> None:
        """Take the lock exclusively (converting a shared lock held).

        Args:
          blocking: wait as long as needed (when timeout is None).
          timeout: wait at most this many seconds.

        Raises:
          errors.LockError: not acquired (held elsewhere, not blocking, or
            timeout expired).
        """
        self._Flock(fcntl.LOCK_EX, blocking, timeout, "exclusive")

    def Shared(self, blocking: bool = False,
               timeout: float | None = None) -> None:
        """Take the lock in shared mode; see Exclusive."""
        self._Flock(fcntl.LOCK_SH, blocking, timeout, "shared")

    def Unlock(self, blocking: bool = True,
               timeout: float | None = None) -> None:
        """Release the lock (the file stays open)."""
        self._Flock(fcntl.LOCK_UN, blocking, timeout, "unlock")


def _FlockOnce(fd: int, flag: int, filename: str) -> bool:
    """flock once; False if the lock is held elsewhere (non-blocking only).

    Raises:
      errors.LockError: flock failed for another reason.
    """
    try:
        fcntl.flock(fd, flag)
    except OSError as err:
        if err.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
            return False
        raise errors.LockError(
            f"Can't lock {filename}: {err.strerror}") from err
    return True
