"""Tests for ganeti.backend.node: version, node_info, master name, own IPs."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ganeti import backend, constants, errors, pathutils, vcluster
from ganeti.backend import RPCFail, node

PROCS = backend.LoadAll()
_REPO = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.skipif(vcluster.IsVirtual(),
                                reason="tests expect a non-virtual node")

# What vgs/pvs print with the options node.py passes (LVM is absent here).
_VGS_OUTPUT = "  xenvg|476.00|120.00\n  other|10.50|10.50\n"
_PVS_OUTPUT = ("  /dev/sda3|xenvg|238.00|0\n  /dev/sdb1|xenvg|238.00|238.00\n"
               "  /dev/sdc1|xenvg|238.00|238.00\n")


def _Runner(stdout: str, exit_code: int = 0, stderr: str = "") -> Any:
    calls: list[list[str]] = []

    def _Run(argv: list[str]) -> tuple[int, str, str]:
        calls.append(argv)
        return exit_code, stdout, stderr

    _Run.calls = calls  # type: ignore[attr-defined]
    return _Run


def _Storage(units: list[Any], run_fn: Any = None) -> list[dict[str, Any]]:
    return node.GetNodeInfo(units, None, _run_fn=run_fn)[1]


def test_version() -> None:
    assert PROCS["version"]() == constants.PROTOCOL_VERSION == 3000000


def test_wrong_argument_count_is_a_clean_failure() -> None:
    with pytest.raises(RPCFail, match=r"'version' takes 0 argument"):
        PROCS["version"]("extra")
    with pytest.raises(RPCFail, match=r"storage_units, hv_specs.*got 1"):
        PROCS["node_info"]([])


def test_node_info_real_node(tmp_path: Path) -> None:
    boot_id, storage, _ = PROCS["node_info"](
        [[constants.ST_FILE, str(tmp_path), []],
         [constants.ST_DISKLESS, "none", []]], None)
    # The /proc figures (no hypervisor driver asked: _find_hv_fn gives None).
    _, _, hv_info = node.GetNodeInfo(None, [[constants.HT_FAKE, {}]],
                                     _find_hv_fn=lambda name: None)
    with open("/proc/sys/kernel/random/boot_id") as fh:
        assert boot_id == fh.read().strip()
    file_info, diskless = storage
    assert file_info["type"] == constants.ST_FILE
    assert file_info["name"] == str(tmp_path)
    assert file_info["storage_size"] > 0
    assert 0 <= file_info["storage_free"] <= file_info["storage_size"]
    assert diskless == {"type": "diskless", "name": "none", "storage_size": 0,
                        "storage_free": 0}
    (info,) = hv_info
    for key in ("memory_total", "memory_free", "memory_dom0", "cpu_total",
                "cpu_nodes", "cpu_sockets", "cpu_dom0"):
        assert isinstance(info[key], int), key
    assert 0 < info["memory_free"] <= info["memory_total"]
    assert info["cpu_total"] >= 1
    # The result must survive the JSON round trip noded does.
    assert json.loads(json.dumps([boot_id, storage, hv_info])) == [
        boot_id, storage, hv_info]


def test_node_info_none_parts() -> None:
    boot_id, storage, hv_info = PROCS["node_info"](None, None)
    assert boot_id and storage is None and hv_info is None


def test_linux_node_info_from_files(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:  4194304 kB\nMemFree:  1048576 kB\n"
                       "Buffers:  102400 kB\nCached:  512000 kB\n"
                       "SwapCached: 0 kB\nActive:  2097152 kB\n"
                       "Active(anon):  5 kB\n")
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("".join(f"processor\t: {i}\nmodel name\t: X\n\n"
                               for i in range(3)))
    info = node.GetLinuxNodeInfo(str(meminfo), str(cpuinfo))
    assert info == {"memory_total": 4096, "memory_free": 1024 + 100 + 500,
                    "memory_dom0": 2048, "cpu_total": 3, "cpu_dom0": 3,
                    "cpu_nodes": 1, "cpu_sockets": 1}


def test_linux_node_info_errors(tmp_path: Path) -> None:
    with pytest.raises(errors.HypervisorError, match="Failed to list"):
        node.GetLinuxNodeInfo(str(tmp_path / "missing"), "/proc/cpuinfo")
    bad = tmp_path / "meminfo"
    bad.write_text("MemTotal: lots kB\n")
    with pytest.raises(errors.HypervisorError, match="memory usage"):
        node.GetLinuxNodeInfo(str(bad), "/proc/cpuinfo")


def test_hypervisor_errors() -> None:
    with pytest.raises(RPCFail, match="Unknown hypervisor 'vmware'"):
        PROCS["node_info"](None, [["vmware", {}]])
    with pytest.raises(RPCFail, match="hypervisor spec"):
        PROCS["node_info"](None, ["kvm"])
    with pytest.raises(RPCFail, match="parameters of hypervisor kvm"):
        PROCS["node_info"](None, [["kvm", "params"]])


def test_hypervisor_driver_is_used_when_present() -> None:
    seen = []

    class _Driver:
        def GetNodeInfo(self, hvparams: Any = None) -> dict[str, int]:
            seen.append(hvparams)
            if hvparams.get("broken"):
                raise errors.HypervisorError("cannot talk to hypervisor")
            return {"memory_total": 1, "memory_free": 1}

    result = node.GetNodeInfo(None, [["fake", {"a": 1}]],
                              _find_hv_fn=lambda name: _Driver())
    assert result[2] == [{"memory_total": 1, "memory_free": 1}]
    assert seen == [{"a": 1}]
    with pytest.raises(RPCFail, match="cannot talk to hypervisor"):
        node.GetNodeInfo(None, [["fake", {"broken": True}]],
                         _find_hv_fn=lambda name: _Driver())


def test_storage_unit_rejections(tmp_path: Path) -> None:
    with pytest.raises(RPCFail, match="Unknown storage type 'tape'"):
        _Storage([["tape", "x", []]])
    with pytest.raises(RPCFail, match="'rados' does not report free space"):
        _Storage([[constants.ST_RADOS, "pool", []]])
    with pytest.raises(RPCFail, match="storage unit: expected a list"):
        _Storage(["file"])
    with pytest.raises(RPCFail, match="expected a list of 3 items"):
        _Storage([["file", str(tmp_path)]])
    with pytest.raises(RPCFail, match="argument 'storage_units'"):
        PROCS["node_info"]("file", None)
    with pytest.raises(RPCFail, match="takes 0 parameter"):
        _Storage([["file", str(tmp_path), [True]]])
    with pytest.raises(RPCFail, match="is not absolute"):
        _Storage([["file", "relative/dir", []]])
    with pytest.raises(RPCFail, match="Can't get file system information"):
        _Storage([["sharedfile", str(tmp_path / "missing"), []]])


def test_lvm_vg_from_recorded_output() -> None:
    run_fn = _Runner(_VGS_OUTPUT)
    (info,) = _Storage([[constants.ST_LVM_VG, "xenvg", [False]]], run_fn)
    assert info == {"type": "lvm-vg", "name": "xenvg", "storage_size": 476,
                    "storage_free": 120}
    assert run_fn.calls[0][0] == "vgs"
    with pytest.raises(RPCFail, match="Volume group 'nosuchvg' not found"):
        _Storage([[constants.ST_LVM_VG, "nosuchvg", [False]]], run_fn)
    with pytest.raises(RPCFail, match="exclusive storage flag"):
        _Storage([[constants.ST_LVM_VG, "xenvg", ["no"]]], run_fn)


def test_lvm_failures() -> None:
    failing = _Runner("", exit_code=5, stderr="  WARNING: Running as a non-root user")
    with pytest.raises(RPCFail, match="exited with code 5: WARNING"):
        _Storage([[constants.ST_LVM_VG, "xenvg", [False]]], failing)
    with pytest.raises(RPCFail, match="Can't parse vgs output"):
        _Storage([[constants.ST_LVM_VG, "xenvg", [False]]], _Runner("garbage\n"))


def test_lvm_tools_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(node, "_VGS_CMD", "ganeti-test-no-such-vgs")
    with pytest.raises(RPCFail, match="LVM tools are not installed"):
        PROCS["node_info"]([[constants.ST_LVM_VG, "xenvg", [False]]], None)


def test_lvm_pv_spindles() -> None:
    run_fn = _Runner(_PVS_OUTPUT)
    (info,) = _Storage([[constants.ST_LVM_PV, "xenvg", [True]]], run_fn)
    assert (info["storage_size"], info["storage_free"]) == (3, 2)
    unused = _Runner("")
    (info,) = _Storage([[constants.ST_LVM_PV, "xenvg", [False]]], unused)
    assert (info["storage_size"], info["storage_free"]) == (0, 0)
    assert unused.calls == []


def test_master_node_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pathutils, "DATA_DIR", str(tmp_path))
    with pytest.raises(RPCFail, match="not configured as part of a cluster"):
        PROCS["master_node_name"]()
    (tmp_path / "ssconf_master_node").write_text("node1.example.com\n")
    assert PROCS["master_node_name"]() == "node1.example.com"


def test_node_has_ip_address() -> None:
    assert PROCS["node_has_ip_address"]("127.0.0.1") is True
    nonlocal_bind = Path("/proc/sys/net/ipv4/ip_nonlocal_bind")
    if not nonlocal_bind.exists() or nonlocal_bind.read_text().strip() == "0":
        # 192.0.2.0/24 is TEST-NET-1: never configured on a real host.
        assert PROCS["node_has_ip_address"]("192.0.2.77") is False
    with pytest.raises(RPCFail, match="Invalid IP address 'node1'"):
        PROCS["node_has_ip_address"]("node1")
    with pytest.raises(RPCFail, match="argument 'address'"):
        PROCS["node_has_ip_address"](17)
    if socket.has_ipv6 and Path("/proc/net/if_inet6").exists() and \
            "00000000000000000000000000000001" in Path(
                "/proc/net/if_inet6").read_text():
        assert PROCS["node_has_ip_address"]("::1") is True


def test_virtual_node_boot_id_and_paths(tmp_path: Path) -> None:
    root = tmp_path / "node1.example.com"
    run_dir = root / "var/run/ganeti"
    run_dir.mkdir(parents=True)
    (run_dir / "boot_id").write_text("simulated-boot-1\n")
    storage = root / "srv/ganeti/file-storage"
    storage.mkdir(parents=True)
    code = (
        "import json\n"
        "from ganeti import backend, constants\n"
        "procs = backend.LoadAll()\n"
        "vpath = constants.VIRTUAL_PATH_PREFIX + '/srv/ganeti/file-storage'\n"
        "print(json.dumps(procs['node_info']([['file', vpath, []]], None)))\n")
    env = dict(os.environ, GANETI_ROOTDIR=str(root),
               GANETI_HOSTNAME="node1.example.com", PYTHONPATH=str(_REPO))
    result = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                            capture_output=True, text=True, timeout=60)
    boot_id, (info,), _ = json.loads(result.stdout)
    assert boot_id == "simulated-boot-1"
    assert info["storage_size"] > 0
