"""The pieces of `make demo` that need no daemons: the guest kit, the image
for the image OS, the kvm parameters, the node environment and the killing
of the demo's qemu processes by their pid files."""

from __future__ import annotations

import gzip
import os
import struct
import subprocess
import sys
import time

import pytest

from ganeti import errors
from ganeti.hypervisor.hv_kvm import runtime as kvm_runtime
from ganeti.tools import demo, guest_kit


def _Ext2Magic(path: str) -> int:
    with open(path, "rb") as fh:
        fh.seek(1024 + 56)
        return struct.unpack("<H", fh.read(2))[0]


def test_make_image_writes_ext2_of_the_size(tmp_path):
    image = tmp_path / "images" / "demo.img"
    how = demo.MakeImage(str(image), size_mib=4)
    assert image.stat().st_size == 4 * 1024 * 1024
    if how.startswith("mke2fs"):
        assert _Ext2Magic(str(image)) == 0xEF53
        assert (tmp_path / "images" / "content" / "hello.txt").read_text().startswith(
            "Hello")


def test_make_image_bad_target_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(errors.CommandError, match="Cannot make the demo image"):
        demo.MakeImage(str(blocker / "sub" / "demo.img"))


def test_kvm_hvparams_boot_under_tcg():
    value = demo.KvmHvparams("/boot/vmlinuz-x", "/tmp/initrd.gz", 8102)
    hv, _, params = value.partition(":")
    pairs = dict(item.split("=", 1) for item in params.split(","))
    assert hv == "kvm"
    assert pairs["kvm_flag"] == "disabled"
    assert pairs["kernel_path"] == "/boot/vmlinuz-x"
    assert pairs["initrd_path"] == "/tmp/initrd.gz"
    assert pairs["root_path"] == "/dev/ram0"
    assert pairs["migration_port"] == "8102"


def test_node_environment_points_at_the_os_definitions():
    env = demo.NodeEnvironment("node2")
    assert env["GANETI_HOSTNAME"] == "node2"
    assert env["GANETI_ROOTDIR"].endswith(os.path.join("vcluster", "node2"))
    image_os = os.path.join(env["GANETI_OS_SEARCH_PATH"], "image")
    assert os.path.isfile(os.path.join(image_os, "create"))


def _FakeQemu(paths: kvm_runtime.KvmPaths, name: str) -> subprocess.Popen:
    """A process whose command line looks like that instance's qemu."""
    os.makedirs(paths.pids_dir, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)",
                             "-name", name, "-m", "128", "-smp", "1",
                             "-pidfile", paths.PidFile(name)])
    with open(paths.PidFile(name), "w") as fh:
        fh.write(f"{proc.pid}\n")
    deadline = time.monotonic() + 5
    while kvm_runtime.InstancePidInfo(paths, name)[1] is None:
        assert time.monotonic() < deadline, "fake qemu did not start"
        time.sleep(0.02)
    return proc


def test_kill_instance_processes_only_kills_instance_qemu(tmp_path):
    root = tmp_path / "node1"
    paths = kvm_runtime.KvmPaths(run_dir=str(root / "var/run/ganeti"))
    qemu = _FakeQemu(paths, "kvm1")
    bystander = subprocess.Popen([sys.executable, "-c",
                                  "import time; time.sleep(60)"])
    try:
        # A stale pid file naming an unrelated process must not hit it.
        with open(paths.PidFile("old1"), "w") as fh:
            fh.write(f"{bystander.pid}\n")
        assert demo.KillInstanceProcesses(str(root)) == [qemu.pid]
        assert qemu.wait(timeout=10) != 0
        assert bystander.poll() is None
    finally:
        for proc in (qemu, bystander):
            proc.kill()
            proc.wait()


def test_kill_instance_processes_without_run_dir(tmp_path):
    assert demo.KillInstanceProcesses(str(tmp_path / "none")) == []


def test_build_initrd_is_a_gzipped_newc_archive_with_init(tmp_path):
    busybox = tmp_path / "busybox"
    busybox.write_bytes(b"\x7fELF fake busybox")
    target = tmp_path / "initrd.gz"
    guest_kit.BuildInitrd(str(busybox), [], str(target))
    data = gzip.decompress(target.read_bytes())
    assert data.startswith(b"070701")
    assert b"bin/busybox\0" in data and b"init\0" in data
    assert guest_kit.MARKER.encode() in data
    assert data.rstrip(b"\0").endswith(b"TRAILER!!!")


def test_build_guest_kit_or_clear_error(tmp_path):
    """Either a kernel and a cached initramfs, or an error naming the package."""
    missing = guest_kit.MissingParts()
    try:
        kernel, initrd = guest_kit.BuildGuestKit(str(tmp_path / "cache"))
    except errors.HypervisorError as err:
        assert "install" in str(err)
        assert missing
        return
    assert os.path.isfile(kernel) and kernel.startswith("/boot/vmlinuz-")
    assert initrd.startswith(str(tmp_path / "cache"))
    first = os.stat(initrd).st_mtime_ns
    assert guest_kit.BuildGuestKit(str(tmp_path / "cache")) == (kernel, initrd)
    assert os.stat(initrd).st_mtime_ns == first
    hvparams = guest_kit.GuestHvparams(kernel, initrd)
    assert hvparams["kvm_flag"] == "disabled"


def test_without_qemu_the_demo_says_so(monkeypatch, capsys):
    monkeypatch.setattr(guest_kit, "FindQemu", lambda: None)
    assert demo._KvmKit() is None
    out = capsys.readouterr().out
    assert "cannot run the demo's kvm instance: missing qemu-system-x86_64" in out
    assert "fake instances only" in out


def test_main_usage():
    assert demo.Main([]) == 2
    assert demo.Main(["bogus"]) == 2
