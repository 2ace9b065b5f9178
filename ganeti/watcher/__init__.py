"""ganeti-watcher: the cron-run caretaker of a cluster (see ganeti-watcher(8)).

As Ganeti's lib/watcher: every node makes sure its node daemon runs and runs
the watcher hooks; the master also makes sure masterd and the RAPI daemon
run, archives old jobs and then starts one child process per node group
(`--node-group UUID`). A group watcher, holding the lock of its group's state
file, restarts the instances that should run but are down (ERROR_down), at
most MAXTRIES times each, re-activates the disks of instances whose nodes
rebooted (their boot id changed) and acts on what verify-disks reports.

Only one global watcher runs at a time (pathutils.WATCHER_LOCK_FILE); a
second one exits with 0. `gnt-cluster watcher pause` (the pause file, with
its expiry) stops everything unless --ignore-pause; a drained job queue stops
the group watchers from submitting jobs.
"""

from __future__ import annotations

import logging
import optparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from ganeti import (cli, cli_jobs, constants, daemon, errors, luxi, opcodes,
                    opcodes_base, pathutils, ssconf)
from ganeti.cli import EXIT_FAILURE, EXIT_SUCCESS
from ganeti.backend import files as backend_files
from ganeti.utils import filelock, process
from ganeti.watcher import state

logger = logging.getLogger(__name__)

# Restarts of one instance before the watcher gives up (Ganeti's value).
MAXTRIES = 5
# Instance statuses as the query reports them (Ganeti's constants.INSTST_*).
INSTST_RUNNING = "running"
INSTST_ERRORDOWN = "ERROR_down"
INSTST_NODEDOWN = "ERROR_nodedown"
INSTST_NODEOFFLINE = "ERROR_nodeoffline"
BAD_STATES = frozenset([INSTST_ERRORDOWN])
HELPLESS_STATES = frozenset([INSTST_NODEDOWN, INSTST_NODEOFFLINE])
# A query value's status: normal (query.common.RS_NORMAL).
_RS_NORMAL = 0
NOTICE = "NOTICE"
ERROR = "ERROR"

DAEMON_UTIL = os.path.join(pathutils.DAEMONS_DIR, "daemon-util")
_DEFAULT_JOB_AGE = 6 * 3600
_PROGRAM = "ganeti-watcher"
# daemon-util waits up to 30 s for a stop and a while for masterd's vote.
_DAEMON_UTIL_TIMEOUT = 240
_INSTANCE_FIELDS = ["name", "status", "admin_state", "disks_active", "pnode",
                    "snodes", "pnode.group.uuid", "snodes.group.uuid"]
_NODE_FIELDS = ["name", "bootid", "offline", "group.uuid"]


class NotMasterError(errors.GenericError):
    """This node is not the master."""


class Instance(NamedTuple):
    """What a group watcher knows of an instance."""

    name: str
    status: str
    autostart: bool
    disks_active: bool
    nodes: tuple[str, ...]


# --- options -----------------------------------------------------------------------


def ParseOptions(argv: list[str]) -> optparse.Values:
    """Parse the command line (without the program name).

    Raises:
      SystemExit: bad usage (optparse prints it, exit code 2).
    """
    parser = optparse.OptionParser(
        prog=_PROGRAM, description="Ganeti cluster watcher", usage="%prog [-d]",
        version=f"%prog (ganeti) {constants.RELEASE_VERSION}")
    parser.add_option("-d", "--debug", dest="debug", action="store_true",
                      default=False, help="Enable debug output (also on stderr)")
    parser.add_option("-A", "--job-age", dest="job_age", default=_DEFAULT_JOB_AGE,
                      help="Autoarchive jobs older than this age (default 6"
                      " hours)")
    parser.add_option("--ignore-pause", dest="ignore_pause", action="store_true",
                      default=False, help="Ignore cluster pause setting")
    parser.add_option("--wait-children", dest="wait_children", action="store_true",
                      default=False, help="Wait for child processes")
    parser.add_option("--no-wait-children", dest="wait_children",
                      action="store_false", help="Don't wait for child processes")
    parser.add_option("--node-group", dest="nodegroup", default=None,
                      help="The UUID of the node group to watch (internal:"
                      " used for the per-group child processes)")
    options, args = parser.parse_args(argv)
    if args:
        parser.error("No arguments expected")
    try:
        options.job_age = cli.ParseTimespec(options.job_age)
    except errors.OpPrereqError as err:
        parser.error(f"Invalid job age: {err}")
    return options


# --- node daemons and hooks --------------------------------------------------------


def _DaemonUtil(action: str, name: str) -> process.RunResult:
    return process.RunCmd([DAEMON_UTIL, action, name], timeout=_DAEMON_UTIL_TIMEOUT)


def EnsureDaemon(name: str) -> bool:
    """Start a daemon of this node unless it runs; return whether it runs.

    Args:
      name: e.g. constants.NODED.
    """
    try:
        if not _DaemonUtil("check", name).failed:
            return True
        logger.warning("Daemon %s is not running, starting it", name)
        result = _DaemonUtil("start", name)
    except errors.CommandError as err:
        logger.error("Can't run daemon-util for %s: %s", name, err)
        return False
    if result.failed:
        logger.error("Can't start daemon %s: %s", name, result.output.strip())
        return False
    logger.info("Daemon %s started", name)
    return True


def _RapiInstalled() -> bool:
    return os.access(os.path.join(pathutils.DAEMONS_DIR, constants.RAPI), os.X_OK)


def RunWatcherHooks() -> None:
    """Run the executables of the watcher hooks directory, logging results."""
    hooks_dir = os.path.join(pathutils.HOOKS_BASE_DIR, constants.HOOKS_NAME_WATCHER)
    if not os.path.isdir(hooks_dir):
        return
    for relname, status, output in process.RunParts(hooks_dir):
        if status == constants.HKR_SKIP:
            logger.debug("Watcher hook %s: skipped", relname)
        elif status == constants.HKR_FAIL:
            logger.warning("Watcher hook %s: failed (output: %s)", relname, output)
        else:
            logger.debug("Watcher hook %s: success (output: %s)", relname, output)


def ShouldPause() -> bool:
    """Whether `gnt-cluster watcher pause` is in force on this node."""
    return backend_files.ReadWatcherPauseFile(pathutils.WATCHER_PAUSEFILE) is not None


# --- talking to the master ---------------------------------------------------------


def _QueryRows(client: luxi.Client, what: str, fields: list[str]) -> list[list[Any]]:
    """Run a LUXI query; return the rows of plain values (None if unavailable)."""
    result = client.Query(what, fields, None)
    return [[value if rstatus == _RS_NORMAL else None
             for rstatus, value in row] for row in result["data"]]


def _Reason(op: Any) -> Any:
    op.reason = [[opcodes_base.OPCODE_REASON_SRC_WATCHER, "watcher",
                  time.time_ns()]]
    return op


def _RunJob(client: luxi.Client, ops: list[Any]) -> list[Any]:
    """Submit one job, wait for it, archive it and return its results.

    Raises:
      errors.GenericError: the job could not be submitted or failed.
    """
    job_id = cli_jobs.SendJob([_Reason(op) for op in ops], cl=client)
    try:
        return cli_jobs.PollJob(job_id, cl=client, feedback_fn=_LogFeedback)
    finally:
        try:
            client.ArchiveJob(job_id)
        except errors.GenericError as err:
            logger.debug("Can't archive job %s: %s", job_id, err)


def _LogFeedback(msg: Any) -> None:
    logger.debug("Job feedback: %s", msg)


def GetLuxiClient(try_restart: bool) -> luxi.Client:
    """Connect to masterd, starting it once if it does not answer.

    Raises:
      NotMasterError: this node is not the master.
      errors.GenericError: masterd cannot be reached or started.
    """
    try:
        return cli_jobs.GetClient()
    except errors.OpPrereqError as err:
        raise NotMasterError(str(err)) from err
    except luxi.NoMasterError as err:
        if not try_restart:
            raise
        logger.warning("Master daemon seems to be down (%s), trying to restart",
                       err)
    if not EnsureDaemon(constants.MASTERD):
        raise errors.GenericError("Can't start the master daemon")
    return cli_jobs.GetClient()


# --- the global watcher ------------------------------------------------------------


def _IsMaster() -> bool | None:
    """True on the master, False on another node, None outside a cluster."""
    try:
        master, myself = ssconf.GetMasterAndMyself()
    except errors.ConfigurationError:
        return None
    return master == myself


def _ChildCommand(argv: list[str], group_uuid: str) -> list[str]:
    code = "import sys; from ganeti import watcher; sys.exit(watcher.Main())"
    args = [a for a in argv if a not in ("--wait-children", "--no-wait-children")]
    return [sys.executable, "-c", code, *args, f"--node-group={group_uuid}"]


def _ChildEnv() -> dict[str, str]:
    tree = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (tree, env.get("PYTHONPATH")) if p)
    return env


def StartGroupChildren(argv: list[str], groups: list[str], wait: bool) -> bool:
    """Start one watcher process per group; optionally wait for them.

    Returns:
      False if a child could not start or (when waited for) failed.
    """
    ok = True
    children = []
    for uuid in groups:
        cmd = _ChildCommand(argv, uuid)
        logger.debug("Spawning child for group %r: %s", uuid, cmd)
        try:
            children.append(subprocess.Popen(cmd, env=_ChildEnv(),
                                             stdin=subprocess.DEVNULL))
        except OSError as err:
            logger.exception("Failed to start child for group %r: %s", uuid, err)
            ok = False
    if wait:
        for child in children:
            code = child.wait()
            logger.debug("Child PID %s exited with status %s", child.pid, code)
            if code != EXIT_SUCCESS:
                ok = False
    return ok


def _GlobalWatcher(opts: optparse.Values, argv: list[str]) -> int:
    """The part every node runs, then the master's part."""
    is_master = _IsMaster()
    if is_master is None:
        logger.info("This node is not part of a cluster, nothing to do")
        return EXIT_SUCCESS
    if not EnsureDaemon(constants.NODED):
        _Fail("The node daemon is not running and could not be started")
        return EXIT_FAILURE
    RunWatcherHooks()
    if not is_master:
        logger.debug("Not on master, exiting")
        return EXIT_SUCCESS
    try:
        client = GetLuxiClient(True)
    except NotMasterError:
        logger.debug("Not on master, exiting")
        return EXIT_SUCCESS
    except errors.GenericError as err:
        _Fail(f"Can't contact the master daemon, exiting: {err}")
        return EXIT_FAILURE
    with client:
        if _RapiInstalled():
            EnsureDaemon(constants.RAPI)
        try:
            archived, left = client.AutoArchiveJobs(opts.job_age)
            logger.debug("Archived %s jobs, left %s", archived, left)
            groups = [row[0] for row in _QueryRows(client, "group", ["uuid"])]
        except errors.GenericError as err:
            _Fail(f"Can't talk to the master daemon: {err}")
            return EXIT_FAILURE
    if not StartGroupChildren(argv, groups, opts.wait_children):
        _Fail("A group watcher failed, see the watcher log")
        return EXIT_FAILURE
    return EXIT_SUCCESS


def _Fail(msg: str) -> None:
    logger.critical("%s", msg)
    sys.stderr.write(f"{_PROGRAM}: {msg}\n")


# --- the group watcher -------------------------------------------------------------


def _GetGroupData(client: luxi.Client, uuid: str
                  ) -> tuple[dict[str, Instance], dict[str, tuple[Any, bool]]]:
    """Return the group's instances and its nodes' (boot id, offline).

    An instance belongs to the group if its primary or a secondary node does.
    """
    instances = {}
    for row in _QueryRows(client, "instance", _INSTANCE_FIELDS):
        name, status, admin_state, disks_active, pnode, snodes, pgroup, sgroups = row
        if pgroup != uuid and uuid not in (sgroups or []):
            continue
        instances[name] = Instance(name=name, status=status,
                                   autostart=admin_state == "up",
                                   disks_active=bool(disks_active),
                                   nodes=(pnode, *(snodes or [])))
    nodes = {name: (bootid, bool(offline))
             for name, bootid, offline, group_uuid
             in _QueryRows(client, "node", _NODE_FIELDS) if group_uuid == uuid}
    return instances, nodes


def _Restart(client: luxi.Client, name: str) -> None:
    _RunJob(client, [opcodes.OpInstanceStartup(instance_name=name, force=False)])


def _ActivateDisks(client: luxi.Client, names: list[str]) -> None:
    _RunJob(client, [opcodes.OpInstanceActivateDisks(instance_name=name)
                     for name in names])


def CheckInstances(client: luxi.Client, notepad: state.WatcherState,
                   instances: dict[str, Instance],
                   restart_fn: Callable[[luxi.Client, str], None] = _Restart,
                   ) -> set[str]:
    """Restart the instances that should run but are down, within MAXTRIES.

    Returns:
      the names of the instances a restart was tried for.
    """
    notepad.MaintainInstanceList(list(instances))
    started = set()
    for inst in instances.values():
        tries = notepad.NumberOfRestartAttempts(inst.name)
        if inst.status in BAD_STATES:
            if tries > MAXTRIES:
                logger.warning("Not restarting instance '%s', retries exhausted",
                               inst.name)
                continue
            if tries == MAXTRIES:
                notepad.RecordRestartAttempt(inst.name)
                logger.error("Could not restart instance '%s' after %s attempts,"
                             " giving up", inst.name, MAXTRIES)
                continue
            logger.info("Restarting instance '%s' (attempt #%s)", inst.name,
                        tries + 1)
            try:
                restart_fn(client, inst.name)
                started.add(inst.name)
            except errors.GenericError as err:
                logger.error("Error while restarting instance '%s': %s",
                             inst.name, err)
            notepad.RecordRestartAttempt(inst.name)
        elif tries:
            notepad.RemoveInstance(inst.name)
            if inst.status not in HELPLESS_STATES:
                logger.info("Restart of instance '%s' succeeded", inst.name)
    return started


def CheckDisks(client: luxi.Client, notepad: state.WatcherState,
               nodes: dict[str, tuple[Any, bool]], instances: dict[str, Instance],
               started: set[str],
               activate_fn: Callable[[luxi.Client, list[str]], None] = _ActivateDisks,
               ) -> None:
    """Re-activate the disks of the instances of nodes whose boot id changed."""
    rebooted = []
    for name, (new_id, offline) in sorted(nodes.items()):
        if not new_id:
            if not offline:
                logger.debug("Node '%s' missing boot ID, skipping secondary"
                             " checks", name)
            continue
        if notepad.GetNodeBootID(name) != new_id:
            rebooted.append(name)
    if not rebooted:
        return
    logger.info("Node(s) %s rebooted (boot ID changed)", ", ".join(rebooted))
    for inst in sorted(instances.values()):
        if not set(inst.nodes).intersection(rebooted):
            continue
        if not inst.disks_active:
            logger.info("Skipping disk activation for instance with not"
                        " activated disks '%s'", inst.name)
        elif inst.name in started:
            logger.debug("Skipping disk activation for instance '%s' as it was"
                         " already started", inst.name)
        else:
            logger.info("Activating disks for instance '%s'", inst.name)
            try:
                activate_fn(client, [inst.name])
            except errors.GenericError as err:
                logger.error("Error while activating disks for instance '%s': %s",
                             inst.name, err)
    for name in rebooted:
        notepad.SetNodeBootID(name, nodes[name][0])


def VerifyDisks(client: luxi.Client, uuid: str, instances: dict[str, Instance],
                nodes: dict[str, tuple[Any, bool]]) -> None:
    """Run verify-disks for the group and activate the disks it reports."""
    ((node_errors, offline_disks, missing),) = _RunJob(
        client, [opcodes.OpGroupVerifyDisks(group_name=uuid)])
    for node, msg in sorted((node_errors or {}).items()):
        logger.warning("Verify-disks: error on node '%s': %s", node, msg)
    for name in sorted(missing or {}):
        logger.warning("Verify-disks: instance '%s' has missing disks", name)
    wanted = []
    for name in sorted(offline_disks or []):
        inst = instances.get(name)
        if inst is None:
            continue
        if inst.status in HELPLESS_STATES or any(
                nodes.get(node, (None, False))[1] for node in inst.nodes[1:]):
            logger.info("Skip instance '%s' because it is in a helpless state or"
                        " has offline secondaries", name)
            continue
        wanted.append(name)
    if not wanted:
        logger.debug("Verify-disks reported no offline disks, nothing to do")
        return
    logger.info("Activating disks of instance(s) %s", ", ".join(wanted))
    try:
        _ActivateDisks(client, wanted)
    except errors.GenericError as err:
        logger.error("Error while activating disks: %s", err)


def _WatchGroup(client: luxi.Client, uuid: str, notepad: state.WatcherState) -> None:
    instances, nodes = _GetGroupData(client, uuid)
    state.WriteInstanceStatus(pathutils.WATCHER_GROUP_INSTANCE_STATUS_FILE % uuid,
                              [(i.name, i.status) for i in instances.values()])
    state.MergeInstanceStatus(pathutils.INSTANCE_STATUS_FILE,
                              pathutils.WATCHER_GROUP_INSTANCE_STATUS_FILE)
    (drained,) = client.QueryConfigValues(["drain_flag"])
    if drained:
        logger.info("Job queue is drained, not submitting any job")
        return
    started = CheckInstances(client, notepad, instances)
    CheckDisks(client, notepad, nodes, instances, started)
    VerifyDisks(client, uuid, instances, nodes)


def GroupWatcher(opts: optparse.Values) -> int:
    """Watch one node group (the child process of the global watcher)."""
    uuid = opts.nodegroup
    if not uuid or "/" in uuid or uuid.startswith("."):
        _Fail(f"Invalid node group UUID {uuid!r}")
        return EXIT_FAILURE
    path = pathutils.WATCHER_GROUP_STATE_FILE % uuid
    statefile = state.OpenStateFile(path)
    if statefile is None:
        logger.info("Another watcher works on group %s, exiting", uuid)
        return EXIT_SUCCESS
    notepad = state.WatcherState(statefile)
    try:
        client = GetLuxiClient(False)
        with client:
            _WatchGroup(client, uuid, notepad)
    except NotMasterError:
        logger.debug("Not on master, exiting")
        return EXIT_SUCCESS
    except (errors.GenericError, OSError) as err:
        _Fail(f"Watcher for group {uuid} failed: {err}")
        return EXIT_FAILURE
    finally:
        # What was done (restart attempts, boot ids) is recorded even when
        # a later step failed, so that the counters stay true.
        notepad.Save(path)
        notepad.Close()
    return EXIT_SUCCESS


# --- Main ----------------------------------------------------------------------------


def Main(argv: list[str] | None = None) -> int:
    """Run the watcher; return the exit code."""
    if argv is None:
        argv = sys.argv[1:]
    opts = ParseOptions(argv)
    _SetupLogging(opts)
    if ShouldPause() and not opts.ignore_pause:
        logger.debug("Pause has been set, exiting")
        return EXIT_SUCCESS
    if opts.nodegroup:
        return GroupWatcher(opts)
    try:
        lock = filelock.FileLock.Open(pathutils.WATCHER_LOCK_FILE)
    except errors.LockError as err:
        _Fail(str(err))
        return EXIT_FAILURE
    with lock:
        try:
            lock.Exclusive(blocking=False)
        except errors.LockError:
            logger.info("Another watcher is already running (lock %s held),"
                        " exiting", pathutils.WATCHER_LOCK_FILE)
            return EXIT_SUCCESS
        try:
            return _GlobalWatcher(opts, argv)
        except (errors.GenericError, OSError) as err:
            logger.exception("Watcher failed")
            _Fail(f"Watcher failed: {err}")
            return EXIT_FAILURE


def _SetupLogging(opts: optparse.Values) -> None:
    program = _PROGRAM if not opts.nodegroup else f"{_PROGRAM}[{opts.nodegroup}]"
    try:
        os.makedirs(os.path.dirname(pathutils.LOG_WATCHER), exist_ok=True)
    except OSError:
        pass
    daemon.SetupLogging(pathutils.LOG_WATCHER, program, debug=opts.debug,
                        stderr_logging=opts.debug)

