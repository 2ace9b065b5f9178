"""File-backed disks (templates file and sharedfile) and the file storage rules.

Mirrors Ganeti's lib/storage/filestorage.py. A disk is one sparse file: its
logical_id is [driver, path] (driver "loop", "blktap" or "blktap2", which
only the Xen hypervisor looks at); the file is created with the disk's full
apparent size and no blocks allocated, grown with ftruncate and removed with
unlink. The file and sharedfile templates use the same driver; they differ
only in the cluster directory their files must live in (FileStorage and
SharedFileStorage below).

Path rules, checked on the node before any file is touched (a violation is
an errors.FileStoragePathError naming the path and the rule):

1. The path is absolute, has no ".." component and no NUL byte.
2. It is (strictly) below an entry of pathutils.FILE_STORAGE_PATHS_FILE
   (/etc/ganeti/file-storage-paths, one directory per line, "#" comments);
   a node without that file accepts no file storage at all, as Ganeti.
3. It is not below a system directory (/boot, /dev, /etc, /home, /proc,
   /root, /sys and the bin/lib/sbin directories; Ganeti's list).
4. New files, renames and storage directories must also lie below the
   cluster's storage directory for their template, as this node's ssconf
   says (file_storage_dir, shared_file_storage_dir); existing files are
   found and removed even after the cluster's directory has changed.

Virtual clusters (ganeti/vcluster.py: several nodes on one machine, each
with its own root directory). The cluster configuration holds the paths the
master used, e.g. <base>/node1/srv/ganeti/file-storage for the file
template. On a virtual node:

* "file" paths (node-local storage) inside another virtual node's root are
  moved into this node's root (<base>/node1/x -> <base>/node2/x), so that
  every node has its own disks, as on real machines; the other node roots
  are recognised by the node names in ssconf_node_list.
* "sharedfile" paths are used as they are: every node sees the same file,
  which is what shared storage means. A test that wants the shared
  directory outside any node root sets the cluster's
  shared_file_storage_dir to a common directory (e.g. <base>/shared) and
  lists it in each node's file-storage-paths.
* Entries of file-storage-paths are taken as host paths and, in addition,
  relative to this node's root ("/srv/ganeti/file-storage" allows
  <root>/srv/ganeti/file-storage); an entry inside another node's root
  is moved into this one's as for "file" paths. So what a virtual cluster
  must do: give every node an etc/ganeti/file-storage-paths (below its
  root) listing the cluster's file storage directories, and, for
  sharedfile, the common shared directory as a host path.
* The system directories of rule 3 are checked relative to the node root.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from collections.abc import Callable, Sequence
from typing import Any

from ganeti import constants, errors, pathutils, ssconf, vcluster
from ganeti.storage import base
from ganeti.utils import io, text

logger = logging.getLogger(__name__)

MIB = 1024 * 1024

# Guest data is private: disk files are readable by their owner (root, who
# runs the hypervisors) only. Ganeti leaves them at the umask's mercy.
_FILE_MODE = 0o600
# Instance directories below the storage dir, as Ganeti's makedirs(0750).
DIR_MODE = 0o750


def _GetForbiddenFileStoragePaths() -> frozenset[str]:
    """Directories file storage must never be in (Ganeti's list)."""
    paths = {"/boot", "/dev", "/etc", "/home", "/proc", "/root", "/sys"}
    for prefix in ("", "/usr", "/usr/local"):
        paths.update(f"{prefix}/{name}"
                     for name in ("bin", "lib", "lib32", "lib64", "sbin"))
    return frozenset(os.path.normpath(path) for path in paths)


FORBIDDEN_FILE_STORAGE_PATHS = _GetForbiddenFileStoragePaths()


# --- virtual nodes ---------------------------------------------------------------

def _VirtualNodeNames() -> frozenset[str]:
    """Names of the cluster's nodes from ssconf (empty if unknown)."""
    try:
        return frozenset(ssconf.SimpleStore().GetNodeList())
    except errors.GenericError:
        return frozenset()


def _OtherNodeRelative(path: str) -> tuple[str, str] | None:
    """Split a path inside another virtual node's root into (node, rest)."""
    base_dir = vcluster.GetBaseDirectory()
    if not base_dir or not io.IsBelowDir(base_dir, path):
        return None
    node, _, rest = os.path.relpath(path, base_dir).partition("/")
    if node == vcluster.GetVirtualHostname() or node not in _VirtualNodeNames():
        return None
    return node, "/" + rest


def StoragePathsFileEntry(path: str) -> str:
    """How a storage directory is written into the file-storage-paths file.

    On a virtual node a directory below the node root is written relative
    to it, so that every node of a virtual cluster has the same file (and
    cluster verify, which compares the file's checksums, sees no
    difference); anything else is written as it is.
    """
    path = os.path.normpath(path)
    root = vcluster.GetRootDirectory()
    if root and path.startswith(root + "/"):
        return path[len(root):]
    return path


def LocalizeStoragePath(path: str, shared: bool) -> str:
    """Return where a file storage path of the configuration is on this node.

    Virtual paths (vcluster wire form) get this node's root. On a virtual
    node a non-shared path inside another node's root is moved into this
    node's root (see the module docstring); any other path is returned
    normalised.

    Raises:
      errors.FileStoragePathError: a virtual path on a non-virtual node.
    """
    if path.startswith(constants.VIRTUAL_PATH_PREFIX):
        try:
            return os.path.normpath(vcluster.LocalizeVirtualPath(path))
        except errors.GenericError as err:
            raise errors.FileStoragePathError(
                f"Invalid file storage path '{path}': {err}") from err
    path = os.path.normpath(path)
    if shared or not vcluster.IsVirtual():
        return path
    other = _OtherNodeRelative(path)
    if other is None:
        return path
    return vcluster.AddNodePrefix(other[1])


def _NodeRelative(path: str) -> str:
    """The path as the node it belongs to sees it (for the system dir check)."""
    root = vcluster.GetRootDirectory()
    if not root:
        return path
    if path == root or io.IsBelowDir(root, path):
        rel = os.path.relpath(path, root)
        return "/" if rel == "." else "/" + rel
    other = _OtherNodeRelative(path)
    return path if other is None else other[1]


# --- allowed paths ---------------------------------------------------------------

def LoadAllowedFileStoragePaths(filename: str) -> list[str]:
    """Return the entries of an allowed-paths file ([] if it is unreadable)."""
    try:
        contents = io.ReadFile(filename)
    except (OSError, UnicodeDecodeError):
        return []
    return text.FilterEmptyLinesAndComments(contents)


def _ComputeWrongFileStoragePaths(paths: Sequence[str]) -> list[str]:
    """Return (nice-sorted) the paths that are relative or in system dirs."""
    def _IsWrong(path: str) -> bool:
        if not os.path.isabs(path):
            return True
        plain = os.path.normpath(_NodeRelative(path))
        return any(plain == bad or io.IsBelowDir(bad, plain)
                   for bad in FORBIDDEN_FILE_STORAGE_PATHS)

    return text.NiceSort(os.path.normpath(path) for path in paths if _IsWrong(path))


def ComputeWrongFileStoragePaths(_filename: str | None = None) -> list[str]:
    """Return the entries of the allowed-paths file that use a forbidden prefix."""
    filename = _filename or pathutils.FILE_STORAGE_PATHS_FILE
    return _ComputeWrongFileStoragePaths(LoadAllowedFileStoragePaths(filename))


def _EntryCandidates(entry: str) -> set[str]:
    """The local directories one allowed-paths entry stands for."""
    entry = os.path.normpath(entry)
    candidates = {entry, LocalizeStoragePath(entry, shared=False)}
    root = vcluster.GetRootDirectory()
    if root and entry != root and not io.IsBelowDir(root, entry):
        candidates.add(vcluster.AddNodePrefix(entry))
    return candidates


def _CheckPathSyntax(path: Any) -> str:
    """Rule 1 of the module docstring; returns the path."""
    if not isinstance(path, str) or not path:
        raise errors.FileStoragePathError(
            f"File storage path must be a non-empty string, got {path!r}")
    if "\0" in path:
        raise errors.FileStoragePathError(
            f"File storage path {path!r} contains a NUL byte")
    if not os.path.isabs(path) and not path.startswith(
            constants.VIRTUAL_PATH_PREFIX):
        raise errors.FileStoragePathError(
            f"File storage path must be absolute, got '{path}'")
    if ".." in path.split("/"):
        raise errors.FileStoragePathError(
            f"File storage path '{path}' must not contain '..' components")
    return path


def CheckFileStoragePathAcceptance(path: str, _filename: str | None = None,
                                   exact_match_ok: bool = False) -> None:
    """Check rules 1 to 3 of the module docstring for a local path.

    Args:
      path: the path on this node (already localized).
      _filename: the allowed-paths file (default FILE_STORAGE_PATHS_FILE).
      exact_match_ok: also accept the path of an entry itself (directories).

    Raises:
      errors.FileStoragePathError: the path is not acceptable.
    """
    filename = _filename or pathutils.FILE_STORAGE_PATHS_FILE
    _CheckPathSyntax(path)
    allowed = LoadAllowedFileStoragePaths(filename)
    if not allowed:
        raise errors.FileStoragePathError(
            f"No paths are valid or path file '{filename}' was not accessible.")
    if _ComputeWrongFileStoragePaths([path]):
        raise errors.FileStoragePathError(f"Path '{path}' uses a forbidden prefix")
    norm = os.path.normpath(path)
    for entry in allowed:
        if not os.path.isabs(entry):
            logger.info("Ignoring relative path '%s' for file storage", entry)
            continue
        for candidate in _EntryCandidates(entry):
            if io.IsBelowDir(candidate, norm) or (exact_match_ok
                                                  and candidate == norm):
                return
    raise errors.FileStoragePathError(
        f"Path '{path}' is not acceptable for file storage (not below an entry"
        f" of {filename})")


def CheckFileStoragePath(path: str, _allowed_paths_file: str | None = None
                         ) -> str | None:
    """Return why a storage directory is unusable here, or None if usable.

    Rules 1 to 3, and the directory must exist and be writable.
    """
    try:
        CheckFileStoragePathAcceptance(path, _filename=_allowed_paths_file,
                                       exact_match_ok=True)
    except errors.FileStoragePathError as err:
        return str(err)
    if not os.path.isdir(path):
        return f"Path '{path}' is not existing or not a directory."
    if not os.access(path, os.W_OK):
        return f"Path '{path}' is not writable"
    return None


# --- the cluster's directories (ssconf) -------------------------------------------

_SSCONF_DIR_KEYS = {
    constants.ST_FILE: ssconf.SS_FILE_STORAGE_DIR,
    constants.ST_SHARED_FILE: ssconf.SS_SHARED_FILE_STORAGE_DIR,
    constants.ST_GLUSTER: ssconf.SS_GLUSTER_STORAGE_DIR,
}


def GetClusterStorageDirs() -> dict[str, str]:
    """Return storage type -> the cluster's directory as configured (ssconf).

    Types whose directory is unset are left out.

    Raises:
      errors.FileStoragePathError: ssconf cannot be read (not in a cluster).
    """
    store = ssconf.SimpleStore()
    result: dict[str, str] = {}
    for storage_type, key in _SSCONF_DIR_KEYS.items():
        try:
            value = store.ReadSsconfFile(key).strip()
        except errors.ConfigurationError as err:
            if storage_type == constants.ST_GLUSTER:
                continue  # written only by newer masters; optional
            raise errors.FileStoragePathError(
                "Cannot read the cluster's file storage directories (is this"
                f" node part of a cluster?): {err}") from err
        if value:
            result[storage_type] = value
    return result


def CheckBelowClusterStorageDir(path: str, storage_type: str,
                                exact_match_ok: bool = False) -> None:
    """Rule 4: a local path must lie below the cluster's dir for its type.

    Raises:
      errors.FileStoragePathError: it does not, or the cluster has no
        directory for this storage type.
    """
    cluster_dir = GetClusterStorageDirs().get(storage_type)
    if not cluster_dir:
        raise errors.FileStoragePathError(
            f"The cluster has no storage directory for '{storage_type}' disks"
            " (ssconf value empty)")
    local_dir = LocalizeStoragePath(cluster_dir,
                                    shared=storage_type != constants.ST_FILE)
    norm = os.path.normpath(path)
    if io.IsBelowDir(local_dir, norm) or (exact_match_ok and norm == local_dir):
        return
    raise errors.FileStoragePathError(
        f"Path '{path}' is not below the cluster's {storage_type} storage"
        f" directory '{local_dir}'")


def ClassifyStorageDir(path: str) -> tuple[str, str]:
    """Find which cluster storage directory a directory path belongs to.

    Returns:
      (storage type, the directory's local path).

    Raises:
      errors.FileStoragePathError: the path is below none of them.
    """
    _CheckPathSyntax(path)
    raw = os.path.normpath(path)
    dirs = GetClusterStorageDirs()
    # Shared directories first: a shared dir inside the file dir (or the
    # other way round) must keep its shared meaning.
    for storage_type in (constants.ST_SHARED_FILE, constants.ST_GLUSTER,
                         constants.ST_FILE):
        cluster_dir = dirs.get(storage_type)
        if not cluster_dir:
            continue
        shared = storage_type != constants.ST_FILE
        local = LocalizeStoragePath(path, shared)
        local_dir = LocalizeStoragePath(cluster_dir, shared)
        raw_dir = os.path.normpath(cluster_dir)
        if (raw == raw_dir or io.IsBelowDir(raw_dir, raw) or local == local_dir
                or io.IsBelowDir(local_dir, local)):
            return storage_type, local
    known = ", ".join(f"'{value}'" for value in dirs.values()) or "none set"
    raise errors.FileStoragePathError(
        f"Path '{path}' is not below the cluster's file storage directories"
        f" ({known})")


def GetFileStorageSpaceInfo(path: str) -> dict[str, Any]:
    """Return size and free space (MiB) of the file system holding path.

    Raises:
      errors.CommandError: the file system cannot be queried.
    """
    try:
        result = os.statvfs(path)
    except OSError as err:
        raise errors.CommandError(
            "Failed to retrieve file system information about path:"
            f" {path} - {err.strerror}") from err
    return {"type": constants.ST_FILE, "name": path,
            "storage_size": result.f_frsize * result.f_blocks // MIB,
            "storage_free": result.f_frsize * result.f_bavail // MIB}


# --- one disk file -----------------------------------------------------------------

def _OpenNoFollow(path: str, flags: int, mode: int = _FILE_MODE) -> int:
    """os.open that refuses a symbolic link at the final component."""
    return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode)


def _MakeDirs(folder: str) -> list[str]:
    """Create folder and missing parents (DIR_MODE); return those created."""
    missing = []
    current = folder
    while not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    created = []
    for directory in reversed(missing):
        try:
            os.mkdir(directory, DIR_MODE)
        except FileExistsError:
            continue
        created.append(directory)
    return created


def _RemoveDirs(created: list[str]) -> None:
    """Undo _MakeDirs as far as the directories are still empty."""
    for directory in reversed(created):
        try:
            os.rmdir(directory)
        except OSError:
            return


class FileDeviceHelper:
    """Operations on the file behind one file-based disk."""

    @classmethod
    def CreateFile(cls, path: str, size: int, create_folders: bool = False,
                   _file_path_acceptance_fn: Callable[[str], None] | None = None
                   ) -> FileDeviceHelper:
        """Create a sparse file of size MiB and return its helper.

        Args:
          path: the local path.
          size: apparent size in MiB (no block is allocated).
          create_folders: create missing parent directories (DIR_MODE).

        Raises:
          errors.FileStoragePathError: the path is not allowed.
          errors.BlockDeviceError: the file exists already or cannot be
            created; neither it nor directories made for it remain.
        """
        acceptance_fn = _file_path_acceptance_fn or CheckFileStoragePathAcceptance
        acceptance_fn(path)
        created: list[str] = []
        try:
            if create_folders:
                created = _MakeDirs(os.path.dirname(path))
            fd = _OpenNoFollow(path, os.O_RDWR | os.O_CREAT | os.O_EXCL)
        except OSError as err:
            _RemoveDirs(created)
            if err.errno == errno.EEXIST:
                base.ThrowError(f"{path}: can't create: a file of that name"
                                " already exists")
            base.ThrowError(f"{path}: can't create: {err.strerror}")
        try:
            try:
                os.ftruncate(fd, size * MIB)
            finally:
                os.close(fd)
        except OSError as err:
            io.RemoveFile(path)
            _RemoveDirs(created)
            base.ThrowError(f"{path}: can't create: {err.strerror}")
        return cls(path, _file_path_acceptance_fn=acceptance_fn)

    def __init__(self, path: str,
                 _file_path_acceptance_fn: Callable[[str], None] | None = None
                 ) -> None:
        """Check the path (see the module docstring) and remember it.

        Raises:
          errors.FileStoragePathError: the path is not allowed.
        """
        (_file_path_acceptance_fn or CheckFileStoragePathAcceptance)(path)
        self.path = path

    def Exists(self, assert_exists: bool | None = None) -> bool:
        """Whether the file exists.

        Args:
          assert_exists: True: raise if it does not exist; False: raise if
            it does; None: just answer.

        Raises:
          errors.BlockDeviceError: the assertion failed, or the path is
            something else than a regular file (a symlink is never followed).
        """
        try:
            mode = os.lstat(self.path).st_mode
        except FileNotFoundError:
            exists = False
        except OSError as err:
            base.ThrowError(f"{self.path}: can't stat: {err.strerror}")
        else:
            if not stat.S_ISREG(mode):
                base.ThrowError(f"{self.path}: exists but is not a regular file"
                                " (symbolic links are not followed)")
            exists = True
        if not exists and assert_exists is True:
            base.ThrowError(f"{self.path}: No such file")
        if exists and assert_exists is False:
            base.ThrowError(f"{self.path}: File exists")
        return exists

    def Remove(self) -> bool:
        """Remove the file; False if it was already gone.

        Raises:
          errors.BlockDeviceError: it exists and could not be removed.
        """
        if not self.Exists():
            return False
        try:
            os.remove(self.path)
        except FileNotFoundError:
            return False
        except OSError as err:
            base.ThrowError(f"{self.path}: can't remove: {err.strerror}")
        return True

    def Size(self) -> int:
        """Return the apparent size in bytes.

        Raises:
          errors.BlockDeviceError: the file is missing or unreadable.
        """
        self.Exists(assert_exists=True)
        try:
            return os.stat(self.path).st_size
        except OSError as err:
            base.ThrowError(f"{self.path}: can't stat: {err.strerror}")

    def Grow(self, amount: int, dryrun: bool, backingstore: bool,
             _excl_stor: bool) -> None:
        """Extend the file by amount MiB (see base.BlockDev.Grow).

        A dry run checks that the file system has amount MiB free, since a
        sparse file may come to use all of its new size.

        Raises:
          errors.BlockDeviceError: missing file, negative amount, not enough
            space (dry run) or the file cannot be extended.
        """
        self.Exists(assert_exists=True)
        if amount < 0:
            base.ThrowError(f"{self.path}: can't grow by negative amount"
                            f" ({amount} MiB; shrinking is not supported)")
        if not backingstore:
            return
        if dryrun:
            self._CheckFreeSpace(amount)
            return
        new_size = self.Size() + amount * MIB
        try:
            fd = _OpenNoFollow(self.path, os.O_WRONLY)
            try:
                os.ftruncate(fd, new_size)
            finally:
                os.close(fd)
        except OSError as err:
            base.ThrowError(f"{self.path}: can't grow: {err.strerror}")

    def _CheckFreeSpace(self, amount: int) -> None:
        try:
            stats = os.statvfs(os.path.dirname(self.path))
        except OSError as err:
            base.ThrowError(f"{self.path}: can't check free space: {err.strerror}")
        free = stats.f_frsize * stats.f_bavail // MIB
        if free < amount:
            base.ThrowError(f"{self.path}: not enough free space to grow by"
                            f" {amount} MiB ({free} MiB free on its file system)")


# --- the drivers --------------------------------------------------------------------

def _ParseUniqueId(unique_id: Any) -> tuple[str, str]:
    """Split a file disk's logical_id [driver, path].

    Raises:
      errors.BlockDeviceError: it has another shape.
    """
    if (not isinstance(unique_id, (list, tuple)) or len(unique_id) != 2
            or not all(isinstance(part, str) for part in unique_id)):
        base.ThrowError("Invalid logical_id for a file disk (expected [driver,"
                        f" path]): {unique_id!r}")
    return unique_id[0], unique_id[1]


class FileStorage(base.BlockDev):
    """A disk of the file template: one sparse file in the node's storage dir.

    Assemble, Open, Close and Shutdown only check or do nothing: a file
    needs no activation.
    """

    STORAGE_TYPE = constants.ST_FILE

    def __init__(self, unique_id: Sequence[Any], children: list[Any],
                 size: int | None, params: dict[str, Any] | None,
                 dyn_params: dict[str, Any] | None, **kwargs: Any) -> None:
        """Attach to the file of unique_id (attached is False if it is missing).

        Raises:
          errors.BlockDeviceError: bad logical_id or children given.
          errors.FileStoragePathError: the path breaks a path rule.
        """
        if children:
            base.ThrowError("Invalid setup for file device: it cannot have"
                            " children")
        super().__init__(unique_id, children, size, params, dyn_params, **kwargs)
        self.driver, path = _ParseUniqueId(unique_id)
        self.dev_path = self._LocalPath(path)
        self.file = FileDeviceHelper(self.dev_path)
        self.Attach()

    @classmethod
    def _LocalPath(cls, path: str) -> str:
        _CheckPathSyntax(path)
        return LocalizeStoragePath(path, shared=cls.STORAGE_TYPE != constants.ST_FILE)

    @classmethod
    def Create(cls, unique_id: Sequence[Any], children: list[Any], size: int,
               spindles: int | None, params: dict[str, Any], excl_stor: bool,
               dyn_params: dict[str, Any], **kwargs: Any) -> FileStorage:
        """Create the sparse file (and its directory) of a new disk.

        Raises:
          errors.BlockDeviceError: the file exists or cannot be created.
          errors.FileStoragePathError: the path breaks a path rule.
        """
        if excl_stor:
            base.ThrowError("File-based disks cannot be created with"
                            " exclusive storage enabled")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            base.ThrowError(f"Invalid size for a file disk: {size!r} (expected"
                            " a number of MiB)")
        _, path = _ParseUniqueId(unique_id)
        local = cls._LocalPath(path)
        CheckFileStoragePathAcceptance(local)
        CheckBelowClusterStorageDir(local, cls.STORAGE_TYPE)
        FileDeviceHelper.CreateFile(local, size, create_folders=True)
        return cls(unique_id, children, size, params, dyn_params, **kwargs)

    def Attach(self) -> bool:
        self.attached = self.file.Exists()
        return self.attached

    def Assemble(self) -> None:
        """Check the file exists (nothing to activate).

        Raises:
          errors.BlockDeviceError: it does not.
        """
        self.file.Exists(assert_exists=True)

    def Open(self, force: bool = False, exclusive: bool = True) -> None:
        """Nothing to do: a file is always ready for I/O."""

    def Close(self) -> None:
        """Nothing to do."""

    def Shutdown(self) -> None:
        """Nothing to do: the file stays where it is."""

    def Remove(self) -> None:
        """Delete the file (a missing file is fine, as in Ganeti)."""
        self.file.Remove()
        self.attached = False

    def Rename(self, new_id: Sequence[Any]) -> None:
        """Move the file to the path of new_id ([driver, new path]).

        The new path follows the same rules as a new disk's; an existing
        file there is never overwritten.

        Raises:
          errors.BlockDeviceError: the target exists or the move failed (the
            file stays at its old path).
          errors.FileStoragePathError: the new path breaks a path rule.
        """
        _, new_path = _ParseUniqueId(new_id)
        new_local = self._LocalPath(new_path)
        new_file = FileDeviceHelper(new_local)
        CheckBelowClusterStorageDir(new_local, self.STORAGE_TYPE)
        self.file.Exists(assert_exists=True)
        new_file.Exists(assert_exists=False)
        created = _MakeDirs(os.path.dirname(new_local))
        try:
            _MoveNoReplace(self.file.path, new_local)
        except OSError as err:
            _RemoveDirs(created)
            base.ThrowError(f"{self.file.path}: can't rename to {new_local}:"
                            f" {err.strerror}")
        self.unique_id = list(new_id)
        self.dev_path = new_local
        self.file = new_file

    def Grow(self, amount: int, dryrun: bool, backingstore: bool,
             excl_stor: bool) -> None:
        self.file.Grow(amount, dryrun, backingstore, excl_stor)

    def GetActualSize(self) -> int:
        return self.file.Size()


class SharedFileStorage(FileStorage):
    """A disk of the sharedfile template: the same file seen by every node."""

    STORAGE_TYPE = constants.ST_SHARED_FILE


def _MoveNoReplace(old: str, new: str) -> None:
    """Rename old to new, failing (EEXIST) instead of replacing new.

    A hard link followed by an unlink is atomic about the target; file
    systems without hard links fall back to rename after the caller's
    existence check.
    """
    try:
        os.link(old, new, follow_symlinks=False)
    except OSError as err:
        if err.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
        os.rename(old, new)
        return
    os.unlink(old)
