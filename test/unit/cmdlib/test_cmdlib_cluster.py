"""Cluster LUs (ganeti/cmdlib/cluster.py) through mcpu."""

import pathlib
import re
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from support.cmdlib import CmdlibKit, RecordingCbs, opcodes  # noqa: E402
from support.fake_transport import Fail, Ok  # noqa: E402

from ganeti import constants, errors  # noqa: E402

SPEC = pathlib.Path("/work/shared/spec/luxi.md")

# The QueryClusterInfo keys listed in spec/luxi.md section 4.
CLUSTER_INFO_KEYS = {
    "software_version", "protocol_version", "config_version", "os_api_version",
    "export_version", "vcs_version", "architecture", "name", "master",
    "default_hypervisor", "enabled_hypervisors", "hvparams", "os_hvp",
    "beparams", "osparams", "ipolicy", "nicparams", "ndparams", "diskparams",
    "candidate_pool_size", "max_running_jobs", "max_tracked_jobs", "mac_prefix",
    "master_netdev", "master_netmask", "use_external_mip_script",
    "volume_group_name", "drbd_usermode_helper", "file_storage_dir",
    "shared_file_storage_dir", "gluster_storage_dir", "maintain_node_health",
    "ctime", "mtime", "uuid", "tags", "uid_pool", "default_iallocator",
    "default_iallocator_params", "reserved_lvs", "primary_ip_version",
    "prealloc_wipe_disks", "hidden_os", "blacklisted_os",
    "enabled_disk_templates", "install_image", "instance_communication_network",
    "zeroing_image", "compression_tools", "enabled_user_shutdown",
    "enabled_data_collectors", "data_collector_interval", "modify_ssh_setup",
    "ssh_key_type", "ssh_key_bits",
}


@pytest.fixture
def kit(tmp_path):
    kit = CmdlibKit(tmp_path, nodes=["node2"])
    yield kit
    kit.Close()


@pytest.fixture
def lone_master(tmp_path):
    kit = CmdlibKit(tmp_path, nodes=[])
    yield kit
    kit.Close()


def testClusterQueryKeys(kit):
    result = kit.Run(opcodes.OpClusterQuery())
    assert set(result) == CLUSTER_INFO_KEYS
    assert result["name"] == "cluster.example.com"
    assert result["master"] == "node1.example.com"
    assert result["software_version"] == constants.RELEASE_VERSION
    assert result["protocol_version"] == constants.PROTOCOL_VERSION
    assert result["os_api_version"] == 20
    assert result["default_hypervisor"] == "fake"
    assert result["primary_ip_version"] == 4
    assert re.fullmatch(r"\d+bits", result["architecture"][0])
    assert result["data_collector_interval"]["cpu-avg-load"] == 5000000
    assert result["enabled_data_collectors"]["drbd"] is True


@pytest.mark.skipif(not SPEC.exists(), reason="spec not available")
def testClusterQueryKeysMatchSpec():
    text = SPEC.read_text()
    section = text.split("### QueryClusterInfo result keys", 1)[1].split("##", 1)[0]
    assert set(re.findall(r"`([a-z_0-9]+)`", section)) - {"64bits"} == (
        CLUSTER_INFO_KEYS)


def testConfigQuery(kit):
    kit.ScriptNode("node1", Ok(None))
    result = kit.Run(opcodes.OpClusterConfigQuery(
        output_fields=["cluster_name", "master_node", "drain_flag",
                       "watcher_pause", "ssh_key_type"]))
    assert result == ["cluster.example.com", "node1.example.com", False, None,
                      "rsa"]
    (request,) = kit.RequestsTo("node1", "get_watcher_pause")
    assert request.args == []


def testConfigQueryWatcherPauseFailure(kit):
    kit.ScriptNode("node1", Fail("cannot read"))
    with pytest.raises(errors.OpExecError, match="watcher pause"):
        kit.Run(opcodes.OpClusterConfigQuery(output_fields=["watcher_pause"]))


def testConfigQueryUnknownField(kit):
    with pytest.raises(errors.OpPrereqError,
                       match="Unknown output fields selected: bogus"):
        kit.Run(opcodes.OpClusterConfigQuery(output_fields=["cluster_name", "bogus"]))


def testPostInitRunsPostHooksOnMaster(kit):
    kit.ScriptNode("node1", Ok([["cluster-init-post.d/x", constants.HKR_SUCCESS,
                                 ""]]))
    assert kit.Run(opcodes.OpClusterPostInit()) is True
    (request,) = kit.RequestsTo("node1", "hooks_runner")
    hpath, phase, env = request.args
    assert (hpath, phase) == ("cluster-init", "post")
    assert env["GANETI_POST_OP_TARGET"] == "cluster.example.com"
    assert env["GANETI_OBJECT_TYPE"] == "CLUSTER"
    assert kit.RequestsTo("node2") == []


def testDestroyRefusedWithOtherNodes(kit):
    with pytest.raises(errors.OpPrereqError, match="still 1 node"):
        kit.Run(opcodes.OpClusterDestroy())
    assert kit.transport.requests == []


def testDestroyRefusedWithInstances(tmp_path):
    kit = CmdlibKit(tmp_path, nodes=[], instances=["inst1.example.com"])
    try:
        with pytest.raises(errors.OpPrereqError, match="still 1 instance"):
            kit.Run(opcodes.OpClusterDestroy())
    finally:
        kit.Close()


def testDestroy(lone_master):
    kit = lone_master
    kit.ScriptNode("node1", Ok([]), Fail("no such device"))
    cbs = RecordingCbs()
    # Ganeti 3.0's OP_CLUSTER_DESTROY result is the master node's uuid.
    assert kit.Run(opcodes.OpClusterDestroy(), cbs) == kit.cfg.GetMasterNode()
    hooks, deactivate = kit.RequestsTo("node1")
    assert hooks.procedure == "hooks_runner"
    assert hooks.args[:2] == ["cluster-destroy", "post"]
    assert deactivate.procedure == "node_deactivate_master_ip"
    params, ems = deactivate.args
    assert params["ip"] == "192.0.2.1" and params["netdev"] == "lo"
    assert ems is False
    assert any("Error disabling the master IP address: no such device" in msg
               for msg in cbs.Messages())


def testRedistConf(kit):
    before = kit.cfg.GetConfigSerialNo()
    kit.ScriptNode("node1", Ok([]))
    assert kit.Run(opcodes.OpClusterRedistConf()) is None
    assert kit.cfg.GetConfigSerialNo() == before + 1
    assert not kit.OwnedAnything()
