"""File RPC procedures: cluster file upload, ssconf, file info, watcher pause.

upload_file lets the master overwrite a fixed set of cluster files on a node
(Ganeti's backend._ALLOWED_UPLOAD_FILES): config.data, the certificates and
keys shared by the cluster, known_hosts, the RAPI users file, /etc/hosts and
the hypervisors' ancillary files. Anything else is refused, notably
server.pem (replaced only by renew-crypto over SSH) and the file storage
paths file, which must never be writable through RPC.
"""

from __future__ import annotations

import grp
import importlib
import logging
import os
import pwd
import stat
import time
from typing import Any

from ganeti import constants, errors, pathutils, ssconf, vcluster
from ganeti.backend import RPCFail, args
from ganeti.rpc import encoding
from ganeti.utils import io

logger = logging.getLogger(__name__)

_ETC_HOSTS = "/etc/hosts"
# Parent directories of uploaded files that are missing (e.g. rapi/ on a
# fresh node) are created with this mode, as Ganeti's ensure-dirs does.
_UPLOAD_DIR_MODE = 0o750
# Ganeti's backend.GetFileInfo reports this stat field (constants.STAT_SIZE).
STAT_SIZE = "size"
# A pause file older than this many seconds past its end is stale and is
# removed when read (Ganeti's utils.ReadWatcherPauseFile, remove_after).
_WATCHER_PAUSE_REMOVE_AFTER = 3600
_WATCHER_PAUSE_FILE_MODE = 0o644


def _HypervisorAncillaryFiles() -> set[str]:
    """Return the hypervisors' ancillary files (Ganeti's GetAncillaryFiles).

    Taken from the hypervisor drivers when ganeti.hypervisor provides them;
    otherwise the lists of Ganeti 3.0's kvm and xen drivers.
    """
    try:
        # Imported late: the hypervisor package is optional for this module.
        hypervisor = importlib.import_module("ganeti.hypervisor")
    except ModuleNotFoundError as err:
        if err.name != "ganeti.hypervisor":
            raise
        hypervisor = None
    get_class = getattr(hypervisor, "GetHypervisorClass", None)
    if get_class is None:
        return {
            pathutils.CONF_DIR + "/kvm-vif-bridge",
            pathutils.SYSCONFDIR + "/xen/xend-config.sxp",
            pathutils.SYSCONFDIR + "/xen/xl.conf",
            pathutils.SYSCONFDIR + "/xen/scripts/vif-bridge",
        }
    files: set[str] = set()
    for hv_name in constants.HYPER_TYPES:
        try:
            files.update(get_class(hv_name).GetAncillaryFiles()[0])
        except errors.HypervisorError:
            continue  # no driver for this hypervisor on this node
    return files


def GetAllowedUploadFiles() -> frozenset[str]:
    """Return the local paths upload_file may write (computed per call)."""
    allowed = {
        pathutils.CLUSTER_CONF_FILE,
        _ETC_HOSTS,
        pathutils.SSH_KNOWN_HOSTS_FILE,
        pathutils.VNC_PASSWORD_FILE,
        pathutils.RAPI_CERT_FILE,
        pathutils.SPICE_CERT_FILE,
        pathutils.SPICE_CACERT_FILE,
        pathutils.RAPI_USERS_FILE,
        pathutils.CONFD_HMAC_KEY,
        pathutils.CLUSTER_DOMAIN_SECRET_FILE,
    }
    allowed.update(_HypervisorAncillaryFiles())
    allowed.discard(pathutils.FILE_STORAGE_PATHS_FILE)
    return frozenset(allowed)


def _LookupOwner(user: Any, group: Any) -> tuple[int, int]:
    """Resolve user and group names to (uid, gid).

    Raises:
      RPCFail: a name is not a string or is unknown on this node.
    """
    user = args.CheckStr(user, "file owner (user name)", non_empty=True)
    group = args.CheckStr(group, "file group (group name)", non_empty=True)
    try:
        uid = pwd.getpwnam(user).pw_uid
    except KeyError as err:
        raise RPCFail(f"Unknown user '{user}' on this node") from err
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError as err:
        raise RPCFail(f"Unknown group '{group}' on this node") from err
    return uid, gid


def _CheckTime(value: Any, what: str) -> float | None:
    return None if value is None else args.CheckNumber(value, what)


def UploadFile(file_name: Any, data: Any, mode: Any, uid: Any, gid: Any,
               atime: Any, mtime: Any) -> None:
    """Replace one of the allowed cluster files with the master's copy.

    Args:
      file_name: virtual or absolute path of the target.
      data: content as [encoding, data] (ganeti.rpc.encoding).
      mode: permission bits for the file, or None.
      uid: name of the owning user; gid: name of the owning group.
      atime, mtime: times to set (both or neither), or None.

    Raises:
      RPCFail: the file is not allowed, an argument is malformed or the
        file cannot be written (it keeps its old content then).
    """
    path = args.LocalizePath(file_name, "upload file name")
    if path == _ETC_HOSTS and vcluster.IsVirtual():
        # /etc/hosts is never virtualised: on a virtual node it is the
        # host's own file, which one node must not rewrite for the others.
        raise RPCFail(f"File '{path}' is not allowed to be uploaded on a"
                      " virtual node (it belongs to the host)")
    if path not in GetAllowedUploadFiles():
        raise RPCFail(f"File '{path}' is not allowed to be uploaded (not in"
                      " the allowed upload targets)")
    try:
        content = encoding.Decompress(data)
    except errors.GenericError as err:
        raise RPCFail(f"Invalid content for file '{path}': {err}") from err
    file_mode = None
    if mode is not None:
        file_mode = stat.S_IMODE(args.CheckInt(mode, "file mode", minimum=0))
    owner, group = _LookupOwner(uid, gid)
    atime = _CheckTime(atime, "access time")
    mtime = _CheckTime(mtime, "modification time")
    try:
        io.WriteFile(path, content, mode=file_mode, uid=owner, gid=group,
                     atime=atime, mtime=mtime, mkdir_mode=_UPLOAD_DIR_MODE)
    except OSError as err:
        raise RPCFail(f"Can't write file '{path}': {err}") from err
    logger.info("Uploaded file %s (%d bytes)", path, len(content))


@args.RpcProcedure("upload_file")
def UploadFileDetails(file_details: Any) -> None:
    """upload_file: file_details is [path, data, mode, user, group, atime, mtime]."""
    details = args.CheckList(file_details, "argument 'file_details'", length=7)
    UploadFile(*details)


@args.RpcProcedure("upload_file_single")
def UploadFileSingle(file_name: Any, content: Any, mode: Any, uid: Any,
                     gid: Any, atime: Any, mtime: Any) -> None:
    """upload_file_single: the same as upload_file, fields as arguments."""
    UploadFile(file_name, content, mode, uid, gid, atime, mtime)


@args.RpcProcedure("write_ssconf_files")
def WriteSsconfFiles(values: Any) -> None:
    """Replace this node's ssconf files with the given key -> text values.

    Raises:
      RPCFail: a key is unknown or a value is not text (nothing is written
        then), or a file cannot be written.
    """
    values = args.CheckDict(values, "argument 'values'")
    bad_keys = sorted(key for key in values if key not in ssconf.VALID_KEYS)
    if bad_keys:
        raise RPCFail("Invalid ssconf key(s): "
                      + ", ".join(repr(key) for key in bad_keys))
    for key, value in values.items():
        args.CheckStr(value, f"value of ssconf key '{key}'")
    # The lock file is looked up per call so that it follows pathutils.
    store = ssconf.SimpleStore(_lockfile=pathutils.SSCONF_LOCK_FILE)
    try:
        store.WriteFiles(values)
    except (errors.GenericError, OSError) as err:
        raise RPCFail(f"Can't write ssconf files: {err}") from err


@args.RpcProcedure("get_file_info")
def GetFileInfo(file_path: Any) -> list[Any]:
    """Return [True, {"size": bytes}] for an existing file, else [False, {}]."""
    path = args.LocalizePath(file_path, "argument 'file_path'")
    try:
        stat_info = os.stat(path)
    except OSError:
        return [False, {}]
    return [True, {STAT_SIZE: stat_info.st_size}]


def ReadWatcherPauseFile(filename: str, now: float | None = None,
                         remove_after: int = _WATCHER_PAUSE_REMOVE_AFTER
                         ) -> int | None:
    """Return the end of the watcher pause, or None if not paused.

    A file with an unparseable value, or one whose pause ended more than
    remove_after seconds ago, is removed.

    Args:
      filename: the pause file (pathutils.WATCHER_PAUSEFILE).
      now: the current time (default: time.time()).
      remove_after: grace period before a stale file is removed.
    """
    if now is None:
        now = time.time()
    try:
        text = io.ReadFile(filename)
    except FileNotFoundError:
        return None
    try:
        until = int(text.strip())
    except ValueError:
        logger.warning("Watcher pause file %s has an invalid value, removing it",
                       filename)
        io.RemoveFile(filename)
        return None
    if now > until + remove_after:
        io.RemoveFile(filename)
        return None
    if now > until:
        return None
    return until


@args.RpcProcedure("get_watcher_pause")
def GetWatcherPause() -> float | None:
    """Return the time until which the watcher is paused, or None."""
    try:
        until = ReadWatcherPauseFile(pathutils.WATCHER_PAUSEFILE)
    except (OSError, UnicodeDecodeError) as err:
        raise RPCFail(f"Can't read the watcher pause file: {err}") from err
    return None if until is None else float(until)


@args.RpcProcedure("set_watcher_pause")
def SetWatcherPause(until: Any) -> None:
    """Pause the watcher until the given Unix time, or resume it (None).

    Raises:
      RPCFail: until is not a number, or the file cannot be changed.
    """
    filename = pathutils.WATCHER_PAUSEFILE
    try:
        if until is None:
            logger.info("Received request to no longer pause the watcher")
            io.RemoveFile(filename)
            return
        until = args.CheckNumber(until, "argument 'until'")
        logger.info("Received request to pause the watcher until %s", until)
        io.WriteFile(filename, f"{int(until)}\n", mode=_WATCHER_PAUSE_FILE_MODE)
    except OSError as err:
        raise RPCFail(f"Can't update the watcher pause file {filename}: {err}"
                      ) from err
