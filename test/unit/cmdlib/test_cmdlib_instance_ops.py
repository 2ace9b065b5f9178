"""Instance LUs of ganeti/cmdlib/instance_ops.py through mcpu.

The cluster is test_cmdlib_instance_create's InstanceCluster: real config,
locks and RPC runner, nodes answering like noded with the fake hypervisor
and file disks (real sparse files in tmp_path).
"""

import importlib.util
import pathlib

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "instance_create_kit",
    pathlib.Path(__file__).with_name("test_cmdlib_instance_create.py"))
_KIT = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(_KIT)

from support.cmdlib import DOMAIN, RecordingCbs, opcodes  # noqa: E402

from ganeti import constants, errors, locking  # noqa: E402

InstanceCluster = _KIT.InstanceCluster


@pytest.fixture
def cluster(tmp_path):
    vc = InstanceCluster(tmp_path)
    yield vc
    vc.Close()


def _FileInstance(cluster, name="inst1", start=False, **kwargs):
    cluster.Create(name, disk_template="file", disks=[{"size": 16}], start=start,
                   **kwargs)
    return cluster.Instance(name)


def _Query(cluster, fields, names=None):
    qfilter = None if not names else ["|"] + [["=", "name", n] for n in names]
    result = cluster.Run(opcodes.OpQuery(what="instance", fields=fields,
                                         qfilter=qfilter))
    return [[value for _, value in row] for row in result["data"]], result


# --- remove ---------------------------------------------------------------------------


def test_remove_stops_the_instance_and_leaves_nothing(cluster):
    inst = _FileInstance(cluster, start=True)
    assert cluster.Files("node2") != []
    cluster.Run(opcodes.OpInstanceRemove(instance_name="inst1"))
    assert cluster.Instance("inst1") is None
    assert cluster.cfg.GetAllDisksInfo() == {}
    assert cluster.Files("node2") == []
    assert cluster.nodes["node2"].running == {}
    assert "inst1" not in cluster.kit.glm.QueryLocks(["name"]).__repr__()
    assert inst.uuid not in cluster.cfg.GetInstanceList()


def test_remove_refuses_when_the_instance_cannot_be_stopped(cluster):
    cluster.Create("inst1")
    cluster.nodes["node2"].fail["instance_shutdown"] = "hypervisor says no"
    with pytest.raises(errors.OpExecError, match="Could not shutdown instance inst1"):
        cluster.Run(opcodes.OpInstanceRemove(instance_name="inst1"))
    assert cluster.Instance("inst1") is not None
    cbs = RecordingCbs()
    cluster.Run(opcodes.OpInstanceRemove(instance_name="inst1",
                                         ignore_failures=True), cbs=cbs)
    assert cluster.Instance("inst1") is None
    assert any("can't shutdown instance" in msg for msg in cbs.Messages())


def test_remove_of_unknown_instance_is_refused(cluster):
    with pytest.raises(errors.OpPrereqError, match="Instance 'nosuch' not known"):
        cluster.Run(opcodes.OpInstanceRemove(instance_name="nosuch"))


# --- start, stop, reboot --------------------------------------------------------------


def test_start_with_temporary_parameters_keeps_the_configuration(cluster):
    cluster.Create("inst1", start=False)
    cluster.Run(opcodes.OpInstanceStartup(instance_name="inst1",
                                          beparams={"maxmem": 256, "minmem": 256}))
    inst = cluster.Instance("inst1")
    assert inst.admin_state == constants.ADMINST_UP
    assert inst.beparams == {}
    assert cluster.nodes["node2"].running["inst1"]["memory"] == 256


def test_start_needs_memory_for_minmem(cluster):
    cluster.Create("inst1", start=False)
    cluster.nodes["node2"].memory_free = 64
    serial = cluster.cfg.GetConfigSerialNo()
    with pytest.raises(errors.OpPrereqError, match="Not enough memory on node") as err:
        cluster.Run(opcodes.OpInstanceStartup(instance_name="inst1"))
    assert err.value.args[1] == errors.ECODE_NORES
    assert cluster.cfg.GetConfigSerialNo() == serial


def test_failed_start_is_reported_and_disks_deactivated(cluster):
    _FileInstance(cluster)
    cluster.nodes["node2"].fail["instance_start"] = "fake hypervisor broke"
    with pytest.raises(errors.OpExecError, match="Could not start instance: fake"):
        cluster.Run(opcodes.OpInstanceStartup(instance_name="inst1"))
    assert not cluster.Instance("inst1").disks_active
    assert cluster.nodes["node2"].Called("blockdev_shutdown")


def test_shutdown_marks_down_unless_told_not_to_remember(cluster):
    cluster.Create("inst1")
    cluster.Run(opcodes.OpInstanceShutdown(instance_name="inst1", timeout=7,
                                           no_remember=True))
    assert cluster.Instance("inst1").admin_state == constants.ADMINST_UP
    assert cluster.nodes["node2"].Called("instance_shutdown")[-1][1] == 7
    cluster.Run(opcodes.OpInstanceStartup(instance_name="inst1"))
    cluster.Run(opcodes.OpInstanceShutdown(instance_name="inst1"))
    assert cluster.Instance("inst1").admin_state == constants.ADMINST_DOWN
    assert cluster.nodes["node2"].running == {}


def test_soft_reboot_goes_to_the_node_and_full_reboot_stops_and_starts(cluster):
    cluster.Create("inst1")
    node = cluster.nodes["node2"]
    cluster.Run(opcodes.OpInstanceReboot(instance_name="inst1", reboot_type="soft"))
    assert node.Called("instance_reboot")[-1][1] == "soft"
    starts = len(node.Called("instance_start"))
    cluster.Run(opcodes.OpInstanceReboot(instance_name="inst1", reboot_type="full"))
    assert len(node.Called("instance_shutdown")) == 1
    assert len(node.Called("instance_start")) == starts + 1
    assert "inst1" in node.running


def test_reboot_starts_a_stopped_instance_and_marks_it_up(cluster):
    cluster.Create("inst1", start=False)
    cbs = RecordingCbs()
    cluster.Run(opcodes.OpInstanceReboot(instance_name="inst1", reboot_type="hard"),
                cbs=cbs)
    assert "inst1" in cluster.nodes["node2"].running
    assert cluster.Instance("inst1").admin_state == constants.ADMINST_UP
    assert any("was already stopped, starting now" in m for m in cbs.Messages())


# --- reinstall ------------------------------------------------------------------------


def test_reinstall_runs_create_again_with_temporary_parameters(cluster):
    _FileInstance(cluster)
    node = cluster.nodes["node2"]
    cluster.Run(opcodes.OpInstanceReinstall(instance_name="inst1",
                                            osparams={"color": "blue"},
                                            os_type="noop+other"))
    inst_dict, reinstall, _ = node.Called("instance_os_add")[-1]
    assert reinstall is True
    assert inst_dict["osparams"]["color"] == "blue"
    inst = cluster.Instance("inst1")
    assert inst.os == "noop+other"
    assert inst.osparams == {}


@pytest.mark.parametrize("make, match", [
    (lambda c: _FileInstance(c, start=True), "marked to be up, cannot reinstall"),
    (lambda c: c.Create("inst1", start=False), "has no disks"),
])
def test_reinstall_refusals(cluster, make, match):
    make(cluster)
    with pytest.raises(errors.OpPrereqError, match=match):
        cluster.Run(opcodes.OpInstanceReinstall(instance_name="inst1"))


# --- rename ---------------------------------------------------------------------------


def test_rename_moves_disks_runs_the_script_and_renames_the_lock(cluster):
    inst = _FileInstance(cluster)
    node = cluster.nodes["node2"]
    result = cluster.Run(opcodes.OpInstanceRename(instance_name="inst1",
                                                  new_name="inst9",
                                                  name_check=False, ip_check=False))
    assert result == "inst9"
    assert cluster.Instance("inst1") is None
    renamed = cluster.cfg.GetInstanceInfo(inst.uuid)
    assert renamed.name == "inst9"
    (disk,) = cluster.cfg.GetInstanceDisks(inst.uuid)
    assert "/inst9/" in disk.logical_id[1]
    assert node.File(disk.logical_id[1]).exists()
    assert [f for f in cluster.Files("node2") if "/" not in f] == ["inst9"]
    assert node.Called("instance_run_rename")[-1][1] == "inst1"
    names = [row[0] for row in cluster.kit.glm.QueryLocks(["name"])]
    assert "instance/inst9" in names and "instance/inst1" not in names


def test_rename_refusals_change_nothing(cluster):
    cluster.Create("inst1")
    cluster.Create("inst2", start=False)
    serial = cluster.cfg.GetConfigSerialNo()
    with pytest.raises(errors.OpPrereqError, match="marked to be up, cannot rename"):
        cluster.Run(opcodes.OpInstanceRename(instance_name="inst1", new_name="x",
                                             name_check=False, ip_check=False))
    # Marked down but running behind the cluster's back: refused too.
    cluster.nodes["node2"].running["inst2"] = {"memory": 1, "vcpus": 1, "state": 0}
    with pytest.raises(errors.OpPrereqError, match="inst2 is running, cannot rename"):
        cluster.Run(opcodes.OpInstanceRename(instance_name="inst2", new_name="x",
                                             name_check=False, ip_check=False))
    del cluster.nodes["node2"].running["inst2"]
    with pytest.raises(errors.OpPrereqError, match="'inst1' is already in the"):
        cluster.Run(opcodes.OpInstanceRename(instance_name="inst2",
                                             new_name="inst1", name_check=False,
                                             ip_check=False))
    with pytest.raises(errors.OpPrereqError, match="requires a name check"):
        cluster.Run(opcodes.OpInstanceRename(instance_name="inst2", new_name="y",
                                             name_check=False, ip_check=True))
    assert cluster.cfg.GetConfigSerialNo() == serial


# --- console and info -----------------------------------------------------------------


def test_console_of_running_and_stopped_instance(cluster):
    cluster.Create("inst1")
    console = cluster.Run(opcodes.OpInstanceConsole(instance_name="inst1"))
    assert console == {"instance": "inst1", "kind": "msg",
                       "message": "fake console"}
    cluster.Run(opcodes.OpInstanceShutdown(instance_name="inst1"))
    with pytest.raises(errors.OpExecError,
                       match="inst1 is not running \\(state ADMIN_down\\)"):
        cluster.Run(opcodes.OpInstanceConsole(instance_name="inst1"))


def test_query_data_has_ganetis_layout(cluster):
    _FileInstance(cluster, start=True)
    data = cluster.Run(opcodes.OpInstanceQueryData(instances=["inst1"],
                                                   use_locking=True))
    info = data["inst1"]
    assert list(info) == [
        "name", "config_state", "run_state", "pnode", "pnode_group_uuid",
        "pnode_group_name", "snodes", "snodes_group_uuids", "snodes_group_names",
        "os", "nics", "disk_template", "disks", "hypervisor", "network_port",
        "hv_instance", "hv_actual", "be_instance", "be_actual", "os_instance",
        "os_actual", "serial_no", "mtime", "ctime", "uuid"]
    assert info["run_state"] == "up" and info["config_state"] == "up"
    assert info["pnode"] == f"node2.{DOMAIN}"
    assert info["pnode_group_name"] == "default"
    assert info["disk_template"] == "file"
    (nic,) = info["nics"]
    assert nic[3] == cluster.Instance("inst1").nics[0].mac
    assert list(nic[4:7]) == ["bridged", "xen-br0", ""]
    (disk,) = info["disks"]
    assert disk["iv_name"] == "disk/0" and disk["size"] == 16
    assert disk["pstatus"][0] == disk["logical_id"][1]
    assert info["be_actual"]["maxmem"] == 128


def test_query_data_of_every_instance(cluster):
    cluster.Create("inst1")
    cluster.Create("inst2", start=False, pnode="node3")
    data = cluster.Run(opcodes.OpInstanceQueryData(instances=[], use_locking=True))
    assert sorted(data) == ["inst1", "inst2"]
    assert data["inst2"]["run_state"] == "down"
    assert data["inst2"]["pnode"] == f"node3.{DOMAIN}"


def test_query_data_static_and_unknown(cluster):
    cluster.Create("inst1")
    data = cluster.Run(opcodes.OpInstanceQueryData(instances=["inst1"], static=True))
    assert data["inst1"]["run_state"] is None
    with pytest.raises(errors.OpPrereqError, match="Instance 'nosuch' not known") \
            as err:
        cluster.Run(opcodes.OpInstanceQueryData(instances=["nosuch"]))
    assert err.value.args[1] == errors.ECODE_NOENT


# --- the instance query ---------------------------------------------------------------


def test_query_status_follows_the_live_state(cluster):
    cluster.Create("up1")
    cluster.Create("down1", start=False)
    cluster.Create("killed", pnode="node3")
    cluster.Create("stray", start=False)
    cluster.nodes["node3"].running.pop("killed")  # behind the cluster's back
    cluster.nodes["node3"].running["stray"] = {"memory": 1, "vcpus": 1, "state": 0}
    rows, _ = _Query(cluster, ["name", "status", "oper_ram", "oper_state"])
    assert rows == [["down1", "ADMIN_down", None, False],
                    ["killed", "ERROR_down", None, False],
                    ["stray", "ERROR_wrongnode", 1, True],
                    ["up1", "running", 128, True]]


def test_query_status_of_unreachable_and_offline_nodes(cluster):
    cluster.Create("on2")
    cluster.Create("on3", pnode="node3")
    cluster.nodes["node2"].fail["all_instances_info"] = "noded is down"
    node3 = cluster.cfg.GetNodeInfo(cluster.kit.NodeUuid("node3"))
    node3.offline = True
    cluster.cfg.Update(node3)
    _, result = _Query(cluster, ["name", "status", "oper_ram"])
    assert result["data"] == [
        [[0, "on2"], [0, "ERROR_nodedown"], [2, None]],
        [[0, "on3"], [0, "ERROR_nodeoffline"], [4, None]]]


def test_query_config_fields_need_no_node(cluster):
    _FileInstance(cluster)
    for node in cluster.nodes.values():
        node.fail["all_instances_info"] = "must not be asked"
    rows, result = _Query(cluster, ["name", "pnode", "disk_template", "disk.sizes",
                                    "nic.count", "be/memory", "admin_state"],
                          names=["inst1"])
    assert rows == [["inst1", f"node2.{DOMAIN}", "file", [16], 1, 128, "down"]]
    assert result["fields"][5]["title"] == "ConfigMaxMem"


def test_query_console_of_running_instances_only(cluster):
    cluster.Create("up1")
    cluster.Create("down1", start=False)
    _, result = _Query(cluster, ["name", "console"])
    assert result["data"] == [
        [[0, "down1"], [2, None]],
        [[0, "up1"], [0, {"instance": "up1", "kind": "msg",
                          "message": "fake console"}]]]


def test_query_of_unknown_instance_is_refused(cluster):
    with pytest.raises(errors.OpPrereqError, match="Instance 'nosuch' not known"):
        _Query(cluster, ["name"], names=["nosuch"])


def test_instance_locks_are_released(cluster):
    cluster.Create("inst1")
    cluster.Run(opcodes.OpInstanceShutdown(instance_name="inst1"))
    assert not cluster.kit.OwnedAnything()
    owners = [row for row in cluster.kit.glm.QueryLocks(["name", "owner"])
              if row[1]]
    assert owners == []
    assert locking.LEVEL_INSTANCE in locking.LEVELS
