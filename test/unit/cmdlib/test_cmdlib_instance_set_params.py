"""gnt-instance modify (ganeti/cmdlib/instance_set_params.py) through mcpu.

Nodes are the FakeNodes of test_cmdlib_instance_storage (instances in a
dict, file disks as real sparse files).
"""

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from support.cmdlib import RecordingCbs, opcodes  # noqa: E402
from unit.cmdlib.test_cmdlib_instance_storage import (  # noqa: E402
    FILE_DIR,
    InstanceKit,
    Refused,
)

from ganeti import constants, errors  # noqa: E402
from ganeti.cmdlib import instance_set_params as isp  # noqa: E402

INST = "inst1.example.com"
MiB = 1024 * 1024


@pytest.fixture
def kit(tmp_path):
    (tmp_path / "cfg").mkdir()
    kit = InstanceKit(tmp_path)
    yield kit
    kit.Close()


def _Modify(kit, cbs=None, **kwargs):
    return kit.Run(opcodes.OpInstanceSetParams(instance_name="inst1", **kwargs),
                   cbs)


def _SavedInstance(kit):
    return kit.Saved()["instances"][kit.Instance().uuid]


# --- backend and hypervisor parameters --------------------------------------------


def testBackendParametersAreSavedOnce(kit):
    kit.AddInstance()
    serial = kit.cfg.GetConfigSerialNo()
    result = _Modify(kit, beparams={"maxmem": "512", "minmem": 256, "vcpus": 2})
    assert sorted(result) == [("be/maxmem", "512"), ("be/minmem", 256),
                              ("be/vcpus", 2)]
    saved = _SavedInstance(kit)
    assert saved["beparams"] == {"maxmem": 512, "minmem": 256, "vcpus": 2}
    assert kit.cfg.GetConfigSerialNo() == serial + 1
    # "default" drops an instance value, the cluster's applies again.
    _Modify(kit, beparams={"vcpus": "default"})
    assert _SavedInstance(kit)["beparams"] == {"maxmem": 512, "minmem": 256}


def testBadBackendParametersChangeNothing(kit):
    kit.AddInstance()
    Refused(kit, opcodes.OpInstanceSetParams(instance_name="inst1",
                                             beparams={"colour": "red"}),
            match="Unknown parameter 'colour'")
    Refused(kit, opcodes.OpInstanceSetParams(instance_name="inst1",
                                             beparams={"vcpus": "many"}),
            match="vcpus")
    Refused(kit, opcodes.OpInstanceSetParams(instance_name="inst1",
                                             beparams={"minmem": 1024}),
            match=r"Minimum memory \(1024 MiB\) must not be larger than maximum"
                  r" memory \(128 MiB\)")
    Refused(kit, opcodes.OpInstanceSetParams(instance_name="inst1"),
            match="No changes submitted")


def testBiggerMemoryMustFitOnThePrimary(kit):
    kit.AddInstance(up=True)
    kit.nodes["node1"].memory_free = 200
    err = Refused(kit, opcodes.OpInstanceSetParams(instance_name="inst1",
                                                   beparams={"maxmem": 1024}),
                  match="This change will prevent the instance from starting,"
                        " due to 696 MB of memory missing on its primary node")
    assert err.args[1] == errors.ECODE_NORES
    _Modify(kit, beparams={"maxmem": 1024}, force=True)
    assert _SavedInstance(kit)["beparams"]["maxmem"] == 1024


def testHypervisorParameters(kit):
    kit.AddInstance()
    kit.cfg.GetInstanceInfoByName(INST).hypervisor = constants.HT_KVM
    result = _Modify(kit, hvparams={"acpi": "false",
                                    "kernel_args": "ro console=ttyS0"})
    assert dict(result) == {"hv/acpi": "false", "hv/kernel_args": "ro console=ttyS0"}
    assert _SavedInstance(kit)["hvparams"] == {"acpi": False,
                                               "kernel_args": "ro console=ttyS0"}
    assert kit.nodes["node1"].Called("hypervisor_validate_params")
    Refused(kit, opcodes.OpInstanceSetParams(instance_name="inst1",
                                             hvparams={"no_such": "1"}),
            match="Unknown parameter 'no_such'")
    Refused(kit, opcodes.OpInstanceSetParams(instance_name="inst1",
                                             hvparams={"migration_port": 1}),
            match="The following hypervisor parameters are global and cannot be"
                  " customized at instance level, please modify them at cluster"
                  " level: migration_port")
    kit.nodes["node1"].fail["hypervisor_validate_params"] = "no such kernel"
    Refused(kit, opcodes.OpInstanceSetParams(
        instance_name="inst1", hvparams={"kernel_path": "/boot/none"}),
        match="Hypervisor parameter validation failed on node node1.example.com:"
              " no such kernel")


def testHookEnvironmentShowsTheNewValues(kit):
    kit.AddInstance()
    _Modify(kit, beparams={"maxmem": 256})
    pre, post = [env for _, _, env in kit.nodes["node1"].Called("hooks_runner")][:2]
    assert pre["GANETI_HOOKS_PATH"] == "instance-modify"
    assert pre["GANETI_INSTANCE_MAXMEM"] == "256"
    assert post["GANETI_POST_INSTANCE_BE_maxmem"] == "256"


# --- NICs -------------------------------------------------------------------------


def testAddModifyRemoveNics(kit):
    kit.AddInstance(nics=1)
    result = _Modify(kit, nics=[["add", -1, {"link": "xen-br0", "name": "eth1"}]])
    nics = kit.Instance().nics
    assert len(nics) == 2 and nics[1].name == "eth1"
    assert nics[1].mac.startswith("aa:00:00:") and nics[1].mac != nics[0].mac
    assert result[0][0] == "nic.1" and result[0][1].startswith(
        f"add:mac={nics[1].mac},ip=None,mode=bridged,link=xen-br0")
    saved_nics = _SavedInstance(kit)["nics"]
    assert [nic.get("name") for nic in saved_nics] == [None, "eth1"]
    kit.nodes["node1"].bridges.add("br-test")
    _Modify(kit, nics=[["modify", "eth1", {"link": "br-test",
                                           "ip": "192.0.2.99"}]])
    nic = kit.Instance().nics[1]
    assert nic.nicparams == {"link": "br-test"} and nic.ip == "192.0.2.99"
    result = _Modify(kit, nics=[["remove", 0, {}]])
    assert result == [("NIC/0", "remove")]
    assert [nic.name for nic in kit.Instance().nics] == ["eth1"]


def testLegacyModificationFormat(kit):
    kit.AddInstance(nics=1)
    _Modify(kit, nics=[["add", {}]])
    assert len(kit.Instance().nics) == 2
    _Modify(kit, nics=[[1, {"name": "second"}]])
    assert kit.Instance().nics[1].name == "second"
    Refused(kit, opcodes.OpInstanceSetParams(instance_name="inst1",
                                             nics=[["add", {}], ["remove", {}]]),
            match="Only one NIC add/attach/remove/detach operation is supported")


@pytest.mark.parametrize("mods, message", [
    ([["add", -1, {"ip": "300.1.2.3"}]], "Invalid IP address '300.1.2.3'"),
    ([["add", -1, {"mac": "zz:zz"}]], "Invalid MAC address 'zz:zz'"),
    ([["add", -1, {"link": "br-missing"}]], "Missing bridges br-missing"),
    ([["add", -1, {"mode": "routed"}]], "Cannot set the NIC IP address to None"
                                        " on a routed NIC"),
    ([["add", -1, {"mode": "tunnel"}]], "Invalid NIC mode 'tunnel'"),
    ([["modify", 0, {"mac": "auto"}]], "'auto' is not a valid MAC address when"
                                       " modifying"),
    ([["modify", 3, {"name": "x"}]], "Got NIC index 3, but there are only 1"),
    ([["remove", "eth9", {}]], "Cannot find NIC with identifier eth9"),
    ([["remove", 0, {"name": "x"}]], "No settings should be passed when removing"),
    ([["attach", -1, {"name": "x"}]], "'attach' operation on NICs is not"
                                      " supported"),
    ([["add", -1, {"colour": "red"}]], "Unknown parameter 'colour'"),
    ([["add", -1, {"name": "5"}]], "Invalid NIC name '5'"),
])
def testBadNicChangesChangeNothing(kit, mods, message):
    kit.AddInstance(nics=1)
    Refused(kit, opcodes.OpInstanceSetParams(instance_name="inst1", nics=mods),
            match=message)
    assert len(kit.Instance().nics) == 1


def testDuplicateMacAndTooManyNics(kit):
    other = kit.AddInstance(name="other.example.com")
    kit.AddInstance(nics=1)
    Refused(kit, opcodes.OpInstanceSetParams(
        instance_name="inst1",
        nics=[["add", -1, {"mac": other.nics[0].mac}]]),
        match=f"MAC address '{other.nics[0].mac}' already in use in cluster")
    Refused(kit, opcodes.OpInstanceSetParams(
        instance_name="inst1", nics=[["add", -1, {}] for _ in range(8)]),
        match="Instance has too many network interfaces")


# --- disks ------------------------------------------------------------------------


def testAddModifyAndRemoveFileDisks(kit):
    kit.AddInstance(template="file", disks=[1024])
    result = _Modify(kit, disks=[["add", -1, {"size": "2G", "name": "data"}]])
    disks = kit.cfg.GetInstanceDisks(kit.Instance().uuid)
    assert [d.size for d in disks] == [1024, 2048]
    assert result == [("disk/1", "add:size=2048,mode=rw")]
    new_path = kit.nodes["node1"].Path(disks[1].logical_id[1])
    assert new_path.stat().st_size == 2048 * MiB
    assert disks[1].logical_id[1].startswith(f"{FILE_DIR}/{INST}/")
    result = _Modify(kit, disks=[["modify", "data", {"mode": "ro"}]])
    assert result == [("disk.mode/1", "ro")]
    assert kit.Saved()["disks"][disks[1].uuid]["mode"] == "ro"
    _Modify(kit, disks=[["remove", 1, {}]])
    assert not new_path.exists()
    assert len(kit.cfg.GetInstanceDisks(kit.Instance().uuid)) == 1
    assert disks[1].uuid not in kit.Saved()["disks"]


@pytest.mark.parametrize("mods, message", [
    ([["add", -1, {}]], "Required disk parameter 'size' missing"),
    ([["add", -1, {"size": "lots"}]], "lots"),
    ([["add", -1, {"size": 8, "mode": "rx"}]], "Invalid disk access mode 'rx'"),
    ([["modify", 0, {"size": 64}]], "Disk size change not possible, use grow-disk"),
    ([["modify", 0, {"vg": "xenvg"}]], "Unknown parameter 'vg'"),
    ([["detach", 0, {}]], "'detach' operation on disks is not supported"),
    ([["add", 5, {"size": 8}]], "Got disk index 5, but there are only 1"),
])
def testBadDiskChangesChangeNothing(kit, mods, message):
    kit.AddInstance(template="file", disks=[16])
    Refused(kit, opcodes.OpInstanceSetParams(instance_name="inst1", disks=mods),
            match=message)
    assert len(kit.cfg.GetInstanceDisks(kit.Instance().uuid)) == 1
    assert len(list((kit.nodes["node1"].Path(FILE_DIR) / INST).iterdir())) == 1


def testDiskRemovalNeedsAStoppedInstance(kit):
    kit.AddInstance(template="file", disks=[16, 16], up=True)
    Refused(kit, opcodes.OpInstanceSetParams(instance_name="inst1",
                                             disks=[["remove", 1, {}]]),
            match="is marked to be up, cannot remove disks")


def testDiskChangesOnDisklessInstancesAreRefused(kit):
    kit.AddInstance()
    Refused(kit, opcodes.OpInstanceSetParams(instance_name="inst1",
                                             disks=[["add", -1, {"size": 8}]]),
            match="Disk operations not supported for diskless instances")


def testFailedDiskCreationLeavesNoDisk(kit):
    kit.AddInstance(template="file", disks=[1024])
    kit.nodes["node1"].fail["blockdev_create"] = "disk full"
    serial = kit.cfg.GetConfigSerialNo()
    with pytest.raises(errors.OpExecError, match="disk full"):
        _Modify(kit, disks=[["add", -1, {"size": 1024}]])
    assert len(kit.cfg.GetInstanceDisks(kit.Instance().uuid)) == 1
    assert kit.cfg.GetConfigSerialNo() == serial


# --- runtime memory, OS, state ----------------------------------------------------


def testRuntimeMemoryBalloonsARunningInstance(kit):
    kit.AddInstance(up=True, memory=512)
    kit.cfg.GetInstanceInfoByName(INST).beparams["minmem"] = 128
    result = _Modify(kit, runtime_mem=256)
    assert result == [("runtime_memory", 256)]
    assert kit.nodes["node1"].running[INST] == 256
    Refused(kit, opcodes.OpInstanceSetParams(instance_name="inst1",
                                             runtime_mem=1024),
            match="must have memory between 128 and 512 MB of memory unless"
                  " --force")
    kit.nodes["node1"].running.clear()
    Refused(kit, opcodes.OpInstanceSetParams(instance_name="inst1",
                                             runtime_mem=256),
            match="Instance inst1.example.com is not running")


def testOsChangeIsCheckedOnThePrimary(kit):
    kit.AddInstance()
    os_list = [["debian", "/srv/os/debian", True, "", [], [], [20]],
               ["image", "/srv/os/image", True, "", ["raw", "qcow2"], [], [20]]]
    node1 = kit.nodes["node1"]
    node1._os_diagnose = lambda: os_list
    _Modify(kit, os_name="image+raw")
    assert _SavedInstance(kit)["os"] == "image+raw"
    Refused(kit, opcodes.OpInstanceSetParams(instance_name="inst1",
                                             os_name="nosuch"),
            match="OS 'nosuch' not in supported OS list for node"
                  " node1.example.com")
    Refused(kit, opcodes.OpInstanceSetParams(instance_name="inst1",
                                             os_name="image+vhd"),
            match="Unsupported OS variant 'vhd' of OS 'image'")
    _Modify(kit, os_name="nosuch", force=True)
    assert _SavedInstance(kit)["os"] == "nosuch"


def testOsParametersPublicAndPrivate(kit):
    kit.AddInstance()
    result = _Modify(kit, osparams={"dhcp": "yes"},
                     osparams_private={"password": "s3cret"})
    assert sorted(result) == [("os/dhcp", "yes"),
                              ("os_private/password", "<redacted>")]
    inst = kit.Instance()
    assert inst.osparams == {"dhcp": "yes"}
    assert inst.osparams_private == {"password": "s3cret"}
    (validate,) = kit.nodes["node1"].Called("os_validate")
    assert validate[1] == "debian" and validate[3] == {"dhcp": "yes",
                                                       "password": "s3cret"}
    _Modify(kit, osparams={"dhcp": "default"})
    assert kit.Instance().osparams == {}
    Refused(kit, opcodes.OpInstanceSetParams(instance_name="inst1",
                                             osparams={"bad_key": "1"}),
            match="OS Parameters validation failed on node node1.example.com:"
                  r" OS debian refuses parameters \['bad_key'\]")
    Refused(kit, opcodes.OpInstanceSetParams(instance_name="inst1",
                                             osparams={"a": "1"},
                                             osparams_private={"a": "2"}),
            match="OS parameters repeated multiple times: a")


def testOfflineAndOnline(kit):
    kit.AddInstance(up=True)
    Refused(kit, opcodes.OpInstanceSetParams(instance_name="inst1", offline=True),
            match="is marked to be up, can't change to offline without being"
                  " down first")
    kit.cfg.MarkInstanceDown(kit.Instance().uuid)
    kit.nodes["node1"].running.clear()
    serial = kit.cfg.GetConfigSerialNo()
    assert _Modify(kit, offline=True) == [("admin_state", "offline")]
    assert _SavedInstance(kit)["admin_state"] == "offline"
    assert kit.cfg.GetConfigSerialNo() == serial + 1
    assert _Modify(kit, offline=False) == [("admin_state", "down")]
    assert _SavedInstance(kit)["admin_state"] == "down"


def testPrimaryNodeChangeOfARunningInstanceIsRefused(kit):
    kit.AddInstance(up=True)
    Refused(kit, opcodes.OpInstanceSetParams(instance_name="inst1",
                                             pnode="node2"),
            match="Instance is still running on node1.example.com")
    kit.nodes["node1"].running.clear()
    _Modify(kit, pnode="node2")
    assert kit.NodeOf() == "node2"


def testInstancePolicyIsEnforcedUnlessIgnored(kit):
    kit.AddInstance(template="file", disks=[1024])
    Refused(kit, opcodes.OpInstanceSetParams(
        instance_name="inst1", disks=[["add", -1, {"size": 16}]]),
        match=r"violates policy: disk-size/1 value 16 is not in range \[1024,")
    Refused(kit, opcodes.OpInstanceSetParams(
        instance_name="inst1", beparams={"maxmem": 100000}, force=True),
        match=r"violates policy: memory-size value 100000 is not in range")
    _Modify(kit, beparams={"maxmem": 100000}, force=True, ignore_ipolicy=True)
    assert _SavedInstance(kit)["beparams"]["maxmem"] == 100000


def testDiskTemplateConversionIsRefusedClearly(kit):
    kit.AddInstance(template="file", disks=[16])
    Refused(kit, opcodes.OpInstanceSetParams(instance_name="inst1",
                                             disk_template="sharedfile"),
            match="Converting an instance to another disk template is not"
                  " supported")


def testContainerHelpers():
    mods = isp.PrepareContainerMods([("add", -1, {"a": 1}), ("remove", 0, {})],
                                    None)
    container = ["x"]
    changes = []
    isp.ApplyContainerMods("thing", container, changes, mods, None, None, None)
    assert container == [{"a": 1}]
    assert changes == [("thing/0", "remove")]
    with pytest.raises(errors.OpPrereqError, match="Only positive integer or -1"):
        isp.GetIndexFromIdentifier("first", "thing", container)
    with pytest.raises(errors.OpPrereqError, match="negative indices"):
        isp.GetItemFromContainer(-2, "thing", container)
    cbs = RecordingCbs()
    assert cbs.Messages() == []
