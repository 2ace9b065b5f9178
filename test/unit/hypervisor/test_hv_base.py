"""Tests for ganeti.hypervisor (the map) and hv_base (checks and defaults)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from ganeti import errors, hypervisor, objects
from ganeti.hypervisor import hv_base, hv_fake


class _MiniHv(hv_base.BaseHypervisor):
    """A driver with one parameter of each kind of check (no instances)."""

    NAME = "chroot"
    PARAMETERS = {
        "kernel_path": hv_base.REQ_FILE_CHECK,
        "initrd_path": hv_base.OPT_FILE_CHECK,
        "chroot_dir": hv_base.OPT_DIR_CHECK,
        "migration_port": hv_base.REQ_NET_PORT_CHECK,
        "cpu_mask": hv_base.OPT_CPU_MASK_CHECK,
        "boot_order": hv_base.ParamInSet(True, ("disk", "cdrom", "network")),
        "acpi": hv_base.NO_CHECK,
        "image": hv_base.OPT_FILE_OR_URL_CHECK,
    }

    def __init__(self, free_memory: int = 1000) -> None:
        self._free = free_memory

    def StartInstance(self, instance: Any, block_devices: Any,
                      startup_paused: bool) -> None:
        raise errors.HypervisorError("not used")

    def StopInstance(self, instance: Any, force: bool = False, retry: bool = False,
                     name: str | None = None, timeout: float | None = None) -> None:
        raise errors.HypervisorError("not used")

    def RebootInstance(self, instance: Any) -> None:
        raise errors.HypervisorError("not used")

    def ListInstances(self, hvparams: Any = None) -> list[str]:
        return []

    def GetInstanceInfo(self, instance_name: str, hvparams: Any = None) -> None:
        return None

    def GetAllInstancesInfo(self, hvparams: Any = None) -> list[Any]:
        return []

    def GetNodeInfo(self, hvparams: Any = None) -> dict[str, Any]:
        return {"memory_free": self._free}

    @classmethod
    def GetInstanceConsole(cls, instance: Any, primary_node: Any, node_group: Any,
                           hvparams: Any, beparams: Any) -> hv_base.InstanceConsole:
        return hv_base.InstanceConsole(instance=instance.name, kind="msg",
                                       message="none")

    def Verify(self, hvparams: Any = None) -> str | None:
        return None


@pytest.fixture
def params(tmp_path: Path) -> dict[str, Any]:
    kernel = tmp_path / "vmlinuz"
    kernel.write_text("kernel")
    return {"kernel_path": str(kernel), "initrd_path": "", "chroot_dir": "",
            "migration_port": 8102, "cpu_mask": "all", "boot_order": "disk",
            "acpi": False, "image": ""}


def test_map_gives_drivers_and_clear_errors() -> None:
    assert hypervisor.GetHypervisorClass("fake") is hv_fake.FakeHypervisor
    assert "fake" in hypervisor.GetAvailableHypervisors()
    with pytest.raises(errors.HypervisorError,
                       match="Unknown hypervisor type 'vmware'"):
        hypervisor.GetHypervisorClass("vmware")
    for name in ("xen-pvm", "xen-hvm", "lxc", "chroot"):
        with pytest.raises(errors.HypervisorError) as info:
            hypervisor.GetHypervisor(name)
        assert str(info.value).startswith(
            f"Hypervisor {name} is not available on this node")
        assert "implemented" not in str(info.value)


def test_a_driver_that_cannot_load_is_unavailable(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(hypervisor._HYPERVISOR_MAP, "lxc",
                        ("ganeti.hypervisor.hv_no_such_driver", "LXCHypervisor"))
    hypervisor.ResetCache()
    try:
        for _ in range(2):  # the failure is remembered, with the same message
            with pytest.raises(errors.HypervisorError,
                               match="Hypervisor lxc is not available on this node:"
                                     " No module named"):
                hypervisor.GetHypervisorClass("lxc")
    finally:
        hypervisor.ResetCache()


def test_syntax_check_accepts_good_and_names_the_bad_parameter(
        params: dict[str, Any]) -> None:
    _MiniHv.CheckParameterSyntax(params)
    bad_values = {
        "kernel_path": ("relative/vmlinuz", "must be an absolute normalized path"),
        "migration_port": (70000, "invalid port number"),
        "cpu_mask": ("1-0", "CPU mask definition is not well-formed"),
        "boot_order": ("floppy", "The value must be one of: disk, cdrom, network"),
        "image": ("not a url", "must be an absolute normalized path or a URL"),
    }
    for name, (value, message) in bad_values.items():
        with pytest.raises(errors.HypervisorError) as info:
            _MiniHv.CheckParameterSyntax(dict(params, **{name: value}))
        assert str(info.value) == (f"Parameter '{name}' fails syntax check:"
                                   f" {message} (current value: '{value}')")


def test_syntax_check_unknown_missing_and_required(params: dict[str, Any]) -> None:
    with pytest.raises(errors.HypervisorError,
                       match="Parameter 'vnc_port' is not supported"):
        _MiniHv.CheckParameterSyntax(dict(params, vnc_port=1))
    del params["acpi"]
    with pytest.raises(errors.HypervisorError, match="Parameter 'acpi' is missing"):
        _MiniHv.CheckParameterSyntax(params)
    params["acpi"] = True
    params["kernel_path"] = ""
    with pytest.raises(errors.HypervisorError,
                       match="Parameter 'kernel_path' is required but is"
                             " currently not defined"):
        _MiniHv.CheckParameterSyntax(params)


def test_node_validation_looks_at_files(tmp_path: Path,
                                        params: dict[str, Any]) -> None:
    _MiniHv.ValidateParameters(params)
    missing = str(tmp_path / "no-such-initrd")
    with pytest.raises(errors.HypervisorError) as info:
        _MiniHv.ValidateParameters(dict(params, initrd_path=missing))
    assert str(info.value) == (f"Parameter 'initrd_path' fails validation: not"
                               f" found or not a file (current value: '{missing}')")
    with pytest.raises(errors.HypervisorError, match="not found or not a directory"):
        _MiniHv.ValidateParameters(dict(params, chroot_dir=params["kernel_path"]))
    _MiniHv.ValidateParameters(dict(params, chroot_dir=str(tmp_path),
                                    image="http://images.example.com/a.img"))


def test_cpu_masks() -> None:
    assert hv_base.ParseCpuMask("0-2,5") == [0, 1, 2, 5]
    assert hv_base.ParseCpuMask("all") == [hv_base.CPU_PINNING_ALL_VAL]
    assert hv_base.ParseMultiCpuMask("0-1:all:3") == [[0, 1], [-1], [3]]
    for bad in ("3-1", "a", "1,,2"):
        with pytest.raises(errors.ParseError):
            hv_base.ParseCpuMask(bad)


def test_migration_defaults_follow_can_migrate() -> None:
    hv = _MiniHv()
    inst = objects.Instance(name="i1", beparams={}, hvparams={})
    calls = [lambda: hv.MigrationInfo(inst),
             lambda: hv.AcceptInstance(inst, "", "192.0.2.1"),
             lambda: hv.MigrateInstance("c", inst, "192.0.2.1", True),
             lambda: hv.FinalizeMigrationDst(inst, "", True),
             lambda: hv.FinalizeMigrationSource(inst, True, True),
             lambda: hv.GetMigrationStatus(inst)]
    for call in calls:
        with pytest.raises(errors.HypervisorError,
                           match="Migration not supported by this hypervisor"):
            call()

    class _Migrating(_MiniHv):
        CAN_MIGRATE = True

    migrating = _Migrating()
    assert migrating.MigrationInfo(inst) == ""
    migrating.AcceptInstance(inst, "", "192.0.2.1")
    migrating.FinalizeMigrationSource(inst, True, True)


def test_hotplug_balloon_powercycle_are_refused_by_default() -> None:
    hv = _MiniHv()
    inst = objects.Instance(name="i1")
    with pytest.raises(errors.HotplugError, match="Hotplug is not supported"):
        hv.HotplugSupported(inst)
    with pytest.raises(errors.HotplugError):
        hv.HotAddDevice(inst, "disk", None, None, 0)
    with pytest.raises(errors.HypervisorError, match="ballooning is not supported"):
        hv.BalloonInstanceMemory(inst, 128)
    with pytest.raises(errors.HypervisorError, match="Power-cycling"):
        hv.PowercycleNode()


def test_startup_memory_between_minmem_and_maxmem() -> None:
    def _Inst(minmem: int, maxmem: int) -> objects.Instance:
        return objects.Instance(name="i1", hvparams={},
                                beparams={"minmem": minmem, "maxmem": maxmem})

    assert _MiniHv(free_memory=1000)._InstanceStartupMemory(_Inst(128, 512)) == 512
    assert _MiniHv(free_memory=300)._InstanceStartupMemory(_Inst(128, 512)) == 300
    assert _MiniHv(free_memory=50)._InstanceStartupMemory(_Inst(128, 512)) == 128
    with pytest.raises(errors.HypervisorError, match="no valid memory parameters"):
        _MiniHv()._InstanceStartupMemory(objects.Instance(name="x", beparams={}))


def test_linux_node_info(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    cpuinfo = tmp_path / "cpuinfo"
    meminfo.write_text("MemTotal: 4096000 kB\nMemFree: 1024000 kB\n"
                       "Buffers: 10240 kB\nCached: 102400 kB\nActive: 512000 kB\n"
                       "SwapTotal: 0 kB\n")
    cpuinfo.write_text("".join(f"processor\t: {i}\nflags\t: fpu\n\n"
                               for i in range(4)))
    assert hv_base.GetLinuxNodeInfo(str(meminfo), str(cpuinfo)) == {
        "memory_total": 4000, "memory_free": 1000 + 10 + 100, "memory_dom0": 500,
        "cpu_total": 4, "cpu_dom0": 4, "cpu_nodes": 1, "cpu_sockets": 1}
    real = hv_base.GetLinuxNodeInfo()
    assert real["memory_total"] > 0 and real["cpu_total"] == os.cpu_count()
    with pytest.raises(errors.HypervisorError, match="Failed to list node info"):
        hv_base.GetLinuxNodeInfo(str(tmp_path / "missing"), str(cpuinfo))
    meminfo.write_text("MemTotal: lots kB\n")
    with pytest.raises(errors.HypervisorError, match="Failed to compute memory"):
        hv_base.GetLinuxNodeInfo(str(meminfo), str(cpuinfo))


def test_console_and_migration_status_values() -> None:
    console = hv_base.InstanceConsole(instance="i1", kind="vnc", host="node1",
                                      port=5901, display=1)
    console.Validate()
    assert hv_base.InstanceConsole.FromDict(console.ToDict()) == console
    with pytest.raises(errors.HypervisorError, match="lacks host, user, command"):
        hv_base.InstanceConsole(instance="i1", kind="ssh").Validate()
    with pytest.raises(errors.HypervisorError, match="Unknown console kind"):
        hv_base.InstanceConsole(instance="i1", kind="telnet").Validate()
    status = hv_base.MigrationStatus(status="active", transferred_ram=10,
                                     total_ram=100)
    assert hv_base.MigrationStatus.FromDict(status.ToDict()) == status


def test_instance_names() -> None:
    assert hv_base.CheckInstanceName("web-1.example.com") == "web-1.example.com"
    for bad in ("", ".", "..", "../x", "a/b", ".hidden", "a b", "x" * 256, None):
        with pytest.raises(errors.HypervisorError, match="Invalid instance name"):
            hv_base.CheckInstanceName(bad)


def test_base_class_is_abstract() -> None:
    with pytest.raises(TypeError):
        hv_base.BaseHypervisor()  # type: ignore[abstract]


def test_configure_nic_runs_the_script_with_ganetis_environment(
        tmp_path: Path) -> None:
    dump = tmp_path / "env"
    script = tmp_path / "kvm-ifup"
    script.write_text(f"#!/bin/sh\nenv > {dump}\n")
    script.chmod(0o755)
    inst = objects.Instance(name="i1", tags=["b", "a"])
    nic = objects.NIC(mac="aa:00:00:11:22:33", ip="192.0.2.10", uuid="nic-uuid",
                      nicparams={"mode": "bridged", "link": "br0", "vlan": ""})
    hv_base.ConfigureNIC([str(script)], inst, 0, nic, "tap0")
    env = dict(line.split("=", 1) for line in dump.read_text().splitlines()
               if "=" in line)
    assert {key: env.get(key) for key in ("INSTANCE", "MAC", "MODE", "INTERFACE",
                                          "INTERFACE_INDEX", "INTERFACE_UUID",
                                          "TAGS", "IP", "LINK", "BRIDGE")} == {
        "INSTANCE": "i1", "MAC": "aa:00:00:11:22:33", "MODE": "bridged",
        "INTERFACE": "tap0", "INTERFACE_INDEX": "0", "INTERFACE_UUID": "nic-uuid",
        "TAGS": "a b", "IP": "192.0.2.10", "LINK": "br0", "BRIDGE": "br0"}
    assert "VLAN" not in env
    script.write_text("#!/bin/sh\necho no bridge >&2\nexit 3\n")
    with pytest.raises(errors.HypervisorError,
                       match="Failed to configure interface tap0: .*no bridge"):
        hv_base.ConfigureNIC([str(script)], inst, 0, nic, "tap0")
