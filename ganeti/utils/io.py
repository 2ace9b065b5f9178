"""File helpers: atomic writes with fsync, reads, directory set-up.

Every file that matters is written to a temporary file in the same directory,
fsynced, then renamed over the target, and the directory is fsynced: after a
crash at any point the target holds either the old or the new content, never
a mix (see test/unit/utils/test_io.py, which kills a writer between the write
and the rename).
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable

from ganeti import errors


def _FsyncDir(dirname: str) -> None:
    fd = os.open(dirname, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def WriteFile(file_name: str, data: str | bytes = b"", *,
              mode: int | None = None, uid: int = -1, gid: int = -1,
              atime: float | None = None, mtime: float | None = None,
              mkdir_mode: int | None = None,
              _before_rename: Callable[[str], None] | None = None) -> None:
    """Atomically replace file_name with data.

    Args:
      file_name: absolute path of the target.
      data: the new content (str is encoded as UTF-8).
      mode: permission bits for the new file (default 0o644 & ~umask).
      uid, gid: owner to set (-1 leaves it).
      atime, mtime: times to set (both or neither).
      mkdir_mode: create missing parent directories with this mode.
      _before_rename: test seam, called with the temp file's name after fsync.

    Raises:
      OSError: the file could not be written; the target is untouched and
        no temporary file is left behind.
    """
    if not os.path.isabs(file_name):
        raise errors.ProgrammerError(f"Path must be absolute: {file_name!r}")
    if isinstance(data, str):
        data = data.encode("utf-8")
    dir_name, base = os.path.split(file_name)
    if mkdir_mode is not None:
        os.makedirs(dir_name, mode=mkdir_mode, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{base}.", suffix=".new", dir=dir_name)
    try:
        try:
            if mode is not None:
                os.fchmod(fd, mode)
            else:
                umask = os.umask(0)
                os.umask(umask)
                os.fchmod(fd, 0o644 & ~umask)
            if uid != -1 or gid != -1:
                os.fchown(fd, uid, gid)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        if atime is not None and mtime is not None:
            os.utime(tmp_name, (atime, mtime))
        if _before_rename is not None:
            _before_rename(tmp_name)
        os.rename(tmp_name, file_name)
    except BaseException:
        RemoveFile(tmp_name)
        raise
    _FsyncDir(dir_name)


def ReadFile(file_name: str, size: int = -1) -> str:
    """Read a whole text file (UTF-8)."""
    with open(file_name, encoding="utf-8") as fh:
        return fh.read(size)


def ReadBinaryFile(file_name: str, size: int = -1) -> bytes:
    with open(file_name, "rb") as fh:
        return fh.read(size)


def ReadOneLineFile(file_name: str, strict: bool = False) -> str:
    """Return the first line of a file, without its newline.

    Raises:
      errors.GenericError: strict is set and the file has more than one line,
        or the file is empty.
    """
    lines = ReadFile(file_name).splitlines()
    if not lines or not lines[0].strip():
        raise errors.GenericError(f"No data in one-liner file {file_name}")
    if strict and len(lines) > 1:
        raise errors.GenericError(f"Too many lines in one-liner file {file_name}")
    return lines[0].rstrip()


def RemoveFile(file_name: str) -> None:
    """Remove a file, ignoring a missing one."""
    try:
        os.unlink(file_name)
    except OSError as err:
        if err.errno not in (errno.ENOENT, errno.EISDIR):
            raise


def EnsureDirs(dirs: list[tuple[str, int]]) -> None:
    """Create directories (with parents) and force their permission bits."""
    for dir_name, dir_mode in dirs:
        try:
            os.makedirs(dir_name, mode=dir_mode, exist_ok=True)
        except OSError as err:
            raise errors.GenericError(
                f"Cannot create directory {dir_name}: {err.strerror}") from err
        if not os.path.isdir(dir_name):
            raise errors.GenericError(f"{dir_name} is not a directory")
        os.chmod(dir_name, dir_mode)


def IsBelowDir(root: str, other_path: str) -> bool:
    """Whether other_path (normalised) lies strictly below root."""
    root = os.path.normpath(root)
    other = os.path.normpath(other_path)
    if root == "/":
        return other != "/" and other.startswith("/")
    return other.startswith(root + "/")
