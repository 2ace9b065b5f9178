"""Master failover: make this master candidate the cluster's master.

Mirrors Ganeti's bootstrap.MasterFailover and MajorityHealthy, run by
`gnt-cluster master-failover` on the node that is to become the master,
while no master daemon runs there. Steps:

1. Checks, nothing changed yet: this node is not the master and is a master
   candidate (ssconf and config.data); unless no_voting, the nodes that
   answer RPC master_node_name agree with this node on who the master is.
2. Config freshness (not in Ganeti): every reachable master candidate is
   asked for the serial number of its config.data (RPC config_serial_no).
   If one has a newer configuration than this node, the failover is
   refused and the message names the node with the newest one. Ganeti took
   over with whatever config.data the node had, so a candidate that had
   missed updates while it was down silently dropped them when it became
   the master (Ganeti issue #1242). Fetching the newer file instead was
   rejected: which copy is right is the operator's call (it may come from
   a master that was cut off), and the fix is one command away (redist-conf
   on the running master, or the failover run on the node named).
3. The old master's master IP is removed and its master daemons are stopped
   (RPC; a master that is down only gives a warning). The freshness check
   is then repeated with the re-read config.data, since the old master may
   have saved a change in between: if this node is now behind, the old
   master is started again and the failover refused.
4. config.data gets this node as master_node and is saved, which copies it
   to every other online master candidate (the old master included) and
   the ssconf files to every online node, as masterd's saves do.
5. The job queue is undrained, masterd (and the RAPI daemon if installed)
   is started here through daemon-util, with --no-voting --yes-do-it if
   no_voting, and the master IP is activated (RPC to this node's noded).

Ganeti's check that the master IP went down on the old master (and came up
here) pings the IP's noded port. Virtual nodes share the host's network
stack, so there the address is looked up on the interface instead, and the
wait for it to go down is skipped: a virtual master that is down leaves
its address on the shared "lo", and this node takes it over.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

from ganeti import constants, errors, netutils, pathutils, ssconf, vcluster
from ganeti.utils import io, process, retry

logger = logging.getLogger(__name__)

# Seconds to wait for the master IP to go down on the old master and to come
# up here (Ganeti: 30).
MASTER_IP_TIMEOUT = 30.0
_MASTER_IP_DELAY = (1.0, 1.5, 5.0)

FeedbackFn = Callable[[str], Any]


@dataclasses.dataclass
class FailoverEnv:
    """What the failover works with; every field has a real default.

    Attributes:
      store: this node's ssconf store.
      cfg_file: this node's config.data.
      myself: this node's name (default: ssconf's view of the host name).
      transport: RPC transport (default: TLS with this node's certificates).
      port: noded's port on every node.
      start_master_fn: starts this node's master daemons, given no_voting.
      master_ip_up_fn: whether the master IP is up, given (ip, netdev).
      ip_timeout: seconds to wait for the master IP to change state.
    """

    store: ssconf.SimpleStore | None = None
    cfg_file: str | None = None
    myself: str | None = None
    transport: Any = None
    port: int | None = None
    start_master_fn: Callable[[bool], None] | None = None
    master_ip_up_fn: Callable[[str, str], bool] | None = None
    ip_timeout: float = MASTER_IP_TIMEOUT

    def GetStore(self) -> ssconf.SimpleStore:
        if self.store is None:
            self.store = ssconf.SimpleStore()
        return self.store

    def GetPort(self) -> int:
        if self.port is None:
            from ganeti.rpc import client as rpc_client
            self.port = rpc_client.GetNodedPort()
        return self.port

    @contextlib.contextmanager
    def SsconfRunner(self) -> Iterator[Any]:
        """An RpcRunner resolving through ssconf, contacting offline nodes
        too (a node's own view of being offline may be stale)."""
        from ganeti.rpc import client as rpc_client
        from ganeti.rpc import resolver

        inner = resolver.SsconfResolver(self.GetStore())

        class _AllNodes:
            def Resolve(self, nodes: Any) -> list[Any]:
                return [addr._replace(offline=False) for addr in inner.Resolve(nodes)]

        runner = rpc_client.RpcRunner(_AllNodes(), self.transport, self.GetPort())
        try:
            yield runner
        finally:
            runner.Close()

    @contextlib.contextmanager
    def ConfigRunner(self, cfg: Any) -> Iterator[Any]:
        """An RpcRunner resolving through cfg (offline nodes not contacted)."""
        from ganeti.rpc import client as rpc_client

        runner = rpc_client.ConfigRunner(cfg, self.transport, self.GetPort())
        try:
            yield runner
        finally:
            runner.Close()

    def StartMasterDaemons(self, no_voting: bool) -> None:
        if self.start_master_fn is not None:
            self.start_master_fn(no_voting)
        else:
            _StartLocalMasterDaemons(no_voting)

    def MasterIpUp(self, ip: str, netdev: str) -> bool:
        if self.master_ip_up_fn is not None:
            return self.master_ip_up_fn(ip, netdev)
        return _MasterIpUp(ip, netdev, self.GetPort())


# --- local helpers ------------------------------------------------------------


def _StartLocalMasterDaemons(no_voting: bool) -> None:
    """Start masterd here (waiting until it answers), then RAPI if installed.

    Raises:
      errors.OpExecError: masterd did not start.
    """
    from ganeti import bootstrap

    extra = ["--no-voting", "--yes-do-it"] if no_voting else []
    bootstrap.StartMasterDaemon(extra)
    if os.access(os.path.join(pathutils.DAEMONS_DIR, constants.RAPI), os.X_OK):
        try:
            bootstrap.RunDaemonUtil("start", constants.RAPI)
        except errors.OpExecError as err:
            logger.warning("The RAPI daemon did not start: %s", err)


def _MasterIpUp(ip: str, netdev: str, port: int) -> bool:
    """Whether the master IP is up (see module doc for virtual nodes)."""
    if not vcluster.IsVirtual():
        return netutils.TcpPing(ip, port, timeout=1.0)
    from ganeti.backend import master as backend_master

    try:
        result = process.RunCmd(["ip", "-o", "address", "show", "dev", netdev])
    except errors.CommandError:
        return False
    return not result.failed and ip in backend_master.ParseAddresses(result.stdout)


def MasterNetworkParameters(cfg: Any, node_uuid: str) -> dict[str, Any]:
    """The master_params of node_(de)activate_master_ip for node_uuid."""
    cluster = cfg.GetClusterInfo()
    return {"uuid": node_uuid, "ip": cluster.master_ip,
            "netmask": cluster.master_netmask, "netdev": cluster.master_netdev,
            "ip_family": cluster.primary_ip_family}


def _LoadConfig(env: FailoverEnv, save_hook: Any = None) -> Any:
    """This node's config.data in a ConfigWriter.

    Raises:
      errors.OpPrereqError: it is missing or unusable.
    """
    from ganeti import config

    try:
        return config.ConfigWriter(env.cfg_file, offline=save_hook is None,
                                   _save_hook=save_hook)
    except errors.ConfigurationError as err:
        raise errors.OpPrereqError(
            f"Cannot load this node's cluster configuration: {err}",
            errors.ECODE_ENVIRON) from err


# --- votes ----------------------------------------------------------------------


def CollectVotes(node_names: list[str], myself: str, runner: Any,
                 own_vote: str | None) -> dict[str, str | None]:
    """Ask each node who the master is (RPC master_node_name).

    Args:
      node_names: the nodes to ask; this node answers own_vote itself.
      myself: this node's name.
      runner: the RpcRunner to ask with.
      own_vote: the master according to this node's ssconf.

    Returns:
      node name -> the master it names, None if it did not answer.
    """
    others = [name for name in dict.fromkeys(node_names) if name != myself]
    votes: dict[str, str | None] = {}
    if myself in node_names:
        votes[myself] = own_vote
    if others:
        for name, result in runner.call_master_node_name(others).items():
            if result.failed or not isinstance(result.payload, str):
                logger.warning("No master vote from %s: %s", name,
                               result.fail_msg or "invalid answer")
                votes[name] = None
            else:
                votes[name] = result.payload
    return votes


def MajorityHealthy(ignore_offline_nodes: bool = False,
                    env: FailoverEnv | None = None) -> tuple[bool, list[str]]:
    """Whether more than half of the nodes answer the master vote.

    As Ganeti's bootstrap.MajorityHealthy: this does not elect anyone, it
    only makes sure that a failover with voting can be decided.

    Args:
      ignore_offline_nodes: leave out the nodes ssconf lists as offline.
      env: see FailoverEnv.

    Returns:
      (whether a strict majority answered, the nodes that did not).

    Raises:
      errors.ConfigurationError: this node has no ssconf files.
    """
    env = env or FailoverEnv()
    store = env.GetStore()
    node_names = store.GetOnlineNodeList() if ignore_offline_nodes \
        else store.GetNodeList()
    master, myself = ssconf.GetMasterAndMyself(store)
    myself = env.myself or myself
    with env.SsconfRunner() as runner:
        votes = CollectVotes(node_names, myself, runner, master)
    silent = [name for name, vote in votes.items() if vote is None]
    answered = len(votes) - len(silent)
    logger.info("Total %d nodes, %d answered the master vote", len(node_names),
                answered)
    return 2 * answered > len(node_names), silent


def _CheckVotes(voted: str | None, old_master: str) -> None:
    """Refuse when the nodes that answered name another master than ours.

    Raises:
      errors.OpPrereqError: most answers name another node (ECODE_STATE).
    """
    if voted is not None and voted != old_master:
        raise errors.OpPrereqError(
            f"This node's view of the cluster is out of date: it takes"
            f" {old_master} for the master, but most nodes name {voted}. Bring"
            " this node's configuration up to date (gnt-cluster redist-conf on"
            " the master) before trying again.", errors.ECODE_STATE)


# --- configuration freshness -------------------------------------------------------


def GatherConfigSerials(cfg: Any, runner: Any,
                        myself_uuid: str) -> tuple[dict[str, int], dict[str, str]]:
    """Ask the other online master candidates for their config serial number.

    Returns:
      ({node name: serial_no}, {node name: why it could not be read}).
    """
    names = [node.name for node in cfg.GetAllNodesInfo().values()
             if node.master_candidate and not node.offline
             and node.uuid != myself_uuid]
    serials: dict[str, int] = {}
    failures: dict[str, str] = {}
    if not names:
        return serials, failures
    for name, result in runner.call_config_serial_no(names).items():
        payload = result.payload
        if result.failed:
            failures[name] = str(result.fail_msg)
        elif isinstance(payload, bool) or not isinstance(payload, int):
            failures[name] = f"invalid answer {payload!r:.40}"
        else:
            serials[name] = payload
    return serials, failures


def CheckConfigFreshness(myself: str, local_serial: int,
                         serials: dict[str, int]) -> None:
    """Refuse to take over with a configuration older than a candidate's.

    Raises:
      errors.OpPrereqError: some candidate has a higher serial number
        (ECODE_STATE); the message names them and what to do.
    """
    newer = {name: serial for name, serial in serials.items()
             if serial > local_serial}
    if not newer:
        return
    best = sorted(newer.items(), key=lambda item: (-item[1], item[0]))[0]
    others = ", ".join(f"{name} has serial number {serial}"
                       for name, serial in sorted(newer.items()))
    raise errors.OpPrereqError(
        f"Refusing the master failover: the configuration of this node ({myself},"
        f" serial number {local_serial}) is older than that of other master"
        f" candidates ({others}). Taking over with it would lose the changes"
        " made since. Bring this node up to date first, with 'gnt-cluster"
        " redist-conf' on the master if it still runs, or run 'gnt-cluster"
        f" master-failover' on {best[0]}, which has the newest configuration"
        f" (serial number {best[1]}).", errors.ECODE_STATE)


def _CheckFreshness(env: FailoverEnv, cfg: Any, myself: str,
                    myself_uuid: str) -> list[str]:
    """Gather the serials and check them; return warnings for the
    candidates that could not be asked.

    Raises:
      errors.OpPrereqError: see CheckConfigFreshness.
    """
    with env.ConfigRunner(cfg) as runner:
        serials, failures = GatherConfigSerials(cfg, runner, myself_uuid)
    CheckConfigFreshness(myself, cfg.GetConfigSerialNo(), serials)
    return [f"Could not compare the configuration with master candidate {name}:"
            f" {msg}" for name, msg in sorted(failures.items())]


# --- the failover ------------------------------------------------------------------


def _VotedMaster(votes: dict[str, str | None]) -> str | None:
    """The master most answering nodes name (ties: by name), or None."""
    counts: dict[str, int] = {}
    for vote in votes.values():
        if vote is not None:
            counts[vote] = counts.get(vote, 0) + 1
    if not counts:
        return None
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[0][0]


def _CheckCandidate(store: ssconf.SimpleStore, old_master: str,
                    new_master: str, voted: str | None) -> None:
    """This node must not be the master and must be a master candidate.

    A node that takes itself for the master while most nodes name another
    one is a former master that missed a failover: it is told so.

    Raises:
      errors.OpPrereqError: it is the master (ECODE_INVAL), a stale former
        master or no candidate (ECODE_STATE).
    """
    if old_master == new_master:
        if voted is not None and voted != new_master:
            raise errors.OpPrereqError(
                f"This node ({new_master}) takes itself for the master, but most"
                f" nodes name {voted}: its configuration is out of date (it"
                " missed a master failover). Run 'gnt-cluster redist-conf' on"
                f" {voted} to bring it up to date, then retry.",
                errors.ECODE_STATE)
        raise errors.OpPrereqError(
            f"{old_master} is already the master; run master-failover on the"
            " node that is to become the master", errors.ECODE_INVAL)
    candidates = store.GetMasterCandidates()
    if new_master not in candidates:
        listed = "\n".join(name for name in candidates if name != old_master)
        raise errors.OpPrereqError(
            f"This node ({new_master}) is not a master candidate, and only master"
            " candidates can take over the master role. The master candidates"
            f" are:\n{listed}", errors.ECODE_STATE)


def _LookupNodes(cfg: Any, old_master: str, new_master: str) -> tuple[Any, Any]:
    """The old and new master's Node objects.

    Raises:
      errors.OpPrereqError: one is not in config.data, or this node is no
        candidate there.
    """
    nodes = []
    for which, name in (("old", old_master), ("new", new_master)):
        node = cfg.GetNodeInfoByName(name)
        if node is None:
            raise errors.OpPrereqError(
                f"The {which} master node '{name}' is not in this node's cluster"
                " configuration", errors.ECODE_NOENT)
        nodes.append(node)
    if not nodes[1].master_candidate or nodes[1].offline:
        raise errors.OpPrereqError(
            f"This node ({new_master}) is not an online master candidate in its"
            " configuration; only those can become the master", errors.ECODE_STATE)
    return nodes[0], nodes[1]


def _StopOldMaster(env: FailoverEnv, cfg: Any, old_node: Any,
                   warnings: list[str]) -> bool:
    """Take the master IP down on the old master and stop its daemons.

    Returns:
      whether the old master's daemons were stopped (it answered).
    """
    cluster = cfg.GetClusterInfo()
    params = MasterNetworkParameters(cfg, old_node.uuid)
    with env.ConfigRunner(cfg) as runner:
        result = runner.call_node_deactivate_master_ip(
            old_node.name, params, bool(cluster.use_external_mip_script))
        if result.failed:
            warnings.append("Could not remove the master IP from the old master"
                            f" {old_node.name}: {result.fail_msg}")
        result = runner.call_node_stop_master(old_node.name)
    if result.failed:
        warnings.append(f"Could not stop the master daemons on the old master"
                        f" {old_node.name}; if it is still running, stop them there"
                        f" by hand: {result.fail_msg}")
        return False
    logger.info("Stopped the master daemons on %s", old_node.name)
    return True


def _RestoreOldMaster(env: FailoverEnv, cfg: Any, old_node: Any) -> str:
    """Give the master role back to the old master; return what happened."""
    params = MasterNetworkParameters(cfg, old_node.uuid)
    with env.ConfigRunner(cfg) as runner:
        result = runner.call_node_start_master_daemons(old_node.name, False)
        if result.failed:
            return (f" Restarting the master daemon on {old_node.name} failed,"
                    f" start it there by hand: {result.fail_msg}")
        result = runner.call_node_activate_master_ip(
            old_node.name, params, bool(cfg.GetClusterInfo().use_external_mip_script))
    if result.failed:
        return (f" The master daemon runs again on {old_node.name}, but its"
                f" master IP could not be activated: {result.fail_msg}")
    return f" The master role was given back to {old_node.name}."


def _WaitMasterIp(env: FailoverEnv, cfg: Any, up: bool) -> bool:
    """Wait until the master IP is up (or down); return whether it got so."""
    cluster = cfg.GetClusterInfo()

    def _Check() -> None:
        if env.MasterIpUp(cluster.master_ip, cluster.master_netdev) != up:
            raise retry.RetryAgain()

    try:
        retry.Retry(_Check, _MASTER_IP_DELAY, env.ip_timeout)
    except retry.RetryTimeout:
        return False
    return True


def _SetNewMaster(env: FailoverEnv, new_master: str,
                  warnings: list[str]) -> Any:
    """Record this node as master in config.data and distribute it.

    Returns:
      the ConfigWriter holding the new configuration.

    Raises:
      errors.OpPrereqError: config.data cannot be loaded.
      errors.ConfigurationError: it cannot be written.
    """
    from ganeti.server import distribute

    holder: dict[str, Any] = {}
    runners = contextlib.ExitStack()

    def _Runner() -> Any:
        if "runner" not in holder:
            holder["runner"] = runners.enter_context(env.ConfigRunner(holder["cfg"]))
        return holder["runner"]

    distributor = distribute.ClusterDistributor(
        lambda: holder["cfg"], _Runner, store=env.GetStore())
    with runners:
        cfg = holder["cfg"] = _LoadConfig(env, distributor.OnConfigSave)
        cluster = cfg.GetClusterInfo()
        cluster.master_node = cfg.GetNodeInfoByName(new_master).uuid
        cfg.Update(cluster, warnings.append)
    return cfg


def _UndrainQueue() -> None:
    if os.path.exists(pathutils.JOB_QUEUE_DRAIN_FILE):
        logger.info("Undraining job queue")
        io.RemoveFile(pathutils.JOB_QUEUE_DRAIN_FILE)


def _TakeOver(env: FailoverEnv, cfg: Any, new_node: Any, no_voting: bool,
              warnings: list[str]) -> int:
    """Start the master daemons and the master IP here; return the exit code."""
    rcode = 0
    _UndrainQueue()
    logger.info("Starting the master daemons on the new master")
    try:
        env.StartMasterDaemons(no_voting)
    except errors.GenericError as err:
        warnings.append(f"The master daemon did not start on the new master"
                        f" {new_node.name}: {err}")
        return 1
    params = MasterNetworkParameters(cfg, new_node.uuid)
    with env.ConfigRunner(cfg) as runner:
        result = runner.call_node_activate_master_ip(
            new_node.name, params, bool(cfg.GetClusterInfo().use_external_mip_script))
    if result.failed:
        warnings.append(f"Could not activate the master IP on {new_node.name}:"
                        f" {result.fail_msg}")
        rcode = 1
    elif not _WaitMasterIp(env, cfg, up=True):
        warnings.append(
            f"The master IP is not up after {env.ip_timeout:g} seconds; the"
            f" cluster works, but is reachable through {new_node.name} only, not"
            " through the master IP")
        rcode = 1
    return rcode


def MasterFailover(no_voting: bool = False,
                   env: FailoverEnv | None = None) -> tuple[int, list[str]]:
    """Make this node the master (see the module doc for the steps).

    Args:
      no_voting: skip the vote (two-node clusters whose other node is down);
        the caller must have asked the operator.
      env: see FailoverEnv (tests).

    Returns:
      (exit code, warnings for the operator).

    Raises:
      errors.OpPrereqError: a check failed; nothing was changed, or the old
        master was given its role back (the message says so).
      errors.ConfigurationError: this node has no ssconf files or its
        config.data could not be written.
    """
    env = env or FailoverEnv()
    store = env.GetStore()
    old_master, myself = ssconf.GetMasterAndMyself(store)
    new_master = env.myself or myself
    voted = None
    if not no_voting:
        with env.SsconfRunner() as runner:
            votes = CollectVotes(store.GetNodeList(), new_master, runner, old_master)
        voted = _VotedMaster(votes)
    _CheckCandidate(store, old_master, new_master, voted)
    _CheckVotes(voted, old_master)
    cfg = _LoadConfig(env)
    old_node, new_node = _LookupNodes(cfg, old_master, new_master)
    warnings = _CheckFreshness(env, cfg, new_master, new_node.uuid)
    # Past this point the cluster changes.
    logger.info("Setting master to %s, old master: %s", new_master, old_master)
    if _StopOldMaster(env, cfg, old_node, warnings):
        cfg = _LoadConfig(env)
        try:
            _CheckFreshness(env, cfg, new_master, new_node.uuid)
        except errors.OpPrereqError as err:
            raise errors.OpPrereqError(
                str(err.args[0]) + _RestoreOldMaster(env, cfg, old_node),
                errors.ECODE_STATE) from err
    cfg = _SetNewMaster(env, new_master, warnings)
    rcode = 0
    if not vcluster.IsVirtual() and not _WaitMasterIp(env, cfg, up=False):
        warnings.append(
            f"The master IP still answers after {env.ip_timeout:g} seconds;"
            " continuing, but it will most likely not come up on this node")
        rcode = 1
    rcode = max(rcode, _TakeOver(env, cfg, new_node, no_voting, warnings))
    logger.info("Master failed over from %s to %s", old_master, new_master)
    return rcode, warnings
