"""LUInstanceCreate: create an instance (Ganeti's lib/cmdlib/instance_create.py).

The flow is Ganeti 3.0's: every check runs in CheckArguments/CheckPrereq
before anything changes (name, OS and variant on the primary node,
parameters, disk template enabled, node state, instance policy, free memory
when the instance is to start, a MAC address given twice...); then Exec
creates the disks, adds the instance and its disks to the configuration,
runs the OS create script (instances with disks, unless no_install) and
starts the instance (unless start is false).

Differences from Ganeti, deliberately:

* No half-made instance: if adding to the configuration or the OS create
  script fails, the disks and the configuration entry are removed again
  before the error is raised (Ganeti leaves the instance defined).
* Imports (modes "import" and "remote-import", gnt-backup) and
  forthcoming instances are refused with a clear OpPrereqError.
* With neither a node nor an allocator given, the cluster's default
  allocator is used, and the built-in one when the cluster has none.

Locks: the new instance's name (added), its node(s) and their node-res
locks exclusively, the nodes' groups shared; with an allocator every node
(optionally opportunistically), released down to the chosen ones once the
allocator ran.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ganeti import constants, defaults, errors, locking, netutils, objects
from ganeti.cmdlib.base import LogicalUnit
from ganeti.cmdlib.common import ExpandNodeUuidAndName, ReleaseLocks
from ganeti.cmdlib.instance_utils import (
    DTS_INT_MIRROR,
    FD_DEFAULT,
    HTS_REQ_PORT,
    IDISK_ADOPT,
    IDISK_NAME,
    IDISK_SIZE,
    INIC_NAME,
    NIC_IP_POOL,
    BuildInstanceHookEnv,
    CalculateFileStorageDir,
    CheckDiskTemplateEnabled,
    CheckHostnameSane,
    CheckHVParams,
    CheckHvParamsSyntax,
    CheckIAllocatorOrNode,
    CheckInstanceExistence,
    CheckIpFree,
    CheckNicsBridgesExist,
    CheckNodeFreeMemory,
    CheckNodeHasOS,
    CheckOSParams,
    CheckVlanArguments,
    ComputeDisks,
    ComputeFullBeParams,
    ComputeIPolicySpecViolation,
    ComputeNics,
    CreateDisks,
    GenerateDiskTemplate,
    GroupIPolicy,
    NICListToTuple,
    RemoveDisks,
)
from ganeti.cmdlib.node import CheckParamsNotGlobal
from ganeti.utils.text import CommaJoin

logger = logging.getLogger(__name__)

_IMPORT_REFUSED = "Instance import (gnt-backup) is not available in this version"
#: The disk templates this version can create disks for.
_AVAILABLE_TEMPLATES = frozenset([constants.DT_DISKLESS, constants.DT_FILE,
                                  constants.DT_SHARED_FILE])


def ValidateDeviceNames(kind: str, container: list[dict[str, Any]]) -> None:
    """Refuse a device name used twice (Ganeti's utils.ValidateDeviceNames).

    Raises:
      errors.OpPrereqError: (ECODE_NOTUNIQUE) naming the duplicate.
    """
    seen: set[str] = set()
    key = INIC_NAME if kind == "NIC" else IDISK_NAME
    for device in container:
        name = device.get(key)
        if name is None or str(name).lower() == defaults.VALUE_NONE:
            continue
        if name in seen:
            raise errors.OpPrereqError(f"{kind} name '{name}' already used",
                                       errors.ECODE_NOTUNIQUE)
        seen.add(name)


class LUInstanceCreate(LogicalUnit):
    """Create an instance (OP_INSTANCE_CREATE); returns its node names."""

    HPATH = "instance-add"
    HTYPE = constants.HTYPE_INSTANCE
    REQ_BGL = False

    # --- arguments -----------------------------------------------------------

    def CheckArguments(self) -> None:
        """Raises OpPrereqError for invalid or unavailable parameters."""
        op = self.op
        if op.mode != "create":
            raise errors.OpPrereqError(_IMPORT_REFUSED, errors.ECODE_INVAL)
        if op.forthcoming or op.commit:
            raise errors.OpPrereqError("Forthcoming instances are not available in"
                                       " this version", errors.ECODE_INVAL)
        if op.instance_communication:
            raise errors.OpPrereqError("Instance communication is not available in"
                                       " this version", errors.ECODE_INVAL)
        if op.no_install and op.start:
            self.LogInfo("No-installation mode selected, disabling startup")
            op.start = False
        op.instance_name = netutils.Hostname.GetNormalizedName(op.instance_name)
        if op.ip_check and not op.name_check:
            raise errors.OpPrereqError("Cannot do IP address check without a name"
                                       " check", errors.ECODE_INVAL)
        self.check_ip = None
        if op.name_check:
            hostname = CheckHostnameSane(self, op.instance_name)
            op.instance_name = hostname.name
            self.check_ip = hostname.ip
        ValidateDeviceNames("NIC", op.nics)
        CheckVlanArguments(op.nics)
        self._CheckDiskArguments()
        if not op.file_driver and op.disk_template in (constants.DT_FILE,
                                                       constants.DT_SHARED_FILE):
            op.file_driver = FD_DEFAULT
        CheckIAllocatorOrNode(self, "iallocator", "pnode")
        if op.pnode is not None and op.snode and \
                op.disk_template not in DTS_INT_MIRROR:
            self.LogWarning("Secondary node will be ignored on non-mirrored disk"
                            " template")
            op.snode = None
        if op.opportunistic_locking and not op.iallocator:
            raise errors.OpPrereqError("Opportunistic locking is only available in"
                                       " combination with an instance allocator",
                                       errors.ECODE_INVAL)
        if not op.os_type:
            raise errors.OpPrereqError("No guest OS or OS image specified",
                                       errors.ECODE_INVAL)
        if op.os_type in (self.cfg.GetClusterInfo().blacklisted_os or []):
            raise errors.OpPrereqError(f"Guest OS '{op.os_type}' is not allowed for"
                                       " installation", errors.ECODE_STATE)

    def _CheckDiskArguments(self) -> None:
        op = self.op
        ValidateDeviceNames("disk", op.disks)
        cluster = self.cfg.GetClusterInfo()
        if op.disk_template is None:
            if not cluster.enabled_disk_templates:
                raise errors.OpPrereqError("No disk template is enabled in the"
                                           " cluster", errors.ECODE_STATE)
            op.disk_template = cluster.enabled_disk_templates[0]
        CheckDiskTemplateEnabled(cluster, op.disk_template)
        if any(IDISK_ADOPT in disk for disk in op.disks):
            raise errors.OpPrereqError(
                f"Disk adoption is not supported for the '{op.disk_template}' disk"
                " template", errors.ECODE_INVAL)
        if op.disk_template == constants.DT_DISKLESS and op.disks:
            raise errors.OpPrereqError("Diskless instances cannot have disks",
                                       errors.ECODE_INVAL)
        if op.disk_template != constants.DT_DISKLESS and not op.disks:
            raise errors.OpPrereqError(
                f"Disk template '{op.disk_template}' needs at least one disk",
                errors.ECODE_INVAL)
        for idx, disk in enumerate(op.disks):
            if disk.get(IDISK_SIZE) is None:
                raise errors.OpPrereqError(f"Missing disk size for disk {idx}",
                                           errors.ECODE_INVAL)

    # --- locks -----------------------------------------------------------------

    def ExpandNames(self) -> None:
        """Raises OpPrereqError for a taken name or an unknown node."""
        op = self.op
        self.needed_locks = {}
        CheckInstanceExistence(self, op.instance_name)
        self.add_locks[locking.LEVEL_INSTANCE] = op.instance_name
        if op.iallocator:
            self.needed_locks[locking.LEVEL_NODE] = locking.ALL_SET
            if op.opportunistic_locking:
                self.opportunistic_locks[locking.LEVEL_NODE] = True
                self.opportunistic_locks[locking.LEVEL_NODE_RES] = True
            self.needed_locks[locking.LEVEL_NODEGROUP] = locking.ALL_SET
        else:
            op.pnode_uuid, op.pnode = ExpandNodeUuidAndName(self.cfg, op.pnode_uuid,
                                                            op.pnode)
            nodes = [op.pnode_uuid]
            if op.snode is not None:
                op.snode_uuid, op.snode = ExpandNodeUuidAndName(
                    self.cfg, op.snode_uuid, op.snode)
                nodes.append(op.snode_uuid)
            self.needed_locks[locking.LEVEL_NODE] = nodes
            groups = {self.cfg.GetNodeInfo(uuid).group for uuid in nodes}
            self.needed_locks[locking.LEVEL_NODEGROUP] = sorted(groups)
        node_locks = self.needed_locks[locking.LEVEL_NODE]
        self.needed_locks[locking.LEVEL_NODE_RES] = (
            node_locks if node_locks is locking.ALL_SET else list(node_locks))
        self.share_locks[locking.LEVEL_NODEGROUP] = 1

    def DeclareLocks(self, level: int) -> None:
        if level == locking.LEVEL_NODE_RES and self.op.opportunistic_locking:
            self.needed_locks[locking.LEVEL_NODE_RES] = \
                sorted(self.owned_locks(locking.LEVEL_NODE))

    # --- hooks -------------------------------------------------------------------

    def BuildHooksEnv(self) -> dict[str, Any]:
        env: dict[str, Any] = {"ADD_MODE": self.op.mode}
        env.update(BuildInstanceHookEnv(
            name=self.op.instance_name, primary_node_name=self.op.pnode,
            secondary_node_names=self.cfg.GetNodeNames(self.secondaries),
            status=self.op.start, os_type=self.op.os_type,
            minmem=self.be_full[defaults.BE_MINMEM],
            maxmem=self.be_full[defaults.BE_MAXMEM],
            vcpus=self.be_full[defaults.BE_VCPUS],
            nics=NICListToTuple(self, self.nics), disk_template=self.op.disk_template,
            disks=self.disks, bep=self.be_full, hvp=self.hv_full,
            hypervisor_name=self.op.hypervisor, tags=self.op.tags))
        return env

    def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
        nodes = [self.cfg.GetMasterNode(), self.op.pnode_uuid] + self.secondaries
        nodes = list(dict.fromkeys(nodes))
        return nodes, list(nodes)

    # --- prerequisites -------------------------------------------------------------

    def CheckPrereq(self) -> None:
        """Check everything before anything changes.

        Raises:
          errors.OpPrereqError: see the module docstring.
        """
        op = self.op
        CheckInstanceExistence(self, op.instance_name)
        cluster = self.cfg.GetClusterInfo()
        self.instance_file_storage_dir = CalculateFileStorageDir(
            op.disk_template, self.cfg, op.instance_name, op.file_storage_dir)
        self._CheckParameters(cluster)
        self.nics = ComputeNics(op, cluster, self.check_ip, self.cfg,
                                self.proc.GetECId())
        self.disks = ComputeDisks(op.disks, op.disk_template,
                                  cluster.volume_group_name)
        if op.ip_check and self.check_ip:
            CheckIpFree(self.check_ip, op.instance_name)
        # MACs are generated now so that the allocator and the hooks see them.
        for nic in self.nics:
            if nic.mac in (defaults.VALUE_AUTO, "generate"):
                nic.mac = self.cfg.GenerateMAC(nic.network, self.proc.GetECId())
        if op.iallocator is not None:
            self._RunAllocator()
        keep = [uuid for uuid in (op.pnode_uuid, op.snode_uuid) if uuid]
        ReleaseLocks(self, locking.LEVEL_NODE, keep=keep)
        ReleaseLocks(self, locking.LEVEL_NODE_RES, keep=keep)
        self._CheckNodes()
        self._CheckNetworks()
        self._CheckPolicy(cluster)
        node_uuids = [self.pnode.uuid] + self.secondaries
        CheckHVParams(self, node_uuids, op.hypervisor, op.hvparams)
        CheckNodeHasOS(self, self.pnode.uuid, op.os_type, op.force_variant)
        CheckOSParams(self, True, node_uuids, op.os_type, self.os_full,
                      op.force_variant)
        CheckNicsBridgesExist(self, self.nics, self.pnode.uuid)
        if op.start:
            CheckNodeFreeMemory(self, self.pnode.uuid,
                                f"creating instance {op.instance_name}",
                                self.be_full[defaults.BE_MAXMEM], op.hypervisor,
                                self.hv_full)
        self.dry_run_result = self.cfg.GetNodeNames(node_uuids)

    def _CheckParameters(self, cluster: objects.Cluster) -> None:
        """Hypervisor, tags, hvparams, beparams and osparams."""
        op = self.op
        if op.hypervisor in (None, defaults.VALUE_AUTO):
            op.hypervisor = cluster.GetDefaultHypervisor()
        enabled = cluster.enabled_hypervisors or []
        if op.hypervisor not in enabled:
            raise errors.OpPrereqError(
                f"Selected hypervisor ({op.hypervisor}) not enabled in the cluster"
                f" ({','.join(enabled)})", errors.ECODE_STATE)
        for tag in op.tags:
            try:
                objects.TaggableObject.ValidateTag(tag)
            except errors.TagError as err:
                raise errors.OpPrereqError(str(err), errors.ECODE_INVAL) from err
        CheckParamsNotGlobal(op.hvparams, defaults.HVC_GLOBALS, "hypervisor",
                             "instance", "cluster")
        self.hv_full = CheckHvParamsSyntax(
            op.hypervisor, op.hvparams,
            cluster.SimpleFillHV(op.hypervisor, op.os_type, {}))
        self.be_full = ComputeFullBeParams(op, cluster)
        if op.osparams_private is None:
            op.osparams_private = {}
        if op.osparams_secret is None:
            op.osparams_secret = {}
        self.os_full = objects.FillDict(
            cluster.SimpleFillOS(op.os_type, op.osparams, op.osparams_private),
            op.osparams_secret)
        if op.identify_defaults:
            self._RevertToDefaults(cluster)

    def _RevertToDefaults(self, cluster: objects.Cluster) -> None:
        """Drop parameters equal to the cluster defaults (identify_defaults)."""
        op = self.op
        for params, current in (
                (op.hvparams, cluster.SimpleFillHV(op.hypervisor, op.os_type, {})),
                (op.beparams, cluster.SimpleFillBE({})),
                (op.osparams, cluster.SimpleFillOS(op.os_type, {}))):
            for name in list(params):
                if name in current and current[name] == params[name]:
                    del params[name]
        nic_defaults = cluster.SimpleFillNIC({})
        for nic in op.nics:
            for name in (defaults.NIC_MODE, defaults.NIC_LINK, defaults.NIC_VLAN):
                if name in nic and nic[name] == nic_defaults.get(name):
                    del nic[name]

    def _RunAllocator(self) -> None:
        """Pick the node(s) with the allocator.

        Raises:
          errors.OpPrereqError: the allocator found no node (ECODE_NORES, or
            ECODE_TEMP_NORES with opportunistic locking).
        """
        from ganeti import iallocator

        op = self.op
        whitelist = None
        if op.opportunistic_locking:
            owned = (set(self.owned_locks(locking.LEVEL_NODE))
                     & set(self.owned_locks(locking.LEVEL_NODE_RES)))
            whitelist = self.cfg.GetNodeNames(sorted(owned))
        req = CreateInstanceAllocRequest(op, self.disks, self.nics, self.be_full,
                                         whitelist)
        ial = iallocator.IAllocator(self.cfg, self.rpc, req)
        ial.Run(op.iallocator)
        if not ial.success:
            ecode = (errors.ECODE_TEMP_NORES if op.opportunistic_locking
                     else errors.ECODE_NORES)
            raise errors.OpPrereqError(
                f"Can't compute nodes using iallocator '{op.iallocator}':"
                f" {ial.info}", ecode)
        op.pnode_uuid, op.pnode = ExpandNodeUuidAndName(self.cfg, None, ial.result[0])
        self.LogInfo("Selected nodes for instance %s via iallocator %s: %s",
                     op.instance_name, op.iallocator, CommaJoin(ial.result))
        if req.RequiredNodes() == 2:
            op.snode_uuid, op.snode = ExpandNodeUuidAndName(self.cfg, None,
                                                            ial.result[1])

    def _CheckNodes(self) -> None:
        """The primary node must be online, not drained and vm_capable."""
        op = self.op
        self.pnode = pnode = self.cfg.GetNodeInfo(op.pnode_uuid)
        for bad, what in ((pnode.offline, "offline"), (pnode.drained, "drained"),
                          (not pnode.vm_capable, "non-vm_capable")):
            if bad:
                raise errors.OpPrereqError(
                    f"Cannot use {what} primary node '{pnode.name}'",
                    errors.ECODE_STATE)
        self.secondaries: list[str] = []
        if op.disk_template not in _AVAILABLE_TEMPLATES:
            raise errors.OpPrereqError(
                f"Disk template '{op.disk_template}' is not available in this"
                f" version (available: {CommaJoin(sorted(_AVAILABLE_TEMPLATES))})",
                errors.ECODE_STATE)

    def _CheckNetworks(self) -> None:
        """NICs on networks take the group's netparams; others' IPs must not
        belong to a network connected to the node's group."""
        group = self.cfg.GetNodeGroup(self.pnode.group)
        group_nets = (group.networks or {}) if group is not None else {}
        for idx, nic in enumerate(self.nics):
            if nic.network is not None:
                net = self.cfg.GetNetwork(nic.network)
                netparams = group_nets.get(nic.network)
                if netparams is None:
                    raise errors.OpPrereqError(
                        f"No netparams found for network {net.name}. Probably not"
                        f" connected to node's {self.pnode.name} nodegroup",
                        errors.ECODE_INVAL)
                self.LogInfo("NIC/%d inherits netparams %s", idx,
                             list(netparams.values()))
                nic.nicparams = dict(netparams)
                if nic.ip is not None and nic.ip.lower() == NIC_IP_POOL:
                    raise errors.OpPrereqError(
                        "Address pools of networks are not available in this"
                        " version; give the NIC's IP address", errors.ECODE_INVAL)
            elif nic.ip and self.op.conflicts_check:
                self._CheckIpNotInNetworks(nic.ip, group_nets)

    def _CheckIpNotInNetworks(self, ip: str, group_nets: dict[str, Any]) -> None:
        for net_uuid in group_nets:
            net = self.cfg.GetNetwork(net_uuid)
            if net is not None and net.network and \
                    netutils.IPAddress.InNetwork(net.network, ip):
                raise errors.OpPrereqError(
                    f"The requested IP address ({ip}) belongs to network"
                    f" {net.name}, but the target NIC does not.", errors.ECODE_STATE)

    def _CheckPolicy(self, cluster: objects.Cluster) -> None:
        """The instance policy of the primary node's group."""
        ispec = {
            defaults.ISPEC_MEM_SIZE: self.be_full.get(defaults.BE_MAXMEM),
            defaults.ISPEC_CPU_COUNT: self.be_full.get(defaults.BE_VCPUS),
            defaults.ISPEC_DISK_COUNT: len(self.disks),
            defaults.ISPEC_DISK_SIZE: [disk[IDISK_SIZE] for disk in self.disks],
            defaults.ISPEC_NIC_COUNT: len(self.nics),
            defaults.ISPEC_SPINDLE_USE: self.be_full.get(defaults.BE_SPINDLE_USE),
        }
        policy = GroupIPolicy(self.cfg, self.pnode.group)
        problems = ComputeIPolicySpecViolation(policy, ispec, self.op.disk_template)
        if problems and not self.op.ignore_ipolicy:
            group = self.cfg.GetNodeGroup(self.pnode.group)
            raise errors.OpPrereqError(
                f"Instance allocation to group {self.pnode.group}"
                f" ({group.name if group else '?'}) violates policy:"
                f" {CommaJoin(problems)}", errors.ECODE_INVAL)

    # --- execution -------------------------------------------------------------------

    def Exec(self, feedback_fn: Callable[..., None]) -> list[str]:
        """Create the disks, add the instance, install its OS, start it.

        Raises:
          errors.OpExecError: a step failed; see the module docstring for
            what is rolled back.
        """
        op = self.op
        ec_id = self.proc.GetECId()
        instance_uuid = self.cfg.GenerateUniqueID(ec_id)
        group = self.cfg.GetNodeGroup(self.pnode.group)
        diskparams = self.cfg.GetClusterInfo().SimpleFillDiskParams(
            group.diskparams if group is not None else None)
        disks = GenerateDiskTemplate(
            self, op.disk_template, instance_uuid, self.pnode.uuid, self.secondaries,
            self.disks, self.instance_file_storage_dir, op.file_driver, 0,
            feedback_fn, diskparams)
        iobj = objects.Instance(
            name=op.instance_name, uuid=instance_uuid, os=op.os_type,
            primary_node=self.pnode.uuid, nics=self.nics, disks=[],
            disks_active=False, admin_state=constants.ADMINST_DOWN,
            admin_state_source=constants.ADMIN_SOURCE, beparams=op.beparams,
            hvparams=op.hvparams, hypervisor=op.hypervisor, osparams=op.osparams,
            osparams_private=op.osparams_private, tags=list(op.tags))
        if disks:
            feedback_fn("* creating instance disks...")
            try:
                CreateDisks(self, iobj, disks=disks)
            except errors.OpExecError:
                self.LogWarning("Device creation failed")
                raise
        self._AddToConfig(iobj, disks, feedback_fn)
        iobj = self.cfg.GetInstanceInfo(instance_uuid)
        ReleaseLocks(self, locking.LEVEL_NODE)
        if disks:
            self._PrepareDisks(iobj, feedback_fn)
        ReleaseLocks(self, locking.LEVEL_NODE_RES)
        if op.start:
            self._Start(iobj, feedback_fn)
        return self.cfg.GetNodeNames(self.cfg.GetInstanceNodes(instance_uuid))

    def _AddToConfig(self, iobj: objects.Instance, disks: list[objects.Disk],
                     feedback_fn: Callable[..., None]) -> None:
        """Add the instance, then its disks; undo everything on failure."""
        if self.op.hypervisor in HTS_REQ_PORT:
            iobj.network_port = self.cfg.AllocatePort()
        feedback_fn(f"adding instance {self.op.instance_name} to cluster config")
        try:
            self.cfg.AddInstance(iobj, self.proc.GetECId())
        except errors.ConfigurationError as err:
            self._RemoveDisks(iobj, disks)
            raise errors.OpExecError(f"Cannot add instance {iobj.name} to the"
                                     f" configuration: {err}") from err
        feedback_fn("adding disks to cluster config")
        try:
            for disk in disks:
                self.cfg.AddInstanceDisk(iobj.uuid, disk)
        except errors.ConfigurationError as err:
            self._RemoveDisks(iobj, disks)
            self.cfg.RemoveInstance(iobj.uuid)
            raise errors.OpExecError(f"Cannot add the disks of instance {iobj.name}"
                                     f" to the configuration: {err}") from err

    def _RemoveDisks(self, iobj: objects.Instance, disks: list[objects.Disk]) -> None:
        for disk in disks:
            result = self.rpc.call_blockdev_remove(iobj.primary_node, (disk, iobj))
            result.Warn(f"Could not remove disk {disk.iv_name} of {iobj.name}",
                        self.LogWarning)
        if self.instance_file_storage_dir and disks:
            result = self.rpc.call_file_storage_dir_remove(
                iobj.primary_node, self.instance_file_storage_dir)
            result.Warn("Could not remove directory"
                        f" '{self.instance_file_storage_dir}'", self.LogWarning)

    def _Undo(self, iobj: objects.Instance, message: str) -> errors.OpExecError:
        """Remove the half-made instance; return the error to raise."""
        self.LogWarning("%s; removing instance %s again", message, iobj.name)
        if not RemoveDisks(self, iobj):
            self.LogWarning("Some disks of %s could not be removed", iobj.name)
        self.cfg.RemoveInstance(iobj.uuid)
        return errors.OpExecError(message)

    def _PrepareDisks(self, iobj: objects.Instance,
                      feedback_fn: Callable[..., None]) -> None:
        """Wipe (if the cluster wants it) and install the OS onto the disks.

        Raises:
          errors.OpExecError: after removing the instance again.
        """
        op = self.op
        pnode_name = self.pnode.name
        if self.cfg.GetClusterInfo().prealloc_wipe_disks:
            feedback_fn("* wiping instance disks...")
            for idx, disk in enumerate(self.cfg.GetInstanceDisks(iobj.uuid)):
                result = self.rpc.call_blockdev_wipe(iobj.primary_node, (disk, iobj),
                                                     0, disk.size)
                if result.fail_msg:
                    raise self._Undo(iobj, f"Wiping disk {idx} of instance"
                                     f" {iobj.name} failed: {result.fail_msg}")
        self.cfg.MarkInstanceDisksActive(iobj.uuid)
        if op.no_install:
            return
        feedback_fn("* running the instance OS create scripts...")
        result = self.rpc.call_instance_os_add(iobj.primary_node,
                                               (iobj, op.osparams_secret), False,
                                               op.debug_level)
        if result.fail_msg:
            raise self._Undo(iobj, f"Could not add os for instance {iobj.name} on"
                             f" node {pnode_name}: {result.fail_msg}")

    def _Start(self, iobj: objects.Instance, feedback_fn: Callable[..., None]) -> None:
        """Mark the instance up and start it.

        Raises:
          errors.OpExecError: it did not start (it stays defined, marked up).
        """
        self.cfg.MarkInstanceUp(iobj.uuid)
        iobj = self.cfg.GetInstanceInfo(iobj.uuid)
        logger.info("Starting instance %s on node %s", iobj.name, self.pnode.name)
        feedback_fn("* starting instance...")
        result = self.rpc.call_instance_start(iobj.primary_node, (iobj, None, None),
                                              False, getattr(self.op, "reason", []))
        result.Raise("Could not start instance")


def CreateInstanceAllocRequest(op: Any, disks: list[dict[str, Any]],
                               nics: list[objects.NIC], beparams: dict[str, Any],
                               node_whitelist: list[str] | None) -> Any:
    """The allocator request for the instance an opcode creates."""
    from ganeti import iallocator

    return iallocator.IAReqInstanceAlloc(
        name=op.instance_name, disk_template=op.disk_template,
        group_name=op.group_name, tags=list(op.tags), os=op.os_type,
        vcpus=beparams[defaults.BE_VCPUS], memory=beparams[defaults.BE_MAXMEM],
        spindle_use=beparams[defaults.BE_SPINDLE_USE], disks=disks,
        nics=[nic.ToDict() for nic in nics], hypervisor=op.hypervisor,
        node_whitelist=node_whitelist)
