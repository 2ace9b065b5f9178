"""Node roles and the master candidate pool (shared by the node LUs).

Mirrors Ganeti's _DecideSelfPromotion (lib/cmdlib/node.py), AdjustCandidatePool,
CreateNewClientCert and Add/RemoveNodeCertToCandidateCerts
(lib/cmdlib/common.py) and ConfigWriter.MaintainCandidatePool (lib/config).

Design notes:
- A node has exactly one role. The master is recorded as a master
  candidate too; the other roles come from the flags (master_candidate,
  drained, offline), of which at most one is set (ROLE_TO_FLAGS).
- The pool wanted is min(candidate_pool_size, nodes able to be candidates)
  where able means online, not drained and master_capable
  (ConfigWriter.GetMasterCandidateStats).
- Promoting a node always prepares it first, before any flag changes
  (PrepareCandidate): its client certificate digest is fetched with
  node_crypto_tokens (it goes into cluster.candidate_certs, hence into ssconf
  master_candidates_certs, which every noded checks its callers against),
  and the current config.data (then the job queue) is uploaded to it. So a
  candidate that missed changes while it was down or offline never holds a
  stale configuration once it is a candidate (Ganeti issue #1242, issue 4
  point 5), and a node that cannot be reached is not promoted at all: the
  configuration is left as it was. The promoting save then sends
  config.data again (the distributor copies it to every online candidate
  on each save).
- Nodes marked offline are contacted at their primary IP address: the RPC
  runner does not send to nodes the configuration marks offline, and a
  node leaving the offline state must be prepared before that mark goes.
- Ganeti picks the nodes to promote in random order; here they are taken
  in name order, so that the outcome is predictable.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

from ganeti import constants, errors
from ganeti.backend.crypto import (
    CRYPTO_ACTION_CREATE,
    CRYPTO_ACTION_GET,
    CRYPTO_OPTION_CERT_FILE,
    CRYPTO_OPTION_SERIAL_NO,
    CRYPTO_TYPE_SSL_DIGEST,
)
from ganeti.utils import io
from ganeti.utils.text import CommaJoin, NiceSort

logger = logging.getLogger(__name__)

FeedbackFn = Callable[..., None] | None

# Roles (constants.NR_*); the master's is decided by the cluster, not flags.
ROLE_MASTER = constants.NR_MASTER
ROLE_CANDIDATE = constants.NR_MCANDIDATE
ROLE_DRAINED = constants.NR_DRAINED
ROLE_OFFLINE = constants.NR_OFFLINE
ROLE_REGULAR = constants.NR_REGULAR

#: The role flags, in the order of ROLE_TO_FLAGS' tuples.
ROLE_FLAGS = ("master_candidate", "drained", "offline")
#: (master_candidate, drained, offline) of each non-master role.
ROLE_TO_FLAGS: dict[str, tuple[bool, bool, bool]] = {
    ROLE_CANDIDATE: (True, False, False),
    ROLE_DRAINED: (False, True, False),
    ROLE_OFFLINE: (False, False, True),
    ROLE_REGULAR: (False, False, False),
}
FLAGS_TO_ROLE = {flags: role for role, flags in ROLE_TO_FLAGS.items()}

ROLE_NAMES = {ROLE_MASTER: "master", ROLE_CANDIDATE: "master candidate",
              ROLE_DRAINED: "drained", ROLE_OFFLINE: "offline",
              ROLE_REGULAR: "regular"}


def GetFlagsRole(node: Any) -> str:
    """The role a node's flags give it (ROLE_CANDIDATE for the master too).

    Raises:
      errors.ConfigurationError: more than one role flag is set.
    """
    flags = tuple(bool(getattr(node, name)) for name in ROLE_FLAGS)
    role = FLAGS_TO_ROLE.get(flags)  # type: ignore[arg-type]
    if role is None:
        raise errors.ConfigurationError(
            f"Node {node.name} has conflicting role flags"
            f" (master_candidate, drained, offline) = {flags}")
    return role


def SetRole(node: Any, role: str) -> None:
    """Set the role flags of a node object (in memory; the caller saves)."""
    for name, value in zip(ROLE_FLAGS, ROLE_TO_FLAGS[role]):
        setattr(node, name, value)


def DecideSelfPromotion(lu: Any, exceptions: Iterable[str] | None = None) -> bool:
    """Whether a node joining the pool's candidates should become a candidate.

    Used for a node being added (it is not counted yet) or coming back
    (de-offlined, undrained, made master capable).

    Args:
      lu: the logical unit (lu.cfg).
      exceptions: node UUIDs left out of the count (the node itself when it
        is already in the configuration).
    """
    cp_size = lu.cfg.GetClusterInfo().candidate_pool_size
    mc_now, mc_should, _ = lu.cfg.GetMasterCandidateStats(
        list(exceptions) if exceptions else None)
    # The node in question adds one to the nodes able to be candidates.
    return mc_now < min(mc_should + 1, cp_size)


def _Target(node: Any) -> str:
    """What to pass to the RPC runner to reach node (see module doc)."""
    return node.primary_ip if node.offline else node.uuid


def _ParseDigestReply(node: Any, payload: Any) -> str:
    """The digest out of a node_crypto_tokens answer [[type, digest]].

    Raises:
      errors.OpExecError: the answer has another shape.
    """
    if (isinstance(payload, list) and len(payload) == 1
            and isinstance(payload[0], list) and len(payload[0]) == 2
            and isinstance(payload[0][1], str) and payload[0][1]):
        return payload[0][1]
    raise errors.OpExecError(
        f"Node {node.name} sent an invalid SSL digest answer: {payload!r:.80}")


def GetNodeCertDigest(lu: Any, node: Any) -> str:
    """The digest of node's client certificate (node_crypto_tokens "get").

    Raises:
      errors.OpExecError: the node did not answer or has no certificate.
    """
    result = lu.rpc.call_node_crypto_tokens(
        _Target(node), [[CRYPTO_TYPE_SSL_DIGEST, CRYPTO_ACTION_GET, None]])
    result.Raise(f"Could not retrieve the SSL digest of node {node.name}")
    return _ParseDigestReply(node, result.payload)


def UuidToInt(uuid: str) -> int:
    """A node UUID as an integer (the serial number of its certificate)."""
    return int(uuid.replace("-", ""), 16)


def CreateNewClientCert(lu: Any, node: Any, filename: str | None = None) -> str:
    """Have node create a new client certificate; return its digest.

    The certificate is signed by the cluster certificate; its serial number
    is the node's UUID (as Ganeti's CreateNewClientCert).

    Args:
      lu: the logical unit (lu.rpc).
      node: the node object (name, uuid, primary_ip, offline); a node not
        yet in the configuration is reached by its name.
      filename: the certificate file on the node (default client.pem).

    Raises:
      errors.OpExecError: the node could not make the certificate.
    """
    options: dict[str, Any] = {CRYPTO_OPTION_SERIAL_NO: UuidToInt(node.uuid)}
    if filename:
        options[CRYPTO_OPTION_CERT_FILE] = filename
    target = _Target(node) if lu.cfg.GetNodeInfo(node.uuid) else node.name
    result = lu.rpc.call_node_crypto_tokens(
        target, [[CRYPTO_TYPE_SSL_DIGEST, CRYPTO_ACTION_CREATE, options]])
    result.Raise(f"Could not create the SSL client certificate of node"
                 f" {node.name}")
    return _ParseDigestReply(node, result.payload)


def _ConfigFileName(cfg: Any) -> str:
    # The ConfigWriter's file (tests keep it elsewhere than the default).
    return cfg.GetConfigFileName()


def UploadConfigToNode(lu: Any, node: Any) -> None:
    """Copy the master's current config.data to node (bring it up to date).

    Raises:
      errors.OpExecError: the copy failed; the node keeps what it had.
    """
    target = _Target(node)
    results = lu.rpc.call_upload_file([target], _ConfigFileName(lu.cfg))
    results[target].Raise(f"Could not bring node {node.name} up to date"
                          " (copy of the configuration failed)")


def _QueueFiles(queue_dir: str) -> list[str]:
    """The queue files a candidate keeps: jobs not archived, serial, version."""
    try:
        names = os.listdir(queue_dir)
    except FileNotFoundError:
        return []
    return [os.path.join(queue_dir, name) for name in NiceSort(names)
            if name.startswith("job-") or name in ("serial", "version")]


def UploadJobQueue(lu: Any, node: Any) -> None:
    """Replace node's job queue with a copy of the master's (Ganeti's
    JobQueue.AddNode), so that it can take over the queue on failover.

    Best effort: failures are warnings, since the configuration matters
    more than the job history. Files changing meanwhile reach the node with
    their next update once it is a candidate.
    """
    queue_dir = getattr(getattr(lu.context, "jobqueue", None), "queue_dir", None)
    if not queue_dir:
        return
    target = _Target(node)
    result = lu.rpc.call_jobqueue_purge(target)
    if result.failed:
        lu.LogWarning("Could not clear the job queue of node %s: %s", node.name,
                      result.fail_msg)
        return
    for path in _QueueFiles(queue_dir):
        try:
            content = io.ReadFile(path)
        except FileNotFoundError:
            continue  # archived meanwhile
        except OSError as err:
            lu.LogWarning("Cannot read job queue file %s: %s", path, err)
            continue
        result = lu.rpc.call_jobqueue_update([target], path, content)[target]
        if result.failed:
            lu.LogWarning("Could not copy the job queue to node %s: %s",
                          node.name, result.fail_msg)
            return


def PrepareCandidate(lu: Any, node: Any) -> str:
    """Ready node for the candidate role; return its certificate digest.

    Nothing of the configuration is changed: the caller sets the flags, adds
    the digest (cfg.AddNodeToCandidateCerts) and saves.

    Raises:
      errors.OpExecError: the node could not be reached or its
        configuration copy failed (a failed job queue copy is a warning).
    """
    digest = GetNodeCertDigest(lu, node)
    UploadConfigToNode(lu, node)
    UploadJobQueue(lu, node)
    return digest


def _PromotableNodes(cfg: Any, exceptions: Iterable[str] | None) -> list[Any]:
    """Nodes that may become candidates, in name order."""
    excluded = set(exceptions or ())
    nodes = [node for node in cfg.GetAllNodesInfo().values()
             if not (node.master_candidate or node.offline or node.drained)
             and node.master_capable and node.uuid not in excluded]
    return NiceSort(nodes, key=lambda node: node.name)


def CountPromotableNodes(cfg: Any, exceptions: Iterable[str] | None = None) -> int:
    """How many nodes AdjustCandidatePool could promote (online, not drained,
    master capable, not yet candidates, not in exceptions)."""
    return len(_PromotableNodes(cfg, exceptions))


def _TryPrepare(lu: Any, node: Any) -> str | None:
    try:
        return PrepareCandidate(lu, node)
    except errors.OpExecError as err:
        lu.LogWarning("Not promoting node %s to master candidate: %s", node.name,
                      err)
        return None


def AdjustCandidatePool(lu: Any, exceptions: Iterable[str] | None,
                        feedback_fn: FeedbackFn = None) -> list[Any]:
    """Promote nodes until the candidate pool is as big as wanted.

    Every node promoted is prepared first (PrepareCandidate); one that
    cannot be prepared is skipped with a warning and the next one is tried.

    Args:
      lu: the logical unit (cfg, rpc, LogInfo, LogWarning); it must own the
        BGL or the locks of all nodes.
      exceptions: node UUIDs neither counted nor promoted (a node being
        removed or demoted).
      feedback_fn: told about configuration distribution failures.

    Returns:
      the nodes promoted.
    """
    cfg = lu.cfg
    exceptions = list(exceptions or [])
    mc_now, mc_should, _ = cfg.GetMasterCandidateStats(exceptions)
    promoted = []
    if mc_now < mc_should:
        for node in _PromotableNodes(cfg, exceptions):
            if mc_now >= mc_should:
                break
            digest = _TryPrepare(lu, node)
            if digest is None:
                continue
            SetRole(node, ROLE_CANDIDATE)
            cfg.AddNodeToCandidateCerts(node.uuid, digest)
            cfg.Update(node, feedback_fn)
            promoted.append(node)
            mc_now += 1
        if mc_now < mc_should:
            lu.LogWarning("The master candidate pool could not be filled"
                          " (%d/%d candidates)", mc_now, mc_should)
    if promoted:
        lu.LogInfo("Promoted nodes to master candidate role: %s",
                   CommaJoin(node.name for node in promoted))
    mc_now, mc_max, _ = cfg.GetMasterCandidateStats(exceptions)
    if mc_now > mc_max:
        lu.LogInfo("Note: more nodes are candidates (%d) than desired (%d)",
                   mc_now, mc_max)
    return promoted
