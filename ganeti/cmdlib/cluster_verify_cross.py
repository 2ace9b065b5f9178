"""Cross-node and per-instance checks of LUClusterVerifyGroup.

Ganeti 3.0's _VerifyClientCertificates, _VerifyFiles, _VerifyInstance,
_VerifyOrphanVolumes, _VerifyNPlusOneMemory and _VerifyOtherNotes, plus our
per-node comparison of the ssconf files with the master's values (see
cluster_verify_group.py). They work on the answers gathered by the LU
(all_nvinfo, vf_nvinfo, ...) and on the NodeImages.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

from ganeti import constants, defaults
from ganeti.backend import verify as nv
from ganeti.cmdlib import cluster_verify as cv
from ganeti.cmdlib.cluster_verify_node import NodeChecks, NodeImage
from ganeti.utils.text import CommaJoin, NiceSort

# Local disk states of a mirrored disk (Ganeti's LDS_*).
LDS_OKAY, LDS_UNKNOWN, LDS_FAULTY, LDS_SYNC = 1, 2, 3, 4
LDS_NAMES = {LDS_OKAY: "ok", LDS_UNKNOWN: "unknown", LDS_FAULTY: "faulty",
             LDS_SYNC: "sync"}
_XEN_HYPERVISORS = frozenset([constants.HT_XEN_PVM, constants.HT_XEN_HVM])
_MEMORY_RATIO = "memory-ratio"


def _Status(status: Any, key: str) -> Any:
    """A field of a block device status (an object or its dict)."""
    if isinstance(status, dict):
        return status.get(key)
    return getattr(status, key, None)


def _NodeFiles(nresult: Any) -> dict[str, str] | None:
    """path -> checksum of a node's NV_FILELIST answer (None if missing)."""
    if nresult.fail_msg or not nresult.payload:
        return None
    fingerprints = nresult.payload.get(nv.NV_FILELIST)
    if not fingerprints or not isinstance(fingerprints, dict):
        return None
    return {cv.LocalizeNodePath(key): value for key, value in fingerprints.items()}


class CrossChecks(NodeChecks):
    """Checks across nodes and of instances (a mix-in of the group LU)."""

    all_node_info: dict[str, Any]
    all_inst_info: dict[str, Any]
    my_node_info: dict[str, Any]
    my_inst_info: dict[str, Any]
    group_uuid: str
    group_info: Any
    all_nvinfo: dict[str, Any]
    vf_nvinfo: dict[str, Any]
    vf_node_info: list[Any]
    ssconf_expected: list[dict[str, str]]

    def _Names(self, uuids: Any) -> str:
        return CommaJoin(NiceSort(self.cfg.GetNodeName(uuid) for uuid in uuids))

    # --- certificates -----------------------------------------------------------
    def _VerifyClientCertificates(self) -> None:
        """Each node's client certificate against the candidate map."""
        candidate_certs = self.cfg.GetClusterInfo().candidate_certs or {}
        if not candidate_certs:
            self._ErrorIf(True, cv.CV_ECLUSTERCLIENTCERT, None,
                          "The cluster's list of master candidate certificates is"
                          " empty. If you just updated the cluster, please run"
                          " 'gnt-cluster renew-crypto --new-node-certificates'.")
            return
        self._ErrorIf(len(candidate_certs) != len(set(candidate_certs.values())),
                      cv.CV_ECLUSTERCLIENTCERT, None,
                      "There are at least two master candidates configured to use"
                      " the same certificate.")
        for node in self.my_node_info.values():
            nresult = self.all_nvinfo[node.uuid]
            if node.offline or nresult.fail_msg or not nresult.payload:
                continue
            cert = nresult.payload.get(nv.NV_CLIENT_CERT)
            if not isinstance(cert, (list, tuple)) or len(cert) != 2:
                self._Error(cv.CV_ECLUSTERCLIENTCERT, None,
                            "Node '%s' did not return client certificate data",
                            node.uuid)
                continue
            errcode, msg = cert
            self._ErrorIf(errcode is not None, cv.CV_ECLUSTERCLIENTCERT, None,
                          "Client certificate of node '%s' failed validation: %s"
                          " (code '%s')", node.uuid, msg, errcode)
            if errcode is None:
                self._VerifyCertDigest(node, msg, candidate_certs)

    def _VerifyCertDigest(self, node: Any, digest: str,
                          candidate_certs: dict[str, str]) -> None:
        if node.master_candidate:
            if node.uuid in candidate_certs:
                self._ErrorIf(
                    digest != candidate_certs[node.uuid], cv.CV_ECLUSTERCLIENTCERT,
                    None, "Client certificate digest of master candidate '%s' does"
                    " not match its entry in the cluster's map of master"
                    " candidate certificates. Expected: %s Got: %s", node.uuid,
                    digest, candidate_certs[node.uuid])
            else:
                self._ErrorIf(True, cv.CV_ECLUSTERCLIENTCERT, None,
                              "The master candidate '%s' does not have an entry in"
                              " the map of candidate certificates.", node.uuid)
                self._ErrorIf(digest in candidate_certs.values(),
                              cv.CV_ECLUSTERCLIENTCERT, None,
                              "Master candidate '%s' is using a certificate of"
                              " another node.", node.uuid)
        else:
            self._ErrorIf(node.uuid in candidate_certs, cv.CV_ECLUSTERCLIENTCERT,
                          None, "Node '%s' is not a master candidate, but still"
                          " listed in the map of master candidate certificates.",
                          node.uuid)
            self._ErrorIf(node.uuid not in candidate_certs
                          and digest in candidate_certs.values(),
                          cv.CV_ECLUSTERCLIENTCERT, None,
                          "Node '%s' is not a master candidate and is incorrectly"
                          " using a certificate of another node which is master"
                          " candidate.", node.uuid)

    # --- files ---------------------------------------------------------------------

    def _FileNodes(self, filemap: tuple[set[str], set[str], set[str], set[str]]
                   ) -> dict[str, frozenset[str]]:
        """file -> uuids of the nodes (of vf_node_info) that must have it."""
        files_all, _, files_mc, files_vm = filemap
        master = self.master_node
        selectors: list[tuple[set[str], Callable[[Any], bool]]] = [
            (files_all, lambda node: True),
            (files_mc, lambda node: bool(node.master_candidate)
             or node.uuid == master),
            (files_vm, lambda node: bool(node.vm_capable)),
        ]
        result: dict[str, frozenset[str]] = {}
        for files, select in selectors:
            uuids = frozenset(node.uuid for node in self.vf_node_info
                              if select(node))
            result.update(dict.fromkeys(files, uuids))
        return result

    def _VerifyFiles(self, filemap: tuple[set[str], set[str], set[str], set[str]]
                     ) -> None:
        """The ancillary files: present where expected, the same everywhere."""
        nodefiles = self._FileNodes(filemap)
        fileinfo: dict[str, dict[str, set[str]]] = {name: {} for name in nodefiles}
        ignore: set[str] = set()
        for node in self.vf_node_info:
            if node.offline:
                ignore.add(node.uuid)
                continue
            node_files = _NodeFiles(self.vf_nvinfo[node.uuid])
            self._ErrorIf(node_files is None, cv.CV_ENODEFILECHECK, node.name,
                          "Node did not return file checksum data")
            if node_files is None:
                ignore.add(node.uuid)
                continue
            for filename, checksum in node_files.items():
                if filename in fileinfo:
                    fileinfo[filename].setdefault(checksum, set()).add(node.uuid)
        for filename in sorted(fileinfo):
            self._VerifyOneFile(filename, fileinfo[filename],
                                nodefiles[filename] - ignore, ignore,
                                filename in filemap[1])

    def _VerifyOneFile(self, filename: str, checksums: dict[str, set[str]],
                       expected: frozenset[str], ignore: set[str],
                       optional: bool) -> None:
        with_file = frozenset(uuid for uuids in checksums.values()
                              for uuid in uuids) - ignore
        missing = expected - with_file
        if optional:
            self._ErrorIf(missing and missing != expected, cv.CV_ECLUSTERFILECHECK,
                          None, "File %s is optional, but it must exist on all or"
                          " no nodes (not found on %s)", filename,
                          self._Names(missing))
        else:
            self._ErrorIf(missing, cv.CV_ECLUSTERFILECHECK, None,
                          "File %s is missing from node(s) %s", filename,
                          self._Names(missing))
            unexpected = with_file - expected
            self._ErrorIf(unexpected, cv.CV_ECLUSTERFILECHECK, None,
                          "File %s should not exist on node(s) %s", filename,
                          self._Names(unexpected))
        variants = [f"variant {idx + 1} on {self._Names(uuids)}"
                    for idx, (_, uuids) in enumerate(sorted(checksums.items()))]
        self._ErrorIf(len(checksums) > 1, cv.CV_ECLUSTERFILECHECK, None,
                      "File %s found with %s different checksums (%s)", filename,
                      len(checksums), "; ".join(variants))

    def _VerifySsconf(self) -> None:
        """Every node's ssconf files against the master's values.

        A node passes if its file matches the values before, after (or,
        after a re-gathering, once more after) the nodes were asked.
        """
        expected = self.ssconf_expected
        for node in self.my_node_info.values():
            if node.offline:
                continue
            node_files = _NodeFiles(self.vf_nvinfo.get(node.uuid)
                                    or self.all_nvinfo[node.uuid])
            if node_files is None:
                # Already reported: "Node did not return file checksum data".
                continue
            for path in sorted(expected[0]):
                name = os.path.basename(path)
                got = node_files.get(path)
                self._ErrorIf(got is None, cv.CV_ENODEFILECHECK, node.name,
                              "ssconf file %s is missing", name)
                allowed = {values.get(path) for values in expected}
                self._ErrorIf(got is not None and got not in allowed,
                              cv.CV_ENODEFILECHECK, node.name,
                              "ssconf file %s differs from the master's values",
                              name)

    # --- instances --------------------------------------------------------------------

    def _VerifyInstanceVolumes(self, inst: Any, images: dict[str, NodeImage]) -> None:
        for node_uuid, volumes in cv.InstanceLvsByNode(self.cfg, inst).items():
            img = images.get(node_uuid)
            if img is None or img.offline or img.rpc_fail or img.lvm_fail:
                continue
            for volume in volumes:
                self._ErrorIf(volume not in img.volumes, cv.CV_EINSTANCEMISSINGDISK,
                              inst.name, "volume %s missing on node %s", volume,
                              self.cfg.GetNodeName(node_uuid))

    def _VerifyInstanceDisks(self, inst: Any, images: dict[str, NodeImage],
                             diskstatus: dict[str, list[Any]]) -> None:
        for node_uuid, statuses in sorted(diskstatus.items()):
            img = images[node_uuid]
            bad_node = img.ghost or img.offline
            node_name = self.cfg.GetNodeName(node_uuid)
            for idx, (success, status) in enumerate(statuses):
                self._ErrorIf(inst.disks_active and not success and not bad_node,
                              cv.CV_EINSTANCEFAULTYDISK, inst.name,
                              "couldn't retrieve status for disk/%s on %s: %s",
                              idx, node_name, status)
                if not (inst.disks_active and success
                        and _Status(status, "is_degraded")):
                    continue
                ldisk = _Status(status, "ldisk_status")
                code = (self.ETYPE_WARNING if ldisk in (LDS_OKAY, LDS_SYNC)
                        else self.ETYPE_ERROR)
                self._Error(cv.CV_EINSTANCEFAULTYDISK, inst.name,
                            "disk/%s on %s is degraded; local disk state is '%s'",
                            idx, node_name, LDS_NAMES.get(ldisk, ldisk), code=code)

    def _VerifyInstanceNodes(self, inst: Any, images: dict[str, NodeImage]) -> None:
        """Secondaries' count, group, reachability; ghost and non-vm nodes."""
        secondaries = self.cfg.GetInstanceSecondaryNodes(inst.uuid)
        self._ErrorIf(len(secondaries) > 1, cv.CV_EINSTANCELAYOUT, inst.name,
                      "instance has multiple secondary nodes: %s",
                      self._Names(secondaries), code=self.ETYPE_WARNING)
        inst_nodes = self.cfg.GetInstanceNodes(inst.uuid)
        disks = self.cfg.GetInstanceDisks(inst.uuid)
        if any(disk.dev_type in cv.DTS_INT_MIRROR for disk in disks):
            groups: dict[str, list[str]] = {}
            for node_uuid in inst_nodes:
                node = self.all_node_info.get(node_uuid)
                groups.setdefault(node.group if node else "", []).append(node_uuid)
            pretty = [f"{self._Names(uuids)} (group"
                      f" {self.cfg.GetNodeGroup(group).name if group else '?'})"
                      for group, uuids in sorted(
                          groups.items(),
                          key=lambda item: inst.primary_node not in item[1])]
            self._ErrorIf(len(groups) > 1, cv.CV_EINSTANCESPLITGROUPS, inst.name,
                          "instance has primary and secondary nodes in different"
                          " groups: %s", CommaJoin(pretty), code=self.ETYPE_WARNING)
        offline = []
        for snode in secondaries:
            img = images[snode]
            self._ErrorIf(img.rpc_fail and not img.offline, cv.CV_ENODERPC,
                          self.cfg.GetNodeName(snode),
                          "instance %s, connection to secondary node failed",
                          inst.name)
            if img.offline:
                offline.append(snode)
        self._ErrorIf(offline, cv.CV_EINSTANCEBADNODE, inst.name,
                      "instance has offline secondary node(s) %s",
                      self._Names(offline))
        for node_uuid in inst_nodes:
            self._ErrorIf(images[node_uuid].ghost, cv.CV_EINSTANCEBADNODE,
                          inst.name, "instance lives on ghost node %s",
                          self.cfg.GetNodeName(node_uuid))
            self._ErrorIf(not images[node_uuid].vm_capable, cv.CV_EINSTANCEBADNODE,
                          inst.name, "instance lives on non-vm_capable node %s",
                          self.cfg.GetNodeName(node_uuid))

    def _VerifyInstance(self, inst: Any, images: dict[str, NodeImage],
                        diskstatus: dict[str, list[Any]]) -> None:
        """One instance against what its nodes reported."""
        pnode = inst.primary_node
        pimg = images[pnode]
        pname = self.cfg.GetNodeName(pnode)
        self._VerifyInstanceVolumes(inst, images)
        if inst.admin_state == constants.ADMINST_UP:
            self._ErrorIf(inst.uuid not in pimg.instances and not pimg.offline,
                          cv.CV_EINSTANCEDOWN, inst.name,
                          "instance not running on its primary node %s", pname)
            self._ErrorIf(pimg.offline, cv.CV_EINSTANCEBADNODE, inst.name,
                          "instance is marked as running and lives on offline"
                          " node %s", pname)
        self._VerifyInstanceDisks(inst, images, diskstatus)
        self._ErrorIf(pimg.rpc_fail and not pimg.offline, cv.CV_ENODERPC, pname,
                      "instance %s, connection to primary node failed", inst.name)
        self._VerifyInstanceNodes(inst, images)

    def _VerifyOrphanVolumes(self, vg_name: str | None,
                             node_vol_should: dict[str, list[str]],
                             images: dict[str, NodeImage],
                             reserved: list[str]) -> None:
        """Volumes in the cluster's volume group that no disk uses."""
        patterns = [re.compile(pattern) for pattern in reserved or []]
        for node_uuid, img in sorted(images.items()):
            node = self.all_node_info.get(node_uuid)
            if (img.offline or img.rpc_fail or img.lvm_fail or node is None
                    or node.group != self.group_uuid):
                continue
            for volume in sorted(img.volumes):
                if volume.split("/")[0] != vg_name:
                    continue
                test = (volume not in node_vol_should.get(node_uuid, [])
                        and not any(p.fullmatch(volume) for p in patterns))
                self._ErrorIf(test, cv.CV_ENODEORPHANLV, node.name,
                              "volume %s is unknown", volume,
                              code=self.ETYPE_WARNING)

    def _NodeMemory(self, node: Any, img: NodeImage) -> int:
        """Memory the node itself uses: dom0's on Xen, else the node's
        hv_state mem_node (0 unless configured), as Ganeti's N+1 check."""
        cluster = self.cfg.GetClusterInfo()
        hv_name = cluster.GetDefaultHypervisor()
        if hv_name in _XEN_HYPERVISORS:
            return img.mdom0
        for source in (node.hv_state_static, cluster.hv_state_static):
            value = ((source or {}).get(hv_name) or {}).get("mem_node")
            if value is not None:
                return int(value)
        return 0

    def _VerifyNPlusOneMemory(self, images: dict[str, NodeImage]) -> None:
        """Whether each node can start the instances of any one failing node
        it is secondary for."""
        cluster = self.cfg.GetClusterInfo()
        ipolicy = cluster.SimpleFillIPolicy(self.group_info.ipolicy or {})
        memory_ratio = float(ipolicy.get(_MEMORY_RATIO, 1.0))
        for node_uuid, img in sorted(images.items()):
            node = self.all_node_info.get(node_uuid)
            if img.offline or node is None or node.group != self.group_uuid:
                continue
            for prinode, inst_uuids in sorted(img.sbp.items()):
                needed = 0
                for inst_uuid in inst_uuids:
                    bep = cluster.FillBE(self.all_inst_info[inst_uuid])
                    if bep[defaults.BE_AUTO_BALANCE]:
                        needed += bep[defaults.BE_MINMEM]
                threshold = ((img.mtotal - self._NodeMemory(node, img))
                             * (memory_ratio - 1))
                self._ErrorIf(img.mfree - needed < threshold, cv.CV_ENODEN1,
                              node.name, "not enough memory to accomodate instance"
                              " failovers should node %s fail (%dMiB needed, %dMiB"
                              " available)", self.cfg.GetNodeName(prinode), needed,
                              img.mfree)

    @staticmethod
    def _VerifyOtherNotes(feedback_fn: Any, i_non_redundant: int,
                          i_non_a_balanced: int, i_offline: int, n_offline: int,
                          n_drained: int) -> None:
        feedback_fn("* Other Notes")
        for count, what in ((i_non_redundant, "non-redundant instance(s)"),
                            (i_non_a_balanced, "non-auto-balanced instance(s)"),
                            (i_offline, "offline instance(s)"),
                            (n_offline, "offline node(s)"),
                            (n_drained, "drained node(s)")):
            if count:
                feedback_fn(f"  - NOTICE: {count} {what} found.")
