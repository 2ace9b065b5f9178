"""Cluster verification: gnt-cluster verify and verify-disks (master side).

Mirrors Ganeti 3.0's lib/cmdlib/cluster/verify.py:

* LUClusterVerify submits one job with OpClusterVerifyConfig and one job
  with OpClusterVerifyGroup per node group (depending on the first), so
  each group is verified under its own locks; the CLI follows the jobs.
* LUClusterVerifyConfig checks what the master alone can see: the
  configuration's consistency, the cluster certificates, the hypervisor
  parameters' syntax, and nodes or instances pointing nowhere.
* LUClusterVerifyGroup (cluster_verify_group.py) asks every node of the
  group for the node_verify checks (ganeti/backend/verify.py) and compares
  the answers with the configuration and with each other.
* LUClusterVerifyDisks submits one OpGroupVerifyDisks job per group;
  LUGroupVerifyDisks looks for logical volumes of active disks that are
  missing or offline.

Every finding is reported through the job's feedback as Ganeti does, one
line per problem, "  - ERROR: node node2.example.com: <message>", or with
--error-codes "  - ERROR:ENODERPC:node:node2.example.com:<message>". The
error codes are Ganeti's CV_E* triples (kind of item, code, description);
an error code listed in the opcode's ignore_errors is reported as a
WARNING and does not fail the verification.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

from ganeti import (
    constants,
    defaults,
    errors,
    locking,
    opcodes,
    pathutils,
    ssconf,
    vcluster,
)
from ganeti.backend import verify as nv
from ganeti.cmdlib.base import NoHooksLU, ResultWithJobs
from ganeti.cmdlib.common import ShareAll
from ganeti.utils.text import CommaJoin

logger = logging.getLogger(__name__)

FeedbackFn = Callable[..., None]

# --- error codes (Ganeti's CV_E* constants: item kind, code, description) ----
CV_TCLUSTER = "cluster"
CV_TGROUP = "group"
CV_TNODE = "node"
CV_TINSTANCE = "instance"
CV_ERROR = nv.CV_ERROR
CV_WARNING = nv.CV_WARNING

ErrorCode = tuple[str, str, str]

CV_ECLUSTERCERT = (CV_TCLUSTER, "ECLUSTERCERT",
                   "Cluster certificate files verification failure")
CV_ECLUSTERCLIENTCERT = (CV_TCLUSTER, "ECLUSTERCLIENTCERT",
                         "Cluster client certificate files verification failure")
CV_ECLUSTERCFG = (CV_TCLUSTER, "ECLUSTERCFG",
                  "Cluster configuration verification failure")
CV_ECLUSTERDANGLINGINST = (CV_TNODE, "ECLUSTERDANGLINGINST",
                           "Some instances have a non-existing primary node")
CV_ECLUSTERDANGLINGNODES = (CV_TNODE, "ECLUSTERDANGLINGNODES",
                            "Some nodes belong to non-existing groups")
CV_ECLUSTERFILECHECK = (CV_TCLUSTER, "ECLUSTERFILECHECK",
                        "Cluster configuration verification failure")
CV_EGROUPDIFFERENTPVSIZE = (CV_TGROUP, "EGROUPDIFFERENTPVSIZE",
                            "PVs in the group have different sizes")
CV_EINSTANCEBADNODE = (CV_TINSTANCE, "EINSTANCEBADNODE",
                       "Instance marked as running lives on an offline node")
CV_EINSTANCEDOWN = (CV_TINSTANCE, "EINSTANCEDOWN",
                    "Instance not running on its primary node")
CV_EINSTANCEFAULTYDISK = (CV_TINSTANCE, "EINSTANCEFAULTYDISK",
                          "Impossible to retrieve status for a disk")
CV_EINSTANCELAYOUT = (CV_TINSTANCE, "EINSTANCELAYOUT",
                      "Instance has multiple secondary nodes")
CV_EINSTANCEMISSINGCFGPARAMETER = (
    CV_TINSTANCE, "EINSTANCEMISSINGCFGPARAMETER",
    "A configuration parameter for an instance is missing")
CV_EINSTANCEMISSINGDISK = (CV_TINSTANCE, "EINSTANCEMISSINGDISK",
                           "Missing volume on an instance")
CV_EINSTANCEPOLICY = (CV_TINSTANCE, "EINSTANCEPOLICY",
                      "Instance does not meet policy")
CV_EINSTANCESPLITGROUPS = (
    CV_TINSTANCE, "EINSTANCESPLITGROUPS",
    "Instance with primary and secondary nodes in different groups")
CV_EINSTANCEUNSUITABLENODE = (
    CV_TINSTANCE, "EINSTANCEUNSUITABLENODE",
    "Instance running on nodes that are not suitable for it")
CV_EINSTANCEWRONGNODE = (CV_TINSTANCE, "EINSTANCEWRONGNODE",
                         "Instance running on the wrong node")
CV_ENODEDRBD = (CV_TNODE, "ENODEDRBD", "Error parsing the DRBD status file")
CV_ENODEDRBDHELPER = (CV_TNODE, "ENODEDRBDHELPER", "Error caused by the DRBD helper")
CV_ENODEDRBDVERSION = (CV_TNODE, "ENODEDRBDVERSION",
                       "DRBD version mismatch within a node group")
CV_ENODEFILECHECK = (CV_TNODE, "ENODEFILECHECK",
                     "Error retrieving the checksum of the node files")
CV_ENODEFILESTORAGEPATHS = (CV_TNODE, "ENODEFILESTORAGEPATHS",
                            "Detected bad file storage paths")
CV_ENODEFILESTORAGEPATHUNUSABLE = (CV_TNODE, "ENODEFILESTORAGEPATHUNUSABLE",
                                   "File storage path unusable")
CV_ENODEHOOKS = (CV_TNODE, "ENODEHOOKS", "Communication failure in hooks execution")
CV_ENODEHV = (CV_TNODE, "ENODEHV", "Hypervisor parameters verification failure")
CV_ENODELVM = (CV_TNODE, "ENODELVM", "LVM-related node error")
CV_ENODEN1 = (CV_TNODE, "ENODEN1",
              "Not enough memory to accommodate instance failovers")
CV_EEXTAGS = (CV_TNODE, "EEXTAGS",
              "Instances with same exclusion tag on the same node")
CV_ENODENET = (CV_TNODE, "ENODENET", "Network-related node error")
CV_ENODEOOBPATH = (CV_TNODE, "ENODEOOBPATH", "Invalid Out Of Band path")
CV_ENODEORPHANINSTANCE = (CV_TNODE, "ENODEORPHANINSTANCE",
                          "Unknown intance running on a node")
CV_ENODEORPHANLV = (CV_TNODE, "ENODEORPHANLV", "Unknown LVM logical volume")
CV_ENODEOS = (CV_TNODE, "ENODEOS", "OS-related node error")
CV_ENODERPC = (CV_TNODE, "ENODERPC",
               "Error during connection to the primary node of an instance")
CV_ENODESETUP = (CV_TNODE, "ENODESETUP", "Node setup error")
CV_ENODESHAREDFILESTORAGEPATHUNUSABLE = (
    CV_TNODE, "ENODESHAREDFILESTORAGEPATHUNUSABLE",
    "Shared file storage path unusable")
CV_ENODEGLUSTERSTORAGEPATHUNUSABLE = (
    CV_TNODE, "ENODEGLUSTERSTORAGEPATHUNUSABLE", "Gluster storage path unusable")
CV_ENODESSH = (CV_TNODE, "ENODESSH", "SSH-related node error")
CV_ENODETIME = (CV_TNODE, "ENODETIME", "Node returned invalid time")
CV_ENODEUSERSCRIPTS = (CV_TNODE, "ENODEUSERSCRIPTS",
                       "User scripts not present or not executable")
CV_ENODEVERSION = (CV_TNODE, "ENODEVERSION",
                   "Protocol version mismatch or Ganeti version mismatch")

CV_ALL_ECODES: frozenset[ErrorCode] = frozenset(
    value for name, value in list(globals().items())
    if name.startswith("CV_E") and isinstance(value, tuple))

# Optional checks (opcodes_base.VERIFY_OPTIONAL_CHECKS).
VERIFY_NPLUSONE_MEM = "nplusone_mem"
VERIFY_HVPARAM_ASSESSMENT = "hvparam_assessment"

# A node clock this far off the master's is reported (seconds, Ganeti's
# NODE_MAX_CLOCK_SKEW).
NODE_MAX_CLOCK_SKEW = 150

# The volume group must hold at least this much (MiB; Ganeti's MIN_VG_SIZE).
MIN_VG_SIZE = 20480

# Internally mirrored disk types, and those surviving the loss of a node
# (Ganeti's DTS_INT_MIRROR, DTS_MIRRORED).
DTS_INT_MIRROR = frozenset([constants.DT_DRBD8])
DTS_MIRRORED = DTS_INT_MIRROR | frozenset([
    constants.DT_SHARED_FILE, constants.DT_RBD, constants.DT_BLOCK,
    constants.DT_EXT, constants.DT_GLUSTER])


class VerifyErrors:
    """Mix-in reporting verification findings (Ganeti's _VerifyErrors).

    Needs self.op (error_codes, ignore_errors, debug_simulate_errors) and
    self._feedback_fn; keeps self.bad, true once an ERROR was reported.
    """

    ETYPE_ERROR = CV_ERROR
    ETYPE_WARNING = CV_WARNING

    op: Any
    bad: bool
    _feedback_fn: FeedbackFn

    def _Error(self, ecode: ErrorCode, item: str | None, msg: str, *args: Any,
               code: str | None = None) -> None:
        """Report one finding.

        Args:
          ecode: a CV_E* triple.
          item: the node, instance, group... it is about (None: cluster).
          msg: the message, %-formatted with args.
          code: CV_ERROR (default) or CV_WARNING; an error whose code the
            opcode ignores becomes a warning.
        """
        ltype = code or self.ETYPE_ERROR
        itype, etxt, _ = ecode
        if etxt in (self.op.ignore_errors or []):
            ltype = self.ETYPE_WARNING
        if args:
            msg = msg % args
        if self.op.error_codes:
            text = f"{ltype}:{etxt}:{itype}:{item}:{msg}"
        else:
            where = f" {item}" if item else ""
            text = f"{ltype}: {itype}{where}: {msg}"
        self._feedback_fn(f"  - {text}")
        if ltype == self.ETYPE_ERROR:
            self.bad = True

    def _ErrorIf(self, cond: Any, ecode: ErrorCode, item: str | None, msg: str,
                 *args: Any, code: str | None = None) -> None:
        """Report a finding if cond holds (always with debug_simulate_errors)."""
        if bool(cond) or self.op.debug_simulate_errors:
            self._Error(ecode, item, msg, *args, code=code)


# --- helpers shared by the verify LUs ----------------------------------------------


def GetHypervisorPackage() -> Any:
    """The ganeti.hypervisor package, or None while no driver exists."""
    try:
        return importlib.import_module("ganeti.hypervisor")
    except ModuleNotFoundError as err:
        if err.name != "ganeti.hypervisor":
            raise
        return None


def LocalizeNodePath(path: str) -> str:
    """A path a node sent (virtual or not) as the master's local path."""
    try:
        return vcluster.LocalizeVirtualPath(path)
    except errors.ProgrammerError:
        return path


def GetAllHypervisorParameters(cluster: Any, instances: Iterable[Any]
                               ) -> list[tuple[str, str, dict[str, Any]]]:
    """Every hypervisor parameter set in use: (origin, hypervisor, params).

    The origin is "cluster", "os <name>" or "instance <name>".
    """
    hvp_data = [("cluster", hv_name, cluster.GetHVDefaults(hv_name))
                for hv_name in cluster.enabled_hypervisors or []]
    for os_name, os_hvp in sorted((cluster.os_hvp or {}).items()):
        for hv_name, hv_params in sorted(os_hvp.items()):
            if hv_params:
                hvp_data.append((f"os {os_name}", hv_name,
                                 cluster.GetHVDefaults(hv_name, os_name=os_name)))
    for inst in instances:
        if inst.hvparams:
            hvp_data.append((f"instance {inst.name}", inst.hypervisor,
                             cluster.FillHV(inst)))
    return hvp_data


def CheckHvParamsSyntax(hv_name: str, params: dict[str, Any]) -> None:
    """Check a hypervisor parameter set's names and value types.

    Uses the parameter types of ganeti.defaults and, when the hypervisor
    driver exists, its own CheckParameterSyntax.

    Raises:
      errors.GenericError: a parameter is unknown or has a bad value.
    """
    if hv_name not in defaults.HVS_PARAMETER_TYPES:
        raise errors.HypervisorError(f"Unknown hypervisor '{hv_name}'")
    defaults.ForceDictType(dict(params), defaults.HVS_PARAMETER_TYPES[hv_name])
    package = GetHypervisorPackage()
    get_class = getattr(package, "GetHypervisorClass", None)
    if get_class is not None:
        get_class(hv_name).CheckParameterSyntax(params)


def ClusterCertFiles() -> list[str]:
    """The cluster certificates the master checks (Ganeti's ALL_CERT_FILES).

    The SPICE certificates are checked only where they exist: cluster init
    does not create them here, as no hypervisor offers SPICE yet.
    """
    files = [pathutils.NODED_CERT_FILE, pathutils.RAPI_CERT_FILE]
    files.extend(path for path in (pathutils.SPICE_CERT_FILE,
                                   pathutils.SPICE_CACERT_FILE)
                 if os.path.exists(path))
    return files


def ComputeAncillaryFiles(cluster: Any) -> tuple[set[str], set[str], set[str],
                                                  set[str]]:
    """Files that must be equal on the nodes (Ganeti's ComputeAncillaryFiles
    with redist=False): (all nodes, optional, master candidates, vm nodes).

    An optional file must exist on all nodes of its category or on none.
    The ssconf files are not listed: LUClusterVerifyGroup compares them
    with the master's values instead (SsconfChecksums). The SPICE
    certificates are optional here (see ClusterCertFiles).
    """
    files_all = {pathutils.SSH_KNOWN_HOSTS_FILE, pathutils.CONFD_HMAC_KEY,
                 pathutils.CLUSTER_DOMAIN_SECRET_FILE, pathutils.SPICE_CERT_FILE,
                 pathutils.SPICE_CACERT_FILE, pathutils.RAPI_USERS_FILE,
                 pathutils.NODED_CERT_FILE, pathutils.RAPI_CERT_FILE}
    if cluster.modify_etc_hosts:
        files_all.add("/etc/hosts")
    if cluster.use_external_mip_script:
        files_all.add(pathutils.EXTERNAL_MASTER_SETUP_SCRIPT)
    files_opt = {pathutils.RAPI_USERS_FILE, pathutils.SPICE_CERT_FILE,
                 pathutils.SPICE_CACERT_FILE}
    files_mc = {pathutils.CLUSTER_CONF_FILE}
    if cluster.IsFileStorageEnabled() or cluster.IsSharedFileStorageEnabled():
        files_all.add(pathutils.FILE_STORAGE_PATHS_FILE)
        files_opt.add(pathutils.FILE_STORAGE_PATHS_FILE)
    files_vm: set[str] = set()
    package = GetHypervisorPackage()
    get_class = getattr(package, "GetHypervisorClass", None)
    if get_class is not None:
        for hv_name in cluster.enabled_hypervisors or []:
            required, optional = get_class(hv_name).GetAncillaryFiles()[:2]
            files_vm.update(required)
            files_opt.update(optional)
    return files_all, files_opt, files_mc, files_vm


def SsconfChecksums(values: dict[str, str]) -> dict[str, str]:
    """ssconf file path -> sha1 of the content the master writes for it.

    The files hold the values with a final newline when not empty
    (ssconf.SimpleStore.WriteFiles).
    """
    store = ssconf.SimpleStore()
    result = {}
    for key, value in values.items():
        if key not in ssconf.VALID_KEYS:
            continue
        if value and not value.endswith("\n"):
            value += "\n"
        result[store.KeyToFilename(key)] = hashlib.sha1(
            value.encode("utf-8")).hexdigest()
    return result


# --- the LUs ------------------------------------------------------------------------


class LUClusterVerify(NoHooksLU):
    """Submit the jobs verifying the cluster: the configuration, then each
    node group (or only the given group)."""

    REQ_BGL = False

    def ExpandNames(self) -> None:
        self.needed_locks = {}

    def Exec(self, feedback_fn: FeedbackFn) -> ResultWithJobs:
        jobs: list[list[Any]] = []
        with_config = not self.op.group_name
        if with_config:
            groups = sorted(self.cfg.GetNodeGroupList(),
                            key=lambda uuid: self.cfg.GetNodeGroup(uuid).name)
            jobs.append([opcodes.OpClusterVerifyConfig(
                ignore_errors=self.op.ignore_errors)])
        else:
            groups = [self.op.group_name]
        for group in groups:
            # Every group job waits for the configuration job, whatever its
            # outcome: a relative dependency on the job -N (N jobs back).
            depends = [[-len(jobs), []]] if with_config else None
            jobs.append([opcodes.OpClusterVerifyGroup(
                group_name=group, ignore_errors=self.op.ignore_errors,
                depends=depends, verify_clutter=self.op.verify_clutter,
                skip_checks=self.op.skip_checks)])
        for job in jobs:
            for op in job:
                op.debug_simulate_errors = self.op.debug_simulate_errors
                op.verbose = self.op.verbose
                op.error_codes = self.op.error_codes
        return ResultWithJobs(jobs)


class LUClusterVerifyConfig(NoHooksLU, VerifyErrors):
    """Verify what the master alone can see (see the module docstring)."""

    REQ_BGL = False

    def ExpandNames(self) -> None:
        self.needed_locks = {level: locking.ALL_SET for level in locking.LEVELS
                             if level != locking.LEVEL_CLUSTER}
        self.share_locks = ShareAll()

    def CheckPrereq(self) -> None:
        self.all_group_info = self.cfg.GetAllNodeGroupsInfo()
        self.all_node_info = self.cfg.GetAllNodesInfo()
        self.all_inst_info = self.cfg.GetAllInstancesInfo()

    def _VerifyHVP(self, hvp_data: list[tuple[str, str, dict[str, Any]]]) -> None:
        """Check the syntax of every hypervisor parameter set."""
        for item, hv_name, hv_params in hvp_data:
            try:
                CheckHvParamsSyntax(hv_name, hv_params)
            except errors.GenericError as err:
                # Ganeti's wording, origin and hypervisor as it orders them.
                self._ErrorIf(True, CV_ECLUSTERCFG, None,
                              "hypervisor %s parameters syntax check (source %s):"
                              " %s", item, hv_name, err)

    def _VerifyCertificates(self) -> None:
        for cert_file in ClusterCertFiles():
            code, msg = nv.VerifyCertificate(cert_file)
            self._ErrorIf(code, CV_ECLUSTERCERT, None, msg or "", code=code)

    def _VerifyDangling(self) -> None:
        """Nodes in no existing group, instances on no existing node."""
        dangling_nodes = [node for node in self.all_node_info.values()
                          if node.group not in self.all_group_info]
        dangling_uuids = {node.uuid for node in dangling_nodes}
        dangling_insts: dict[str, list[str]] = {}
        no_node_insts = []
        for inst in self.all_inst_info.values():
            if inst.primary_node in dangling_uuids:
                dangling_insts.setdefault(inst.primary_node, []).append(inst.name)
            elif inst.primary_node not in self.all_node_info:
                no_node_insts.append(inst.name)
        pretty = [f"{node.name} ({CommaJoin(dangling_insts.get(node.uuid, []))})"
                  for node in dangling_nodes]
        self._ErrorIf(dangling_nodes, CV_ECLUSTERDANGLINGNODES, None,
                      "the following nodes (and their instances) belong to a non"
                      " existing group: %s", CommaJoin(pretty))
        self._ErrorIf(no_node_insts, CV_ECLUSTERDANGLINGINST, None,
                      "the following instances have a non-existing primary-node:"
                      " %s", CommaJoin(no_node_insts))

    def Exec(self, feedback_fn: FeedbackFn) -> bool:
        self.bad = False
        self._feedback_fn = feedback_fn
        feedback_fn("* Verifying cluster config")
        for msg in self.cfg.VerifyConfig():
            self._ErrorIf(True, CV_ECLUSTERCFG, None, msg)
        feedback_fn("* Verifying cluster certificate files")
        self._VerifyCertificates()
        feedback_fn("* Verifying hypervisor parameters")
        self._VerifyHVP(GetAllHypervisorParameters(self.cfg.GetClusterInfo(),
                                                   self.all_inst_info.values()))
        feedback_fn("* Verifying all nodes belong to an existing group")
        self._VerifyDangling()
        return not self.bad


class LUClusterVerifyDisks(NoHooksLU):
    """Submit one OpGroupVerifyDisks job per node group (or the given one)."""

    REQ_BGL = False

    def ExpandNames(self) -> None:
        self.share_locks = ShareAll()
        if self.op.group_name:
            self.needed_locks = {locking.LEVEL_NODEGROUP: [
                self.cfg.LookupNodeGroup(self.op.group_name)]}
        else:
            self.needed_locks = {locking.LEVEL_NODEGROUP: locking.ALL_SET}

    def Exec(self, feedback_fn: FeedbackFn) -> ResultWithJobs:
        groups = sorted(self.owned_locks(locking.LEVEL_NODEGROUP))
        if not groups:
            # Run without a lock manager (e.g. locks disabled).
            wanted = (self.needed_locks or {}).get(locking.LEVEL_NODEGROUP)
            groups = (self.cfg.GetNodeGroupList() if wanted is locking.ALL_SET
                      else list(wanted or []))
        return ResultWithJobs([[opcodes.OpGroupVerifyDisks(
            group_name=group, is_strict=self.op.is_strict)] for group in groups])


def InstanceLvsByNode(cfg: Any, inst: Any) -> dict[str, list[str]]:
    """node uuid -> "vg/lv" names of an instance's logical volumes.

    Plain disks live on the primary node; a DRBD disk's data and metadata
    volumes (its children) on both of its nodes.
    """
    result: dict[str, list[str]] = {}

    def _Walk(disk: Any, nodes: list[str]) -> None:
        if disk.dev_type == constants.DT_PLAIN and disk.logical_id:
            for node in nodes:
                result.setdefault(node, []).append("/".join(disk.logical_id[:2]))
        for child in disk.children or []:
            _Walk(child, nodes)

    for disk in cfg.GetInstanceDisks(inst.uuid):
        nodes = list(disk.nodes or []) or [inst.primary_node]
        if disk.dev_type == constants.DT_PLAIN:
            nodes = [inst.primary_node]
        _Walk(disk, nodes)
    return result


class LUGroupVerifyDisks(NoHooksLU):
    """Find the active disks of a group's instances needing attention.

    Returns (node errors {node name: message}, instances whose disks must
    be activated again, {instance: [[node, volume], ...]} of missing
    volumes), which gnt-cluster verify-disks turns into messages. Only
    logical volumes are examined (plain disks and DRBD children); the
    is_strict flag concerns DRBD's own state, which needs the DRBD backend.
    """

    REQ_BGL = False

    def ExpandNames(self) -> None:
        self.group_uuid = self.cfg.LookupNodeGroup(self.op.group_name)
        self.share_locks = ShareAll()
        self.needed_locks = {locking.LEVEL_INSTANCE: [],
                             locking.LEVEL_NODEGROUP: [self.group_uuid],
                             locking.LEVEL_NODE: []}

    def _GroupInstances(self) -> list[Any]:
        members = set(self.cfg.GetNodeGroup(self.group_uuid).members or [])
        return [inst for inst in self.cfg.GetAllInstancesInfo().values()
                if members.intersection(self.cfg.GetInstanceNodes(inst.uuid))]

    def DeclareLocks(self, level: int) -> None:
        if self.needed_locks is None:
            return
        if level == locking.LEVEL_INSTANCE:
            self.needed_locks[level] = sorted(inst.name
                                              for inst in self._GroupInstances())
        elif level == locking.LEVEL_NODE:
            nodes = set(self.cfg.GetNodeGroup(self.group_uuid).members or [])
            for inst in self._GroupInstances():
                nodes.update(self.cfg.GetInstanceNodes(inst.uuid))
            self.needed_locks[level] = sorted(nodes)

    def CheckPrereq(self) -> None:
        """Raises OpPrereqError if the group's instances changed meanwhile."""
        wanted = {inst.name for inst in self._GroupInstances()}
        owned = self.owned_locks(locking.LEVEL_INSTANCE)
        if self.glm is not None and wanted - owned:
            want_text = CommaJoin(sorted(wanted))
            have_text = CommaJoin(sorted(owned))
            raise errors.OpPrereqError(
                f"Instances in node group '{self.op.group_name}' changed since"
                f" locks were acquired, wanted '{want_text}', have"
                f" '{have_text}'; retry the operation", errors.ECODE_STATE)
        self.instances = {inst.uuid: inst for inst in self._GroupInstances()}

    def Exec(self, feedback_fn: FeedbackFn) -> list[Any]:
        node_errors: dict[str, str] = {}
        offline_insts: set[str] = set()
        missing: dict[str, list[list[str]]] = {}
        wanted: dict[tuple[str, str], Any] = {}
        for inst in self.instances.values():
            if not inst.disks_active:
                continue
            for node_uuid, lvs in InstanceLvsByNode(self.cfg, inst).items():
                for lv_name in lvs:
                    wanted[(node_uuid, lv_name)] = inst
        if wanted:
            node_uuids = sorted({node for node, _ in wanted}
                                & set(self.cfg.GetVmCapableNodeList()))
            for node_uuid, res in self.rpc.call_lv_list(node_uuids, []).items():
                if res.offline:
                    continue
                if res.fail_msg:
                    logger.warning("Error enumerating LVs on node %s: %s",
                                   self.cfg.GetNodeName(node_uuid), res.fail_msg)
                    node_errors[self.cfg.GetNodeName(node_uuid)] = res.fail_msg
                    continue
                for lv_name, (_, _, lv_online) in (res.payload or {}).items():
                    inst = wanted.pop((node_uuid, lv_name), None)
                    if inst is not None and not lv_online:
                        offline_insts.add(inst.name)
        for (node_uuid, lv_name), inst in wanted.items():
            missing.setdefault(inst.name, []).append(
                [self.cfg.GetNodeName(node_uuid), lv_name])
        return [node_errors, sorted(offline_insts), missing]
