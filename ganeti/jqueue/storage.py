"""The queue directory: lock, version, serial, drain flag, job files, archive.

Layout (spec/jobs.md section 5), below the queue directory:

  lock                 held (flock, exclusive) while a JobQueue has it open
  version              queue format version, "1\\n"
  serial               last allocated job id, decimal + "\\n"
  drain                present = the queue refuses new jobs
  job-<id>             a live job, JSON (serializer.DumpJson)
  archive/<id//10000>/job-<id>   an archived job

Every file is written with utils.io.WriteFile (temporary file, fsync,
rename, fsync of the directory), so after a crash a file holds either its
old or its new content. A crash can leave the temporary files behind
(".job-12.abc123.new"); Open removes them.

After a local write, the change is replicated to the master candidates
through the callbacks given by masterd. Their failures are logged and never
fail the job: the local file is authoritative, and a candidate catches up
with the next write of the same file.
"""

from __future__ import annotations

import errno
import logging
import os
import re
from collections.abc import Callable

from ganeti import constants, errors, serializer
from ganeti.utils import io as utils_io
from ganeti.utils.filelock import FileLock

logger = logging.getLogger(__name__)

#: Queue format version (Ganeti's JOB_QUEUE_VERSION).
JOB_QUEUE_VERSION = 1
#: Jobs per archive sub-directory (Ganeti's JSTORE_JOBS_PER_ARCHIVE_DIRECTORY).
JSTORE_JOBS_PER_ARCHIVE_DIRECTORY = 10000

_JOB_FILE_RE = re.compile(r"^job-(" + constants.JOB_ID_TEMPLATE + r")$")
_TEMP_FILE_RE = re.compile(r"^\..+\.new$")

ReplicateFn = Callable[[str, str], None]
ReplicateRenameFn = Callable[[list[tuple[str, str]]], None]
ReplicateDrainFn = Callable[[bool], None]


def _FsyncDir(dir_name: str) -> None:
    fd = os.open(dir_name, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _ListJobIds(dir_name: str) -> list[int]:
    """Ids of the job files in one directory (missing directory: none)."""
    try:
        names = os.listdir(dir_name)
    except FileNotFoundError:
        return []
    return [int(m.group(1)) for m in map(_JOB_FILE_RE.match, names) if m]


class JobStorage:
    """Files of one queue directory; see the module docstring for the layout."""

    def __init__(self, queue_dir: str,
                 replicate_fn: ReplicateFn | None = None,
                 replicate_rename_fn: ReplicateRenameFn | None = None,
                 replicate_drain_fn: ReplicateDrainFn | None = None):
        """Remember the paths; nothing is touched before Open."""
        if not os.path.isabs(queue_dir):
            raise errors.ProgrammerError(
                f"Queue directory must be absolute: {queue_dir}")
        self.queue_dir = os.path.normpath(queue_dir)
        self.archive_dir = os.path.join(self.queue_dir, "archive")
        self.lock_file = os.path.join(self.queue_dir, "lock")
        self.serial_file = os.path.join(self.queue_dir, "serial")
        self.version_file = os.path.join(self.queue_dir, "version")
        self.drain_file = os.path.join(self.queue_dir, "drain")
        self._replicate_fn = replicate_fn
        self._replicate_rename_fn = replicate_rename_fn
        self._replicate_drain_fn = replicate_drain_fn
        self._lock: FileLock | None = None
        self.last_serial = 0

    # --- opening and closing -------------------------------------------

    def Open(self) -> None:
        """Create the directories, take the queue lock, check the version.

        Raises:
          errors.JobQueueError: another queue holds the lock, the version
            is not supported, or the serial file is unreadable.
          errors.GenericError: the directories cannot be created.
        """
        utils_io.EnsureDirs([(self.queue_dir, constants.JOB_QUEUE_DIRS_PERMS),
                             (self.archive_dir, constants.JOB_QUEUE_DIRS_PERMS)])
        lock = FileLock.Open(self.lock_file)
        try:
            lock.Exclusive(blocking=False)
        except errors.LockError as err:
            lock.Close()
            raise errors.JobQueueError(
                f"Job queue {self.queue_dir} is in use by another job queue"
                f" (lock file {self.lock_file} is held)") from err
        self._lock = lock
        try:
            self._CheckVersion()
            self._RemoveTempFiles()
            self.last_serial = self._ReadSerial()
        except BaseException:
            self.Close()
            raise

    def Close(self) -> None:
        """Release the queue lock (idempotent)."""
        if self._lock is not None:
            self._lock.Close()
            self._lock = None

    def _CheckVersion(self) -> None:
        try:
            text = utils_io.ReadFile(self.version_file).strip()
        except FileNotFoundError:
            self.WriteFile(self.version_file, f"{JOB_QUEUE_VERSION}\n",
                           replicate=False)
            return
        if text != str(JOB_QUEUE_VERSION):
            raise errors.JobQueueError(
                f"Found job queue version {text!r} in {self.version_file},"
                f" expected {JOB_QUEUE_VERSION}")

    def _RemoveTempFiles(self) -> None:
        """Remove what interrupted atomic writes left behind."""
        for name in os.listdir(self.queue_dir):
            if _TEMP_FILE_RE.match(name):
                path = os.path.join(self.queue_dir, name)
                logger.warning("Removing leftover of an interrupted write: %s", path)
                utils_io.RemoveFile(path)

    def _ReadSerial(self) -> int:
        """The last allocated job id, never below an existing job's id."""
        try:
            text = utils_io.ReadFile(self.serial_file).strip()
        except FileNotFoundError:
            text = "0"
        if not text.isdigit():
            raise errors.JobQueueError(
                f"Job queue serial file {self.serial_file} holds {text!r},"
                " not a job id")
        existing = self.ListLiveJobIds() + self.ListArchivedJobIds()
        # A lost or stale serial file must never make us reuse a job id.
        return max([int(text)] + existing)

    # --- paths and listings --------------------------------------------

    def GetJobPath(self, job_id: int) -> str:
        return os.path.join(self.queue_dir, f"job-{job_id}")

    def GetArchivedJobPath(self, job_id: int) -> str:
        bucket = str(job_id // JSTORE_JOBS_PER_ARCHIVE_DIRECTORY)
        return os.path.join(self.archive_dir, bucket, f"job-{job_id}")

    def ListLiveJobIds(self) -> list[int]:
        return sorted(_ListJobIds(self.queue_dir))

    def ListArchivedJobIds(self) -> list[int]:
        try:
            buckets = [name for name in os.listdir(self.archive_dir)
                       if name.isdigit()]
        except FileNotFoundError:
            return []
        return sorted(job_id for bucket in buckets
                      for job_id in _ListJobIds(os.path.join(self.archive_dir,
                                                             bucket)))

    # --- reading and writing -------------------------------------------

    def ReadJobData(self, path: str) -> object | None:
        """Parse a job file; None if it does not exist.

        Raises:
          errors.JobFileCorrupted: the file cannot be read or parsed.
        """
        try:
            text = utils_io.ReadFile(path)
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as err:
            raise errors.JobFileCorrupted(f"Cannot read {path}: {err}") from err
        try:
            return serializer.LoadJson(text)
        except errors.ParseError as err:
            raise errors.JobFileCorrupted(f"Cannot parse {path}: {err}") from err

    def WriteFile(self, path: str, content: str, replicate: bool = True) -> None:
        """Write a queue file atomically, then replicate it if asked to.

        Raises:
          OSError: the local write failed; the old file is untouched.
        """
        utils_io.WriteFile(path, content, mode=constants.JOB_QUEUE_FILES_PERMS)
        if replicate:
            self.Replicate(path, content)

    def Replicate(self, path: str, content: str) -> None:
        """Send a file's content to the master candidates (best effort)."""
        if self._replicate_fn is None:
            return
        try:
            self._replicate_fn(path, content)
        except Exception as err:  # noqa: BLE001 - any failure is only logged
            logger.warning("Replicating %s to the master candidates failed: %s",
                           path, err)

    def ReplicateRenames(self, renames: list[tuple[str, str]]) -> None:
        """Send renames to the master candidates (best effort)."""
        if self._replicate_rename_fn is None or not renames:
            return
        try:
            self._replicate_rename_fn(renames)
        except Exception as err:  # noqa: BLE001 - any failure is only logged
            logger.warning("Replicating the renames %s failed: %s", renames, err)

    def AllocateIds(self, count: int) -> list[int]:
        """Allocate count new job ids and persist the serial file.

        The caller serialises calls (the queue's submit lock).

        Raises:
          errors.JobQueueError: the serial file could not be written; no id
            was allocated.
        """
        if count <= 0:
            raise errors.ProgrammerError(f"Cannot allocate {count} job ids")
        last = self.last_serial + count
        content = f"{last}\n"
        try:
            self.WriteFile(self.serial_file, content, replicate=False)
        except OSError as err:
            raise errors.JobQueueError(
                f"Cannot write the job queue serial file: {err}") from err
        self.Replicate(self.serial_file, content)
        first = self.last_serial + 1
        self.last_serial = last
        return list(range(first, last + 1))

    def ArchiveJobFile(self, job_id: int) -> tuple[str, str]:
        """Move a live job file into its archive bucket (not replicated).

        Returns:
          the (old, new) path pair, for ReplicateRenames.

        Raises:
          OSError: the rename failed; the live file is untouched.
        """
        old = self.GetJobPath(job_id)
        new = self.GetArchivedJobPath(job_id)
        bucket = os.path.dirname(new)
        os.makedirs(bucket, mode=constants.JOB_QUEUE_DIRS_PERMS, exist_ok=True)
        os.rename(old, new)
        _FsyncDir(bucket)
        _FsyncDir(self.queue_dir)
        return (old, new)

    # --- drain flag ----------------------------------------------------

    def IsDrained(self) -> bool:
        return os.path.exists(self.drain_file)

    def SetDrainFlag(self, drain: bool) -> None:
        """Create or remove the drain file, then replicate the flag.

        Raises:
          errors.JobQueueError: the file could not be changed.
        """
        try:
            if drain:
                utils_io.WriteFile(self.drain_file, "",
                                   mode=constants.JOB_QUEUE_FILES_PERMS)
            else:
                utils_io.RemoveFile(self.drain_file)
        except OSError as err:
            raise errors.JobQueueError(
                f"Cannot {'set' if drain else 'clear'} the queue drain flag:"
                f" {os.strerror(err.errno or errno.EIO)}") from err
        if self._replicate_drain_fn is not None:
            try:
                self._replicate_drain_fn(drain)
            except Exception as err:  # noqa: BLE001 - any failure is only logged
                logger.warning("Replicating the drain flag failed: %s", err)
