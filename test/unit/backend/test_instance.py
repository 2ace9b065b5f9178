"""Tests for ganeti.backend.instance with the real fake hypervisor.

In-process tests move the node's run directories below tmp_path; the
migration test runs each node's side in its own process on a virtual node
(GANETI_ROOTDIR), as noded would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ganeti import backend, defaults, errors, hypervisor, pathutils, vcluster
from ganeti.backend import RPCFail
from ganeti.backend import instance as binst
from ganeti.hypervisor import hv_fake
from ganeti.rpc import defs
from ganeti.rpc import node as rpc_node
from support.cmdlib import CmdlibKit

PROCS = backend.LoadAll()
_REPO = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.skipif(vcluster.IsVirtual(),
                                reason="tests expect a non-virtual node")


@pytest.fixture
def node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A node whose run directories (and fake instances) are below tmp_path."""
    run_dir = tmp_path / "run"
    monkeypatch.setattr(pathutils, "INSTANCE_REASON_DIR", str(run_dir / "reason"))
    monkeypatch.setattr(pathutils, "DISK_LINKS_DIR", str(run_dir / "disks"))
    monkeypatch.setattr(pathutils, "FILE_STORAGE_PATHS_FILE",
                        str(tmp_path / "file-storage-paths"))
    monkeypatch.setattr(hv_fake.FakeHypervisor, "_ROOT_DIR", str(run_dir / "fake"))
    (run_dir / "disks").mkdir(parents=True)
    hypervisor.ResetCache()
    yield tmp_path
    hypervisor.ResetCache()


def Inst(name: str = "i1.example.com", memory: int = 256, vcpus: int = 2,
         disks: list[dict[str, Any]] | None = None, **beparams: Any) -> dict[str, Any]:
    """An instance dict as ED_INST_DICT sends it (filled parameters)."""
    return {
        "name": name, "uuid": f"{name}-uuid", "hypervisor": "fake", "os": "debian",
        "primary_node": "node1-uuid",
        "hvparams": dict(defaults.HVC_DEFAULTS["fake"]),
        "beparams": dict({"maxmem": memory, "minmem": memory, "vcpus": vcpus,
                          "auto_balance": True, "always_failover": False,
                          "spindle_use": 1}, **beparams),
        "osparams": {}, "admin_state": "up", "nics": [],
        "disks": [disk["uuid"] for disk in disks or []],
        "disks_info": disks or [], "secondary_nodes": [],
    }


def _FileDisk(node: Path, name: str, create: bool = True) -> dict[str, Any]:
    storage = node / "storage"
    (node / "file-storage-paths").write_text(f"{storage}\n")
    path = storage / name / "disk0"
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            fh.truncate(10 * 1024 * 1024)
    return {"dev_type": "file", "logical_id": ["loop", str(path)], "size": 10,
            "iv_name": "disk/0", "mode": "rw", "params": {}, "uuid": f"{name}-d0"}


def _Reason(node: Path, name: str) -> Any:
    return json.loads((node / "run" / "reason" / name).read_text())


def test_master_encoded_instance_arrives_filled(node: Path) -> None:
    """The node relies on ED_INST_DICT filling cluster defaults (FillHV/FillBE)."""
    kit = CmdlibKit(node, nodes=(), instances=["web.example.com"])
    try:
        inst = kit.cfg.GetInstanceInfoByName("web.example.com")
        assert inst.hvparams == {} and inst.beparams == {}
        encoder = rpc_node.ArgEncoder(kit.cfg, node_root="")
        wire = encoder.Encode(defs.ED_INST_DICT_HVP_BEP_DP, kit.cfg.GetMasterNode(),
                              (inst, {}, {"vcpus": 3}))
    finally:
        kit.Close()
    assert wire["hvparams"] == defaults.HVC_DEFAULTS["fake"]
    PROCS["instance_start"](wire, False, [])
    assert PROCS["instance_info"]("web.example.com", "fake", None) == {
        "memory": defaults.BEC_DEFAULTS["maxmem"], "vcpus": 3, "state": 0,
        "time": 0}


def test_start_query_and_stop(node: Path) -> None:
    inst = Inst()
    reason = [["gnt:client:gnt-instance", "maintenance", 1700000000000000000]]
    assert PROCS["instance_start"](inst, False, reason) is None
    assert PROCS["instance_list"](["fake"], {"fake": {}}) == ["i1.example.com"]
    expected = {"memory": 256, "vcpus": 2, "state": 0, "time": 0}
    assert PROCS["instance_info"]("i1.example.com", "fake", {}) == expected
    assert PROCS["all_instances_info"](["fake"], {"fake": {}}) == {
        "i1.example.com": expected}
    assert _Reason(node, "i1.example.com") == reason
    # Starting a running instance does nothing.
    PROCS["instance_balloon_memory"](inst, 200)
    PROCS["instance_start"](inst, False, [])
    assert PROCS["instance_info"]("i1.example.com", "fake", None)["memory"] == 200
    start = time.monotonic()
    PROCS["instance_shutdown"](inst, 120, [["gnt:opcode", "stop", 1]])
    assert time.monotonic() - start < 1.0  # no fixed 5 s poll as in Ganeti
    assert PROCS["instance_list"](["fake"], None) == []
    assert PROCS["instance_info"]("i1.example.com", "fake", None) == {}
    assert _Reason(node, "i1.example.com") == [["gnt:opcode", "stop", 1]]
    # Stopping a stopped instance does nothing.
    PROCS["instance_shutdown"](inst, 120, [])


class _StubbornHv(hv_fake.FakeHypervisor):
    """Ignores soft stop requests, counting them."""

    soft_requests = 0

    def StopInstance(self, instance: Any, force: bool = False, retry: bool = False,
                     name: str | None = None, timeout: float | None = None) -> None:
        if force:
            super().StopInstance(instance, force=True, name=name)
        else:
            type(self).soft_requests += 1


class _ImmortalHv(hv_fake.FakeHypervisor):
    """Cannot be stopped; a forced stop raises or silently does nothing."""

    force_raises = True

    def StopInstance(self, instance: Any, force: bool = False, retry: bool = False,
                     name: str | None = None, timeout: float | None = None) -> None:
        if force and self.force_raises:
            raise errors.HypervisorError("domain is wedged")


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def Time(self) -> float:
        return self.now

    def Sleep(self, seconds: float) -> None:
        self.now += seconds


def test_shutdown_forces_after_the_timeout(node: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _StubbornHv.soft_requests = 0
    stubborn = _StubbornHv()
    monkeypatch.setitem(hypervisor._INSTANCE_CACHE, "fake", stubborn)
    PROCS["instance_start"](Inst(), False, [])
    clock = _Clock()
    binst.InstanceShutdown(binst._GetInstance(Inst()), 12, [],
                           _time_fn=clock.Time, _sleep_fn=clock.Sleep)
    assert stubborn.ListInstances() == []
    assert 12 <= clock.now - 1000.0 < 13
    # The soft request is repeated every 5 seconds while waiting.
    assert _StubbornHv.soft_requests == 3


def test_shutdown_failures_are_reported(node: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    immortal = _ImmortalHv()
    monkeypatch.setitem(hypervisor._INSTANCE_CACHE, "fake", immortal)
    PROCS["instance_start"](Inst(), False, [])
    clock = _Clock()
    with pytest.raises(RPCFail, match="Failed to force stop instance"
                                      " i1.example.com: domain is wedged"):
        binst.InstanceShutdown(binst._GetInstance(Inst()), 1, [],
                               _time_fn=clock.Time, _sleep_fn=clock.Sleep)
    immortal.force_raises = False
    with pytest.raises(RPCFail, match="Could not shutdown instance i1.example.com"
                                      " even by destroy"):
        binst.InstanceShutdown(binst._GetInstance(Inst()), 1, [],
                               _time_fn=clock.Time, _sleep_fn=clock.Sleep)
    assert immortal.ListInstances() == ["i1.example.com"]


def test_reboot(node: Path) -> None:
    inst = Inst(memory=300)
    with pytest.raises(RPCFail, match="Cannot reboot instance i1.example.com that"
                                      " is not running"):
        PROCS["instance_reboot"](inst, "soft", 60, [])
    PROCS["instance_start"](inst, False, [])
    PROCS["instance_balloon_memory"](inst, 150)
    PROCS["instance_reboot"](inst, "soft", 60, [])
    assert PROCS["instance_info"]("i1.example.com", "fake", None)["memory"] == 150
    # A hard reboot recreates the instance: back to its startup memory.
    PROCS["instance_reboot"](inst, "hard", 60, [["gnt:opcode", "reboot", 2]])
    assert PROCS["instance_info"]("i1.example.com", "fake", None)["memory"] == 300
    assert _Reason(node, "i1.example.com") == [["gnt:opcode", "reboot", 2]]
    with pytest.raises(RPCFail, match="Invalid reboot_type received: 'full'"):
        PROCS["instance_reboot"](inst, "full", 60, [])
    assert PROCS["instance_list"](["fake"], None) == ["i1.example.com"]


def test_balloon(node: Path) -> None:
    inst = Inst()
    assert PROCS["instance_balloon_memory"](inst, 128) is None  # stopped: no-op
    PROCS["instance_start"](inst, False, [])
    PROCS["instance_balloon_memory"](inst, 128)
    assert PROCS["all_instances_info"](["fake"], None)["i1.example.com"][
        "memory"] == 128
    with pytest.raises(RPCFail, match="Invalid argument 'memory': must be at least"
                                      " 1, got 0"):
        PROCS["instance_balloon_memory"](inst, 0)


def test_console_info_in_both_request_forms(node: Path) -> None:
    message = {"instance": "i1.example.com", "kind": "msg",
               "message": "Console not available for fake hypervisor"}
    as_dict = {"instance": Inst(), "node": {"name": "node1"}, "group": {},
               "hvParams": {}, "beParams": {}}
    as_list = [Inst("i2.example.com"), {"name": "node1"}, {}, {}, {}]
    assert PROCS["instance_console_info"]({"i1.example.com": as_dict,
                                           "i2.example.com": as_list}) == {
        "i1.example.com": message,
        "i2.example.com": dict(message, instance="i2.example.com")}
    with pytest.raises(RPCFail, match="missing hvParams, beParams"):
        PROCS["instance_console_info"]({"i1": {"instance": Inst(), "node": {},
                                               "group": {}}})


def test_file_disks_are_linked_while_running(node: Path) -> None:
    inst = Inst(disks=[_FileDisk(node, "i1")])
    link = node / "run" / "disks" / "i1.example.com:0"
    PROCS["instance_start"](inst, False, [])
    assert os.readlink(link) == inst["disks_info"][0]["logical_id"][1]
    PROCS["instance_migratable"](inst)
    PROCS["instance_shutdown"](inst, 60, [])
    assert not os.path.lexists(link)


def test_failed_starts_leave_nothing_behind(node: Path) -> None:
    missing = Inst(disks=[_FileDisk(node, "i1", create=False)])
    with pytest.raises(RPCFail, match="Block device error: .*not set up"):
        PROCS["instance_start"](missing, False, [])
    no_vcpus = Inst("i2.example.com", disks=[_FileDisk(node, "i2")])
    del no_vcpus["beparams"]["vcpus"]
    with pytest.raises(RPCFail, match="Hypervisor error: Failed to start instance"
                                      " i2.example.com"):
        PROCS["instance_start"](no_vcpus, False, [])
    assert os.listdir(node / "run" / "disks") == []
    assert PROCS["instance_list"](["fake"], None) == []
    assert not (node / "run" / "reason").exists()


def test_checks(node: Path) -> None:
    assert PROCS["hypervisor_validate_params"](
        "fake", dict(defaults.HVC_DEFAULTS["fake"])) is None
    with pytest.raises(RPCFail, match="Parameter 'migration_mode' is missing"):
        PROCS["hypervisor_validate_params"]("fake", {})
    with pytest.raises(RPCFail, match="Hypervisor xen-pvm is not available on"
                                      " this node"):
        PROCS["hypervisor_validate_params"]("xen-pvm", {})
    with pytest.raises(RPCFail, match="Hotplug is not supported"):
        PROCS["hotplug_supported"](Inst())
    assert PROCS["bridges_exist"]([]) is None
    with pytest.raises(RPCFail, match="Missing bridges lo, gnt-nosuchbr0"):
        PROCS["bridges_exist"](["lo", "gnt-nosuchbr0"])
    with pytest.raises(RPCFail, match="Invalid bridge name '../x'"):
        PROCS["bridges_exist"](["../x"])
    with pytest.raises(RPCFail, match="Instance i1.example.com is not running"):
        PROCS["instance_migratable"](Inst())


@pytest.mark.parametrize("name, call_args, match", [
    ("instance_start", [Inst(), False], "takes 3 argument"),
    ("instance_start", ["i1", False, []], "expected a dict, got str"),
    ("instance_start", [Inst("../etc"), False, []], "Invalid instance name"),
    ("instance_start", [Inst(), "no", []], "'startup_paused': expected a boolean"),
    ("instance_start", [dict(Inst(), hypervisor="vmware"), False, []],
     "Unknown hypervisor type 'vmware'"),
    ("instance_shutdown", [Inst(), -1, []], "must be at least 0"),
    ("instance_shutdown", [Inst(), 10, "why"], "'reason': expected a list"),
    ("instance_reboot", [Inst(), 1, 10, []], "'reboot_type': expected a string"),
    ("instance_list", ["fake", None], "'hypervisor_list': expected a list"),
    ("all_instances_info", [["fake"], {"fake": "x"}], "expected a dict"),
    ("instance_info", [None, "fake", None], "'instance': expected a non-empty"),
    ("instance_migrate", ["c", Inst(), "192.0.2.2", "yes"], "'live': expected a"),
    ("accept_instance", [Inst(), "", ""], "'target': expected a non-empty"),
])
def test_bad_arguments_are_clear(node: Path, name: str, call_args: list[Any],
                                 match: str) -> None:
    with pytest.raises(RPCFail, match=match):
        PROCS[name](*call_args)
    fake_dir = node / "run" / "fake"
    assert not fake_dir.exists() or os.listdir(fake_dir) == []


def test_thousand_instances_listed_fast(node: Path) -> None:
    root = node / "run" / "fake"
    root.mkdir(parents=True)
    for idx in range(1000):
        (root / f"inst{idx:04d}.example.com").write_text("0\n128\n1\n")
    start = time.perf_counter()
    names = PROCS["instance_list"](["fake"], {"fake": {}})
    list_time = time.perf_counter() - start
    start = time.perf_counter()
    info = PROCS["all_instances_info"](["fake"], {"fake": {}})
    info_time = time.perf_counter() - start
    assert len(names) == 1000 and len(info) == 1000
    assert list_time < 0.1, list_time
    assert info_time < 1.0, info_time


_NODE_SCRIPT = """
import json, sys
from ganeti import backend
procs = backend.LoadAll()
results = []
for name, call_args in json.load(sys.stdin):
    try:
        results.append(["ok", procs[name](*call_args)])
    except backend.RPCFail as err:
        results.append(["fail", str(err)])
print(json.dumps(results))
"""


def _OnNode(base: Path, node_name: str, calls: list[list[Any]]) -> list[Any]:
    """Run procedures in a process acting as virtual node node_name."""
    root = base / node_name
    root.mkdir(exist_ok=True)
    env = dict(os.environ, GANETI_ROOTDIR=str(root), GANETI_HOSTNAME=node_name,
               PYTHONPATH=str(_REPO))
    result = subprocess.run([sys.executable, "-c", _NODE_SCRIPT], env=env,
                            input=json.dumps(calls), capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_migration_between_virtual_nodes(tmp_path: Path) -> None:
    inst = Inst(memory=256)
    src = _OnNode(tmp_path, "node1", [
        ["instance_start", [inst, False, []]],
        ["instance_balloon_memory", [inst, 192]],
        ["instance_migratable", [inst]],
        ["migration_info", [inst]],
    ])
    info = src[-1][1]
    assert [status for status, _ in src] == ["ok"] * 4
    dst = _OnNode(tmp_path, "node2", [["accept_instance", [inst, info, "192.0.2.2"]]])
    assert dst == [["ok", None]]
    src = _OnNode(tmp_path, "node1", [
        ["instance_migrate", ["cluster", inst, "192.0.2.2", True]],
        ["instance_get_migration_status", [inst]],
    ])
    assert src == [["ok", None], ["ok", {"status": "completed"}]]
    dst = _OnNode(tmp_path, "node2", [
        ["instance_finalize_migration_dst", [inst, info, True]],
        ["accept_instance", [inst, info, "192.0.2.2"]],
        ["instance_info", ["i1.example.com", "fake", None]],
    ])
    assert dst[0] == ["ok", None]
    assert dst[1] == ["fail", "Failed to accept instance: Can't accept instance,"
                              " already running"]
    assert dst[2] == ["ok", {"memory": 192, "vcpus": 2, "state": 0, "time": 0}]
    src = _OnNode(tmp_path, "node1", [
        ["instance_finalize_migration_src", [inst, True, True]],
        ["instance_list", [["fake"], None]],
    ])
    assert src == [["ok", None], ["ok", []]]
    fake_dir = "var/run/ganeti/fake-hypervisor"
    assert os.listdir(tmp_path / "node1" / fake_dir) == []
    assert os.listdir(tmp_path / "node2" / fake_dir) == ["i1.example.com"]
