"""The kvm driver against real qemu-system-x86_64 (TCG) and a tiny real guest.

Guests are 128 MB, boot the host's Debian kernel with the busybox initramfs
of test/support/guest.py and print a marker on the serial console about 5 s
after qemu starts. Every test kills the qemu processes it started (by pid,
found through the run directories) even when it fails, and removes the
bridge it created.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

from ganeti import defaults, errors, objects
from ganeti.hypervisor import hv_base
from ganeti.hypervisor.hv_kvm import KVMHypervisor, qmp, runtime
from support import guest

QEMU = shutil.which("qemu-system-x86_64")
if QEMU is None:
    pytest.skip("qemu-system-x86_64 is not installed (apt-get install"
                " qemu-system-x86)", allow_module_level=True)

BOOT_TIMEOUT = 60
NIC_UUID = "5b3e5d0c-1f0a-4b8e-9a53-6a1b2c3d4e5f"


@pytest.fixture(scope="module")
def kit():
    return guest.GetGuestKit()


def _FreePort() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Nodes:
    """Simulated nodes (one run directory each) and the qemus they start."""

    def __init__(self, base: str, kit: tuple[str, str]) -> None:
        self.base = base
        self.kit = kit
        self.drivers: list[KVMHypervisor] = []

    def Driver(self, node: str) -> KVMHypervisor:
        hv = KVMHypervisor(run_dir=os.path.join(self.base, node, "var/run/ganeti"))
        self.drivers.append(hv)
        return hv

    def Instance(self, name: str = "inst1.example.com", nics: list | None = None,
                 **hv_overrides: object) -> objects.Instance:
        hvp = dict(defaults.HVC_DEFAULTS["kvm"])
        hvp.update(guest.GuestHvparams(*self.kit))
        hvp["migration_port"] = _FreePort()
        hvp.update(hv_overrides)
        return objects.Instance(
            name=name, uuid="0c8a2b7e-51d4-4e0a-9c1b-3f6d2e8a9b10", hvparams=hvp,
            beparams={"maxmem": 128, "minmem": 128, "vcpus": 1},
            nics=nics or [], network_port=_FreePort())

    def KillAll(self) -> None:
        """Kill every qemu whose pid file is under our run directories."""
        for hv in self.drivers:
            for name in hv.paths.ListPidFiles():
                pid, info = runtime.InstancePidInfo(hv.paths, name)
                if info is not None:
                    os.kill(pid, signal.SIGKILL)


@pytest.fixture
def nodes(tmp_path, kit):
    result = Nodes(str(tmp_path), kit)
    yield result
    result.KillAll()


def _QmpStatus(hv: KVMHypervisor, name: str) -> str:
    return qmp.RunQmpCommand(hv.paths.QmpSocket(name), "query-status")["status"]


def _Files(hv: KVMHypervisor) -> list[str]:
    found = []
    for directory in (hv.paths.pids_dir, hv.paths.conf_dir, hv.paths.ctrl_dir,
                      hv.paths.nics_dir):
        found += os.listdir(directory)
    return found


def test_start_console_vnc_and_acpi_shutdown(nodes):
    hv = nodes.Driver("node1")
    inst = nodes.Instance(vnc_bind_address="127.0.0.1")
    hv.StartInstance(inst, [], False)
    assert hv.ListInstances() == [inst.name]
    with guest.SerialConsole(hv.paths.SerialSocket(inst.name)) as console:
        console.WaitFor(guest.MARKER, BOOT_TIMEOUT)
        assert console.Run("uname -r")[1] == os.path.basename(nodes.kit[0])[8:]
        assert _QmpStatus(hv, inst.name) == "running"
        name, pid, memory, vcpus, state, cpu_time = hv.GetInstanceInfo(inst.name)
        assert (name, memory, vcpus, state) == (inst.name, 128, 1,
                                                hv_base.HvInstanceState.RUNNING)
        assert cpu_time > 0
        with socket.create_connection(("127.0.0.1", inst.network_port), 5) as vnc:
            assert vnc.recv(12).startswith(b"RFB ")
        # The ACPI power button makes the guest power off; qemu exits.
        started = time.monotonic()
        hv.StopInstance(inst, timeout=30)
        assert time.monotonic() - started < 30
        console.WaitFor(guest.ACPI_MARKER, 5)
    assert hv.ListInstances() == [] and hv.GetInstanceInfo(inst.name) is None
    with pytest.raises(errors.HypervisorError, match="not running"):
        hv.StopInstance(inst)
    hv.CleanupInstance(inst.name)
    assert _Files(hv) == []


def test_fresh_driver_reboot_and_kill_behind_the_back(nodes):
    hv = nodes.Driver("node1")
    inst = nodes.Instance()
    hv.StartInstance(inst, [], False)
    first_pid = hv.GetInstanceInfo(inst.name)[1]
    # As after a node daemon restart: a new driver object finds the instance.
    fresh = nodes.Driver("node1")
    assert fresh.ListInstances() == [inst.name]
    assert fresh.GetInstanceInfo(inst.name)[1] == first_pid
    with guest.SerialConsole(fresh.paths.SerialSocket(inst.name)) as console:
        console.WaitFor(guest.MARKER, BOOT_TIMEOUT)
    fresh.RebootInstance(inst)
    second_pid = fresh.GetInstanceInfo(inst.name)[1]
    assert second_pid != first_pid
    with guest.SerialConsole(fresh.paths.SerialSocket(inst.name)) as console:
        console.WaitFor(guest.MARKER, BOOT_TIMEOUT)
    assert _QmpStatus(fresh, inst.name) == "running"
    os.kill(second_pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while fresh.GetInstanceInfo(inst.name) is not None:
        assert time.monotonic() < deadline, "killed qemu still reported running"
        time.sleep(0.05)
    assert fresh.ListInstances() == []
    fresh.CleanupInstance(inst.name)
    assert _Files(fresh) == []


def test_live_migration_between_two_nodes(nodes):
    src = nodes.Driver("node1")
    dst = nodes.Driver("node2")
    inst = nodes.Instance()
    src.StartInstance(inst, [], False)
    with guest.SerialConsole(src.paths.SerialSocket(inst.name)) as console:
        console.WaitFor(guest.MARKER, BOOT_TIMEOUT)
        assert console.Run("echo migrated-state > /tmp/state")[0] == 0
    info = src.MigrationInfo(inst)
    dst.AcceptInstance(inst, info, "127.0.0.1")
    assert _QmpStatus(dst, inst.name) == "inmigrate"
    inst.hvparams["migration_bandwidth"] = 1000
    src.MigrateInstance("cluster.example.com", inst, "127.0.0.1", True)
    deadline = time.monotonic() + 30
    while (status := src.GetMigrationStatus(inst)).status == "active":
        assert time.monotonic() < deadline, "migration did not finish"
        time.sleep(0.1)
    assert status.status == "completed"
    assert status.total_ram and status.transferred_ram
    dst.FinalizeMigrationDst(inst, info, True)
    src.FinalizeMigrationSource(inst, True, True)
    assert src.ListInstances() == [] and _Files(src) == []
    assert dst.ListInstances() == [inst.name]
    assert _QmpStatus(dst, inst.name) == "running"
    with guest.SerialConsole(dst.paths.SerialSocket(inst.name)) as console:
        assert console.Run("cat /tmp/state") == (0, "migrated-state")
    # The balloon still works on the destination (--runtime-memory).
    dst.BalloonInstanceMemory(inst, 100)
    deadline = time.monotonic() + 20
    while dst.GetInstanceInfo(inst.name)[2] != 100:
        assert time.monotonic() < deadline, "balloon did not shrink the guest"
        time.sleep(0.2)
    dst.StopInstance(inst, force=True)
    dst.CleanupInstance(inst.name)


def test_failed_migration_keeps_the_source_running(nodes):
    src = nodes.Driver("node1")
    dst = nodes.Driver("node2")
    inst = nodes.Instance()
    src.StartInstance(inst, [], True)  # paused: no need to boot the guest
    info = src.MigrationInfo(inst)
    dst.AcceptInstance(inst, info, "127.0.0.1")
    dst.FinalizeMigrationDst(inst, info, False)
    assert dst.ListInstances() == [] and _Files(dst) == []
    # Nobody listens any more: the migration fails, the source stays.
    src.MigrateInstance("cluster.example.com", inst, "127.0.0.1", False)
    deadline = time.monotonic() + 20
    while (status := src.GetMigrationStatus(inst)).status == "active":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert status.status == "failed"
    src.FinalizeMigrationSource(inst, False, False)
    assert src.ListInstances() == [inst.name]
    assert _QmpStatus(src, inst.name) == "running"
    src.StopInstance(inst, force=True)
    src.CleanupInstance(inst.name)


@pytest.fixture
def bridge():
    if os.geteuid() != 0 or not os.path.exists("/dev/net/tun"):
        pytest.skip("needs root and /dev/net/tun for tap devices")
    name = f"br-gnt-{os.getpid() % 100000}"
    subprocess.run(["ip", "link", "add", name, "type", "bridge"], check=True)
    try:
        subprocess.run(["ip", "link", "set", name, "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "link", "del", name], check=False)


def _BridgePorts(bridge: str) -> list[str]:
    return sorted(os.listdir(f"/sys/class/net/{bridge}/brif"))


def test_nic_on_isolated_bridge_and_file_disk(nodes, bridge, tmp_path):
    hv = nodes.Driver("node1")
    disk_file = tmp_path / "disk0"
    with open(disk_file, "wb") as fh:
        fh.truncate(64 * 1048576)
    nic = objects.NIC(mac="aa:00:00:5e:00:01", uuid=NIC_UUID,
                      nicparams={"mode": "bridged", "link": bridge})
    inst = nodes.Instance(nics=[nic])
    disk = {"dev_type": "file", "size": 64, "mode": "rw",
            "uuid": "932df160-7a22-4067-a566-7e0ca8386133"}
    hv.StartInstance(inst, [(disk, str(disk_file), None)], False)
    ports = _BridgePorts(bridge)
    assert len(ports) == 1
    tap = ports[0]
    assert runtime.ReadNicFiles(hv.paths, inst.name) == {0: tap}
    with open(f"/sys/class/net/{tap}/address") as fh:
        assert fh.read().startswith("fe:")
    with guest.SerialConsole(hv.paths.SerialSocket(inst.name)) as console:
        console.WaitFor(guest.MARKER, BOOT_TIMEOUT)
        assert re.search(r"GUEST-NIC eth0 aa:00:00:5e:00:01", console.output)
        assert re.search(r"GUEST-DISK vda 131072", console.output)
    hv.StopInstance(inst, force=True)
    hv.CleanupInstance(inst.name)
    assert _BridgePorts(bridge) == []
    assert not os.path.exists(f"/sys/class/net/{tap}")
    assert _Files(hv) == []


def test_nic_on_missing_bridge_fails_cleanly(nodes):
    if os.geteuid() != 0 or not os.path.exists("/dev/net/tun"):
        pytest.skip("needs root and /dev/net/tun for tap devices")
    hv = nodes.Driver("node1")
    nic = objects.NIC(mac="aa:00:00:5e:00:02", nicparams={
        "mode": "bridged", "link": "br-gnt-missing"})
    inst = nodes.Instance(nics=[nic])
    with pytest.raises(errors.HypervisorError, match="br-gnt-missing' does not exist"):
        hv.StartInstance(inst, [], False)
    assert hv.ListInstances() == [] and _Files(hv) == []


def test_hypervisor_contract(nodes):
    from support.hv_contract import CheckHypervisorContract

    port = _FreePort()

    def _MakeInstance(name: str) -> objects.Instance:
        inst = nodes.Instance(name=name, migration_port=port,
                              migration_bandwidth=1000)
        inst.hypervisor = "kvm"
        inst.beparams = {"maxmem": 128, "minmem": 112, "vcpus": 1}
        return inst

    CheckHypervisorContract(nodes.Driver("node1"), _MakeInstance,
                            migration_target=nodes.Driver("node2"),
                            wait_timeout=BOOT_TIMEOUT)


def test_routed_nic_routes_and_rules_are_set_and_removed(nodes):
    if os.geteuid() != 0 or not os.path.exists("/dev/net/tun"):
        pytest.skip("needs root and /dev/net/tun for tap devices")
    hv = nodes.Driver("node1")
    table = "4242"
    nic = objects.NIC(mac="aa:00:00:5e:00:03", ip="192.0.2.77",
                      nicparams={"mode": "routed", "link": table})
    inst = nodes.Instance(nics=[nic])
    hv.StartInstance(inst, [], True)  # paused: the host side is what we check
    try:
        tap = runtime.ReadNicFiles(hv.paths, inst.name)[0]
        rules = subprocess.run(["ip", "rule", "show"], capture_output=True,
                               text=True, check=True).stdout
        assert re.search(rf"iif {tap} lookup {table}", rules), rules
        routes = subprocess.run(["ip", "route", "show", "table", table],
                                capture_output=True, text=True, check=True).stdout
        assert f"192.0.2.77 dev {tap} proto static" in routes
        with open(f"/proc/sys/net/ipv4/conf/{tap}/proxy_arp") as fh:
            assert fh.read().strip() == "1"
    finally:
        hv.StopInstance(inst, force=True)
        hv.CleanupInstance(inst.name)
    rules = subprocess.run(["ip", "rule", "show"], capture_output=True, text=True,
                           check=True).stdout
    assert f"lookup {table}" not in rules
