"""gnt-instance on a real one-node virtual cluster with the fake hypervisor.

The cluster is made as an operator would (tools/vcluster-setup, then
`node1/cmd gnt-cluster init` with the fake hypervisor and the diskless and
file templates), with noded and masterd running; every command below is the
real gnt-instance program run through node1's cmd helper. The OS is a
minimal "noop" definition (API 20, scripts that succeed) written by the test
and found through GANETI_OS_SEARCH_PATH. Instance names resolve through the
cluster's hosts file; the IP check is skipped because every loopback
address answers.

Bad input must fail with a clear message and leave config.data untouched.
Every daemon is stopped by pid at the end.
"""

from __future__ import annotations

import importlib
import json
import os
import pathlib

import pytest

pytest.importorskip("ganeti.jqueue")
pytest.importorskip("ganeti.mcpu")

from support.cluster import MasterCluster  # noqa: E402

# What the commands need from the instance owners' modules.
_NEEDED_LUS = ["LUInstanceCreate", "LUInstanceRemove", "LUInstanceStartup",
               "LUInstanceShutdown", "LUInstanceReboot", "LUInstanceReinstall",
               "LUInstanceRename", "LUInstanceQueryData", "LUInstanceSetParams"]
_NEEDED_MODULES = ["ganeti.query.instance", "ganeti.hypervisor.hv_fake"]

_OS_SCRIPT = "#!/bin/sh\n# noop OS: nothing to install.\nexit 0\n"
_INSTANCES = ["instance1", "instance2", "instance3", "instance4"]
# Every instance has one routed NIC: the cluster's default bridge does not
# exist on this machine, and the default policy wants at least one NIC.
_ROUTED = "0:mode=routed,ip=192.0.2.12"


def _MissingPieces() -> list[str]:
    missing = []
    for name in _NEEDED_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    try:
        cmdlib = importlib.import_module("ganeti.cmdlib")
    except ImportError:
        return missing + ["ganeti.cmdlib"]
    return missing + [lu for lu in _NEEDED_LUS if not hasattr(cmdlib, lu)]


_MISSING = _MissingPieces()
pytestmark = pytest.mark.skipif(
    bool(_MISSING), reason="instance support not in the tree yet: missing "
    + ", ".join(_MISSING))


def _WriteNoopOs(path: pathlib.Path) -> None:
    path.mkdir(parents=True)
    (path / "ganeti_api_version").write_text("20\n")
    (path / "variants.list").write_text("default\n")
    (path / "parameters.list").write_text("")
    for script in ("create", "import", "export", "rename", "verify"):
        (path / script).write_text(_OS_SCRIPT)
        (path / script).chmod(0o755)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    base = tmp_path_factory.mktemp("instances")
    os_dir = base / "os"
    _WriteNoopOs(os_dir / "noop")
    old = os.environ.get("GANETI_OS_SEARCH_PATH")
    vc = None
    try:
        # noded (started by gnt-cluster init) inherits the search path.
        os.environ["GANETI_OS_SEARCH_PATH"] = str(os_dir)
        (base / "vc").mkdir()
        vc = MasterCluster.VclusterSetup(base / "vc", count=1)
        prefix = vc.ips[vc.master].rsplit(".", 1)[0]
        with open(vc.base / "hosts", "a", encoding="utf-8") as hosts:
            for idx, name in enumerate(_INSTANCES):
                hosts.write(f"{prefix}.{100 + idx} {name}\n")
        vc.InitWithCli(["--enabled-disk-templates=diskless,file"])
        yield vc
    finally:
        if old is None:
            os.environ.pop("GANETI_OS_SEARCH_PATH", None)
        else:
            os.environ["GANETI_OS_SEARCH_PATH"] = old
        if vc is not None:
            vc.StopAllOrFail()


def _Config(vc) -> dict:
    return json.loads((vc.Root() / "var/lib/ganeti/config.data").read_text())


def _InstanceNames(vc) -> set[str]:
    return {inst["name"] for inst in _Config(vc)["instances"].values()}


def _Ok(vc, *args: str) -> str:
    proc = vc.Cmd(["gnt-instance", *args])
    assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return proc.stdout


def _Fails(vc, *args: str) -> str:
    """Run a command that must fail and change nothing; its stderr."""
    before = _Config(vc)
    proc = vc.Cmd(["gnt-instance", *args])
    assert proc.returncode != 0, (args, proc.stdout)
    assert "Traceback" not in proc.stderr
    after = _Config(vc)
    assert after["serial_no"] == before["serial_no"]
    assert after["instances"] == before["instances"]
    return proc.stderr


def _Status(vc, name: str) -> str:
    out = _Ok(vc, "list", "--no-headers", "-o", "status", name)
    return out.strip()


def _FileDisks(vc) -> list[pathlib.Path]:
    return sorted(p for p in vc.Root().rglob("*") if p.is_file()
                  and "file-storage" in p.parts)


def test_add_list_and_info(cluster):
    _Ok(cluster, "add", "-t", "diskless", "-o", "noop+default", "-n",
        cluster.master, "--no-ip-check", "--net", "0:mode=routed,ip=192.0.2.10",
        "instance1")
    _Ok(cluster, "add", "-t", "file", "-s", "1G", "-o", "noop+default",
        "-n", cluster.master, "--no-ip-check", "--net",
        "0:mode=routed,ip=192.0.2.11", "--no-start", "instance2")
    assert {"instance1", "instance2"} <= _InstanceNames(cluster)
    lines = _Ok(cluster, "list").splitlines()
    assert lines[0].split() == ["Instance", "Hypervisor", "OS", "Primary_node",
                                "Status", "Memory"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["instance1"][1:5] == ["fake", "noop+default", cluster.master,
                                      "running"]
    assert rows["instance2"][4:] == ["ADMIN_down", "-"]
    info = _Ok(cluster, "info", "instance2")
    assert "- Instance name: instance2\n" in info
    assert "  State: configured to be down, actual state is down\n" in info
    assert "  Disk template: file\n" in info
    assert "    - disk/0: file, size 1.0G\n" in info
    disks = _FileDisks(cluster)
    assert len(disks) == 1 and disks[0].stat().st_size == 1024 * 1024 * 1024
    info = _Ok(cluster, "info", "instance1")
    assert "      mode: routed\n" in info and "      IP: 192.0.2.10\n" in info


def test_shutdown_startup_reboot(cluster):
    _Ok(cluster, "shutdown", "--timeout=5", "instance1")
    assert _Status(cluster, "instance1") == "ADMIN_down"
    _Ok(cluster, "startup", "instance1")
    assert _Status(cluster, "instance1") == "running"
    for kind in ("soft", "hard", "full"):
        _Ok(cluster, "reboot", "--type", kind, "instance1")
        assert _Status(cluster, "instance1") == "running"


def test_mass_operations(cluster):
    out = _Ok(cluster, "shutdown", "--all", "--force-multiple")
    assert out.startswith("Submitted jobs ")
    assert {_Status(cluster, name) for name in ("instance1", "instance2")} == {
        "ADMIN_down"}
    _Ok(cluster, "startup", "--primary", "--force-multiple", cluster.master)
    assert {_Status(cluster, name) for name in ("instance1", "instance2")} == {
        "running"}
    _Ok(cluster, "shutdown", "instance2")


def test_console_show_cmd(cluster):
    # The fake hypervisor has no console and says so (a "msg" console).
    out = _Ok(cluster, "console", "--show-cmd", "instance1")
    assert "console" in out.lower() and out.endswith("\n")
    _Ok(cluster, "shutdown", "instance1")
    proc = cluster.Cmd(["gnt-instance", "console", "instance1"])
    assert proc.returncode == 1
    assert proc.stderr == ("Failure: command execution error:\n"
                           "Instance instance1 is not running, can't get"
                           " console\n")
    _Ok(cluster, "startup", "instance1")


def test_modify_backend_parameters(cluster):
    out = _Ok(cluster, "modify", "-B", "maxmem=256,minmem=256", "instance2")
    assert out.startswith("Modified instance instance2\n")
    info = _Ok(cluster, "info", "-s", "instance2")
    assert "    maxmem: 256\n" in info and "    minmem: 256\n" in info


def test_reinstall_and_rename(cluster):
    _Ok(cluster, "reinstall", "-f", "instance2")
    out = _Ok(cluster, "rename", "--no-ip-check", "instance2", "instance3")
    assert out == "Instance 'instance2' renamed to 'instance3'\n"
    names = _InstanceNames(cluster)
    assert "instance3" in names and "instance2" not in names


def test_bad_input_changes_nothing(cluster):
    err = _Fails(cluster, "add", "-t", "diskless", "-o", "nosuchos", "-n",
                 cluster.master, "--no-ip-check", "--net", _ROUTED, "instance4")
    assert "nosuchos" in err
    err = _Fails(cluster, "add", "-t", "file", "--disk", "0:size=lots",
                 "-o", "noop", "-n", cluster.master, "instance4")
    assert "Invalid disk size for disk 0" in err
    err = _Fails(cluster, "add", "-t", "diskless", "-o", "noop+default", "-n",
                 cluster.master, "--no-ip-check", "--net", _ROUTED, "instance1")
    assert "instance1" in err
    err = _Fails(cluster, "info", "nosuch")
    assert "nosuch" in err
    err = _Fails(cluster, "modify", "-B", "colour=red", "instance1")
    assert err == "Parameter Error: Unknown parameter 'colour'\n"


def test_remove(cluster):
    _Ok(cluster, "remove", "-f", "instance1")
    _Ok(cluster, "remove", "-f", "instance3")
    assert not ({"instance1", "instance3"} & _InstanceNames(cluster))
    assert _FileDisks(cluster) == []
    assert _Ok(cluster, "list", "--no-headers") == ""
