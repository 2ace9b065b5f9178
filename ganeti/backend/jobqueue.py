"""Job queue replication on master candidates (Ganeti's JobQueue* backend).

The master keeps every job file on all master candidates so that any of
them can take over. These procedures may only touch files strictly below
the queue directory: paths are resolved (symlinks and ".." included) before
the check, and the resolved path is the one written.

Like Ganeti's noded (_RequireJobQueueLock), queue procedures run one at a
time on a node: a rename racing an update of the same job must not
interleave.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from ganeti import constants, errors, pathutils
from ganeti.backend import RPCFail, args
from ganeti.rpc import encoding
from ganeti.utils import io

logger = logging.getLogger(__name__)

_QUEUE_LOCK = threading.Lock()


def _EnsureJobQueueFile(path: str) -> str:
    """Return the resolved path if it lies below the queue directory.

    Raises:
      RPCFail: the path (after resolving symlinks and "..") is the queue
        directory itself or outside it.
    """
    queue_dir = os.path.realpath(pathutils.QUEUE_DIR)
    real = os.path.realpath(path)
    if not io.IsBelowDir(queue_dir, real):
        raise RPCFail(f"Passed job queue file '{path}' does not belong to the"
                      f" queue directory '{pathutils.QUEUE_DIR}'")
    return real


def _MakeQueueDirs() -> None:
    """Create the queue and archive directories if they are missing.

    Existing directories keep their owner and mode (they may belong to the
    master daemon's user).
    """
    for dir_name in (pathutils.QUEUE_DIR, pathutils.JOB_QUEUE_ARCHIVE_DIR):
        os.makedirs(dir_name, mode=constants.JOB_QUEUE_DIRS_PERMS, exist_ok=True)


@args.RpcProcedure("jobqueue_update")
def JobQueueUpdate(file_name: Any, content: Any) -> None:
    """Atomically replace a job queue file with the master's content.

    Args:
      file_name: virtual or absolute path below the queue directory.
      content: the new content as [encoding, data].

    Raises:
      RPCFail: the path is outside the queue, the content is malformed or
        the file cannot be written (it keeps its old content then).
    """
    path = args.LocalizePath(file_name, "job queue file name")
    real = _EnsureJobQueueFile(path)
    try:
        data = encoding.Decompress(content)
    except errors.GenericError as err:
        raise RPCFail(f"Invalid content for job queue file '{path}': {err}"
                      ) from err
    with _QUEUE_LOCK:
        try:
            _MakeQueueDirs()
            io.WriteFile(real, data, mode=constants.JOB_QUEUE_FILES_PERMS,
                         mkdir_mode=constants.JOB_QUEUE_DIRS_PERMS)
        except OSError as err:
            raise RPCFail(f"Can't write job queue file '{path}': {err}") from err


def _CheckRenamePairs(rename: Any) -> list[tuple[str, str, str]]:
    """Validate every [old, new] pair; return (shown old, real old, real new)."""
    pairs = []
    for idx, pair in enumerate(args.CheckList(rename, "argument 'rename'")):
        old, new = args.CheckList(pair, f"rename pair {idx}", length=2)
        old_path = args.LocalizePath(old, f"old name in rename pair {idx}")
        new_path = args.LocalizePath(new, f"new name in rename pair {idx}")
        pairs.append((old_path, _EnsureJobQueueFile(old_path),
                      _EnsureJobQueueFile(new_path)))
    return pairs


@args.RpcProcedure("jobqueue_rename")
def JobQueueRename(rename: Any) -> list[None]:
    """Rename job queue files, e.g. into archive/<N>/ when archiving.

    All pairs are checked before the first rename; the destination's
    directory is created if missing.

    Args:
      rename: [[old, new], ...], both paths below the queue directory.

    Returns:
      One None per pair (Ganeti's per-pair result list).

    Raises:
      RPCFail: a path is outside the queue (nothing renamed), or a rename
        failed (the pairs before it stay renamed).
    """
    pairs = _CheckRenamePairs(rename)
    with _QUEUE_LOCK:
        for shown_old, old, new in pairs:
            new_dir = os.path.dirname(new)
            try:
                os.makedirs(new_dir, mode=constants.JOB_QUEUE_DIRS_PERMS,
                            exist_ok=True)
                os.rename(old, new)
                _FsyncDir(new_dir)
            except OSError as err:
                raise RPCFail(f"Can't rename job queue file '{shown_old}' to"
                              f" '{new}': {err}") from err
    return [None] * len(pairs)


def _FsyncDir(dir_name: str) -> None:
    # Make the rename durable, as io.WriteFile does for its own renames.
    fd = os.open(dir_name, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _CleanDirectory(path: str, exclude: frozenset[str] = frozenset()) -> None:
    """Remove the visible regular files directly in path (Ganeti's semantics).

    Symlinks, hidden files and directories are left alone.
    """
    if not os.path.isdir(path):
        return
    for name in sorted(os.listdir(path)):
        full_name = os.path.join(path, name)
        if name.startswith(".") or full_name in exclude:
            continue
        if os.path.isfile(full_name) and not os.path.islink(full_name):
            io.RemoveFile(full_name)


@args.RpcProcedure("jobqueue_purge")
def JobQueuePurge() -> None:
    """Remove all job queue files and archived jobs, keeping the lock file.

    Unlike Ganeti, which only cleans the top of the archive directory, the
    archive's per-range subdirectories (archive/<N>/) are emptied and
    removed as well, so that no archived job survives a purge.

    Raises:
      RPCFail: a file or directory could not be removed.
    """
    archive_dir = pathutils.JOB_QUEUE_ARCHIVE_DIR
    with _QUEUE_LOCK:
        try:
            _CleanDirectory(pathutils.QUEUE_DIR,
                            frozenset([pathutils.JOB_QUEUE_LOCK_FILE]))
            _CleanDirectory(archive_dir)
            for name in sorted(os.listdir(archive_dir)
                               if os.path.isdir(archive_dir) else []):
                subdir = os.path.join(archive_dir, name)
                if name.startswith(".") or os.path.islink(subdir):
                    continue
                if os.path.isdir(subdir):
                    _CleanDirectory(subdir)
                    if not os.listdir(subdir):
                        os.rmdir(subdir)
        except OSError as err:
            raise RPCFail(f"Can't purge the job queue: {err}") from err


@args.RpcProcedure("jobqueue_set_drain_flag")
def JobQueueSetDrainFlag(flag: Any) -> None:
    """Set (create the drain file) or clear (remove it) the queue drain flag.

    Raises:
      RPCFail: flag is not a boolean, or the file cannot be changed.
    """
    flag = args.CheckBool(flag, "argument 'flag'")
    with _QUEUE_LOCK:
        try:
            if flag:
                _MakeQueueDirs()
                io.WriteFile(pathutils.JOB_QUEUE_DRAIN_FILE, "",
                             mode=constants.JOB_QUEUE_FILES_PERMS)
            else:
                io.RemoveFile(pathutils.JOB_QUEUE_DRAIN_FILE)
        except OSError as err:
            raise RPCFail(f"Can't change the job queue drain flag: {err}") from err
