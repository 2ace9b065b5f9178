"""Unit tests of the kvm hypervisor driver: no qemu is started.

Command line building, the runtime file, parameter checks, the QMP client
(against a small QMP server on a real unix socket), pid-file detection
(against real processes that carry a qemu-like command line), NIC
environments and consoles.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from ganeti import defaults, errors, objects
from ganeti.hypervisor import hv_base
from ganeti.hypervisor.hv_kvm import KVMHypervisor, SerialConsoleCommand
from ganeti.hypervisor.hv_kvm import BuildInstanceConsole
from ganeti.hypervisor.hv_kvm import cmdline as kc
from ganeti.hypervisor.hv_kvm import ifup, netdev, qmp, runtime

DISK_UUID = "932df160-7a22-4067-a566-7e0ca8386133"
NIC_UUID = "5b3e5d0c-1f0a-4b8e-9a53-6a1b2c3d4e5f"


def _Hvparams(**overrides: object) -> dict[str, object]:
    hvp = dict(defaults.HVC_DEFAULTS["kvm"])
    hvp.update({"kernel_path": "/boot/vmlinuz", "initrd_path": "/boot/initrd",
                "kvm_path": "/usr/bin/qemu-system-x86_64"})
    hvp.update(overrides)
    return hvp


def _Instance(name: str = "inst1.example.com", nics: int = 1,
              **hv_overrides: object) -> objects.Instance:
    nic_list = [objects.NIC(mac=f"aa:00:00:00:00:0{i}", uuid=NIC_UUID if i == 0
                            else None, ip="192.0.2.10",
                            nicparams={"mode": "bridged", "link": "br-test"})
                for i in range(nics)]
    return objects.Instance(
        name=name, uuid="11111111-2222-3333-4444-555555555555",
        hvparams=_Hvparams(**hv_overrides), network_port=11005,
        beparams={"maxmem": 256, "minmem": 128, "vcpus": 2}, nics=nic_list,
        tags=["web", "prod"])


def _Disk(dev_type: str = "file", mode: str = "rw") -> dict[str, object]:
    return {"dev_type": dev_type, "size": 1024, "mode": mode, "uuid": DISK_UUID,
            "logical_id": ["loop", "/srv/disk0"], "params": {}}


def _Arg(cmd: list[str], option: str) -> str:
    return cmd[cmd.index(option) + 1]


# --- command line -------------------------------------------------------------


def test_tcg_accelerator_and_timer_fix_when_kvm_disabled():
    rt = kc.GenerateKvmRuntime(_Instance(kvm_flag="disabled"), [], False,
                               "pc-i440fx-7.2")
    assert _Arg(rt.cmd, "-machine") == "pc-i440fx-7.2,accel=tcg"
    assert _Arg(rt.cmd, "-append") == (
        "root=/dev/vda1 ro console=ttyS0,38400 no_timer_check")


def test_kvm_accelerator_without_timer_fix_when_enabled():
    rt = kc.GenerateKvmRuntime(_Instance(kvm_flag="enabled"), [], False, "pc")
    assert _Arg(rt.cmd, "-machine") == "pc,accel=kvm"
    assert "no_timer_check" not in _Arg(rt.cmd, "-append")


def test_unset_kvm_flag_keeps_the_binary_default():
    kvm = _Instance(kvm_flag="", kvm_path="/usr/bin/kvm")
    qemu = _Instance(kvm_flag="")
    assert _Arg(kc.GenerateKvmRuntime(kvm, [], False, "pc").cmd, "-machine") == "pc"
    assert not kc.UsesTcg(kvm.hvparams)
    # qemu-system-x86_64 defaults to TCG: the guest needs the timer fix.
    assert "no_timer_check" in _Arg(
        kc.GenerateKvmRuntime(qemu, [], False, "pc").cmd, "-append")


def test_basic_options_follow_instance_and_parameters():
    inst = _Instance(acpi=False, reboot_behavior="exit", machine_version="pc-q35-7.2",
                     cpu_cores=2, cpu_type="qemu64", kvm_extra="-rtc base=utc")
    rt = kc.GenerateKvmRuntime(inst, [], True, "pc")
    cmd = rt.cmd
    assert cmd[:7] == ["/usr/bin/qemu-system-x86_64", "-name", "inst1.example.com",
                       "-m", "256", "-smp", "2,cores=2"]
    for flag in ("-no-acpi", "-no-reboot", "-S"):
        assert flag in cmd
    assert _Arg(cmd, "-machine").startswith("pc-q35-7.2")
    assert _Arg(cmd, "-cpu") == "qemu64"
    assert _Arg(cmd, "-uuid") == inst.uuid
    assert cmd[-2:] == ["-rtc", "base=utc"]
    assert "virtio-balloon,id=balloon" in cmd


def test_acpi_and_reboot_defaults_add_nothing():
    cmd = kc.GenerateKvmRuntime(_Instance(), [], False, "pc").cmd
    assert "-no-acpi" not in cmd and "-no-reboot" not in cmd and "-S" not in cmd


def test_disks_and_nics_get_ids_and_pci_slots_after_reservations():
    inst = _Instance(nics=2)
    rt = kc.GenerateKvmRuntime(inst, [(_Disk(), "/run/disks/inst1:0", None)],
                               False, "pc")
    disk, link, uri = rt.disks[0]
    assert (link, uri) == ("/run/disks/inst1:0", None)
    assert disk.hvinfo == {"driver": "virtio-blk-pci", "id": "disk-932df160-7a22-4067",
                           "bus": "pci.0", "addr": "0xc"}
    assert rt.nics[0].hvinfo["id"] == "nic-5b3e5d0c-1f0a-4b8e"
    assert [n.hvinfo["addr"] for n in rt.nics] == ["0xd", "0xe"]
    assert rt.nics[1].hvinfo["id"] == "nic-1"
    # The instance's own NIC objects are not modified.
    assert inst.nics[0].hvinfo is None


def test_disk_options_use_the_link_and_device():
    rt = kc.GenerateKvmRuntime(_Instance(kernel_path=""), [(_Disk(), "/l/d0", None)],
                               False, "pc")
    opts = kc.BuildDiskOptions(rt.hvparams, rt.disks)
    assert opts == [
        "-boot", "c",
        "-drive", "file=/l/d0,format=raw,if=none,id=disk-932df160-7a22-4067",
        "-device",
        "virtio-blk-pci,id=disk-932df160-7a22-4067,bus=pci.0,addr=0xc,"
        "drive=disk-932df160-7a22-4067"]


def test_shared_disks_bypass_the_host_cache():
    rt = kc.GenerateKvmRuntime(_Instance(disk_cache="writeback"),
                               [(_Disk("sharedfile"), "/l/d0", None),
                                (_Disk("file"), "/l/d1", None)], False, "pc")
    opts = kc.BuildDiskOptions(rt.hvparams, rt.disks)
    drives = [opts[i + 1] for i, o in enumerate(opts) if o == "-drive"]
    assert ",cache=none" in drives[0]
    assert ",cache=writeback" in drives[1]


def test_ide_disks_use_if_option():
    rt = kc.GenerateKvmRuntime(_Instance(disk_type="ide"), [(_Disk(), "/l/d0", None)],
                               False, "pc")
    assert rt.disks[0][0].hvinfo == {}
    assert kc.BuildDiskOptions(rt.hvparams, rt.disks) == [
        "-drive", "file=/l/d0,format=raw,if=ide"]


def test_scsi_disks_get_controller_and_scsi_ids():
    rt = kc.GenerateKvmRuntime(_Instance(disk_type="scsi-hd"),
                               [(_Disk(), "/l/d0", None)], False, "pc")
    assert "lsi,id=scsi" in rt.cmd
    assert rt.disks[0][0].hvinfo["bus"] == "scsi.0"
    assert rt.disks[0][0].hvinfo["scsi-id"] == 0


def test_read_only_disk_is_refused():
    rt = kc.GenerateKvmRuntime(_Instance(), [(_Disk(mode="ro"), "/l/d0", None)],
                               False, "pc")
    with pytest.raises(errors.HypervisorError, match="read-only"):
        kc.BuildDiskOptions(rt.hvparams, rt.disks)


def test_nic_options_pass_tap_descriptors():
    rt = kc.GenerateKvmRuntime(_Instance(), [], False, "pc")
    opts = kc.BuildNicOptions(rt.hvparams, rt.nics, [kc.NicFds(7)])
    assert opts == ["-netdev", "tap,id=nic-5b3e5d0c-1f0a-4b8e,fd=7",
                    "-device", "virtio-net-pci,id=nic-5b3e5d0c-1f0a-4b8e,bus=pci.0,"
                    "addr=0xc,netdev=nic-5b3e5d0c-1f0a-4b8e,mac=aa:00:00:00:00:00"]
    assert kc.BuildNicOptions(rt.hvparams, [], []) == ["-net", "none"]


def test_cdrom_boot_and_network_boot():
    inst = _Instance(kernel_path="", boot_order="cdrom", cdrom_image_path="/iso/x.iso")
    rt = kc.GenerateKvmRuntime(inst, [], False, "pc")
    idx = rt.cmd.index("-boot")
    assert rt.cmd[idx:idx + 4] == ["-boot", "d", "-drive",
                                   "file=/iso/x.iso,media=cdrom,format=raw,if=ide"]
    net = kc.GenerateKvmRuntime(_Instance(kernel_path="", boot_order="network"),
                                [], False, "pc")
    assert _Arg(net.cmd, "-boot") == "n"
    assert "-kernel" not in net.cmd


@pytest.mark.parametrize("address,port,expected", [
    ("0.0.0.0", 5901, ":1"),
    ("192.0.2.1", 5910, "192.0.2.1:10"),
    ("2001:db8::1", 5902, "[2001:db8::1]:2"),
    ("/var/run/vnc", 0, "unix:/var/run/vnc/inst1.vnc"),
    ("192.0.2.1", 5900, None),
])
def test_vnc_option(address, port, expected):
    assert kc.VncOption({}, "inst1", port, address) == expected


def test_vnc_password_and_incoming_uri():
    assert kc.VncOption({"vnc_password_file": "/p"}, "i", 5901, "0.0.0.0") == \
        ":1,password=on"
    assert kc.FormatIncoming("192.0.2.1", 8102) == "tcp:192.0.2.1:8102"
    assert kc.FormatIncoming("2001:db8::2", 8102) == "tcp:[2001:db8::2]:8102"


# --- parameters ---------------------------------------------------------------


def test_parameters_are_exactly_ganetis():
    assert set(KVMHypervisor.PARAMETERS) == set(defaults.HVC_DEFAULTS["kvm"])
    KVMHypervisor.CheckParameterSyntax(dict(defaults.HVC_DEFAULTS["kvm"]))


@pytest.mark.parametrize("overrides,message", [
    ({"boot_order": "usb"}, "boot_order"),
    ({"kvm_flag": "maybe"}, "kvm_flag"),
    ({"disk_type": "floppy"}, "disk_type"),
    ({"migration_bandwidth": -1}, "migration_bandwidth"),
    ({"migration_port": 70000}, "migration_port"),
    ({"root_path": ""}, "root partition"),
    ({"serial_speed": 12345}, "serial console speed"),
    ({"vnc_x509_verify": True}, "vnc_x509_path"),
    ({"kernel_path": "", "boot_order": "cdrom"}, "cdrom"),
    ({"security_model": "user"}, "security domain"),
    ({"security_domain": "nobody"}, "security domain"),
    ({"spice_use_tls": True}, "spice_bind"),
    ({"cpu_mask": "0-x"}, "cpu_mask"),
    ({"no_such_param": 1}, "not supported"),
])
def test_bad_parameters_are_refused(overrides, message):
    hvp = dict(defaults.HVC_DEFAULTS["kvm"], **overrides)
    with pytest.raises(errors.HypervisorError, match=message):
        KVMHypervisor.CheckParameterSyntax(hvp)


def test_node_validation_checks_files_and_bind_address(tmp_path):
    hvp = _Hvparams(kvm_path=str(tmp_path / "no-kvm"), kernel_path="", initrd_path="")
    with pytest.raises(errors.HypervisorError, match="kvm_path"):
        KVMHypervisor.ValidateParameters(hvp)
    hvp = _Hvparams(kvm_path=sys.executable, kernel_path="", initrd_path="",
                    vnc_bind_address="not an address")
    with pytest.raises(errors.HypervisorError, match="VNC"):
        KVMHypervisor.ValidateParameters(hvp)
    hvp["vnc_bind_address"] = "127.0.0.1"
    KVMHypervisor.ValidateParameters(hvp)


# --- runtime file -------------------------------------------------------------


def test_runtime_round_trip(tmp_path):
    rt = kc.GenerateKvmRuntime(_Instance(), [(_Disk(), "/l/d0", "uri")], False, "pc")
    paths = runtime.KvmPaths(str(tmp_path))
    paths.EnsureDirs()
    runtime.WriteRuntime(paths, "inst1", runtime.SerializeRuntime(rt))
    text = runtime.ReadRuntime(paths, "inst1")
    assert json.loads(text)[0] == rt.cmd
    again = runtime.ParseRuntime(text)
    assert again.cmd == rt.cmd and again.hvparams == rt.hvparams
    assert again.nics[0].mac == "aa:00:00:00:00:00"
    assert again.nics[0].hvinfo == rt.nics[0].hvinfo
    assert [(d.uuid, link, uri) for d, link, uri in again.disks] == [
        (DISK_UUID, "/l/d0", "uri")]
    assert os.stat(paths.RuntimeFile("inst1")).st_mode & 0o777 == 0o600


def test_runtime_of_old_ganeti_without_disks_is_accepted():
    text = json.dumps([["/usr/bin/kvm", "-name", "x"], [{"mac": "aa:00:00:00:00:01"}],
                       {"acpi": True}])
    assert runtime.ParseRuntime(text).disks == []


@pytest.mark.parametrize("text", ["not json", "[]", '{"a": 1}', '[[1], [], {}]',
                                  '[["kvm"], [], []]'])
def test_invalid_runtime_is_a_clear_error(text):
    with pytest.raises(errors.HypervisorError, match="Invalid kvm runtime"):
        runtime.ParseRuntime(text)


def test_missing_runtime_file(tmp_path):
    paths = runtime.KvmPaths(str(tmp_path))
    with pytest.raises(errors.HypervisorError, match="Failed to load KVM runtime"):
        runtime.ReadRuntime(paths, "inst1")


# --- processes (a stand-in with a qemu-like command line) --------------------


@pytest.fixture
def fake_qemu(tmp_path):
    """Start processes that look like the qemu of an instance; kill them after."""
    procs: list[subprocess.Popen] = []

    def _Start(hv: KVMHypervisor, name: str) -> subprocess.Popen:
        pidfile = hv.paths.PidFile(name)
        proc = subprocess.Popen(
            [sys.executable, "-c",
             "import signal, sys, time; signal.signal(signal.SIGTERM,"
             " lambda *a: exit(0)); print('ready', flush=True); time.sleep(60)",
             "-name", name, "-m", "512", "-smp", "3", "-pidfile", pidfile],
            stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        # Only once its SIGTERM handler is installed does it act like qemu
        # (a loaded machine can take longer than any fixed sleep to get there).
        assert proc.stdout.readline() == "ready\n"
        with open(pidfile, "w") as fh:
            fh.write(f"{proc.pid}\n")
        return proc

    yield _Start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()


def test_running_instance_found_by_a_fresh_driver(tmp_path, fake_qemu):
    hv = KVMHypervisor(run_dir=str(tmp_path))
    proc = fake_qemu(hv, "inst1.example.com")
    fresh = KVMHypervisor(run_dir=str(tmp_path))
    assert fresh.ListInstances() == ["inst1.example.com"]
    name, pid, memory, vcpus, state, _ = fresh.GetInstanceInfo("inst1.example.com")
    assert (name, pid, memory, vcpus, state) == (
        "inst1.example.com", proc.pid, 512, 3, hv_base.HvInstanceState.RUNNING)
    assert [row[0] for row in fresh.GetAllInstancesInfo()] == ["inst1.example.com"]
    with pytest.raises(errors.HypervisorError, match="already running"):
        fresh.StartInstance(_Instance(kvm_path=sys.executable), [], False)


def test_stale_or_foreign_pid_file_is_not_running(tmp_path, fake_qemu):
    hv = KVMHypervisor(run_dir=str(tmp_path))
    other = KVMHypervisor(run_dir=str(tmp_path / "other-node"))
    fake_qemu(other, "inst1.example.com")
    # Our pid file names the other node's process: not our instance.
    with open(hv.paths.PidFile("inst1.example.com"), "w") as fh:
        fh.write(open(other.paths.PidFile("inst1.example.com")).read())
    with open(hv.paths.PidFile("inst2.example.com"), "w") as fh:
        fh.write(f"{os.getpid()}\n")
    with open(os.path.join(hv.paths.pids_dir, ".stray"), "w") as fh:
        fh.write(f"{os.getpid()}\n")
    assert hv.ListInstances() == []
    assert hv.GetAllInstancesInfo() == []
    assert hv.GetInstanceInfo("inst1.example.com") is None
    assert hv.GetInstanceInfo("inst2.example.com") is None


def test_force_stop_kills_and_cleanup_removes_files(tmp_path, fake_qemu):
    hv = KVMHypervisor(run_dir=str(tmp_path))
    inst = _Instance(nics=0)
    proc = fake_qemu(hv, inst.name)
    runtime.WriteRuntime(hv.paths, inst.name, runtime.SerializeRuntime(
        kc.GenerateKvmRuntime(inst, [], False, "pc")))
    with pytest.raises(errors.HypervisorError, match="Cannot cleanup a live"):
        hv.CleanupInstance(inst.name)
    hv.StopInstance(inst, force=True)
    assert proc.wait(timeout=5) == 0
    assert hv.ListInstances() == []
    hv.CleanupInstance(inst.name)
    for directory in (hv.paths.pids_dir, hv.paths.conf_dir, hv.paths.ctrl_dir):
        assert os.listdir(directory) == []


def test_soft_stop_without_qmp_kills_after_warning(tmp_path, fake_qemu):
    hv = KVMHypervisor(run_dir=str(tmp_path))
    inst = _Instance(nics=0)
    proc = fake_qemu(hv, inst.name)
    hv.StopInstance(inst, timeout=5)
    assert proc.wait(timeout=5) == 0


def test_stop_errors(tmp_path):
    hv = KVMHypervisor(run_dir=str(tmp_path))
    with pytest.raises(errors.HypervisorError, match="not running"):
        hv.StopInstance(_Instance())
    with pytest.raises(errors.HypervisorError, match="by name only"):
        hv.StopInstance(None, name="inst1.example.com")
    with pytest.raises(errors.HypervisorError, match="not running"):
        hv.RebootInstance(_Instance())
    with pytest.raises(errors.HypervisorError, match="not running"):
        hv.MigrateInstance("c", _Instance(), "192.0.2.2", True)
    with pytest.raises(errors.HypervisorError, match="Invalid instance name"):
        hv.CleanupInstance("../etc")


def test_start_with_missing_binary_leaves_nothing(tmp_path):
    hv = KVMHypervisor(run_dir=str(tmp_path))
    inst = _Instance(kvm_path=str(tmp_path / "missing-kvm"), kernel_path="",
                     initrd_path="")
    with pytest.raises(errors.HypervisorError, match="kvm_path"):
        hv.StartInstance(inst, [], False)
    assert os.listdir(hv.paths.conf_dir) == [] and os.listdir(hv.paths.pids_dir) == []


def test_failing_qemu_start_is_reported_and_cleaned(tmp_path):
    fake_kvm = tmp_path / "kvm"
    fake_kvm.write_text("#!/bin/sh\necho 'qemu: bad option' >&2\nexit 1\n")
    fake_kvm.chmod(0o755)
    hv = KVMHypervisor(run_dir=str(tmp_path / "run"))
    inst = _Instance(kvm_path=str(fake_kvm), kernel_path="", initrd_path="", nics=0)
    with pytest.raises(errors.HypervisorError, match="qemu: bad option"):
        hv.StartInstance(inst, [], False)
    assert os.listdir(hv.paths.conf_dir) == []


# --- QMP ----------------------------------------------------------------------


class FakeQmpServer:
    """A QMP endpoint on a real unix socket, answering from a table."""

    def __init__(self, path: str, answers: dict[str, object]) -> None:
        self.path = path
        self.answers = answers
        self.commands: list[tuple[str, object]] = []
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._cm = qmp.ShortSocketPath(path)
        short, _ = self._cm.__enter__()
        self._server.bind(short)
        self._server.listen(5)
        self._thread = threading.Thread(target=self._Serve, daemon=True)
        self._thread.start()

    def _Serve(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            with conn, conn.makefile("rwb") as fh:
                fh.write(b'{"QMP": {"version": {"qemu": {"major": 7}}}}\r\n')
                fh.flush()
                for line in fh:
                    req = json.loads(line)
                    name = req["execute"]
                    self.commands.append((name, req.get("arguments")))
                    if name == "sleep":
                        time.sleep(1)
                        continue
                    fh.write(b'{"event": "STOP", "data": {}}\r\n')
                    answer = self.answers.get(name, {})
                    if isinstance(answer, Exception):
                        reply = {"error": {"class": "GenericError",
                                           "desc": str(answer)}, "id": req["id"]}
                    else:
                        reply = {"return": answer, "id": req["id"]}
                    fh.write(json.dumps(reply).encode() + b"\r\n")
                    fh.flush()

    def Close(self) -> None:
        self._server.close()
        self._cm.__exit__(None, None, None)


@pytest.fixture
def qmp_server(tmp_path):
    servers = []

    def _Make(path: str, answers: dict[str, object]) -> FakeQmpServer:
        server = FakeQmpServer(path, answers)
        servers.append(server)
        return server

    yield _Make
    for server in servers:
        server.Close()


def test_qmp_execute_errors_and_events(tmp_path, qmp_server):
    path = str(tmp_path / "x.qmp")
    server = qmp_server(path, {"query-status": {"status": "running"},
                               "cont": ValueError("VM is not paused")})
    with qmp.QmpConnection(path) as conn:
        assert conn.version == {"major": 7}
        assert conn.Execute("query-status") == {"status": "running"}
        with pytest.raises(qmp.QmpCommandError, match="VM is not paused") as err:
            conn.Execute("cont")
        assert err.value.error_class == "GenericError"
        assert conn.WaitForEvent({"STOP"}, 1)["event"] == "STOP"
        with pytest.raises(errors.HypervisorError, match="Timeout"):
            conn.Execute("sleep", timeout=0.2)
    assert [c for c, _ in server.commands[:3]] == ["qmp_capabilities",
                                                    "query-status", "cont"]


def test_qmp_long_socket_path(tmp_path, qmp_server):
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    path = str(deep / "inst1.example.com.qmp")
    assert len(path) > qmp.MAX_UNIX_PATH
    qmp_server(path, {"query-kvm": {"enabled": False}})
    assert qmp.RunQmpCommand(path, "query-kvm") == {"enabled": False}


def test_qmp_nobody_listening(tmp_path):
    with pytest.raises(errors.HypervisorError, match="is the instance running"):
        qmp.RunQmpCommand(str(tmp_path / "none.qmp"), "query-status")


@pytest.mark.parametrize("raw,status", [
    ("active", "active"), ("setup", "active"), ("pre-switchover", "active"),
    ("completed", "completed"), ("failed", "failed"), ("cancelled", "cancelled"),
    ("none", "failed")])
def test_migration_status_mapping(tmp_path, qmp_server, raw, status):
    hv = KVMHypervisor(run_dir=str(tmp_path))
    inst = _Instance()
    qmp_server(hv.paths.QmpSocket(inst.name), {"query-migrate": {
        "status": raw, "ram": {"transferred": 2048, "total": 8192}}})
    result = hv.GetMigrationStatus(inst)
    assert result.status == status
    assert (result.transferred_ram, result.total_ram) == (2, 8)


def test_migrate_sends_limits_and_uri(tmp_path, qmp_server, fake_qemu):
    hv = KVMHypervisor(run_dir=str(tmp_path))
    inst = _Instance(migration_bandwidth=64, migration_downtime=50,
                     migration_caps="xbzrle:auto-converge", migration_port=9102)
    fake_qemu(hv, inst.name)
    server = qmp_server(hv.paths.QmpSocket(inst.name), {})
    hv.MigrateInstance("cluster", inst, "192.0.2.7", False)
    assert server.commands[1:] == [
        ("stop", None),
        ("migrate-set-parameters", {"max-bandwidth": 64 * 1048576,
                                    "downtime-limit": 50}),
        ("migrate-set-capabilities", {"capabilities": [
            {"capability": "xbzrle", "state": True},
            {"capability": "auto-converge", "state": True}]}),
        ("migrate", {"uri": "tcp:192.0.2.7:9102"})]


def test_balloon_and_info_through_qmp(tmp_path, qmp_server, fake_qemu):
    hv = KVMHypervisor(run_dir=str(tmp_path))
    inst = _Instance()
    fake_qemu(hv, inst.name)
    server = qmp_server(hv.paths.QmpSocket(inst.name), {
        "query-balloon": {"actual": 200 * 1048576},
        "query-cpus-fast": [{"cpu-index": 0}, {"cpu-index": 1}]})
    hv.BalloonInstanceMemory(inst, 200)
    assert ("balloon", {"value": 200 * 1048576}) in server.commands
    assert hv.GetInstanceInfo(inst.name)[2:4] == (200, 2)


# --- NICs and consoles --------------------------------------------------------


def test_nic_environment():
    inst = _Instance()
    nic = inst.nics[0]
    nic.name = "eth-web"
    nic.network = "net-uuid"
    nic.netinfo = {"name": "pub", "uuid": "net-uuid", "network": "192.0.2.0/24",
                   "gateway": "192.0.2.1", "tags": ["a"]}
    env = netdev.BuildNicEnv(inst, 0, nic, "tap3", vif_bridge="/etc/x")
    assert {key: env[key] for key in (
        "INSTANCE", "MAC", "MODE", "LINK", "BRIDGE", "IP", "INTERFACE",
        "INTERFACE_INDEX", "INTERFACE_UUID", "INTERFACE_NAME", "TAGS",
        "NETWORK_NAME", "NETWORK_SUBNET", "NETWORK_GATEWAY", "KVM_VIF_BRIDGE")} == {
        "INSTANCE": "inst1.example.com", "MAC": "aa:00:00:00:00:00",
        "MODE": "bridged", "LINK": "br-test", "BRIDGE": "br-test",
        "IP": "192.0.2.10", "INTERFACE": "tap3", "INTERFACE_INDEX": "0",
        "INTERFACE_UUID": NIC_UUID, "INTERFACE_NAME": "eth-web", "TAGS": "prod web",
        "NETWORK_NAME": "pub", "NETWORK_SUBNET": "192.0.2.0/24",
        "NETWORK_GATEWAY": "192.0.2.1", "KVM_VIF_BRIDGE": "/etc/x"}
    assert env["PATH"].endswith(":/sbin:/usr/sbin")


@pytest.mark.parametrize("vlan,expected", [
    ("", (None, [])), (".100", ("100", [])), ("100", ("100", [])),
    (":200:300", (None, ["200", "300"])), (".100:200", ("100", ["200"]))])
def test_vlan_syntax(vlan, expected):
    assert ifup.ParseVlan(vlan) == expected


def test_ifup_script_input_errors(tmp_path, capsys):
    assert ifup.Main(["ifup.py", "up", "tap0"], {}) == 1
    assert "MODE not specified" in capsys.readouterr().err
    assert ifup.Main(["ifup.py"], {}) == 1
    assert ifup.Main(["ifup.py", "up", "tap0"], {"MODE": "bridged",
                                                 "LINK": "no-such-br0"}) == 1
    assert "Bridge 'no-such-br0' does not exist" in capsys.readouterr().err


def test_ifup_runs_the_administrators_script(tmp_path):
    out = tmp_path / "out"
    script = tmp_path / "kvm-vif-bridge"
    script.write_text(f"#!/bin/sh\necho \"$1 $MODE $LINK\" > {out}\n")
    script.chmod(0o755)
    env = dict(os.environ, MODE="bridged", LINK="br9", KVM_VIF_BRIDGE=str(script))
    subprocess.run(netdev.KVM_IFUP + ["tap9"], env=env, check=True)
    assert out.read_text() == "tap9 bridged br9\n"


def test_serial_console_over_ssh(tmp_path):
    paths = runtime.KvmPaths(str(tmp_path))
    node = objects.Node(name="node1.example.com", ndparams={"ssh_port": 2222})
    group = objects.NodeGroup(name="default", ndparams={})
    console = BuildInstanceConsole(paths, _Instance(), node, group,
                                   _Hvparams())
    assert console.kind == "ssh" and console.host == "node1.example.com"
    assert console.user == "root"
    assert console.command == [
        "/usr/bin/socat", "STDIO,raw,echo=0,escape=0x1d",
        f"UNIX-CONNECT:{paths.SerialSocket('inst1.example.com')}"]
    console.Validate()


def test_vnc_and_message_consoles(tmp_path):
    paths = runtime.KvmPaths(str(tmp_path))
    node = objects.Node(name="node1")
    group = objects.NodeGroup(name="default")
    vnc = BuildInstanceConsole(paths, _Instance(), node, group, _Hvparams(
        serial_console=False, vnc_bind_address="192.0.2.5"))
    assert (vnc.kind, vnc.host, vnc.port, vnc.display) == ("vnc", "192.0.2.5",
                                                           11005, 5105)
    msg = BuildInstanceConsole(paths, _Instance(), node, group,
                               _Hvparams(serial_console=False))
    assert msg.kind == "msg" and "No serial shell" in msg.message


def test_console_command_for_long_socket_path():
    path = "/" + "x" * 120 + "/inst1.serial"
    cmd = SerialConsoleCommand(path)
    assert cmd[:2] == ["sh", "-c"]
    assert "UNIX-CONNECT:inst1.serial" in cmd[2]


def test_tap_device_is_created_and_vanishes(tmp_path):
    if os.geteuid() != 0 or not os.path.exists(netdev.TUN_DEVICE):
        pytest.skip("needs root and /dev/net/tun")
    name, fd = netdev.OpenTap()
    try:
        assert os.path.isdir(f"/sys/class/net/{name}")
    finally:
        os.close(fd)
    assert not os.path.exists(f"/sys/class/net/{name}")
