"""Tests for ganeti.hypervisor.hv_fake: the contract battery and the state files."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ganeti import defaults, errors, objects
from ganeti.hypervisor import hv_base, hv_fake
from support.hv_contract import CheckHypervisorContract

_REPO = Path(__file__).resolve().parents[3]
_MEMINFO = """MemTotal:        8192000 kB
MemFree:         1024000 kB
Buffers:          512000 kB
Cached:           512000 kB
Active:          2048000 kB
"""
_CPUINFO = "processor\t: 0\nmodel name\t: x\n\nprocessor\t: 1\nmodel name\t: x\n"


def MakeInstance(name: str, maxmem: int = 512, minmem: int = 256,
                 vcpus: int = 2) -> objects.Instance:
    """A fake-hypervisor instance as the node receives it (filled params)."""
    return objects.Instance(
        name=name, hypervisor="fake", uuid=f"{name}-uuid", os="debian",
        primary_node="node1-uuid",
        hvparams=dict(defaults.HVC_DEFAULTS["fake"]),
        beparams={"maxmem": maxmem, "minmem": minmem, "vcpus": vcpus,
                  "auto_balance": True, "always_failover": False,
                  "spindle_use": 1},
        nics=[], disks=[], tags=[])


@pytest.fixture
def proc_files(tmp_path: Path) -> tuple[str, str]:
    """/proc/meminfo and /proc/cpuinfo stand-ins (7999 MiB total, 2000 free)."""
    meminfo = tmp_path / "meminfo"
    cpuinfo = tmp_path / "cpuinfo"
    meminfo.write_text(_MEMINFO)
    cpuinfo.write_text(_CPUINFO)
    return str(meminfo), str(cpuinfo)


def _FixedProcHv(root: Path, proc_files: tuple[str, str]) -> hv_fake.FakeHypervisor:
    """A fake driver whose /proc figures come from proc_files."""

    class _Hv(hv_fake.FakeHypervisor):
        GetLinuxNodeInfo = staticmethod(functools.partial(hv_base.GetLinuxNodeInfo,
                                                          *proc_files))

    return _Hv(_root_dir=str(root))


@pytest.fixture
def hv(tmp_path: Path) -> hv_fake.FakeHypervisor:
    return hv_fake.FakeHypervisor(_root_dir=str(tmp_path / "node1"))


def test_contract_with_migration(tmp_path: Path, hv: hv_fake.FakeHypervisor) -> None:
    target = hv_fake.FakeHypervisor(_root_dir=str(tmp_path / "node2"))
    CheckHypervisorContract(hv, MakeInstance, migration_target=target)
    assert hv.ListInstances() == [] and target.ListInstances() == []


def test_state_file_has_ganetis_format(tmp_path: Path, hv: hv_fake.FakeHypervisor
                                       ) -> None:
    hv.StartInstance(MakeInstance("inst1", maxmem=128, minmem=128, vcpus=3), [],
                     False)
    assert (tmp_path / "node1" / "inst1").read_text() == "0\n128\n3\n"
    # No temporary file is left next to it.
    assert os.listdir(tmp_path / "node1") == ["inst1"]


def test_startup_memory_is_capped_by_free_memory(tmp_path: Path,
                                                 proc_files: tuple[str, str]) -> None:
    hv = _FixedProcHv(tmp_path / "fake", proc_files)
    # 2000 MiB free: maxmem 4096 is lowered to 2000, minmem 512 is kept.
    hv.StartInstance(MakeInstance("big", maxmem=4096, minmem=512), [], False)
    assert hv.GetInstanceInfo("big")[2] == 2000
    # Now nothing is free: the next one gets its minmem.
    hv.StartInstance(MakeInstance("small", maxmem=1024, minmem=300), [], False)
    assert hv.GetInstanceInfo("small")[2] == 300


def test_node_info_subtracts_fake_instances(tmp_path: Path,
                                            proc_files: tuple[str, str]) -> None:
    hv = _FixedProcHv(tmp_path / "fake", proc_files)
    before = hv.GetNodeInfo()
    assert before == {"memory_total": 8000, "memory_free": 2000,
                      "memory_dom0": 2000, "cpu_total": 2, "cpu_dom0": 2,
                      "cpu_nodes": 1, "cpu_sockets": 1}
    hv.StartInstance(MakeInstance("a", maxmem=300, minmem=300), [], False)
    hv.StartInstance(MakeInstance("b", maxmem=500, minmem=500), [], False)
    assert hv.GetNodeInfo()["memory_free"] == 1200
    hv.StartInstance(MakeInstance("c", maxmem=1900, minmem=1900), [], False)
    assert hv.GetNodeInfo()["memory_free"] == 0  # never negative


def test_concurrent_starts_of_one_instance_start_it_once(
        hv: hv_fake.FakeHypervisor) -> None:
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def _Start() -> None:
        barrier.wait()
        try:
            hv.StartInstance(MakeInstance("racy"), [], False)
            outcomes.append("started")
        except errors.HypervisorError as err:
            outcomes.append(str(err))

    threads = [threading.Thread(target=_Start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("started") == 1
    assert set(outcomes) - {"started"} == {
        "Failed to start instance racy: already running"}
    assert hv.ListInstances() == ["racy"]


def test_stop_reboot_balloon_of_stopped_instance_fail_clearly(
        hv: hv_fake.FakeHypervisor) -> None:
    inst = MakeInstance("gone")
    with pytest.raises(errors.HypervisorError,
                       match="Failed to stop instance gone: not running"):
        hv.StopInstance(inst)
    with pytest.raises(errors.HypervisorError, match="reboot instance gone: not"):
        hv.RebootInstance(inst)
    with pytest.raises(errors.HypervisorError,
                       match="Failed to balloon memory for gone: not running"):
        hv.BalloonInstanceMemory(inst, 128)
    assert hv.ListInstances() == []


def test_balloon_and_migration_keep_the_runtime_memory(
        tmp_path: Path, hv: hv_fake.FakeHypervisor) -> None:
    target = hv_fake.FakeHypervisor(_root_dir=str(tmp_path / "node2"))
    inst = MakeInstance("mover", maxmem=512, minmem=128)
    hv.StartInstance(inst, [], False)
    hv.BalloonInstanceMemory(inst, 200)
    info = hv.MigrationInfo(inst)
    target.AcceptInstance(inst, info, "192.0.2.2")
    hv.MigrateInstance("cluster", inst, "192.0.2.2", True)
    assert hv.GetMigrationStatus(inst).status == "completed"
    target.FinalizeMigrationDst(inst, info, True)
    hv.FinalizeMigrationSource(inst, True, True)
    assert hv.ListInstances() == []
    assert target.GetInstanceInfo("mover")[2:4] == (200, 2)
    # The target refuses an instance that already runs there.
    with pytest.raises(errors.HypervisorError, match="already running"):
        target.AcceptInstance(inst, info, "192.0.2.2")


def test_failed_migration_leaves_it_on_the_source(tmp_path: Path,
                                                  hv: hv_fake.FakeHypervisor) -> None:
    target = hv_fake.FakeHypervisor(_root_dir=str(tmp_path / "node2"))
    inst = MakeInstance("stay")
    hv.StartInstance(inst, [], False)
    info = hv.MigrationInfo(inst)
    target.AcceptInstance(inst, info, "192.0.2.2")
    target.FinalizeMigrationDst(inst, info, False)
    hv.FinalizeMigrationSource(inst, False, True)
    assert hv.ListInstances() == ["stay"] and target.ListInstances() == []
    with pytest.raises(errors.HypervisorError, match="not running on this node"):
        target.MigrateInstance("cluster", inst, "192.0.2.1", True)
    with pytest.raises(errors.HypervisorError, match="not running on this node"):
        target.MigrationInfo(inst)


def test_console_is_a_message(hv: hv_fake.FakeHypervisor) -> None:
    console = hv.GetInstanceConsole(MakeInstance("c1"), None, None, {}, {})
    assert console.ToDict() == {"instance": "c1", "kind": "msg",
                                "message": "Console not available for fake"
                                           " hypervisor"}


def test_directory_is_created_by_the_first_start(tmp_path: Path,
                                                 hv: hv_fake.FakeHypervisor) -> None:
    root = tmp_path / "node1"
    # Queries have no side effect on the node.
    assert hv.ListInstances() == [] and hv.GetAllInstancesInfo() == []
    assert hv.GetInstanceInfo("i1") is None
    assert hv.Verify() is None
    assert not root.exists()
    hv.StartInstance(MakeInstance("i1"), [], False)
    assert root.is_dir() and hv.ListInstances() == ["i1"]
    # A directory that can't be created is reported, and starts fail clearly.
    (tmp_path / "plain-file").write_text("")
    broken = hv_fake.FakeHypervisor(_root_dir=str(tmp_path / "plain-file" / "fake"))
    assert broken.Verify() == (f"The required directory '{tmp_path}/plain-file/fake'"
                               " does not exist and cannot be created")
    with pytest.raises(errors.HypervisorError,
                       match="Can't create the fake hypervisor directory"):
        broken.StartInstance(MakeInstance("i2"), [], False)


def test_corrupt_state_file_and_bad_names(tmp_path: Path,
                                          hv: hv_fake.FakeHypervisor) -> None:
    for name in ["../escape", ".hidden", "a/b", ""]:
        with pytest.raises(errors.HypervisorError, match="Invalid instance name"):
            hv.StartInstance(MakeInstance(name), [], False)
    assert not (tmp_path / "escape").exists()
    assert hv.ListInstances() == []
    # Only tampering can produce a corrupt file (writes are atomic): it is
    # reported, naming the instance, rather than guessed around.
    (tmp_path / "node1").mkdir()
    (tmp_path / "node1" / "broken").write_text("0\nlots\n")
    for call in (lambda: hv.GetInstanceInfo("broken"), hv.GetAllInstancesInfo):
        with pytest.raises(errors.HypervisorError,
                           match="Corrupt state file of fake instance broken"):
            call()


def test_parameters(hv: hv_fake.FakeHypervisor) -> None:
    hv.CheckParameterSyntax({"migration_mode": "non-live"})
    with pytest.raises(errors.HypervisorError,
                       match="Parameter 'migration_mode' fails syntax check:"
                             " invalid migration mode"):
        hv.CheckParameterSyntax({"migration_mode": "teleport"})
    with pytest.raises(errors.HypervisorError, match="required"):
        hv.CheckParameterSyntax({"migration_mode": ""})


def test_thousand_instances_list_fast(tmp_path: Path,
                                      hv: hv_fake.FakeHypervisor) -> None:
    root = tmp_path / "node1"
    root.mkdir()
    for idx in range(1000):
        (root / f"inst{idx:04d}.example.com").write_text("0\n128\n1\n")
    start = time.perf_counter()
    names = hv.ListInstances()
    list_time = time.perf_counter() - start
    start = time.perf_counter()
    rows = hv.GetAllInstancesInfo()
    info_time = time.perf_counter() - start
    assert len(names) == 1000 and len(rows) == 1000
    assert {row[2] for row in rows} == {128}
    # One directory listing: a few ms; asserted generously for a busy machine.
    assert list_time < 0.1, list_time
    assert info_time < 1.0, info_time


def test_virtual_node_keeps_its_instances_under_its_root(tmp_path: Path) -> None:
    code = (
        "from ganeti import hypervisor\n"
        "from ganeti.hypervisor import hv_fake\n"
        "from ganeti import objects\n"
        "hv = hypervisor.GetHypervisor('fake')\n"
        "assert hv is hypervisor.GetHypervisor('fake')\n"
        "hv.StartInstance(objects.Instance(name='i1', hvparams={},\n"
        "    beparams={'maxmem': 128, 'minmem': 128, 'vcpus': 1}), [], False)\n"
        "print(hv._root_dir)\n")
    outputs = {}
    for node in ("node1", "node2"):
        root = tmp_path / node
        root.mkdir()
        env = dict(os.environ, GANETI_ROOTDIR=str(root), GANETI_HOSTNAME=node,
                   PYTHONPATH=str(_REPO))
        result = subprocess.run([sys.executable, "-c", code], env=env,
                                capture_output=True, text=True, timeout=60,
                                check=False)
        assert result.returncode == 0, result.stderr
        outputs[node] = result.stdout.strip()
    for node, path in outputs.items():
        assert path == f"{tmp_path}/{node}/var/run/ganeti/fake-hypervisor"
        assert os.listdir(path) == ["i1"]
