"""ganeti-masterd: the master daemon (ganeti-masterd(8)).

Mirrors Ganeti 2.x's lib/server/masterd.py. The master daemon owns the
cluster configuration, the lock manager and the job queue, and serves LUXI
on the master node: on pathutils.QUERY_SOCKET (the path of 3.x clients) and
pathutils.MASTER_SOCKET (2.x clients), one thread per client.

Start-up, in GenericMain's order:

1. check (before detaching): this node is the master per ssconf
   (ssconf.CheckMaster, exit 11/12 otherwise), then the vote: every other
   node of ssconf node_list, offline ones too, is asked who the master is,
   and the daemon refuses to start unless half of all the nodes plus one
   name this node (its own vote counts). Nodes that do not answer are
   asked again (6 rounds, 10 s apart) before giving up. --no-voting skips
   the vote, and since two masters in one cluster lose data, it is only
   accepted together with --yes-do-it (Ganeti asks interactively instead).
   The vote runs in a child process: RPC uses threads, and the daemon
   forks to detach afterwards.
2. prepare: load config.data into a ConfigWriter whose save hook copies it
   to the master candidates and the ssconf files to every node
   (server/distribute.py), build the lock manager and the job queue (which
   finishes jobs an unclean shutdown left running), open the sockets.
3. serve until SIGTERM/SIGINT, then stop accepting clients, let the queue
   finish the running opcodes (at most SHUTDOWN_TIMEOUT seconds) and exit 0.
"""

from __future__ import annotations

import logging
import optparse
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from ganeti import bootstrap, constants, daemon, errors, locking, netutils
from ganeti import pathutils, ssconf
from ganeti.server import distribute
from ganeti.server import luxi as luxi_server
from ganeti.server.luxi_handler import LuxiHandler
from ganeti.utils import process

logger = logging.getLogger(__name__)

# How long the job queue may take to finish its running opcodes at shutdown
# (below daemon-util's 30 s before SIGKILL).
SHUTDOWN_TIMEOUT = 25.0
# Voting rounds while nodes do not answer, and the pause between them.
VOTING_RETRIES = 6
VOTING_RETRY_INTERVAL = 10.0
_NO_VOTING_HINT = ("Use the --no-voting option (with --yes-do-it) if you"
                   " understand what effects it has on the cluster state")


class GanetiContext:
    """What the job queue, mcpu and the logical units share in masterd.

    Attributes:
      cfg: the ConfigWriter.
      glm: the GanetiLockManager.
      jobqueue: the JobQueue (set once built).
      distributor: the ClusterDistributor replicating files to the nodes.
    """

    def __init__(self, cfg: Any, glm: Any,
                 distributor: distribute.ClusterDistributor | None = None,
                 rpc_port: int | None = None,
                 runner_fn: Callable[[Any], Any] | None = None) -> None:
        """Args:
          cfg: the ConfigWriter.
          glm: the lock manager.
          distributor: the file replication helper (None: no replication).
          rpc_port: noded's port (default rpc_client.GetNodedPort()).
          runner_fn: builds the RpcRunner for a ConfigWriter (test seam;
            default rpc.client.ConfigRunner).
        """
        self.cfg = cfg
        self.glm = glm
        self.distributor = distributor
        self.jobqueue: Any = None
        self._rpc_port = rpc_port
        self._runner_fn = runner_fn
        self._rpc_lock = threading.Lock()
        self._runners: dict[int, tuple[Any, Any]] = {}

    def GetRpc(self, cfg: Any) -> Any:
        """The RpcRunner resolving nodes through cfg (one per ConfigWriter,
        shared by all threads, so connections to the nodes persist)."""
        with self._rpc_lock:
            entry = self._runners.get(id(cfg))
            if entry is None or entry[0] is not cfg:
                if self._runner_fn is not None:
                    runner = self._runner_fn(cfg)
                else:
                    from ganeti.rpc import client as rpc_client
                    port = self._rpc_port or rpc_client.GetNodedPort()
                    runner = rpc_client.ConfigRunner(cfg, port=port)
                entry = (cfg, runner)
                self._runners[id(cfg)] = entry
            return entry[1]

    def AddNode(self, node: Any, ec_id: Any = None) -> None:
        """Add a node to the configuration and create its locks."""
        self.cfg.AddNode(node, ec_id)
        self.glm.add(locking.LEVEL_NODE, node.uuid)
        self.glm.add(locking.LEVEL_NODE_RES, node.uuid)

    def RemoveNode(self, node: Any) -> None:
        """Remove a node from the configuration and drop its locks."""
        self.cfg.RemoveNode(node.uuid)
        self.glm.remove(locking.LEVEL_NODE_RES, node.uuid)
        self.glm.remove(locking.LEVEL_NODE, node.uuid)

    def Close(self) -> None:
        """Close the RPC runners (their threads and connections)."""
        with self._rpc_lock:
            runners = [runner for _, runner in self._runners.values()]
            self._runners = {}
        for runner in runners:
            close_fn = getattr(runner, "Close", None)
            if close_fn is not None:
                close_fn()


def BuildContext(cfg_file: str | None = None, start_workers: bool = True,
                 queue_cls: Any = None,
                 runner_fn: Callable[[Any], Any] | None = None) -> GanetiContext:
    """Load the configuration and build the master's context and job queue.

    Args:
      cfg_file: config.data (default pathutils.CLUSTER_CONF_FILE).
      start_workers: start the queue's worker threads now.
      queue_cls: the job queue class (default jqueue.JobQueue).
      runner_fn: see GanetiContext.

    Raises:
      errors.ConfigurationError: config.data is missing or invalid.
      errors.JobQueueError: the job queue cannot be opened.
    """
    from ganeti import config

    holder: dict[str, GanetiContext] = {}
    distributor = distribute.ClusterDistributor(
        lambda: holder["ctx"].cfg, lambda: holder["ctx"].GetRpc(holder["ctx"].cfg))
    cfg = config.ConfigWriter(cfg_file, _save_hook=distributor.OnConfigSave)
    glm = locking.GanetiLockManager(
        cfg.GetNodeList(), cfg.GetNodeGroupList(),
        [str(inst.name) for inst in cfg.GetAllInstancesInfo().values()],
        list(cfg.GetAllNetworksInfo()))
    context = GanetiContext(cfg, glm, distributor, runner_fn=runner_fn)
    holder["ctx"] = context
    if queue_cls is None:
        from ganeti import jqueue
        queue_cls = jqueue.JobQueue
    context.jobqueue = queue_cls(
        context, cfg=cfg, replicate_fn=distributor.ReplicateJobFile,
        start_workers=start_workers,
        replicate_rename_fn=distributor.ReplicateRename,
        replicate_drain_fn=distributor.ReplicateDrainFlag)
    return context


# --- voting ------------------------------------------------------------------


def CheckAgreement(node_names: list[str], myself: str, runner: Any = None,
                   retries: int = VOTING_RETRIES,
                   interval: float = VOTING_RETRY_INTERVAL,
                   sleep_fn: Callable[[float], Any] = time.sleep,
                   report_fn: Callable[[str], Any] | None = None) -> bool:
    """Whether the other nodes agree that this node is the master.

    Asks again, up to retries rounds interval seconds apart, while the
    answer is no and some nodes did not answer.

    Args:
      node_names: every node of the cluster (ssconf node_list).
      myself: this node's name.
      runner: the RpcRunner to ask with (default: bootstrap's).
      report_fn: receives the reasons for a refusal (default: stderr).
    """
    report = report_fn or (lambda msg: sys.stderr.write(f"{msg}\n"))
    for attempt in range(1, max(retries, 1) + 1):
        votes = bootstrap.GatherMasterVotes(node_names, runner, myself)
        agreed, message = bootstrap.CheckMasterVotes(votes, myself)
        if agreed:
            logger.info("Master vote: %s", message)
            return True
        if not any(name is None for name, _ in votes) or attempt >= retries:
            break
        logger.warning("Master vote inconclusive (%s), retrying in %s s", message,
                       interval)
        sleep_fn(interval)
    report(message)
    report(_NO_VOTING_HINT)
    return False


def _RunInSeparateProcess(fn: Callable[[], bool]) -> bool:
    """Run fn in a forked child; return its result (False if it failed)."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = 0 if fn() else 1
        except BaseException:  # noqa: BLE001  (the child must always exit)
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def _VoteFromSsconf() -> bool:
    store = ssconf.SimpleStore()
    try:
        node_names = store.GetNodeList()
    except errors.ConfigurationError as err:
        sys.stderr.write(f"Cannot read the node list: {err}\n")
        return False
    return CheckAgreement(node_names, netutils.Hostname.GetSysName())


def CheckMasterd(options: optparse.Values, args: list[str]) -> None:
    """Exit with a message unless this node may run the master daemon."""
    if args:
        sys.stderr.write(f"Usage: {sys.argv[0]} [-f] [-d] [--no-voting"
                         " --yes-do-it]\n")
        sys.exit(daemon.EXIT_FAILURE)
    ssconf.CheckMaster(options.debug)
    if options.no_voting:
        if not options.yes_do_it:
            sys.stderr.write(
                "The 'no voting' option has been selected. This is dangerous:"
                " two master daemons in one cluster will most likely lose"
                " data. Confirm it by adding --yes-do-it.\n")
            sys.exit(daemon.EXIT_FAILURE)
        logger.warning("Master voting skipped (--no-voting --yes-do-it)")
        return
    if not _RunInSeparateProcess(_VoteFromSsconf):
        sys.exit(daemon.EXIT_FAILURE)


# --- prepare and run ---------------------------------------------------------


def PrepMasterd(_options: optparse.Values,
                _args: list[str]) -> tuple[GanetiContext, luxi_server.LuxiServer]:
    """Build the context and job queue, then open the LUXI sockets.

    Raises:
      errors.GenericError: the configuration, queue or sockets are unusable.
    """
    context = BuildContext()
    server = luxi_server.LuxiServer(
        [pathutils.QUERY_SOCKET, pathutils.MASTER_SOCKET], LuxiHandler(context))
    try:
        server.Start()
    except errors.GenericError:
        _ShutdownQueue(context, SHUTDOWN_TIMEOUT)
        context.Close()
        raise
    return context, server


def _ShutdownQueue(context: GanetiContext, timeout: float) -> bool:
    """Stop the job queue; return whether it stopped within timeout."""
    queue = context.jobqueue
    if queue is None:
        return True
    worker = threading.Thread(target=queue.Shutdown, args=(timeout,),
                              name="queue-shutdown", daemon=True)
    worker.start()
    worker.join(timeout + 5.0)
    return not worker.is_alive()


def ExecMasterd(_options: optparse.Values, _args: list[str],
                prep: tuple[GanetiContext, luxi_server.LuxiServer]) -> None:
    """Serve until SIGTERM/SIGINT, then shut down in order."""
    context, server = prep
    stop = threading.Event()
    daemon.InstallShutdownHandlers(stop.set)
    logger.info("Master daemon serving on %s", ", ".join(server.socket_paths))
    while not stop.wait(1.0):
        pass
    logger.info("Shutting down: no new clients, waiting for running opcodes")
    server.Shutdown()
    if not _ShutdownQueue(context, SHUTDOWN_TIMEOUT):
        logger.warning("The job queue did not stop within %s s; exiting anyway",
                       SHUTDOWN_TIMEOUT)
        context.Close()
        process.RemovePidFile(pathutils.GetPidFilename(constants.MASTERD))
        logging.shutdown()
        os._exit(daemon.EXIT_SUCCESS)
    if context.distributor is not None:
        # ssconf files still being sent go out before the master stops.
        context.distributor.Shutdown(distribute.SHUTDOWN_TIMEOUT)
    context.Close()


def Main() -> None:
    """Entry point of daemons/ganeti-masterd."""
    parser = optparse.OptionParser(
        description="Ganeti master daemon",
        usage="%prog [-f] [-d] [--no-voting --yes-do-it]",
        version=f"%prog (ganeti) {constants.RELEASE_VERSION}")
    parser.add_option("--no-voting", dest="no_voting", default=False,
                      action="store_true",
                      help="Do not check that the nodes agree on this node"
                      " being the master and start the daemon unconditionally")
    parser.add_option("--yes-do-it", dest="yes_do_it", default=False,
                      action="store_true",
                      help="Confirm --no-voting (no interactive question)")
    daemon.GenericMain(constants.MASTERD, parser, CheckMasterd, PrepMasterd,
                       ExecMasterd, multithreaded=True)
