"""Node group LUs (ganeti/cmdlib/group.py) through mcpu."""

import json
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from support.cmdlib import CmdlibKit, RecordingCbs, opcodes  # noqa: E402
from support.fake_transport import Ok  # noqa: E402

from ganeti import constants, errors, locking, objects  # noqa: E402


@pytest.fixture
def kit(tmp_path):
    kit = CmdlibKit(tmp_path, nodes=["node2", "node3"])
    # Hooks on the master succeed (no scripts); other nodes are unreachable,
    # which hooks only report.
    kit.ScriptNode("node1", Ok([]))
    # As gnt-cluster init leaves it: the policy allows the enabled templates.
    cluster = kit.cfg.GetClusterInfo()
    cluster.ipolicy["disk-templates"] = list(cluster.enabled_disk_templates)
    yield kit
    kit.Close()


def _Saved(kit):
    """config.data as written on disk."""
    return json.loads(pathlib.Path(kit.cfg._cfg_file).read_text())


def _SavedGroup(kit, name):
    (group,) = [grp for grp in _Saved(kit)["nodegroups"].values()
                if grp["name"] == name]
    return group


def _GroupLocks(kit):
    return sorted(row[0].split("/", 1)[1] for row in kit.glm.QueryLocks(["name"])
                  if row[0].startswith("nodegroup/") and "[" not in row[0])


def _Add(kit, name="rack2", **kwargs):
    kit.Run(opcodes.OpGroupAdd(group_name=name, **kwargs))
    return kit.cfg.LookupNodeGroup(name)


def _Refused(kit, op, error=errors.OpPrereqError, match=None):
    """Run op expecting error; check nothing was saved. Returns the error."""
    serial = kit.cfg.GetConfigSerialNo()
    groups = sorted(kit.cfg.GetNodeGroupList())
    with pytest.raises(error, match=match) as exc:
        kit.Run(op)
    assert kit.cfg.GetConfigSerialNo() == serial
    if pathlib.Path(kit.cfg._cfg_file).exists():
        assert _Saved(kit)["serial_no"] == serial
    assert sorted(kit.cfg.GetNodeGroupList()) == groups
    assert _GroupLocks(kit) == groups
    assert not kit.OwnedAnything()
    return exc.value


# --- add ---------------------------------------------------------------------------


def testAddStoresPartialParameters(kit):
    uuid = _Add(kit, alloc_policy="last_resort",
                ndparams={"ssh_port": "2222"},
                diskparams={"drbd": {"resync-rate": "1000"}},
                ipolicy={"vcpu-ratio": 2, "disk-templates": ["diskless"]},
                hv_state={"fake": {"mem_total": "1024"}},
                disk_state={"lvm-vg": {"xenvg": {"disk_total": "100"}}})
    saved = _SavedGroup(kit, "rack2")
    assert saved["uuid"] == uuid and saved["members"] == []
    assert saved["ndparams"] == {"ssh_port": 2222}
    assert saved["diskparams"] == {"drbd": {"resync-rate": 1000}}
    assert saved["ipolicy"] == {"vcpu-ratio": 2.0, "disk-templates": ["diskless"]}
    assert saved["alloc_policy"] == "last_resort"
    assert saved["hv_state_static"] == {"fake": {"mem_total": 1024}}
    assert saved["disk_state_static"] == {"lvm-vg": {"xenvg": {"disk_total": 100}}}
    assert saved["serial_no"] == 1 and saved["tags"] == []
    assert _GroupLocks(kit) == sorted(kit.cfg.GetNodeGroupList())
    assert not kit.OwnedAnything()


def testAddDefaultsLikeRealConfig(kit):
    _Add(kit)
    saved = _SavedGroup(kit, "rack2")
    assert {key: saved[key] for key in ("ndparams", "alloc_policy", "ipolicy",
                                        "diskparams", "networks", "members")} == {
        "ndparams": {}, "alloc_policy": "preferred", "ipolicy": {},
        "diskparams": {}, "networks": {}, "members": []}
    assert "hv_state_static" not in saved


def testAddRunsHooksOnTheMaster(kit):
    _Add(kit)
    hooks = [req.args for req in kit.RequestsTo("node1", "hooks_runner")]
    phases = [(hpath, phase) for (hpath, phase, _) in hooks]
    assert phases[:2] == [("group-add", "pre"), ("group-add", "post")]
    env = hooks[0][2]
    assert env["GANETI_GROUP_NAME"] == "rack2"
    assert env["GANETI_OBJECT_TYPE"] == "GROUP"
    assert env["GANETI_OP_CODE"] == "OP_GROUP_ADD"
    assert kit.RequestsTo("node2") == []


def testAddDuplicateName(kit):
    default_uuid = kit.cfg.LookupNodeGroup("default")
    err = _Refused(kit, opcodes.OpGroupAdd(group_name="default"))
    assert err.args == (
        "Desired group name 'default' already exists as a node group"
        f" (UUID: {default_uuid})", errors.ECODE_EXISTS)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"ndparams": {"foo": 1}}, errors.TypeEnforcementError,
     "Unknown parameter 'foo'"),
    ({"ndparams": {"ssh_port": "many"}}, errors.TypeEnforcementError,
     "not a valid integer"),
    ({"diskparams": {"nosuch": {}}}, errors.OpPrereqError,
     "Provided option keys not supported: nosuch"),
    ({"diskparams": {"plain": {"resync-rate": 5}}}, errors.OpPrereqError,
     "not supported: plain/resync-rate"),
    ({"diskparams": {"rbd": {"access": "sideways"}}}, errors.OpPrereqError,
     "Invalid value of 'rbd:access'"),
    ({"hv_state": {"vmware": {}}}, errors.OpPrereqError,
     "Invalid hypervisor\\(s\\) in hypervisor state: vmware"),
    ({"disk_state": {"file": {"x": {}}}}, errors.OpPrereqError,
     "Invalid storage type\\(s\\) in disk state: file"),
    ({"ipolicy": {"disk-templates": ["drbd"]}}, errors.OpPrereqError,
     "allowed by the ipolicy, but not enabled on the cluster: drbd"),
    ({"ipolicy": {"std": {"cpu-count": 1}}}, errors.OpPrereqError,
     "std cannot appear in group instance specs"),
    ({"ipolicy": {"nosuch": 1}}, errors.OpPrereqError,
     "Invalid key in new ipolicy: nosuch"),
    ({"ipolicy": {"vcpu-ratio": "lots"}}, errors.OpPrereqError,
     "Invalid value for attribute 'vcpu-ratio'"),
])
def testAddRefusesBadParameters(kit, kwargs, error, match):
    _Refused(kit, opcodes.OpGroupAdd(group_name="rack2", **kwargs), error, match)
    with pytest.raises(errors.OpPrereqError):
        kit.cfg.LookupNodeGroup("rack2")


def testAddRefusesInvertedBounds(kit):
    low = dict.fromkeys(["memory-size", "cpu-count", "disk-count", "disk-size",
                         "nic-count", "spindle-use"], 4)
    high = dict(low, **{"memory-size": 2})
    _Refused(kit, opcodes.OpGroupAdd(group_name="rack2", ipolicy={
        "minmax": [{"min": low, "max": high}]}), errors.OpPrereqError,
        "Invalid instance policy: Invalid specification of min/max values for"
        " memory-size: 4/2")
    _Refused(kit, opcodes.OpGroupAdd(group_name="rack2", ipolicy={
        "minmax": [{"min": low}]}), errors.OpPrereqError,
        "Missing instance specification: max")


def testAddDryRunLeavesNothing(kit):
    serial = kit.cfg.GetConfigSerialNo()
    assert kit.Run(opcodes.OpGroupAdd(group_name="rack2", dry_run=True)) is None
    assert kit.cfg.GetConfigSerialNo() == serial
    assert _GroupLocks(kit) == kit.cfg.GetNodeGroupList()


def testAddHoldsTheNewGroupLockExclusively(kit):
    seen = {}

    class _Cbs(RecordingCbs):
        def NotifyStart(self):
            seen.update({row[0]: row[1] for row in kit.glm.QueryLocks(
                ["name", "mode"]) if row[0].startswith("nodegroup/")})

    kit.Run(opcodes.OpGroupAdd(group_name="rack2"), _Cbs())
    uuid = kit.cfg.LookupNodeGroup("rack2")
    assert seen[f"nodegroup/{uuid}"] == "exclusive"


# --- remove ----------------------------------------------------------------------


def testRemove(kit):
    uuid = _Add(kit)
    before = kit.cfg.GetConfigSerialNo()
    kit.Run(opcodes.OpGroupRemove(group_name="rack2"))
    assert uuid not in kit.cfg.GetNodeGroupList()
    assert uuid not in _Saved(kit)["nodegroups"]
    assert kit.cfg.GetConfigSerialNo() == before + 1
    assert uuid not in _GroupLocks(kit)
    hooks = [req.args[:2] for req in kit.RequestsTo("node1", "hooks_runner")]
    assert ["group-remove", "pre"] in hooks and ["group-remove", "post"] in hooks


def testRemoveNonEmptyGroup(kit):
    err = _Refused(kit, opcodes.OpGroupRemove(group_name="default"))
    assert err.args == (
        "Group 'default' not empty, has the following nodes: node1.example.com,"
        " node2.example.com, node3.example.com", errors.ECODE_STATE)


def testRemoveLastGroup(tmp_path):
    kit = CmdlibKit(tmp_path, nodes=[])
    try:
        kit.ScriptNode("node1", Ok([]))
        _Add(kit)
        kit.Run(opcodes.OpGroupAssignNodes(group_name="rack2", nodes=["node1"]))
        kit.Run(opcodes.OpGroupRemove(group_name="default"))
        err = _Refused(kit, opcodes.OpGroupRemove(group_name="rack2"))
        assert err.args[0] == ("Group 'rack2' not empty, has the following"
                               " nodes: node1.example.com")
        # rack2 is the only group now: even emptied it cannot go
        kit.cfg.RemoveNode(kit.NodeUuid("node1"))
        err = _Refused(kit, opcodes.OpGroupRemove(group_name="rack2"))
        assert err.args == ("Group 'rack2' is the only group, cannot be removed",
                            errors.ECODE_STATE)
    finally:
        kit.Close()


def testRemoveUnknownGroup(kit):
    err = _Refused(kit, opcodes.OpGroupRemove(group_name="nosuch"))
    assert err.args[1] == errors.ECODE_NOENT


# --- rename ------------------------------------------------------------------------


def testRename(kit):
    uuid = _Add(kit)
    kit.Run(opcodes.OpGroupAssignNodes(group_name="rack2", nodes=["node2"]))
    assert kit.Run(opcodes.OpGroupRename(group_name="rack2",
                                         new_name="rack3")) == "rack3"
    assert kit.cfg.LookupNodeGroup("rack3") == uuid
    assert _SavedGroup(kit, "rack3")["uuid"] == uuid
    with pytest.raises(errors.OpPrereqError):
        kit.cfg.LookupNodeGroup("rack2")
    (pre, post) = [req for req in kit.transport.requests
                   if req.procedure == "hooks_runner"
                   and req.args[0] == "group-rename"][:2]
    assert pre.args[2]["GANETI_OLD_NAME"] == "rack2"
    assert pre.args[2]["GANETI_NEW_NAME"] == "rack3"
    # the master and the group's nodes
    hosts = {req.host for req in kit.transport.requests
             if req.procedure == "hooks_runner" and req.args[0] == "group-rename"}
    assert hosts == {kit.NodeIp("node1"), kit.NodeIp("node2")}


def testRenameToExistingName(kit):
    _Add(kit)
    default = kit.cfg.LookupNodeGroup("default")
    err = _Refused(kit, opcodes.OpGroupRename(group_name="rack2",
                                              new_name="default"))
    assert err.args == ("Desired new name 'default' clashes with existing node"
                        f" group (UUID: {default})", errors.ECODE_EXISTS)


# --- assign-nodes ------------------------------------------------------------------


def testAssignNodesAndBack(kit):
    uuid = _Add(kit)
    default = kit.cfg.LookupNodeGroup("default")
    kit.Run(opcodes.OpGroupAssignNodes(group_name="rack2",
                                       nodes=["node2", "node3.example.com"]))
    saved = _Saved(kit)["nodes"]
    assert saved[kit.NodeUuid("node2")]["group"] == uuid
    assert saved[kit.NodeUuid("node3")]["group"] == uuid
    assert sorted(kit.cfg.GetNodeGroup(uuid).members) == sorted(
        [kit.NodeUuid("node2"), kit.NodeUuid("node3")])
    assert kit.cfg.GetNodeGroup(default).members == [kit.NodeUuid("node1")]
    kit.Run(opcodes.OpGroupAssignNodes(group_name="default", nodes=["node2"]))
    assert kit.cfg.GetNodeInfo(kit.NodeUuid("node2")).group == default
    assert not kit.OwnedAnything()


def testAssignNodeAlreadyThereChangesNothing(kit):
    serial = kit.cfg.GetConfigSerialNo()
    kit.Run(opcodes.OpGroupAssignNodes(group_name="default", nodes=["node2"]))
    assert kit.cfg.GetConfigSerialNo() == serial


def testAssignRunsNoHooks(kit):
    _Add(kit)
    count = len(kit.RequestsTo("node1", "hooks_runner"))
    kit.Run(opcodes.OpGroupAssignNodes(group_name="rack2", nodes=["node2"]))
    hooks = kit.RequestsTo("node1", "hooks_runner")[count:]
    # only the config-update hook that follows every configuration change
    assert [req.args[0] for req in hooks] == [constants.HOOKS_NAME_CFGUPDATE]


@pytest.mark.parametrize("nodes, match", [
    (["nosuch"], "Node 'nosuch' not known"),
    ([], "No nodes given"),
])
def testAssignBadNodes(kit, nodes, match):
    _Add(kit)
    _Refused(kit, opcodes.OpGroupAssignNodes(group_name="rack2", nodes=nodes),
             errors.OpPrereqError, match)


def _AddDrbdInstance(kit, name, pnode, snode):
    inst = objects.Instance(name=name, primary_node=kit.NodeUuid(pnode),
                            os="debian", hypervisor="fake", admin_state="down",
                            nics=[], disks=[], disks_active=False)
    kit.cfg.AddInstance(inst)
    kit.cfg.AddInstanceDisk(inst.uuid, objects.Disk(
        dev_type=constants.DT_DRBD8, size=1024, mode="rw",
        nodes=[kit.NodeUuid(pnode), kit.NodeUuid(snode)],
        logical_id=[kit.NodeUuid(pnode), kit.NodeUuid(snode), 11000, 0, 0, "s"]))
    return inst


def _InstanceKit(tmp_path):
    """node1-3 and a DRBD instance on node2 and node3 (with its lock)."""
    kit = CmdlibKit(tmp_path, nodes=["node2", "node3"])
    kit.ScriptNode("node1", Ok([]))
    _AddDrbdInstance(kit, "db.example.com", "node2", "node3")
    kit.glm = kit.context.glm = locking.GanetiLockManager(
        nodes=kit.cfg.GetNodeList(), nodegroups=kit.cfg.GetNodeGroupList(),
        instances=["db.example.com"], networks=[])
    return kit


def testAssignRefusesToSplitMirroredInstances(tmp_path):
    kit = _InstanceKit(tmp_path)
    try:
        _Add(kit)
        err = _Refused(kit, opcodes.OpGroupAssignNodes(
            group_name="rack2", nodes=["node3"]), errors.OpExecError)
        assert str(err) == ("The following instances get split by this change"
                            " and --force was not given: db.example.com")
        cbs = RecordingCbs()
        kit.Run(opcodes.OpGroupAssignNodes(group_name="rack2", nodes=["node3"],
                                           force=True), cbs)
        assert any("will split the following instances: db.example.com" in msg
                   for msg in cbs.Messages())
        # moving both nodes mends the split
        kit.Run(opcodes.OpGroupAssignNodes(group_name="rack2", nodes=["node2"]))
    finally:
        kit.Close()


def testAssignMovingBothNodesTogetherIsFine(tmp_path):
    kit = _InstanceKit(tmp_path)
    try:
        uuid = _Add(kit)
        kit.Run(opcodes.OpGroupAssignNodes(group_name="rack2",
                                           nodes=["node2", "node3"]))
        assert kit.cfg.GetNodeInfo(kit.NodeUuid("node3")).group == uuid
    finally:
        kit.Close()


# --- modify --------------------------------------------------------------------------


def testModify(kit):
    uuid = _Add(kit, ndparams={"ssh_port": 2222, "spindle_count": 2},
                diskparams={"drbd": {"resync-rate": 1000}},
                ipolicy={"vcpu-ratio": 2.0, "spindle-ratio": 8.0})
    result = kit.Run(opcodes.OpGroupSetParams(
        group_name="rack2", alloc_policy="unallocable",
        ndparams={"ssh_port": "default", "oob_program": "/bin/true"},
        diskparams={"drbd": {"c-plan-ahead": "10"}, "plain": {"stripes": 2}},
        ipolicy={"vcpu-ratio": "default", "disk-templates": ["diskless"]}))
    saved = _SavedGroup(kit, "rack2")
    assert saved["uuid"] == uuid and saved["serial_no"] == 2
    assert saved["alloc_policy"] == "unallocable"
    assert saved["ndparams"] == {"spindle_count": 2, "oob_program": "/bin/true"}
    assert saved["diskparams"] == {"drbd": {"resync-rate": 1000,
                                            "c-plan-ahead": 10},
                                   "plain": {"stripes": 2}}
    assert saved["ipolicy"] == {"spindle-ratio": 8.0,
                                "disk-templates": ["diskless"]}
    assert result == [
        ("ndparams", str(saved["ndparams"])),
        ("diskparams", str(saved["diskparams"])),
    ]


def testModifyHooks(kit):
    _Add(kit)
    kit.Run(opcodes.OpGroupSetParams(group_name="rack2", alloc_policy="preferred"))
    kit.Run(opcodes.OpGroupSetParams(group_name="rack2", ndparams={"ovs": "yes"}))
    envs = [req.args[2] for req in kit.RequestsTo("node1", "hooks_runner")
            if req.args[:2] == ["group-modify", "pre"]]
    assert envs[0]["GANETI_NEW_ALLOC_POLICY"] == "preferred"
    assert envs[0]["GANETI_GROUP_NAME"] == "rack2"
    # Ganeti leaves a None value out of the environment
    assert "GANETI_NEW_ALLOC_POLICY" not in envs[1]


def testModifyStates(kit):
    _Add(kit, hv_state={"fake": {"mem_total": 10}})
    kit.Run(opcodes.OpGroupSetParams(
        group_name="rack2", hv_state={"fake": {"cpu_total": "4"}},
        disk_state={"lvm-vg": {"xenvg": {"disk_reserved": "5"}}}))
    saved = _SavedGroup(kit, "rack2")
    assert saved["hv_state_static"] == {"fake": {"mem_total": 10, "cpu_total": 4}}
    assert saved["disk_state_static"] == {"lvm-vg": {"xenvg": {"disk_reserved": 5}}}


@pytest.mark.parametrize("kwargs, error, match", [
    ({}, errors.OpPrereqError, "Please pass at least one modification"),
    ({"ndparams": {}, "ipolicy": {}}, errors.OpPrereqError,
     "Please pass at least one modification"),
    ({"ndparams": {"nosuch": 1}}, errors.TypeEnforcementError,
     "Unknown parameter 'nosuch'"),
    ({"diskparams": {"drbd": {"stripes": 1}}}, errors.OpPrereqError,
     "not supported: drbd/stripes"),
    ({"ipolicy": {"std": {"cpu-count": 1}}}, errors.OpPrereqError,
     "std cannot appear in group instance specs"),
    ({"ipolicy": {"disk-templates": ["plain"]}}, errors.OpPrereqError,
     "not enabled on the cluster: plain"),
    ({"hv_state": {"nosuch": {}}}, errors.OpPrereqError, "nosuch"),
])
def testModifyRefusesBadInput(kit, kwargs, error, match):
    _Add(kit)
    _Refused(kit, opcodes.OpGroupSetParams(group_name="rack2", **kwargs), error,
             match)
    assert _SavedGroup(kit, "rack2")["serial_no"] == 1


def testModifyUnknownGroup(kit):
    err = _Refused(kit, opcodes.OpGroupSetParams(group_name="nosuch",
                                                 alloc_policy="preferred"))
    assert err.args[1] == errors.ECODE_NOENT


def testModifyLocksTheGroupInstances(tmp_path):
    kit = _InstanceKit(tmp_path)
    seen = {}

    class _Cbs(RecordingCbs):
        def NotifyStart(self):
            seen.update({row[0]: row[1] for row in kit.glm.QueryLocks(
                ["name", "mode"])})

    try:
        kit.Run(opcodes.OpGroupSetParams(group_name="default",
                                         alloc_policy="last_resort"), _Cbs())
    finally:
        kit.Close()
    default = kit.cfg.LookupNodeGroup("default")
    assert seen[f"nodegroup/{default}"] == "exclusive"
    assert seen.get("instance/db.example.com") == "shared"


# --- queries -------------------------------------------------------------------------


def testQueryGroups(kit):
    _Add(kit, alloc_policy="last_resort", ndparams={"ssh_port": 2222})
    kit.Run(opcodes.OpGroupAssignNodes(group_name="rack2", nodes=["node3"]))
    result = kit.Run(opcodes.OpQuery(
        what="group", fields=["name", "node_cnt", "alloc_policy", "ndp/ssh_port",
                              "custom_ndparams"]))
    assert [field["title"] for field in result["fields"]] == [
        "Group", "Nodes", "AllocPolicy", "ndp/ssh_port", "CustomNDParams"]
    assert result["data"] == [
        [[0, "default"], [0, 2], [0, "preferred"], [0, 22], [0, {}]],
        [[0, "rack2"], [0, 1], [0, "last_resort"], [0, 2222],
         [0, {"ssh_port": 2222}]],
    ]
    named = kit.Run(opcodes.OpQuery(what="group", fields=["name"],
                                    qfilter=["=", "name", "rack2"],
                                    use_locking=True))
    assert named["data"] == [[[0, "rack2"]]]
    assert not kit.OwnedAnything()


def testQueryUnknownGroup(kit):
    with pytest.raises(errors.OpPrereqError, match="'nosuch' not found"):
        kit.Run(opcodes.OpQuery(what="group", fields=["name"],
                                qfilter=["=", "name", "nosuch"]))


def testQueryGroupFields(kit):
    result = kit.Run(opcodes.OpQueryFields(what="group", fields=["pinst_cnt"]))
    assert result == {"fields": [{"name": "pinst_cnt", "title": "Instances",
                                  "kind": "number",
                                  "doc": "Number of primary instances"}]}
