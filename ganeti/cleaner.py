"""ganeti-cleaner: remove expired files (see ganeti-cleaner(8)).

Ganeti ships this as a shell script; this is the same behaviour in Python.
`ganeti-cleaner master` removes archived job files older than REMOVE_AFTER
days from the queue archive; `ganeti-cleaner node` removes leftovers of
old crypto keys and imports/exports, and the watcher state files of groups
(and hence instances) the watcher no longer updates. Both do nothing on a
machine that is not part of a cluster. Each run logs what it removed to a
file of its own under LOG_DIR/cleaner/, of which the newest KEEP_LOGS are
kept. A lock (LOCK_DIR/ganeti-cleaner.lock) keeps two cleaners apart.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterator

from ganeti import errors, pathutils
from ganeti.cli import EXIT_FAILURE, EXIT_SUCCESS
from ganeti.utils import filelock, io

logger = logging.getLogger(__name__)

# Days after which a file counts as expired (Ganeti's REMOVE_AFTER).
REMOVE_AFTER = 21
# Cleaner log files kept.
KEEP_LOGS = 50
# Exit code of a usage error (EX_USAGE, as Ganeti's script).
USAGE_ERROR_CODE = 64
MODE_MASTER = "master"
MODE_NODE = "node"



def CleanerLogDir() -> str:
    """LOG_DIR/cleaner (read from pathutils at call time)."""
    return os.path.join(pathutils.LOG_DIR, "cleaner")


def CleanerLockFile() -> str:
    """LOCK_DIR/ganeti-cleaner.lock."""
    return os.path.join(pathutils.LOCK_DIR, "ganeti-cleaner.lock")

# Watcher files of a group: watcher.<uuid>.data and watcher.<uuid>.instance-status.
_WATCHER_FILE_RE = re.compile(
    r"^watcher\.[0-9a-fA-F]+(-[0-9a-fA-F]+){4}\.(data|instance-status)$")

_USAGE = "Usage: ganeti-cleaner {master|node}\n"


def _IsOld(path: str, cutoff: float) -> bool:
    try:
        return os.lstat(path).st_mtime < cutoff
    except FileNotFoundError:
        return False


def _Entries(directory: str) -> Iterator[os.DirEntry]:
    try:
        with os.scandir(directory) as entries:
            yield from sorted(entries, key=lambda e: e.name)
    except FileNotFoundError:
        return


def _Remove(path: str, is_dir: bool) -> None:
    try:
        if is_dir:
            shutil.rmtree(path)
        else:
            os.unlink(path)
    except FileNotFoundError:
        return
    logger.info("removed '%s'", path)


def CleanQueueArchive(cutoff: float) -> int:
    """Remove archived job files modified before cutoff; return how many.

    The archive holds one sub-directory per job id range; only files inside
    them are removed (the directories are kept), as Ganeti's script does.
    """
    count = 0
    for sub in _Entries(pathutils.JOB_QUEUE_ARCHIVE_DIR):
        if not sub.is_dir(follow_symlinks=False):
            continue
        for entry in _Entries(sub.path):
            if entry.is_file(follow_symlinks=False) and _IsOld(entry.path, cutoff):
                _Remove(entry.path, False)
                count += 1
    return count


def CleanDirEntries(directory: str, cutoff: float, dirs_only: bool = False) -> int:
    """Remove the entries of directory modified before cutoff; return how many.

    Args:
      directory: e.g. pathutils.CRYPTO_KEYS_DIR.
      cutoff: a time; older entries go.
      dirs_only: remove only sub-directories (with their content).
    """
    count = 0
    for entry in _Entries(directory):
        is_dir = entry.is_dir(follow_symlinks=False)
        if dirs_only and not is_dir:
            continue
        if _IsOld(entry.path, cutoff):
            _Remove(entry.path, is_dir)
            count += 1
    return count


def CleanWatcherFiles(cutoff: float) -> int:
    """Remove the per-group watcher files not updated since cutoff."""
    count = 0
    for entry in _Entries(pathutils.DATA_DIR):
        if (_WATCHER_FILE_RE.match(entry.name) and
                entry.is_file(follow_symlinks=False) and
                _IsOld(entry.path, cutoff)):
            _Remove(entry.path, False)
            count += 1
    return count


def CleanupMaster(cutoff: float) -> None:
    """The master's part: the job queue archive."""
    count = CleanQueueArchive(cutoff)
    logger.info("Removed %d archived job file(s)", count)


def CleanupNode(cutoff: float) -> None:
    """Every node's part: crypto keys, import/export leftovers, watcher files."""
    count = CleanDirEntries(pathutils.CRYPTO_KEYS_DIR, cutoff, dirs_only=True)
    count += CleanDirEntries(pathutils.IMPORT_EXPORT_DIR, cutoff, dirs_only=True)
    count += CleanWatcherFiles(cutoff)
    logger.info("Removed %d expired node file(s)", count)


_MODES: dict[str, Callable[[float], None]] = {
    MODE_MASTER: CleanupMaster,
    MODE_NODE: CleanupNode,
}


def _PruneLogs() -> None:
    logs = sorted(e.name for e in _Entries(CleanerLogDir())
                  if e.is_file(follow_symlinks=False))
    for name in logs[:-KEEP_LOGS] if len(logs) > KEEP_LOGS else []:
        io.RemoveFile(os.path.join(CleanerLogDir(), name))


def _SetupLogging(mode: str) -> logging.Handler:
    os.makedirs(CleanerLogDir(), mode=0o750, exist_ok=True)
    stamp = time.strftime("%Y-%m-%dT%H_%M")
    path = os.path.join(CleanerLogDir(), f"cleaner-{stamp}.{os.getpid()}.log")
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter(
        f"%(asctime)s: ganeti-cleaner {mode} %(levelname)s %(message)s"))
    root = logging.getLogger("")
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return handler


def Run(mode: str, now: float | None = None,
        remove_after: int = REMOVE_AFTER) -> None:
    """Clean up in the given mode (no logging or lock set up here).

    Args:
      mode: MODE_MASTER or MODE_NODE.
      now: the current time (default: time.time()).
      remove_after: days after which a file is expired.

    Raises:
      errors.ProgrammerError: unknown mode.
    """
    if mode not in _MODES:
        raise errors.ProgrammerError(f"Unknown cleaner mode {mode!r}")
    if not os.path.exists(os.path.join(pathutils.DATA_DIR, "ssconf_master_node")):
        logger.info("Not part of a cluster, nothing to clean")
        return
    if now is None:
        now = time.time()
    _MODES[mode](now - remove_after * 86400)


def Main(argv: list[str] | None = None) -> int:
    """The ganeti-cleaner program; return the exit code."""
    if argv is None:
        argv = sys.argv[1:]
    if len(argv) != 1 or argv[0] not in _MODES:
        sys.stderr.write(_USAGE)
        return USAGE_ERROR_CODE
    mode = argv[0]
    try:
        handler = _SetupLogging(mode)
    except OSError as err:
        sys.stderr.write(f"ganeti-cleaner: can't open log in {CleanerLogDir()}:"
                         f" {err}\n")
        return EXIT_FAILURE
    try:
        with filelock.FileLock.Open(CleanerLockFile()) as lock:
            try:
                lock.Exclusive(blocking=False)
            except errors.LockError:
                logger.info("Another cleaner is running, exiting")
                return EXIT_SUCCESS
            Run(mode)
        _PruneLogs()
    except (errors.LockError, OSError) as err:
        logger.error("Cleaner failed: %s", err)
        sys.stderr.write(f"ganeti-cleaner: {err}\n")
        return EXIT_FAILURE
    finally:
        logging.getLogger("").removeHandler(handler)
        handler.close()
    return EXIT_SUCCESS
