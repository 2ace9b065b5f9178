"""LUClusterVerifyGroup: verify the nodes and instances of one node group.

Mirrors Ganeti 3.0's LUClusterVerifyGroup (lib/cmdlib/cluster/verify.py).
One node_verify RPC goes to every node of the group (in parallel, see
ganeti/rpc/client.py); the answers are compared with the configuration, the
master's clock and each other, in the steps Ganeti prints ("* Gathering
data", "* Verifying node status", ...). The per-node checks are in
cluster_verify_node.py.

Differences from Ganeti, on purpose:
- the ssconf files are not among the files compared across nodes; each
  node's files are compared with the values the master computes from its
  configuration instead (ENODEFILECHECK, one line per node and file), so
  a stale or damaged file is pinned to its node even on a one-node cluster;
- a configuration change during the gathering (its serial number moved)
  makes the file checksums be gathered once more, so that a concurrent job
  does not show up as differing files (Ganeti holds the configuration lock
  during the RPC instead, which here would also block every reader);
- the node connectivity check (NV_NODELIST) connects to the other nodes'
  node daemon port instead of logging in over ssh; its findings keep
  Ganeti's code and wording (ENODESSH, "ssh communication with node ...");
- the SPICE certificates are optional files: cluster init does not create
  them here.
Checks needing backends this tree does not have yet are not requested:
DRBD (NV_DRBD*), OS definitions (NV_OSLIST), the ssh key setup
(NV_SSH_SETUP/NV_SSH_CLUTTER), exclusive storage (NV_EXCLUSIVEPVS); the
hypervisor driver checks (NV_HYPERVISOR, NV_HVPARAMS) are requested once a
ganeti.hypervisor package exists.
"""

from __future__ import annotations

import itertools
import re
import time
from typing import Any

from ganeti import constants, defaults, errors, locking, pathutils
from ganeti.backend import verify as nv
from ganeti.cmdlib import cluster_verify as cv
from ganeti.cmdlib.base import LogicalUnit
from ganeti.cmdlib.cluster_verify_cross import CrossChecks
from ganeti.cmdlib.cluster_verify_node import NodeImage
from ganeti.cmdlib.common import GetNodeNdParams, ShareAll
from ganeti.utils.text import CommaJoin

_HOOKS_INDENT_RE = re.compile("^", re.M)
_OOB_PROGRAM = "oob_program"


class LUClusterVerifyGroup(LogicalUnit, CrossChecks):
    """Verify the status of a node group (see the module docstring)."""

    HPATH = "cluster-verify"
    HTYPE = constants.HTYPE_CLUSTER
    REQ_BGL = False

    # --- locks and prerequisites -------------------------------------------------

    def _GroupInstanceUuids(self) -> list[str]:
        """Instances whose primary node is in the group (unlocked read)."""
        members = set(self.cfg.GetNodeGroup(self.group_uuid).members or [])
        return [uuid for uuid, inst in self.cfg.GetAllInstancesInfo().items()
                if inst.primary_node in members]

    def _InstDisks(self, inst_uuid: str) -> list[Any]:
        return self.cfg.GetInstanceDisks(inst_uuid)

    def _IsIntMirrored(self, inst_uuid: str) -> bool:
        return any(disk.dev_type in cv.DTS_INT_MIRROR
                   for disk in self._InstDisks(inst_uuid))

    def ExpandNames(self) -> None:
        self.group_uuid = self.cfg.LookupNodeGroup(self.op.group_name)
        self.needed_locks = {
            locking.LEVEL_INSTANCE: self.cfg.GetInstanceNames(
                self._GroupInstanceUuids()),
            locking.LEVEL_NODEGROUP: [self.group_uuid],
            locking.LEVEL_NODE: [],
        }
        self.share_locks = ShareAll()

    def DeclareLocks(self, level: int) -> None:
        if level != locking.LEVEL_NODE or self.needed_locks is None:
            return
        nodes = set(self.cfg.GetNodeGroup(self.group_uuid).members or [])
        # Mirrored instances' secondaries may be in other groups; their
        # volumes are checked too, so those nodes are locked as well.
        for name in self.owned_locks(locking.LEVEL_INSTANCE):
            inst = self.cfg.GetInstanceInfoByName(name)
            if inst is not None and self._IsIntMirrored(inst.uuid):
                nodes.update(self.cfg.GetInstanceSecondaryNodes(inst.uuid))
        self.needed_locks[locking.LEVEL_NODE] = sorted(nodes)

    def _CheckLocksHeld(self, node_uuids: set[str], inst_uuids: list[str]) -> None:
        """Raises OpPrereqError if the group changed since the locks were taken."""
        if self.glm is None:
            return
        missing_nodes = node_uuids - self.owned_locks(locking.LEVEL_NODE)
        if missing_nodes:
            raise errors.OpPrereqError(
                "Missing lock for nodes: "
                f"{CommaJoin(self.cfg.GetNodeNames(sorted(missing_nodes)))}",
                errors.ECODE_STATE)
        owned = self.owned_locks(locking.LEVEL_INSTANCE)
        missing_insts = [name for name in self.cfg.GetInstanceNames(inst_uuids)
                         if name not in owned]
        if missing_insts:
            raise errors.OpPrereqError(
                f"Missing lock for instances: {CommaJoin(missing_insts)}",
                errors.ECODE_STATE)

    def CheckPrereq(self) -> None:
        """Take the group's picture; raises OpPrereqError on missing locks."""
        self.group_info = self.cfg.GetNodeGroup(self.group_uuid)
        group_nodes = set(self.group_info.members or [])
        group_insts = self._GroupInstanceUuids()
        self._CheckLocksHeld(group_nodes, group_insts)
        self.all_node_info = self.cfg.GetAllNodesInfo()
        self.all_inst_info = self.cfg.GetAllInstancesInfo()
        self.my_node_uuids = sorted(group_nodes,
                                    key=lambda u: self.all_node_info[u].name)
        self.my_node_info = {uuid: self.all_node_info[uuid]
                             for uuid in self.my_node_uuids}
        self.my_inst_uuids = group_insts
        self.my_inst_info = {uuid: self.all_inst_info[uuid] for uuid in group_insts}
        extra: set[str] = set()
        for inst_uuid in group_insts:
            if self._IsIntMirrored(inst_uuid):
                extra.update(node for node in self.cfg.GetInstanceNodes(inst_uuid)
                             if node in self.all_node_info
                             and self.all_node_info[node].group != self.group_uuid)
        if self.glm is not None:
            unlocked = extra - self.owned_locks(locking.LEVEL_NODE)
            if unlocked:
                raise errors.OpPrereqError(
                    "Missing node locks for LV check: "
                    f"{CommaJoin(self.cfg.GetNodeNames(sorted(unlocked)))}",
                    errors.ECODE_STATE)
        self.extra_lv_nodes = sorted(extra)

    # --- hooks ----------------------------------------------------------------------

    def BuildHooksEnv(self) -> dict[str, Any]:
        """The post hooks see the cluster's and the group nodes' tags."""
        env = {"CLUSTER_TAGS": " ".join(sorted(
            self.cfg.GetClusterInfo().GetTags()))}
        env.update((f"NODE_TAGS_{node.name}", " ".join(sorted(node.GetTags())))
                   for node in self.my_node_info.values())
        return env

    def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
        return [], list(self.my_node_info)

    def HooksCallBack(self, phase: str, hook_results: Any,
                      feedback_fn: Any, lu_result: Any) -> Any:
        """Report the post hooks' results; a failed hook fails the verify."""
        if not self.my_node_uuids or phase != constants.HOOKS_PHASE_POST:
            return lu_result
        feedback_fn("* Hooks Results")
        self._feedback_fn = feedback_fn
        for node_key, res in sorted((hook_results or {}).items()):
            node_name = getattr(res, "node", "") or node_key
            test = res.fail_msg and not res.offline
            self._ErrorIf(test, cv.CV_ENODEHOOKS, node_name,
                          "Communication failure in hooks execution: %s",
                          res.fail_msg)
            if test:
                lu_result = False
                continue
            if res.offline or not isinstance(res.payload, list):
                continue
            for script, hkr, output in res.payload:
                test = hkr == constants.HKR_FAIL
                self._ErrorIf(test, cv.CV_ENODEHOOKS, node_name,
                              "Script %s failed, output:", script)
                if test:
                    feedback_fn(_HOOKS_INDENT_RE.sub("      ", output or ""))
                    lu_result = False
        return lu_result

    # --- what to ask the nodes -----------------------------------------------------

    def _SelectSshCheckNodes(self) -> tuple[list[str], dict[str, list[str]]]:
        """Every online node of the group, plus one node of each other group
        per node (cycling through the other groups' nodes)."""
        online = sorted(node.name for node in self.my_node_info.values()
                        if not node.offline)
        others = sorted((node for node in self.all_node_info.values()
                         if node.group != self.group_uuid and not node.offline),
                        key=lambda node: (node.group or "", node.name))
        cycles = [itertools.cycle(sorted(node.name for node in nodes))
                  for _, nodes in itertools.groupby(others,
                                                    key=lambda n: n.group or "")]
        return online, {name: sorted(next(cycle) for cycle in cycles)
                        for name in online}

    def _Bridges(self, cluster: Any) -> set[str]:
        bridges = set()
        default = cluster.nicparams.get(constants.PP_DEFAULT, {})
        if default.get(defaults.NIC_MODE) == constants.NIC_MODE_BRIDGED:
            bridges.add(default.get(defaults.NIC_LINK))
        for inst in self.my_inst_info.values():
            for nic in inst.nics or []:
                full = cluster.SimpleFillNIC(nic.nicparams or {})
                if full.get(defaults.NIC_MODE) == constants.NIC_MODE_BRIDGED:
                    bridges.add(full.get(defaults.NIC_LINK))
        return {bridge for bridge in bridges if bridge}

    def _OobPaths(self) -> list[str]:
        paths: list[str] = []
        for node in self.all_node_info.values():
            path = GetNodeNdParams(self.cfg, node).get(_OOB_PROGRAM)
            if path and path not in paths:
                paths.append(path)
        return paths

    def _StorageParams(self, cluster: Any) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if cluster.IsFileStorageEnabled() or cluster.IsSharedFileStorageEnabled():
            params[nv.NV_ACCEPTED_STORAGE_PATHS] = self.cfg.GetMasterNodeName()
            if cluster.IsFileStorageEnabled() and cluster.file_storage_dir:
                params[nv.NV_FILE_STORAGE_PATH] = nv.WirePath(
                    cluster.file_storage_dir)
            if cluster.IsSharedFileStorageEnabled() and \
                    cluster.shared_file_storage_dir:
                params[nv.NV_SHARED_FILE_STORAGE_PATH] = nv.WirePath(
                    cluster.shared_file_storage_dir)
        return params

    def _BuildNodeVerifyParams(self, cluster: Any, files: list[str],
                               bridges: set[str]) -> dict[str, Any]:
        hypervisors = list(cluster.enabled_hypervisors or [])
        node_data = self.my_node_info.values()
        params: dict[str, Any] = {
            nv.NV_FILELIST: [nv.WirePath(path) for path in files],
            nv.NV_NODELIST: list(self._SelectSshCheckNodes()),
            nv.NV_NODENETTEST: [[node.name, node.primary_ip, node.secondary_ip]
                                for node in node_data if not node.offline],
            nv.NV_INSTANCELIST: hypervisors,
            nv.NV_VERSION: None,
            nv.NV_HVINFO: cluster.GetDefaultHypervisor(),
            nv.NV_NODESETUP: None,
            nv.NV_TIME: None,
            nv.NV_MASTERIP: [self.cfg.GetMasterNodeName(), cluster.master_ip],
            nv.NV_NONVMNODES: sorted(node.name for node in self.all_node_info.values()
                                     if not node.vm_capable),
            nv.NV_USERSCRIPTS: ([nv.WirePath(pathutils.EXTERNAL_MASTER_SETUP_SCRIPT)]
                                if cluster.use_external_mip_script else []),
            nv.NV_CLIENT_CERT: None,
        }
        if cv.GetHypervisorPackage() is not None:
            params[nv.NV_HYPERVISOR] = hypervisors
            if cv.VERIFY_HVPARAM_ASSESSMENT not in (self.op.skip_checks or []):
                params[nv.NV_HVPARAMS] = [
                    list(entry) for entry in cv.GetAllHypervisorParameters(
                        cluster, self.all_inst_info.values())]
        vg_name = cluster.volume_group_name
        if vg_name:
            params.update({nv.NV_VGLIST: None, nv.NV_LVLIST: vg_name,
                           nv.NV_PVLIST: [vg_name]})
        params.update(self._StorageParams(cluster))
        if bridges:
            params[nv.NV_BRIDGES] = sorted(bridges)
        oob_paths = self._OobPaths()
        if oob_paths:
            params[nv.NV_OOB_PATHS] = oob_paths
        return params

    def _BuildNodeImages(self) -> tuple[dict[str, NodeImage], int]:
        """Node images of the group (and ghosts); returns (images, offline
        instance count)."""
        images = {node.uuid: NodeImage(uuid=node.uuid, offline=bool(node.offline),
                                       vm_capable=bool(node.vm_capable))
                  for node in self.my_node_info.values()}
        i_offline = 0
        for inst_uuid in self.my_inst_uuids:
            inst = self.my_inst_info[inst_uuid]
            if inst.admin_state == constants.ADMINST_OFFLINE:
                i_offline += 1
            for node_uuid in self.cfg.GetInstanceNodes(inst_uuid):
                if node_uuid not in images:
                    images[node_uuid] = NodeImage(
                        uuid=node_uuid, ghost=node_uuid not in self.all_node_info)
            images[inst.primary_node].pinst.append(inst_uuid)
            for snode in self.cfg.GetInstanceSecondaryNodes(inst_uuid):
                images[snode].sinst.append(inst_uuid)
                images[snode].sbp.setdefault(inst.primary_node, []).append(inst_uuid)
        return images, i_offline

    # --- gathering ------------------------------------------------------------------

    def _CallNodeVerify(self, node_uuids: list[str],
                        params: dict[str, Any]) -> dict[str, Any]:
        cluster = self.cfg.GetClusterInfo()
        return self.rpc.call_node_verify(node_uuids, params, cluster.cluster_name,
                                         cluster.hvparams)

    def _Gather(self, params: dict[str, Any], feedback_fn: Any) -> None:
        """Ask the nodes; sets all_nvinfo, vf_nvinfo/vf_node_info (file
        checks), extra_lv_nvinfo, the call's time window and the expected
        ssconf checksums."""
        feedback_fn(f"* Gathering information about nodes ({len(self.my_node_uuids)}"
                    " nodes)")
        # ssconf goes out in the background: let a distribution in flight
        # land first, so that it is not reported as differing files.
        distributor = getattr(self.context, "distributor", None)
        if distributor is not None:
            distributor.Flush(10)
        serial = self.cfg.GetConfigSerialNo()
        self.ssconf_expected = [cv.SsconfChecksums(self.cfg.GetSsconfValues())]
        self.nvinfo_start = time.time()
        self.all_nvinfo = self._CallNodeVerify(self.my_node_uuids, params)
        self.nvinfo_end = time.time()
        self.ssconf_expected.append(cv.SsconfChecksums(self.cfg.GetSsconfValues()))
        self.extra_lv_nvinfo = {}
        vg_name = self.cfg.GetClusterInfo().volume_group_name
        if self.extra_lv_nodes and vg_name:
            feedback_fn("* Gathering information about extra nodes"
                        f" ({len(self.extra_lv_nodes)} nodes)")
            self.extra_lv_nvinfo = self._CallNodeVerify(self.extra_lv_nodes,
                                                        {nv.NV_LVLIST: vg_name})
        self.vf_nvinfo = dict(self.all_nvinfo)
        self.vf_node_info = list(self.my_node_info.values())
        self._GatherAbsentNodes(params, feedback_fn)
        if self.cfg.GetConfigSerialNo() != serial:
            # The configuration changed while the nodes answered: take the
            # file checksums again so that they agree with each other.
            files = {nv.NV_FILELIST: params[nv.NV_FILELIST]}
            uuids = [node.uuid for node in self.vf_node_info]
            self.vf_nvinfo.update(self._CallNodeVerify(uuids, files))
            self.ssconf_expected.append(
                cv.SsconfChecksums(self.cfg.GetSsconfValues()))

    def _GatherAbsentNodes(self, params: dict[str, Any], feedback_fn: Any) -> None:
        """With nodes outside the group, the file checks also need the
        master and one vm_capable node of another group."""
        master = self.master_node
        absent = sorted(set(self.all_node_info) - set(self.my_node_info),
                        key=lambda uuid: self.all_node_info[uuid].name)
        if not absent:
            return
        additional = []
        if master not in self.my_node_info:
            additional.append(master)
        for uuid in absent:
            node = self.all_node_info[uuid]
            if node.vm_capable and not node.offline and uuid != master:
                additional.append(uuid)
                break
        self.vf_node_info.extend(self.all_node_info[uuid] for uuid in additional)
        feedback_fn("* Gathering information about the master node")
        self.vf_nvinfo.update(self._CallNodeVerify(
            additional, {nv.NV_FILELIST: params[nv.NV_FILELIST]}))

    def _CollectDiskInfo(self, images: dict[str, NodeImage]
                         ) -> dict[str, dict[str, list[Any]]]:
        """instance uuid -> node uuid -> [(success, status)] per disk."""
        node_disks: dict[str, list[tuple[Any, Any, str]]] = {}
        instdisk: dict[str, dict[str, list[Any]]] = {
            uuid: {} for uuid in self.my_inst_uuids}
        for node_uuid in self.my_node_uuids:
            img = images[node_uuid]
            pairs = [(disk, self.my_inst_info.get(inst_uuid)
                      or self.all_inst_info[inst_uuid], inst_uuid)
                     for inst_uuid in itertools.chain(img.pinst, img.sinst)
                     for disk in self._InstDisks(inst_uuid)]
            if pairs:
                node_disks[node_uuid] = pairs
        if not node_disks:
            return instdisk
        result = self.rpc.call_blockdev_getmirrorstatus_multi(
            list(node_disks), {node: [(disk, inst) for disk, inst, _ in pairs]
                               for node, pairs in node_disks.items()})
        for node_uuid, nres in result.items():
            pairs = node_disks[node_uuid]
            node_name = self.cfg.GetNodeName(node_uuid)
            data: list[tuple[Any, ...]]
            if nres.offline:
                data = [(False, "node offline")] * len(pairs)
            else:
                self._ErrorIf(nres.fail_msg, cv.CV_ENODERPC, node_name,
                              "while getting disk information: %s", nres.fail_msg)
                if nres.fail_msg:
                    data = [(False, nres.fail_msg)] * len(pairs)
                else:
                    data = [tuple(item) if isinstance(item, (list, tuple))
                            and len(item) == 2
                            else (False, "Invalid result from the remote node")
                            for item in nres.payload or []]
            for (_, _, inst_uuid), status in zip(pairs, data):
                instdisk.setdefault(inst_uuid, {}).setdefault(
                    node_uuid, []).append(status)
        return instdisk

    # --- the checks ----------------------------------------------------------

    def _NodeType(self, node: Any) -> str:
        if node.uuid == self.master_node:
            return "master"
        if node.master_candidate:
            return "master candidate"
        if node.drained:
            return "drained"
        return "regular"

    def _VerifyOneNode(self, node: Any, img: NodeImage, cluster: Any,
                       bridges: set[str]) -> None:
        """All checks of one (online) node's answer."""
        nres = self.all_nvinfo[node.uuid]
        self._ErrorIf(nres.fail_msg, cv.CV_ENODERPC, node.name,
                      "while contacting node: %s", nres.fail_msg)
        if nres.fail_msg:
            img.rpc_fail = True
            return
        nresult = nres.payload
        if not self._VerifyNode(node, nresult):
            return
        vg_name = cluster.volume_group_name
        self._VerifyNodeTime(node, nresult, self.nvinfo_start, self.nvinfo_end)
        self._VerifyNodeNetwork(node, nresult)
        self._VerifyNodeUserScripts(node, nresult)
        self._VerifyOob(node, nresult)
        self._VerifyAcceptedFileStoragePaths(node, nresult,
                                             node.uuid == self.master_node)
        self._VerifyStoragePaths(node, nresult)
        if not img.vm_capable:
            return
        self._UpdateVerifyNodeLVM(node, nresult, vg_name)
        if (cluster.IsDiskTemplateEnabled(constants.DT_PLAIN)
                or cluster.IsDiskTemplateEnabled(constants.DT_DRBD8)):
            self._UpdateNodeVolumes(node, nresult, img, vg_name)
        self._UpdateNodeInstances(node, nresult, img)
        self._UpdateNodeInfo(node, nresult, img, vg_name)
        self._VerifyNodeBridges(node, nresult, bridges)
        self._VerifyRunningInstances(node, img, self.all_inst_info)

    def _VerifyNodeStatus(self, images: dict[str, NodeImage], cluster: Any,
                          bridges: set[str], feedback_fn: Any) -> tuple[int, int]:
        """Check every node of the group; returns (offline, drained) counts."""
        n_offline = n_drained = 0
        for node in self.my_node_info.values():
            if node.offline:
                if self.op.verbose:
                    feedback_fn(f"* Skipping offline node {node.name}")
                n_offline += 1
                continue
            ntype = self._NodeType(node)
            if ntype == "drained":
                n_drained += 1
            if self.op.verbose:
                feedback_fn(f"* Verifying node {node.name} ({ntype})")
            self._VerifyOneNode(node, images[node.uuid], cluster, bridges)
        for node_uuid, nres in self.extra_lv_nvinfo.items():
            if not nres.fail_msg and isinstance(nres.payload, dict):
                self._UpdateNodeVolumes(self.all_node_info[node_uuid], nres.payload,
                                        images[node_uuid],
                                        cluster.volume_group_name)
        return n_offline, n_drained

    def _VerifyInstances(self, images: dict[str, NodeImage],
                         instdisk: dict[str, Any], cluster: Any,
                         feedback_fn: Any) -> tuple[int, int]:
        """Check every instance; returns the non-redundant and
        non-auto-balanced counts."""
        non_redundant = non_balanced = 0
        restarts = self._WatcherRestartCounts()
        for inst_uuid in self.my_inst_uuids:
            inst = self.my_inst_info[inst_uuid]
            if self.op.verbose:
                feedback_fn(f"* Verifying instance {inst.name}")
            self._VerifyInstance(inst, images, instdisk.get(inst_uuid, {}))
            tries = restarts.get(inst.name, 0)
            self._ErrorIf(inst.admin_state == constants.ADMINST_UP
                          and tries > self._watcher_maxtries,
                          cv.CV_EINSTANCEDOWN, inst.name,
                          "the watcher gave up restarting the instance after %d"
                          " attempts", tries - 1)
            disks = self.cfg.GetInstanceDisks(inst_uuid)
            # A diskless instance is not redundant either (Ganeti's
            # AllDiskOfType without disks).
            if not disks or not all(disk.dev_type in cv.DTS_MIRRORED
                                    for disk in disks):
                non_redundant += 1
            if not cluster.FillBE(inst)[defaults.BE_AUTO_BALANCE]:
                non_balanced += 1
        return non_redundant, non_balanced

    def _WatcherRestartCounts(self) -> dict[str, int]:
        """Instance name -> restart attempts, from the watcher's state file
        of this group on the master (where this LU runs); see
        ganeti/watcher/state.py. The watcher counts one more than it tried
        once it gives up."""
        from ganeti.watcher import MAXTRIES, state  # only here: a program

        self._watcher_maxtries = MAXTRIES
        return state.ReadRestartCounts(
            pathutils.WATCHER_GROUP_STATE_FILE % self.group_uuid)

    def _ExpectedVolumes(self) -> dict[str, list[str]]:
        """node uuid -> volumes the group's instances (and instances of other
        groups with a secondary here) should have."""
        should: dict[str, list[str]] = {}
        insts = list(self.my_inst_info.values())
        insts.extend(inst for inst in self.all_inst_info.values()
                     if inst.uuid not in self.my_inst_info
                     and set(self.cfg.GetInstanceSecondaryNodes(inst.uuid))
                     & set(self.my_node_info))
        for inst in insts:
            for node_uuid, volumes in cv.InstanceLvsByNode(self.cfg, inst).items():
                should.setdefault(node_uuid, []).extend(volumes)
        return should

    def Exec(self, feedback_fn: Any) -> bool:
        """Verify the group; returns whether no error was found."""
        feedback_fn(f"* Verifying group '{self.group_info.name}'")
        if not self.my_node_uuids:
            feedback_fn("* Empty node group, skipping verification")
            return True
        self.bad = False
        self._feedback_fn = feedback_fn
        self.master_node = self.cfg.GetMasterNode()
        cluster = self.cfg.GetClusterInfo()
        filemap = cv.ComputeAncillaryFiles(cluster)
        ssconf_files = sorted(cv.SsconfChecksums(self.cfg.GetSsconfValues()))
        files = sorted(set().union(*filemap)) + ssconf_files
        feedback_fn(f"* Gathering data ({len(self.my_node_uuids)} nodes)")
        bridges = self._Bridges(cluster)
        params = self._BuildNodeVerifyParams(cluster, files, bridges)
        images, i_offline = self._BuildNodeImages()
        self._Gather(params, feedback_fn)
        feedback_fn(f"* Gathering disk information ({len(self.my_node_uuids)}"
                    " nodes)")
        instdisk = self._CollectDiskInfo(images)
        feedback_fn("* Verifying configuration file consistency")
        self._VerifyClientCertificates()
        self._VerifyFiles(filemap)
        self._VerifySsconf()
        feedback_fn("* Verifying node status")
        n_offline, n_drained = self._VerifyNodeStatus(images, cluster, bridges,
                                                      feedback_fn)
        feedback_fn("* Verifying instance status")
        non_redundant, non_balanced = self._VerifyInstances(images, instdisk,
                                                            cluster, feedback_fn)
        feedback_fn("* Verifying orphan volumes")
        self._VerifyOrphanVolumes(cluster.volume_group_name, self._ExpectedVolumes(),
                                  images, cluster.reserved_lvs or [])
        if cv.VERIFY_NPLUSONE_MEM not in (self.op.skip_checks or []):
            feedback_fn("* Verifying N+1 Memory redundancy")
            self._VerifyNPlusOneMemory(images)
        self._VerifyOtherNotes(feedback_fn, non_redundant, non_balanced, i_offline,
                               n_offline, n_drained)
        return not self.bad
