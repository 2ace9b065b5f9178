"""LUNodeAdd: adding (or re-adding) a node to the cluster.

Mirrors LUNodeAdd of Ganeti's lib/cmdlib/node.py (3.0). By the time the
opcode runs, `gnt-node add` has set the node up over SSH (node-daemon-setup:
certificates, ssconf, noded running); the LU then checks and records it:

* CheckArguments: the name resolves (it becomes the full name), the master
  cannot be re-added, a re-add takes no group, the node parameters are
  known and not cluster-global ones;
* CheckPrereq (read-only): secondary IP (default: the primary), no address
  clash with another node, single/dual-homed like the master, a loopback
  address only in a virtual cluster, the node answers on noded's port, its
  protocol version equals ours, the node group exists, and whether it
  becomes a master candidate (only if master capable and the pool is below
  candidate_pool_size, as Ganeti's _DecideSelfPromotion). A future
  candidate must also report the digest of its client certificate (RPC
  node_crypto_tokens), so that failures happen before any change;
* Exec: the node object with its flags and parameters, its certificate
  digest in the cluster's candidate_certs when it is a candidate (removed
  otherwise), then one save (cfg.AddNode through the context, which also
  creates its locks; cfg.Update for a re-add). Saving distributes
  config.data to the candidates and ssconf to every node (masterd's
  distributor). The ancillary files (known_hosts, HMAC key, cluster domain
  secret, RAPI certificate...) are then uploaded to the other nodes.

Hooks "node-add": pre phase on the existing nodes, post phase on them and
the new node (spec/hooks-and-os.md).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from ganeti import constants, defaults, errors, netutils, objects
from ganeti import vcluster
from ganeti.backend.crypto import CRYPTO_ACTION_GET, CRYPTO_TYPE_SSL_DIGEST
from ganeti.cmdlib.base import LogicalUnit
from ganeti.cmdlib.common import RedistributedFiles
from ganeti.cmdlib.node_roles import DecideSelfPromotion

logger = logging.getLogger(__name__)

# Node parameters that only the cluster or a group may set
# (Ganeti's constants.NDC_GLOBALS).
NDC_GLOBALS = frozenset([defaults.ND_EXCLUSIVE_STORAGE])
# Seconds the reachability check waits for noded's port.
PING_TIMEOUT = 10


def _Prereq(msg: str, ecode: str = errors.ECODE_INVAL) -> errors.OpPrereqError:
    return errors.OpPrereqError(msg, ecode)


def CheckNdParams(ndparams: dict[str, Any] | None) -> dict[str, Any] | None:
    """Check and convert node parameters given for one node.

    Returns:
      the converted parameters (None stays None).

    Raises:
      errors.OpPrereqError: an unknown parameter, a bad value, or a
        parameter only the cluster or a group may set.
    """
    if ndparams is None:
        return None
    params = dict(ndparams)
    try:
        defaults.ForceDictType(params, defaults.NDS_PARAMETER_TYPES)
    except errors.TypeEnforcementError as err:
        raise _Prereq(f"Invalid node parameters: {err}") from err
    globals_set = sorted(NDC_GLOBALS & set(params))
    if globals_set:
        raise _Prereq("The following node parameters are global and cannot be"
                      " customized at node level, please modify them at cluster"
                      f" or group level: {', '.join(globals_set)}")
    return params


def GetClientCertDigest(lu: Any, node: str, prereq: bool = True) -> str:
    """The digest of a node's client certificate (RPC node_crypto_tokens).

    Raises:
      errors.OpPrereqError (prereq) or errors.OpExecError: the node did
        not answer or answered something else than one SSL digest.
    """
    result = lu.rpc.call_node_crypto_tokens(
        node, [[CRYPTO_TYPE_SSL_DIGEST, CRYPTO_ACTION_GET, None]])
    result.Raise(f"Could not get the client certificate digest of node {node}"
                 " (node_crypto_tokens)", prereq=prereq,
                 ecode=errors.ECODE_ENVIRON if prereq else None)
    payload = result.payload
    if (not isinstance(payload, list) or len(payload) != 1
            or not isinstance(payload[0], (list, tuple)) or len(payload[0]) != 2
            or payload[0][0] != CRYPTO_TYPE_SSL_DIGEST
            or not isinstance(payload[0][1], str) or not payload[0][1]):
        msg = (f"Node {node} answered node_crypto_tokens with {payload!r:.100},"
               " not one SSL digest")
        raise _Prereq(msg, errors.ECODE_ENVIRON) if prereq \
            else errors.OpExecError(msg)
    return payload[0][1]


class LUNodeAdd(LogicalUnit):
    """Add a node to the cluster, or re-add a known one (see module doc)."""

    HPATH = "node-add"
    HTYPE = constants.HTYPE_NODE
    _NFLAGS = ("master_capable", "vm_capable")
    # TCP reachability check (netutils.TcpPing's signature); a seam for
    # unit tests, whose nodes have unroutable documentation addresses.
    _ping_fn: Callable[..., bool] = staticmethod(netutils.TcpPing)

    def CheckArguments(self) -> None:
        """Resolve the name and check the flags and node parameters.

        Raises:
          errors.OpPrereqError: the name does not resolve, a re-add of the
            master or with a group, or bad node parameters.
        """
        self.primary_ip_family = self.cfg.GetClusterInfo().primary_ip_family
        self.hostname = netutils.GetHostname(name=self.op.node_name,
                                             family=self.primary_ip_family)
        self.op.node_name = self.hostname.name
        if self.op.readd and self.op.node_name == self.cfg.GetMasterNodeName():
            raise _Prereq("Cannot readd the master node", errors.ECODE_STATE)
        if self.op.readd and self.op.group:
            raise _Prereq("Cannot pass a node group when a node is being readded")
        self.op.ndparams = CheckNdParams(self.op.ndparams)
        for what in ("hv_state", "disk_state"):
            value = getattr(self.op, what, None)
            if value and not all(isinstance(item, dict) for item in value.values()):
                raise _Prereq(f"Invalid {what}: each entry must be a dictionary")

    def BuildHooksEnv(self) -> dict[str, Any]:
        return {
            "OP_TARGET": self.op.node_name,
            "NODE_NAME": self.op.node_name,
            "NODE_PIP": self.op.primary_ip,
            "NODE_SIP": self.op.secondary_ip,
            "MASTER_CAPABLE": str(self.op.master_capable),
            "VM_CAPABLE": str(self.op.vm_capable),
        }

    def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
        """Pre: the existing nodes (not the one re-added); post: the same."""
        nodes = self.cfg.GetNodeList()
        existing = self.cfg.GetNodeInfoByName(self.op.node_name)
        if existing is not None:
            nodes = [uuid for uuid in nodes if uuid != existing.uuid]
        return nodes, nodes

    def PreparePostHookNodes(self, post_hook_node_uuids: list[str]) -> list[str]:
        return [*post_hook_node_uuids, self.new_node.uuid]

    # --- CheckPrereq ---------------------------------------------------------

    def _CheckAddresses(self, existing: objects.Node | None) -> None:
        """Secondary IP, address clashes, homing, loopback (sets op IPs)."""
        self.op.primary_ip = self.hostname.ip
        if self.op.secondary_ip is None:
            if self.primary_ip_family == constants.IP6_FAMILY:
                raise _Prereq("When using a IPv6 primary address, a valid IPv4"
                              " address must be given as secondary")
            self.op.secondary_ip = self.op.primary_ip
        sip = self.op.secondary_ip
        if not netutils.IP4Address.IsValid(sip):
            raise _Prereq(f"Secondary IP ({sip}) needs to be a valid IPv4 address")
        pip = self.op.primary_ip
        if netutils.IPAddress.IsLoopback(pip) and not vcluster.IsVirtual():
            raise _Prereq(f"Node {self.op.node_name} resolves to a loopback address"
                          f" ({pip}); please fix DNS or /etc/hosts",
                          errors.ECODE_ENVIRON)
        self.changed_primary_ip = False
        for node in self.cfg.GetAllNodesInfo().values():
            if existing is not None and node.uuid == existing.uuid:
                if node.secondary_ip != sip:
                    raise _Prereq("Readded node doesn't have the same IP address"
                                  " configuration as before")
                self.changed_primary_ip = node.primary_ip != pip
                continue
            if {pip, sip} & {node.primary_ip, node.secondary_ip}:
                raise _Prereq("New node ip address(es) conflict with existing node"
                              f" {node.name}", errors.ECODE_NOTUNIQUE)
        master = self.cfg.GetMasterNodeInfo()
        master_singlehomed = master.secondary_ip == master.primary_ip
        if master_singlehomed != (sip == pip):
            if master_singlehomed:
                raise _Prereq("The master has no secondary ip but the new node has"
                              " one")
            raise _Prereq("The master has a secondary ip but the new node doesn't"
                          " have one")

    def _CheckFlags(self, existing: objects.Node | None) -> None:
        """Default the capability flags; a re-added node with instances
        must stay vm_capable."""
        for attr in self._NFLAGS:
            if getattr(self.op, attr) is None:
                value = True if existing is None else getattr(existing, attr)
                setattr(self.op, attr, value)
        if existing is not None and not self.op.vm_capable:
            primary, secondary = self.cfg.GetNodeInstances(existing.uuid)
            if primary or secondary:
                raise _Prereq(f"Node {self.op.node_name} being re-added with"
                              " vm_capable flag set to false, but it already holds"
                              " instances", errors.ECODE_STATE)

    def _CheckNodeAnswers(self, master: objects.Node) -> None:
        """noded's port answers and the node speaks our protocol."""
        port = getattr(self.rpc, "port", None) or netutils.GetDaemonPort(
            constants.NODED)
        name = self.op.node_name
        if not self._ping_fn(self.op.primary_ip, port, timeout=PING_TIMEOUT):
            raise _Prereq(f"Node {name} ({self.op.primary_ip}) not reachable by"
                          " ping", errors.ECODE_ENVIRON)
        if self.op.secondary_ip != self.op.primary_ip and not self._ping_fn(
                self.op.secondary_ip, port, timeout=PING_TIMEOUT,
                source=master.secondary_ip):
            raise _Prereq("Node secondary ip not reachable by TCP based ping to"
                          " node daemon port", errors.ECODE_ENVIRON)
        result = self.rpc.call_version([name])[name]
        result.Raise(f"Can't get version information from node {name}",
                     prereq=True, ecode=errors.ECODE_ENVIRON)
        if result.payload != constants.PROTOCOL_VERSION:
            raise _Prereq(f"Version mismatch master version"
                          f" {constants.PROTOCOL_VERSION}, node version"
                          f" {result.payload}", errors.ECODE_ENVIRON)
        logger.info("Communication to node %s fine, protocol version %s match",
                    name, result.payload)

    def CheckPrereq(self) -> None:
        """Check the node against the cluster; see the module docstring.

        Raises:
          errors.OpPrereqError: the first check that fails.
        """
        name = self.op.node_name
        existing = self.cfg.GetNodeInfoByName(name)
        if not self.op.readd and existing is not None:
            raise _Prereq(f"Node {name} is already in the configuration",
                          errors.ECODE_EXISTS)
        if self.op.readd and existing is None:
            raise _Prereq(f"Node {name} is not in the configuration",
                          errors.ECODE_NOENT)
        self._CheckAddresses(existing)
        self._CheckFlags(existing)
        group = existing.group if existing is not None else \
            self.cfg.LookupNodeGroup(self.op.group)
        exceptions = [existing.uuid] if existing is not None else []
        self.master_candidate = bool(self.op.master_capable) and \
            DecideSelfPromotion(self, exceptions)
        self._CheckNodeAnswers(self.cfg.GetMasterNodeInfo())
        self.cert_digest = None
        # An offline node is not contacted: a re-added one reports its
        # digest in Exec, once it is online again (as in Ganeti).
        if self.master_candidate and not (existing is not None and existing.offline):
            self.cert_digest = GetClientCertDigest(self, name)
        if existing is not None:
            self.new_node = existing
        else:
            self.new_node = objects.Node(
                name=name, primary_ip=self.op.primary_ip,
                secondary_ip=self.op.secondary_ip, master_candidate=False,
                offline=False, drained=False, group=group, ndparams={})

    # --- Exec ----------------------------------------------------------------

    def _FillNode(self) -> None:
        """Put the opcode's flags and parameters on the node object."""
        node = self.new_node
        node.powered = True
        if self.op.readd:
            # Reset here: an offline node would not be contacted below.
            node.offline = False
            node.drained = False
            self.LogInfo("Readding a node, the offline/drained flags were reset")
            if self.changed_primary_ip:
                node.primary_ip = self.op.primary_ip
        node.master_candidate = self.master_candidate
        for attr in self._NFLAGS:
            setattr(node, attr, getattr(self.op, attr))
        node.ndparams = dict(self.op.ndparams or {})
        if self.op.hv_state:
            node.hv_state_static = dict(self.op.hv_state)
        if self.op.disk_state:
            node.disk_state_static = dict(self.op.disk_state)
        if node.master_candidate:
            self.LogInfo("Node will be a master candidate")

    def _UpdateCandidateCerts(self) -> None:
        """Record (candidate) or forget (otherwise) the node's digest; the
        next save stores it."""
        node = self.new_node
        if node.master_candidate and self.cert_digest:
            self.cfg.AddNodeToCandidateCerts(node.uuid, self.cert_digest)
        else:
            self.cfg.RemoveNodeFromCandidateCerts(node.uuid)

    def _AddToConfig(self, feedback_fn: Callable[..., None]) -> None:
        """One save: a new node through the context (locks too), or the
        re-added node's update."""
        node = self.new_node
        if self.op.readd:
            self._UpdateCandidateCerts()
            self.cfg.Update(node, feedback_fn)
            if node.master_candidate and self.cert_digest is None:
                self._RecordLateDigest(feedback_fn)
            if not node.master_candidate:
                result = self.rpc.call_node_demote_from_mc(node.uuid)
                result.Warn("Node failed to demote itself from master candidate"
                            " status", self.LogWarning)
            return
        node.uuid = self.cfg.GenerateUniqueID(self.proc.GetECId())
        self._UpdateCandidateCerts()
        add_fn = getattr(self.context, "AddNode", None)
        if add_fn is None:
            raise errors.ProgrammerError("The master's context cannot add nodes")
        try:
            add_fn(node, self.proc.GetECId())
        except errors.ConfigurationError:
            self.cfg.RemoveNodeFromCandidateCerts(node.uuid)
            raise

    def _RecordLateDigest(self, feedback_fn: Callable[..., None]) -> None:
        """Record the digest of a re-added node that was offline before.

        Raises:
          errors.OpExecError: the node did not report it; it is re-added
            but cannot act as master until its certificate is recorded.
        """
        try:
            self.cert_digest = GetClientCertDigest(self, self.new_node.name,
                                                   prereq=False)
        except errors.OpExecError as err:
            raise errors.OpExecError(
                f"Node {self.new_node.name} was re-added, but {err}; run the"
                " re-add again once the node answers") from err
        self.cfg.AddNodeToCandidateCerts(self.new_node.uuid, self.cert_digest)
        self.cfg.Update(self.cfg.GetClusterInfo(), feedback_fn)

    def _RedistributeAncillaryFiles(self) -> None:
        """Upload the cluster's ancillary files to every other online node.

        known_hosts may just have got the new node's key (gnt-node add), so
        every node gets it, not only the new one. Failures are warnings.
        """
        master_uuid = self.cfg.GetMasterNode()
        targets = [uuid for uuid in self.cfg.GetOnlineNodeList()
                   if uuid != master_uuid]
        if not targets:
            return
        for fname in RedistributedFiles(self.cfg.GetClusterInfo()):
            if not os.path.exists(fname):
                continue
            results = self.rpc.call_upload_file(targets, fname)
            for node_uuid, result in results.items():
                if result.failed:
                    self.LogWarning("Copy of file %s to node %s failed: %s", fname,
                                    self.cfg.GetNodeName(node_uuid), result.fail_msg)

    def Exec(self, feedback_fn: Callable[..., None]) -> None:
        """Record the node in the configuration (see the module docstring).

        Raises:
          errors.OpExecError: the node lacks its secondary IP or the hosts
            file could not be updated (nothing was recorded then).
        """
        cluster = self.cfg.GetClusterInfo()
        if cluster.modify_etc_hosts and not vcluster.IsVirtual():
            result = self.rpc.call_etc_hosts_modify(
                self.cfg.GetMasterNode(), "add", self.hostname.name,
                self.hostname.ip)
            result.Raise("Can't update hosts file with new host data")
        sip = self.op.secondary_ip
        if sip != self.op.primary_ip:
            # By name: a new node has no uuid yet.
            result = self.rpc.call_node_has_ip_address(self.op.node_name, sip)
            result.Raise(f"Failure checking secondary ip on node {self.op.node_name}")
            if not result.payload:
                raise errors.OpExecError(
                    "Node claims it doesn't have the secondary ip you gave"
                    f" ({sip}), please fix and re-run this command")
        # Only now the node object changes: a re-added node is the
        # configuration's own object, saved right after.
        self._FillNode()
        self._AddToConfig(feedback_fn)
        self._RedistributeAncillaryFiles()
