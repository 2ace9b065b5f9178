"""Checks of one node's node_verify answer (part of LUClusterVerifyGroup).

Each method judges one part of a node's answer (ganeti/backend/verify.py)
and reports findings through VerifyErrors, with Ganeti 3.0's messages and
codes (lib/cmdlib/cluster/verify.py); the NodeImage collects what later
cross-node and per-instance checks need.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ganeti import constants
from ganeti.backend import verify as nv
from ganeti.cmdlib import cluster_verify as cv
from ganeti.utils.text import CommaJoin, NiceSort, SafeEncode


@dataclasses.dataclass
class NodeImage:
    """The logical (configuration) and physical (runtime) view of a node.

    Attributes:
      uuid: the node's uuid.
      offline: the node is marked offline.
      vm_capable: the node may host instances.
      ghost: the node is not in the configuration (an instance names it).
      volumes: "vg/lv" -> [size, inactive, online], from the node.
      instances: uuids (or names, for unknown ones) of the running
        instances, from the node.
      pinst, sinst: uuids of the instances using it as primary/secondary.
      sbp: primary node uuid -> instances it is secondary for.
      mfree, mtotal, mdom0: memory figures (MiB) from the hypervisor.
      dfree: volume group size reported by the node (MiB).
      rpc_fail: the node_verify call failed.
      lvm_fail: no valid LVM data came back.
      hyp_fail: no valid instance list came back.
    """

    uuid: str
    offline: bool = False
    vm_capable: bool = True
    ghost: bool = False
    volumes: dict[str, Any] = dataclasses.field(default_factory=dict)
    instances: list[str] = dataclasses.field(default_factory=list)
    pinst: list[str] = dataclasses.field(default_factory=list)
    sinst: list[str] = dataclasses.field(default_factory=list)
    sbp: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    mfree: int = 0
    mtotal: int = 0
    mdom0: int = 0
    dfree: int = 0
    rpc_fail: bool = False
    lvm_fail: bool = False
    hyp_fail: bool = False


class NodeChecks(cv.VerifyErrors):
    """Per-node checks of LUClusterVerifyGroup (a mix-in; needs self.cfg,
    self.master_node and VerifyErrors' attributes)."""

    cfg: Any
    master_node: str

    def _VerifyNode(self, ninfo: Any, nresult: Any) -> bool:
        """Check the answer's shape, the versions, hypervisors and setup.

        Returns:
          whether the answer can be looked into further.
        """
        test = not nresult or not isinstance(nresult, dict)
        self._ErrorIf(test, cv.CV_ENODERPC, ninfo.name,
                      "unable to verify node: no data returned")
        if test:
            return False
        remote = nresult.get(nv.NV_VERSION)
        test = not (remote and isinstance(remote, (list, tuple)) and len(remote) == 2)
        self._ErrorIf(test, cv.CV_ENODERPC, ninfo.name,
                      "connection to node returned invalid data")
        if test:
            return False
        test = constants.PROTOCOL_VERSION != remote[0]
        self._ErrorIf(test, cv.CV_ENODEVERSION, ninfo.name,
                      "incompatible protocol versions: master %s, node %s",
                      constants.PROTOCOL_VERSION, remote[0])
        if test:
            return False
        self._ErrorIf(constants.RELEASE_VERSION != remote[1], cv.CV_ENODEVERSION,
                      ninfo.name, "software version mismatch: master %s, node %s",
                      constants.RELEASE_VERSION, remote[1], code=self.ETYPE_WARNING)
        self._VerifyNodeHypervisors(ninfo, nresult)
        setup = nresult.get(nv.NV_NODESETUP, ["Missing NODESETUP results"])
        if not isinstance(setup, list):
            setup = [str(setup)]
        self._ErrorIf(setup, cv.CV_ENODESETUP, ninfo.name, "node setup error: %s",
                      "; ".join(map(str, setup)))
        return True

    def _VerifyNodeHypervisors(self, ninfo: Any, nresult: dict[str, Any]) -> None:
        hyp_result = nresult.get(nv.NV_HYPERVISOR)
        if ninfo.vm_capable and isinstance(hyp_result, dict):
            for hv_name, hv_result in sorted(hyp_result.items()):
                self._ErrorIf(hv_result is not None, cv.CV_ENODEHV, ninfo.name,
                              "hypervisor %s verify failure: '%s'", hv_name,
                              hv_result)
        hvp_result = nresult.get(nv.NV_HVPARAMS)
        if ninfo.vm_capable and isinstance(hvp_result, list):
            for entry in hvp_result:
                item, hv_name, hv_result = (list(entry) + [None] * 3)[:3]
                self._ErrorIf(True, cv.CV_ENODEHV, ninfo.name,
                              "hypervisor %s parameter verify failure (source"
                              " %s): %s", hv_name, item, hv_result)

    def _VerifyNodeTime(self, ninfo: Any, nresult: dict[str, Any],
                        start: float, end: float) -> None:
        """Compare the node's clock with the master's during the call."""
        try:
            ntime = nv.MergeTime(nresult.get(nv.NV_TIME))
        except (ValueError, TypeError):
            self._ErrorIf(True, cv.CV_ENODETIME, ninfo.name,
                          "Node returned invalid time")
            return
        if ntime < start - cv.NODE_MAX_CLOCK_SKEW:
            diff: str | None = f"{abs(start - ntime):.1f}s"
        elif ntime > end + cv.NODE_MAX_CLOCK_SKEW:
            diff = f"{abs(ntime - end):.1f}s"
        else:
            diff = None
        self._ErrorIf(diff is not None, cv.CV_ENODETIME, ninfo.name,
                      "Node time diverges by at least %s from master node time",
                      diff)

    def _VerifyNodeNetwork(self, ninfo: Any, nresult: dict[str, Any]) -> None:
        """Reachability of the other nodes and of the master IP."""
        test = nv.NV_NODELIST not in nresult
        self._ErrorIf(test, cv.CV_ENODESSH, ninfo.name,
                      "node hasn't returned node ssh connectivity data")
        if not test and isinstance(nresult[nv.NV_NODELIST], dict):
            for a_node, a_msg in sorted(nresult[nv.NV_NODELIST].items()):
                self._ErrorIf(True, cv.CV_ENODESSH, ninfo.name,
                              "ssh communication with node '%s': %s", a_node, a_msg)
        test = nv.NV_NODENETTEST not in nresult
        self._ErrorIf(test, cv.CV_ENODENET, ninfo.name,
                      "node hasn't returned node tcp connectivity data")
        if not test and isinstance(nresult[nv.NV_NODENETTEST], dict):
            nettest = nresult[nv.NV_NODENETTEST]
            for anode in NiceSort(nettest):
                self._ErrorIf(True, cv.CV_ENODENET, ninfo.name,
                              "tcp communication with node '%s': %s", anode,
                              nettest[anode])
        test = nv.NV_MASTERIP not in nresult
        self._ErrorIf(test, cv.CV_ENODENET, ninfo.name,
                      "node hasn't returned node master IP reachability data")
        if not test and not nresult[nv.NV_MASTERIP]:
            if ninfo.uuid == self.master_node:
                msg = "the master node cannot reach the master IP (not configured?)"
            else:
                msg = "cannot reach the master IP"
            self._ErrorIf(True, cv.CV_ENODENET, ninfo.name, msg)

    def _VerifyNodeUserScripts(self, ninfo: Any, nresult: dict[str, Any]) -> None:
        test = nv.NV_USERSCRIPTS not in nresult
        self._ErrorIf(test, cv.CV_ENODEUSERSCRIPTS, ninfo.name,
                      "did not return user scripts information")
        broken = nresult.get(nv.NV_USERSCRIPTS) or []
        if not test:
            self._ErrorIf(broken, cv.CV_ENODEUSERSCRIPTS, ninfo.name,
                          "user scripts not present or not executable: %s",
                          CommaJoin(sorted(cv.LocalizeNodePath(str(path))
                                           for path in broken)))

    def _VerifyOob(self, ninfo: Any, nresult: dict[str, Any]) -> None:
        """Out-of-band helpers matter on nodes that may run the master."""
        if ((ninfo.master_candidate or ninfo.master_capable)
                and nv.NV_OOB_PATHS in nresult):
            for path_result in nresult[nv.NV_OOB_PATHS] or []:
                self._ErrorIf(path_result, cv.CV_ENODEOOBPATH, ninfo.name,
                              "%s", path_result)

    def _VerifyAcceptedFileStoragePaths(self, ninfo: Any, nresult: dict[str, Any],
                                        is_master: bool) -> None:
        cluster = self.cfg.GetClusterInfo()
        if is_master and (cluster.IsFileStorageEnabled()
                          or cluster.IsSharedFileStorageEnabled()):
            if nv.NV_ACCEPTED_STORAGE_PATHS not in nresult:
                self._ErrorIf(True, cv.CV_ENODEFILESTORAGEPATHS, ninfo.name,
                              "Node did not return forbidden file storage paths")
                return
            fspaths = nresult[nv.NV_ACCEPTED_STORAGE_PATHS]
            self._ErrorIf(fspaths, cv.CV_ENODEFILESTORAGEPATHS, ninfo.name,
                          "Found forbidden file storage paths: %s",
                          CommaJoin(fspaths or []))
        else:
            self._ErrorIf(nv.NV_ACCEPTED_STORAGE_PATHS in nresult,
                          cv.CV_ENODEFILESTORAGEPATHS, ninfo.name,
                          "Node should not have returned forbidden file storage"
                          " paths")

    def _VerifyStoragePaths(self, ninfo: Any, nresult: dict[str, Any]) -> None:
        """The file, shared file and gluster directories of enabled templates."""
        cluster = self.cfg.GetClusterInfo()
        for template, key, ecode in (
                (constants.DT_FILE, nv.NV_FILE_STORAGE_PATH,
                 cv.CV_ENODEFILESTORAGEPATHUNUSABLE),
                (constants.DT_SHARED_FILE, nv.NV_SHARED_FILE_STORAGE_PATH,
                 cv.CV_ENODESHAREDFILESTORAGEPATHUNUSABLE),
                (constants.DT_GLUSTER, nv.NV_GLUSTER_STORAGE_PATH,
                 cv.CV_ENODEGLUSTERSTORAGEPATHUNUSABLE)):
            if cluster.IsDiskTemplateEnabled(template):
                self._ErrorIf(key in nresult, ecode, ninfo.name,
                              "The configured %s storage path is unusable: %s",
                              template, nresult.get(key))

    def _VerifyNodeBridges(self, ninfo: Any, nresult: dict[str, Any],
                           bridges: set[str]) -> None:
        if not bridges:
            return
        missing = nresult.get(nv.NV_BRIDGES)
        test = not isinstance(missing, list)
        self._ErrorIf(test, cv.CV_ENODENET, ninfo.name,
                      "did not return valid bridge information")
        if not test:
            self._ErrorIf(missing, cv.CV_ENODENET, ninfo.name, "missing bridges: %s",
                          CommaJoin(sorted(missing or [])))

    # --- LVM ------------------------------------------------------------------

    def _UpdateVerifyNodeLVM(self, ninfo: Any, nresult: dict[str, Any],
                             vg_name: str | None) -> None:
        """The volume group's size and the physical volumes' names."""
        if vg_name is None:
            return
        vglist = nresult.get(nv.NV_VGLIST)
        if not isinstance(vglist, dict):
            vglist = {}
        self._ErrorIf(not vglist, cv.CV_ENODELVM, ninfo.name, "unable to check"
                      " volume groups")
        if vglist:
            size = vglist.get(vg_name)
            if size is None:
                status: str | None = f"volume group '{vg_name}' missing"
            elif size < cv.MIN_VG_SIZE:
                status = (f"volume group '{vg_name}' too small"
                          f" ({cv.MIN_VG_SIZE} MiB required, {size} MiB found)")
            else:
                status = None
            self._ErrorIf(status, cv.CV_ENODELVM, ninfo.name, "%s", status)
        pvlist = nresult.get(nv.NV_PVLIST)
        if not isinstance(pvlist, list):
            self._Error(cv.CV_ENODELVM, ninfo.name, "Can't get PV list from node")
            return
        # ':' separates a PV from its extents on lvcreate's command line.
        for pv in pvlist:
            if isinstance(pv, dict) and ":" in str(pv.get("name", "")):
                self._Error(cv.CV_ENODELVM, ninfo.name,
                            "Invalid character ':' in PV '%s' of VG '%s'",
                            pv.get("name"), pv.get("vg_name"))

    def _UpdateNodeVolumes(self, ninfo: Any, nresult: dict[str, Any],
                           nimg: NodeImage, vg_name: str | None) -> None:
        nimg.lvm_fail = True
        lvdata = nresult.get(nv.NV_LVLIST, "Missing LV data")
        if vg_name is None:
            return
        if isinstance(lvdata, str):
            self._ErrorIf(True, cv.CV_ENODELVM, ninfo.name,
                          "LVM problem on node: %s", SafeEncode(lvdata))
        elif not isinstance(lvdata, dict):
            self._ErrorIf(True, cv.CV_ENODELVM, ninfo.name,
                          "rpc call to node failed (lvlist)")
        else:
            nimg.volumes = lvdata
            nimg.lvm_fail = False

    # --- instances and resources ---------------------------------------------

    def _UpdateNodeInstances(self, ninfo: Any, nresult: dict[str, Any],
                             nimg: NodeImage) -> None:
        """Record the running instances (uuids; unknown ones by name)."""
        idata = nresult.get(nv.NV_INSTANCELIST)
        self._ErrorIf(not isinstance(idata, list), cv.CV_ENODEHV, ninfo.name,
                      "rpc call to node failed (instancelist): %s",
                      SafeEncode(str(idata)))
        if not isinstance(idata, list):
            nimg.hyp_fail = True
            return
        running = []
        for name in idata:
            inst = self.cfg.GetInstanceInfoByName(name)
            running.append(inst.uuid if inst is not None else name)
        nimg.instances = running

    def _UpdateNodeInfo(self, ninfo: Any, nresult: dict[str, Any],
                        nimg: NodeImage, vg_name: str | None) -> None:
        """Record memory (hypervisor) and volume group figures."""
        hv_info = nresult.get(nv.NV_HVINFO)
        if not isinstance(hv_info, dict):
            hv_info = {}
        test = not {"memory_free", "memory_total", "memory_dom0"} <= set(hv_info)
        self._ErrorIf(test, cv.CV_ENODEHV, ninfo.name,
                      "rpc call to node failed (hvinfo)")
        if not test:
            try:
                nimg.mfree = int(hv_info["memory_free"])
                nimg.mtotal = int(hv_info["memory_total"])
                nimg.mdom0 = int(hv_info["memory_dom0"])
            except (ValueError, TypeError):
                self._ErrorIf(True, cv.CV_ENODERPC, ninfo.name,
                              "node returned invalid nodeinfo, check hypervisor")
        if vg_name is None:
            return
        vglist = nresult.get(nv.NV_VGLIST)
        if not isinstance(vglist, dict):
            vglist = {}
        test = vg_name not in vglist
        self._ErrorIf(test, cv.CV_ENODELVM, ninfo.name,
                      "node didn't return data for the volume group '%s' - it is"
                      " either missing or broken", vg_name)
        if not test:
            try:
                nimg.dfree = int(vglist[vg_name])
            except (ValueError, TypeError):
                self._ErrorIf(True, cv.CV_ENODERPC, ninfo.name,
                              "node returned invalid LVM info, check LVM status")

    def _VerifyRunningInstances(self, ninfo: Any, nimg: NodeImage,
                                all_inst_info: dict[str, Any]) -> None:
        """Instances running here that should not: elsewhere or unknown."""
        for inst_id in sorted(set(nimg.instances) - set(nimg.pinst)):
            known = inst_id in all_inst_info
            name = all_inst_info[inst_id].name if known else inst_id
            self._ErrorIf(known, cv.CV_EINSTANCEWRONGNODE, name,
                          "instance should not run on node %s", ninfo.name)
            self._ErrorIf(not known, cv.CV_ENODEORPHANINSTANCE, ninfo.name,
                          "node is running unknown instance %s", name)
