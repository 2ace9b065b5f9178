"""Tests of ganeti.backend.os: OS definitions run by noded, per the seed page.

The definitions under test/data/os were written from ganeti-os-interface(7)
alone (test/data/os-scripts/testos.sh): every run prints its environment
and working directory to stderr, i.e. into the OS log, and create/rename
write a marker line at the start of the first disk. Disks here are real
sparse files in the test's directory.
"""

from __future__ import annotations

import glob
import os
import re
import tarfile
from pathlib import Path
from typing import Any

import pytest

from ganeti import backend, objects, osdef, pathutils
from ganeti.backend import RPCFail
from ganeti.backend import os as bos

PROCS = backend.LoadAll()
TEST_OS_DIR = str(Path(__file__).resolve().parents[2] / "data" / "os")
DISK_SIZE = 4 * 1024 * 1024


@pytest.fixture(autouse=True)
def os_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Search test/data/os only; OS logs go below the test's directory.

    File disks below the test's directory are allowed storage paths, so
    that the real storage code finds them (backend.blockdev.OpenRealBD).
    """
    monkeypatch.setattr(pathutils, "OS_SEARCH_PATH", [TEST_OS_DIR])
    log_dir = tmp_path / "log-os"
    monkeypatch.setattr(pathutils, "LOG_OS_DIR", str(log_dir))
    (tmp_path / "storage-paths").write_text(f"{tmp_path / 'disks'}\n")
    monkeypatch.setattr(pathutils, "FILE_STORAGE_PATHS_FILE",
                        str(tmp_path / "storage-paths"))
    return log_dir


def _Disk(tmp_path: Path, idx: int = 0, content: bytes = b"") -> tuple[Any, str, None]:
    (tmp_path / "disks").mkdir(exist_ok=True)
    path = tmp_path / "disks" / f"disk{idx}"
    with open(path, "wb") as handle:
        handle.write(content)
        handle.truncate(DISK_SIZE)
    disk = objects.Disk(dev_type="file", logical_id=["loop", str(path)],
                        size=DISK_SIZE // (1024 * 1024), mode="rw",
                        uuid=f"disk-uuid-{idx}", name=f"data{idx}" if idx else None)
    return disk, str(path), None


def _Instance(os_name: str = "api20+default", disks: list[Any] | None = None,
              nics: list[objects.NIC] | None = None,
              osparams: dict[str, Any] | None = None) -> objects.Instance:
    """An instance as noded rebuilds it from an RPC dict."""
    idict = objects.Instance(
        name="inst1.example.com", uuid="inst-uuid", os=os_name, hypervisor="kvm",
        primary_node="node1-uuid", ctime=1.5, mtime=2.5,
        hvparams={"disk_type": "paravirtual", "nic_type": "e1000"},
        beparams={"maxmem": 128, "vcpus": 1}, osparams=osparams or {},
        nics=nics or [], disks=[d.uuid for d in disks or []]).ToDict(runtime=True)
    idict["disks_info"] = [d.ToDict() for d in disks or []]
    idict["secondary_nodes"] = []
    return bos.InstanceFromRpc(idict)


def _Logs(log_dir: Path, pattern: str = "*") -> list[str]:
    return sorted(glob.glob(str(log_dir / pattern)))


def _LoggedEnv(logfile: str) -> dict[str, str]:
    """The environment the test script printed into its log."""
    env = {}
    for line in Path(logfile).read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            env[key] = value
    return env


def _Marker(path: str) -> str:
    with open(path, "rb") as handle:
        return handle.read(200).split(b"\n", 1)[0].rstrip(b"\0").decode()


# --- definitions and diagnose --------------------------------------------------


def test_diagnose_reports_every_definition_with_its_reason() -> None:
    rows = {row[0]: row for row in PROCS["os_diagnose"]()}
    assert sorted(rows) == ["api10", "api15", "api20", "broken-api",
                            "broken-missing", "params", "untrusted", "variants"]
    for name, row in rows.items():
        assert len(row) == 8
        assert row[1] == os.path.join(TEST_OS_DIR, name)
    assert rows["api10"][2:] == [True, "", [], [], [10], True]
    assert rows["api15"][4] == ["default"] and rows["api15"][6] == [15, 10]
    assert rows["variants"][4] == ["default", "minimal", "full"]
    assert rows["params"][5] == [
        ["dhcp", "Whether to enable (yes) or disable (no) dhcp"],
        ["fail", "If yes, the create script fails on purpose"]]
    assert rows["untrusted"][2] is True and rows["untrusted"][7] is False
    assert rows["broken-missing"][2] is False
    assert "'rename'" in rows["broken-missing"][3]
    assert "missing" in rows["broken-missing"][3]
    assert rows["broken-api"][2] is False
    assert "can't be converted to integer" in rows["broken-api"][3]
    assert "twenty" in rows["broken-api"][3]


def test_diagnose_reports_duplicates_and_old_versions(tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    (extra / "api10").mkdir(parents=True)
    (extra / "api10" / "ganeti_api_version").write_text("5\n")
    (extra / "README").write_text("not an OS\n")
    (extra / ".hidden").mkdir()
    rows = bos.DiagnoseOS([TEST_OS_DIR, str(extra), str(tmp_path / "missing")])
    names = [row[0] for row in rows]
    assert names.count("api10") == 2 and ".hidden" not in names
    first, second = [row for row in rows if row[0] == "api10"]
    assert first[2] is True and second[2] is False
    assert "API version mismatch" in second[3] and "found 5" in second[3]
    # Plain files beside the definitions are no OS (Ganeti listed them as
    # broken ones).
    assert "README" not in names


def test_search_path_order_decides_which_definition_is_used(tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "api10").mkdir()
    monkeypatch.setattr(pathutils, "OS_SEARCH_PATH", [str(tmp_path), TEST_OS_DIR])
    with pytest.raises(RPCFail, match="ganeti_api_version"):
        bos.OSFromDisk("api10")
    monkeypatch.setattr(pathutils, "OS_SEARCH_PATH", [TEST_OS_DIR, str(tmp_path)])
    assert bos.OSFromDisk("api10+whatever").path == os.path.join(TEST_OS_DIR, "api10")


def test_unknown_os_is_a_clear_error() -> None:
    with pytest.raises(RPCFail, match="Directory for OS nosuch not found"):
        bos.OSFromDisk("nosuch+default")
    for bad in ("../etc", "", "."):
        assert not osdef.LoadOS(bad, [TEST_OS_DIR]).status


def test_os_without_any_create_script_is_invalid(tmp_path: Path) -> None:
    os_dir = tmp_path / "nocreate"
    os_dir.mkdir()
    (os_dir / "ganeti_api_version").write_text("10\n")
    for script in ("import", "export", "rename"):
        (os_dir / script).write_text("#!/bin/sh\n")
        (os_dir / script).chmod(0o755)
    result = osdef.LoadOS("nocreate", [str(tmp_path)])
    assert not result.status and "'create'" in result.diagnose
    (os_dir / "create").write_text("#!/bin/sh\n")
    assert "not executable" in osdef.LoadOS("nocreate", [str(tmp_path)]).diagnose


# --- validation (verify parameters) ----------------------------------------------


def test_validate_runs_verify_with_the_parameters() -> None:
    validate = PROCS["os_validate"]
    assert validate(True, "params", ["parameters"], {"dhcp": "yes"}, False) is True
    with pytest.raises(RPCFail) as err:
        validate(True, "params", ["parameters"], {"dhcp": "maybe"}, False)
    assert "OS validation script failed" in str(err.value)
    assert "Invalid value 'maybe'" in str(err.value)


def test_validate_refuses_undeclared_parameters_and_checks() -> None:
    with pytest.raises(RPCFail, match="not supported by the OS params: colour"):
        bos.ValidateOS(True, "params", ["parameters"], {"colour": "red"}, False)
    with pytest.raises(RPCFail, match="Unknown checks required for OS params: x"):
        bos.ValidateOS(True, "params", ["x"], {}, False)


def test_validate_missing_os_depends_on_required() -> None:
    assert bos.ValidateOS(False, "nosuch", ["parameters"], {}, False) is False
    with pytest.raises(RPCFail, match="nosuch not found"):
        bos.ValidateOS(True, "nosuch", ["parameters"], {}, False)


def test_validate_checks_variants_unless_forced() -> None:
    with pytest.raises(RPCFail, match="must include a variant"):
        bos.ValidateOS(True, "variants", ["parameters"], {}, False)
    with pytest.raises(RPCFail, match="does not support variant 'exotic'"):
        bos.ValidateOS(True, "variants+exotic", ["parameters"], {}, False)
    with pytest.raises(RPCFail, match="does not support variants"):
        bos.ValidateOS(True, "params+x", ["parameters"], {}, False)
    assert bos.ValidateOS(True, "variants+exotic", ["parameters"], {}, True)


def test_validate_of_an_api15_os_runs_nothing() -> None:
    # API 15 has no verify script and no parameters: nothing to check.
    assert bos.ValidateOS(True, "api15+default", ["parameters"], {"x": 1}, False)


# --- create ------------------------------------------------------------------------


def _Nics() -> list[objects.NIC]:
    return [
        objects.NIC(mac="aa:00:00:00:00:01", uuid="nic-uuid-0", name="eth0",
                    ip="192.0.2.10", nicparams={"mode": "bridged", "link": "br0",
                                                "vlan": ""},
                    netinfo={"name": "net1", "uuid": "net-uuid",
                             "network": "192.0.2.0/24", "gateway": "192.0.2.1",
                             "tags": ["b", "a"]}),
        objects.NIC(mac="aa:00:00:00:00:02", uuid="nic-uuid-1",
                    nicparams={"mode": "routed", "link": "100", "vlan": ""}),
    ]


def test_create_gets_the_documented_environment(
        tmp_path: Path, os_paths: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GANETI_TEST_LEAK", "from-noded")
    disks = [_Disk(tmp_path, 0), _Disk(tmp_path, 1)]
    instance = _Instance("params", [d for d, _, _ in disks], _Nics(),
                         osparams={"dhcp": "no"})
    bos.InstanceOsAdd(instance, False, 1)
    (logfile,) = _Logs(os_paths)
    assert re.fullmatch(r"add-params-inst1\.example\.com-"
                        r"\d{4}-\d\d-\d\d_\d\d_\d\d_\d\d\.log",
                        os.path.basename(logfile))
    env = _LoggedEnv(logfile)
    expected = {
        "OS_API_VERSION": "20", "OS_NAME": "params", "INSTANCE_OS": "params",
        "OS_VARIANT": "", "INSTANCE_NAME": "inst1.example.com",
        "HYPERVISOR": "kvm", "DEBUG_LEVEL": "1", "OSP_DHCP": "no",
        "DISK_COUNT": "2", "DISK_0_PATH": disks[0][1], "DISK_0_ACCESS": "rw",
        "DISK_0_SIZE": "4", "DISK_0_UUID": "disk-uuid-0",
        "DISK_0_BACKEND_TYPE": "file:loop", "DISK_0_FRONTEND_TYPE": "paravirtual",
        "DISK_1_PATH": disks[1][1], "DISK_1_NAME": "data1",
        "NIC_COUNT": "2", "NIC_0_MAC": "aa:00:00:00:00:01", "NIC_0_IP": "192.0.2.10",
        "NIC_0_MODE": "bridged", "NIC_0_BRIDGE": "br0", "NIC_0_LINK": "br0",
        "NIC_0_NAME": "eth0", "NIC_0_UUID": "nic-uuid-0",
        "NIC_0_FRONTEND_TYPE": "e1000", "NIC_0_NETWORK_NAME": "net1",
        "NIC_0_NETWORK_SUBNET": "192.0.2.0/24", "NIC_0_NETWORK_GATEWAY": "192.0.2.1",
        "NIC_0_NETWORK_TAGS": "a b", "NIC_1_MODE": "routed", "NIC_1_LINK": "100",
        "INSTANCE_BE_maxmem": "128", "INSTANCE_HV_disk_type": "paravirtual",
        "PATH": "/sbin:/bin:/usr/sbin:/usr/bin",
    }
    assert {key: env.get(key) for key in expected} == expected
    # Only documented variables: the environment of noded does not leak,
    # BRIDGE exists only for bridged NICs, and nothing says "reinstall".
    assert "GANETI_TEST_LEAK" not in env and "NIC_1_BRIDGE" not in env
    assert "NIC_1_IP" not in env and "DISK_0_NAME" not in env
    assert "INSTANCE_REINSTALL" not in env and "OLD_INSTANCE_NAME" not in env
    text = Path(logfile).read_text()
    assert f"testos-cwd: {os.path.join(TEST_OS_DIR, 'params')}" in text
    assert _Marker(disks[0][1]) == "created inst1.example.com variant= reinstall=0"
    assert os.path.getsize(disks[0][1]) == DISK_SIZE


def test_reinstall_sets_instance_reinstall(tmp_path: Path, os_paths: Path) -> None:
    disks = [_Disk(tmp_path)]
    instance = _Instance("variants+minimal", [disks[0][0]])
    bos.InstanceOsAdd(instance, True, 0)
    env = _LoggedEnv(_Logs(os_paths)[0])
    assert env["INSTANCE_REINSTALL"] == "1" and env["OS_VARIANT"] == "minimal"
    assert env["DEBUG_LEVEL"] == "0"
    assert _Marker(disks[0][1]) == (
        "created inst1.example.com variant=minimal reinstall=1")


@pytest.mark.parametrize("os_name, api, variant", [
    ("api10", "10", ""), ("api15+default", "15", "default"),
    ("api20+default", "20", "default"), ("api10+x", "10", ""),
])
def test_api_version_is_the_highest_common_one(
        tmp_path: Path, os_paths: Path, os_name: str, api: str, variant: str) -> None:
    disks = [_Disk(tmp_path)]
    bos.InstanceOsAdd(_Instance(os_name, [disks[0][0]]), False, 0)
    env = _LoggedEnv(_Logs(os_paths)[0])
    assert (env["OS_API_VERSION"], env["OS_VARIANT"]) == (api, variant)


def test_missing_variant_is_refused_before_running(tmp_path: Path,
                                                   os_paths: Path) -> None:
    disks = [_Disk(tmp_path)]
    with pytest.raises(RPCFail, match="must include a variant.*default, minimal"):
        bos.InstanceOsAdd(_Instance("variants", [disks[0][0]]), False, 0)
    assert _Logs(os_paths) == [] and _Marker(disks[0][1]) == ""


def test_failing_create_reports_the_end_of_its_log(tmp_path: Path,
                                                   os_paths: Path) -> None:
    disks = [_Disk(tmp_path)]
    instance = _Instance("params", [disks[0][0]], osparams={"fail": "yes"})
    with pytest.raises(RPCFail) as err:
        bos.InstanceOsAdd(instance, False, 0)
    (logfile,) = _Logs(os_paths)
    message = str(err.value)
    assert message.startswith("OS create script failed (exited with exit code 1)")
    assert logfile in message and "create failed on request (fail=yes)" in message
    assert len(message.splitlines()) <= 21


def test_untrusted_os_cannot_run_on_the_node(tmp_path: Path) -> None:
    with pytest.raises(RPCFail, match="helper VM"):
        bos.InstanceOsAdd(_Instance("untrusted"), False, 0, block_devices=[])


def test_instance_os_add_rpc_checks_its_arguments(os_paths: Path) -> None:
    add = PROCS["instance_os_add"]
    with pytest.raises(RPCFail, match="instance_osp"):
        add("inst1", False, 0)
    with pytest.raises(RPCFail, match="takes 3 argument"):
        add({})
    idict = _Instance("api20+default").ToDict(runtime=True)
    with pytest.raises(RPCFail, match="debug level"):
        add(idict, False, "x")
    # A diskless instance needs no disk to be gathered.
    add(idict, False, 0)
    env = _LoggedEnv(_Logs(os_paths)[0])
    assert env["DISK_COUNT"] == "0" and env["INSTANCE_NAME"] == "inst1.example.com"


# --- rename, export, import --------------------------------------------------------


def test_rename_gets_old_and_new_name(tmp_path: Path, os_paths: Path) -> None:
    disks = [_Disk(tmp_path)]
    bos.RunRenameInstance(_Instance("api20+default", [disks[0][0]]),
                          "old.example.com", 0)
    (logfile,) = _Logs(os_paths)
    assert os.path.basename(logfile).startswith(
        "rename-api20+default-old.example.com-inst1.example.com-")
    env = _LoggedEnv(logfile)
    assert env["OLD_INSTANCE_NAME"] == "old.example.com"
    assert env["INSTANCE_NAME"] == "inst1.example.com"
    assert _Marker(disks[0][1]) == "renamed old.example.com to inst1.example.com"


def test_export_writes_the_dump_and_announces_its_size(tmp_path: Path,
                                                       os_paths: Path) -> None:
    disks = [_Disk(tmp_path, 0, b"zero"), _Disk(tmp_path, 1, b"one\n" * 100)]
    instance = _Instance("api20+default", [d for d, _, _ in disks])
    # Hold low descriptors so that the size pipe lands above 9, where a
    # plain "sh" cannot redirect (the script is run by dash).
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(12)]
    try:
        size = bos.RunOSExport(instance, 1, str(tmp_path / "dump"), 0)
    finally:
        for fd in held:
            os.close(fd)
    assert size == DISK_SIZE
    assert (tmp_path / "dump").read_bytes() == Path(disks[1][1]).read_bytes()
    (logfile,) = _Logs(os_paths, "export-*")
    assert "-inst1.example.com-1-" in os.path.basename(logfile)
    env = _LoggedEnv(logfile)
    assert env["EXPORT_INDEX"] == "1" and env["EXPORT_PATH"] == disks[1][1]
    assert env["EXPORT_DEVICE"] == disks[1][1] and env["EXP_SIZE_FD"] == "3"


def test_import_restores_a_dump(tmp_path: Path, os_paths: Path) -> None:
    disks = [_Disk(tmp_path)]
    (tmp_path / "dump").write_bytes(b"restored data\n")
    bos.RunOSImport(_Instance("api20+default", [disks[0][0]]), 0,
                    str(tmp_path / "dump"))
    assert _Marker(disks[0][1]) == "restored data"
    env = _LoggedEnv(_Logs(os_paths, "import-*")[0])
    assert env["IMPORT_DEVICE"] == disks[0][1] and env["IMPORT_INDEX"] == "0"


def test_export_of_a_missing_disk_is_refused(tmp_path: Path) -> None:
    disks = [_Disk(tmp_path)]
    with pytest.raises(RPCFail, match="has no disk 3"):
        bos.RunOSExport(_Instance("api20+default", [disks[0][0]]), 3,
                        str(tmp_path / "dump"))


def test_os_export_packs_definition_and_environment(tmp_path: Path) -> None:
    idict = _Instance("params").ToDict(runtime=True)
    package = PROCS["os_export"](idict, {"OS_SCRIPT": "create", "DEBUG_LEVEL": 1})
    try:
        with tarfile.open(package) as tar:
            names = tar.getnames()
            environment = tar.extractfile("./environment").read().decode()
    finally:
        os.unlink(package)
    assert "./os/create" in names and "./os/parameters.list" in names
    lines = environment.splitlines()
    assert "INSTANCE_NAME=inst1.example.com" in lines
    assert "OS_SCRIPT=create" in lines and "DEBUG_LEVEL=1" in lines


def test_disks_must_be_there(tmp_path: Path, os_paths: Path) -> None:
    disk, path, _ = _Disk(tmp_path)
    instance = _Instance("api20+default", [disk])
    assert [dev[1] for dev in bos.GatherDisks(instance)] == [path]
    os.unlink(path)
    with pytest.raises(RPCFail, match="Block device error"):
        bos.InstanceOsAdd(instance, False, 0)
    assert _Logs(os_paths) == []
    # The scripts can also be given the devices, e.g. by a caller that
    # gathered them already.
    bos.InstanceOsAdd(instance, False, 0, block_devices=[(disk, "/dev/null", None)])
    assert _LoggedEnv(_Logs(os_paths)[0])["DISK_0_PATH"] == "/dev/null"


def test_private_parameters_reach_the_scripts(tmp_path: Path, os_paths: Path) -> None:
    disk, _, _ = _Disk(tmp_path)
    idict = _Instance("params", [disk], osparams={"dhcp": "no"}).ToDict(runtime=True)
    idict["osparams_private"] = {"fail": "no"}
    bos.InstanceOsAdd(bos.InstanceFromRpc(idict), False, 0)
    env = _LoggedEnv(_Logs(os_paths)[0])
    assert (env["OSP_DHCP"], env["OSP_FAIL"]) == ("no", "no")
