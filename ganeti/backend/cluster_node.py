"""RPC procedures changing this node's membership: leave, demote.

Mirrors Ganeti's backend.LeaveCluster and backend.DemoteFromMC.

node_leave_cluster is the last call gnt-node remove makes to a node: it
deletes the node's cluster files (config.data, ssconf, certificates and
keys, the job queue) and then stops noded. Stopping works as in Ganeti: the
procedure raises errors.QuitGanetiException(True, "Shutdown scheduled");
noded answers the caller with those arguments and then shuts itself down
(server/noded.py), so the master still receives a success.

node_demote_from_mc runs on a master candidate that has just lost that
role: it removes config.data (after a backup), so that a stale copy can
never be used to start a master daemon or to win a vote.
"""

from __future__ import annotations

import importlib
import logging
import os
import shutil
import tempfile
import time
from typing import Any

from ganeti import constants, errors, pathutils, ssconf
from ganeti.backend import RPCFail, args, jobqueue
from ganeti.utils import io, process

logger = logging.getLogger(__name__)

# Reply of node_leave_cluster, as Ganeti's (the QuitGanetiException args).
LEAVE_CLUSTER_REPLY = "Shutdown scheduled"


def _CleanDirectory(path: str) -> None:
    """Remove the regular files directly in path (not hidden ones, no dirs).

    Raises:
      RPCFail: the directory is not one a node may clean, or a file could
        not be removed.
    """
    allowed = (pathutils.DATA_DIR, pathutils.CRYPTO_KEYS_DIR)
    if os.path.normpath(path) not in [os.path.normpath(item) for item in allowed]:
        raise RPCFail(f"Path {path} is not in the list of directories a node"
                      " may clean")
    if not os.path.isdir(path):
        return
    for name in sorted(os.listdir(path)):
        full_name = os.path.join(path, name)
        if name.startswith(".") or os.path.islink(full_name):
            continue
        if os.path.isfile(full_name):
            try:
                io.RemoveFile(full_name)
            except OSError as err:
                raise RPCFail(f"Cannot remove {full_name}: {err}") from err


def _RemoveSshSetup() -> None:
    """Remove the cluster's SSH key of this node, when the SSH code exists.

    The SSH key handling lives in ganeti.ssh (gnt-node add); without it
    there is nothing this node could have received.
    """
    try:
        ssh = importlib.import_module("ganeti.ssh")
    except ModuleNotFoundError as err:
        if err.name != "ganeti.ssh":
            raise
        logger.info("No SSH setup code available; SSH keys left alone")
        return
    remove_fn = getattr(ssh, "RemoveNodeSshSetup", None)
    if remove_fn is None:
        logger.info("ganeti.ssh cannot remove SSH keys; SSH keys left alone")
        return
    try:
        remove_fn()
    except (errors.GenericError, OSError) as err:
        # As Ganeti: the node leaves the cluster even if its keys stay.
        logger.error("Error while removing the SSH setup: %s", err)


@args.RpcProcedure("node_leave_cluster")
def LeaveCluster(modify_ssh_setup: Any) -> None:
    """Forget the cluster: delete the cluster files, then stop noded.

    Args:
      modify_ssh_setup: also remove the cluster's SSH keys (the cluster's
        modify_ssh_setup setting).

    Raises:
      errors.QuitGanetiException: always, once the files are gone; noded
        answers [True, "Shutdown scheduled"] and stops.
      RPCFail: a bad argument (nothing removed), or a file could not be
        removed (the files before it are gone).
    """
    modify_ssh_setup = args.CheckBool(modify_ssh_setup, "argument 'modify_ssh_setup'")
    logger.info("Leaving the cluster: removing the cluster files")
    _CleanDirectory(pathutils.DATA_DIR)
    _CleanDirectory(pathutils.CRYPTO_KEYS_DIR)
    jobqueue.JobQueuePurge()
    if modify_ssh_setup:
        _RemoveSshSetup()
    for secret in (pathutils.CONFD_HMAC_KEY, pathutils.RAPI_CERT_FILE,
                   pathutils.SPICE_CERT_FILE, pathutils.SPICE_CACERT_FILE,
                   pathutils.NODED_CERT_FILE, pathutils.NODED_CLIENT_CERT_FILE):
        try:
            io.RemoveFile(secret)
        except OSError as err:
            logger.error("Cannot remove %s: %s", secret, err)
    raise errors.QuitGanetiException(True, LEAVE_CLUSTER_REPLY)


def _BackupFile(file_name: str) -> str:
    """Copy file_name to <file_name>.backup-<timestamp>.<random>.

    The name follows Ganeti's utils.CreateBackup.

    Returns:
      the backup's path.

    Raises:
      OSError: the copy failed.
    """
    stamp = time.strftime("%Y-%m-%d_%H_%M_%S")
    dir_name, base = os.path.split(file_name)
    fd, backup = tempfile.mkstemp(prefix=f"{base}.backup-{stamp}.", dir=dir_name)
    os.close(fd)
    try:
        shutil.copyfile(file_name, backup)
    except OSError:
        io.RemoveFile(backup)
        raise
    return backup


def _CheckNotMaster() -> None:
    """Raises RPCFail if this node is, or may be, the master."""
    try:
        master, myself = ssconf.GetMasterAndMyself()
    except errors.ConfigurationError as err:
        raise RPCFail(f"Cannot tell whether this node is the master: {err}") \
            from err
    if master == myself:
        raise RPCFail("ssconf status shows I'm the master node, will not demote")
    pid = process.ReadPidFile(pathutils.GetPidFilename(constants.MASTERD))
    if pid and process.IsProcessAlive(pid):
        raise RPCFail("The master daemon is running, will not demote")


@args.RpcProcedure("node_demote_from_mc")
def DemoteFromMC() -> None:
    """Drop the master candidate's copy of config.data (keeping a backup).

    Raises:
      RPCFail: this node is the master (per ssconf) or runs the master
        daemon; or the backup or removal failed (config.data is then kept).
    """
    _CheckNotMaster()
    cfg_file = pathutils.CLUSTER_CONF_FILE
    if os.path.isfile(cfg_file):
        try:
            backup = _BackupFile(cfg_file)
        except OSError as err:
            raise RPCFail(f"Error while backing up cluster file: {err}") from err
        logger.info("Demoted from master candidate; config saved as %s", backup)
    try:
        io.RemoveFile(cfg_file)
    except OSError as err:
        raise RPCFail(f"Cannot remove {cfg_file}: {err}") from err
