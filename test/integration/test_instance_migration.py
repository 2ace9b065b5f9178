"""Migrate, failover, move, grow-disk, (de)activate-disks and modify on a real
3-node virtual cluster with the fake hypervisor.

The cluster is made as an operator makes it: tools/vcluster-setup, then
`node1/cmd gnt-cluster init` (diskless, file and sharedfile enabled; the
shared file storage directory is one host directory every node sees), then
`gnt-node add` of node2 and node3 over SSH, each to its own real OpenSSH
sshd. Every command is the real gnt-instance/gnt-node program run through a
node's cmd helper; noded on every node runs the fake hypervisor, whose
state files (one per running instance, under the node's run directory)
show where an instance really runs, and file disks are real sparse files
under each node's root.

One test also live-migrates a real kvm guest (qemu under TCG, the guest of
test/support/guest.py) from node1 to node2 through the same commands and
checks, on the serial console, that the guest kept its state; it is skipped
without qemu or the guest kit, or with GANETI_TEST_KVM_E2E=0.

Bad input must fail with a clear message and leave config.data untouched.
Every process (daemons, sshds, qemu) is stopped by pid at the end.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import shlex
import shutil
import socket

import pytest

from support import sshd as sshd_support
from support.cluster import MasterCluster

pytestmark = pytest.mark.skipif(not sshd_support.Available(),
                                reason="OpenSSH sshd is not installed")

_OS_SCRIPT = "#!/bin/sh\n# noop OS: nothing to install.\nexit 0\n"
_INSTANCES = ["mig1", "shared1", "file1", "kvm1"]
# The end-to-end kvm migration boots a real guest under TCG (~6 s more);
# GANETI_TEST_KVM_E2E=0 leaves it out.
_KVM_E2E = os.environ.get("GANETI_TEST_KVM_E2E", "1") != "0"
MiB = 1024 * 1024


def _WriteNoopOs(path: pathlib.Path) -> None:
    path.mkdir(parents=True)
    (path / "ganeti_api_version").write_text("20\n")
    (path / "variants.list").write_text("default\n")
    (path / "parameters.list").write_text("")
    for script in ("create", "import", "export", "rename", "verify"):
        (path / script).write_text(_OS_SCRIPT)
        (path / script).chmod(0o755)


class MigrationCluster:
    """The 3-node cluster, the sshds of node2 and node3, and helpers."""

    def __init__(self, base: pathlib.Path) -> None:
        self.base = base
        self.os_dir = base / "os"
        self.shared = base / "shared"
        (base / "vc").mkdir()
        self.vc = MasterCluster.VclusterSetup(base / "vc", count=3)
        self.key = sshd_support.ClientKey(base / "ssh-key")
        self.sshd: dict[str, sshd_support.Sshd] = {}

    def Start(self) -> None:
        _WriteNoopOs(self.os_dir / "noop")
        self.shared.mkdir()
        prefix = self.vc.ips["node1"].rsplit(".", 1)[0]
        with open(self.vc.base / "hosts", "a", encoding="utf-8") as hosts:
            for idx, name in enumerate(_INSTANCES):
                hosts.write(f"{prefix}.{100 + idx} {name}\n")
        self.vc.InitWithCli([
            "--enabled-disk-templates=diskless,file,sharedfile",
            f"--shared-file-storage-dir={self.shared}"])
        for node in ("node2", "node3"):
            env = sshd_support.NodeEnv(self.vc.Root(node), node,
                                       self.vc.base / "hosts",
                                       GANETI_OS_SEARCH_PATH=str(self.os_dir))
            self.sshd[node] = sshd_support.Sshd(
                self.base / f"sshd-{node}", self.vc.ips[node], self.key,
                node_env=env)
            self.sshd[node].Start()
            proc = self.Gnt("node", "add", "--no-ssh-key-check",
                            "--node-parameters",
                            f"ssh_port={self.sshd[node].port}", node)
            assert proc.returncode == 0, proc.stderr
        self.vc.RecordDaemons()

    def Stop(self) -> list[int]:
        for server in self.sshd.values():
            server.Stop()
        return self.vc.StopAll()

    def Gnt(self, program: str, *args: str, node: str = "node1") -> object:
        line = shlex.join([f"gnt-{program}", *args]) + " </dev/null"
        return self.vc.Cmd(line, node=node, timeout=180,
                           GANETI_SSH_KEY_FILE=str(self.key.path),
                           GANETI_OS_SEARCH_PATH=str(self.os_dir))

    def Ok(self, program: str, *args: str) -> str:
        proc = self.Gnt(program, *args)
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr
        return proc.stdout

    def Fails(self, program: str, *args: str) -> str:
        """Run a command that must fail and change nothing; its stderr."""
        before = self.Config()
        proc = self.Gnt(program, *args)
        assert proc.returncode != 0, (args, proc.stdout)
        assert "Traceback" not in proc.stderr, proc.stderr
        after = self.Config()
        assert after["serial_no"] == before["serial_no"]
        assert after["instances"] == before["instances"]
        return proc.stderr

    def Config(self) -> dict:
        path = self.vc.Root("node1") / "var/lib/ganeti/config.data"
        return json.loads(path.read_text())

    def Instance(self, name: str) -> dict:
        (inst,) = [inst for inst in self.Config()["instances"].values()
                   if inst["name"] == name]
        return inst

    def Primary(self, name: str) -> str:
        uuid = self.Instance(name)["primary_node"]
        return self.Config()["nodes"][uuid]["name"]

    def Disks(self, name: str) -> list[dict]:
        config = self.Config()
        return [config["disks"][uuid] for uuid in self.Instance(name)["disks"]]

    def RunsOn(self, name: str) -> list[str]:
        """The nodes whose fake hypervisor has the instance running."""
        return [node for node in self.vc.names
                if (self.vc.Root(node) / "var/run/ganeti/fake-hypervisor"
                    / name).exists()]

    def DiskFile(self, node: str, disk: dict) -> pathlib.Path:
        """Where a file disk of the configuration lives on node."""
        path = disk["logical_id"][1]
        if disk["dev_type"] == "sharedfile":
            return pathlib.Path(path)
        rel = os.path.relpath(path, self.vc.Root("node1"))
        return self.vc.Root(node) / rel

    def Link(self, node: str, name: str, idx: int = 0) -> pathlib.Path:
        return self.vc.Root(node) / f"var/run/ganeti/instance-disks/{name}:{idx}"

    def Status(self, name: str) -> str:
        return self.Ok("instance", "list", "--no-headers", "-o", "status",
                       name).strip()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    mc = MigrationCluster(tmp_path_factory.mktemp("migration"))
    old = os.environ.get("GANETI_OS_SEARCH_PATH")
    # node1's noded (started by gnt-cluster init) inherits the search path.
    os.environ["GANETI_OS_SEARCH_PATH"] = str(mc.os_dir)
    try:
        mc.Start()
        _AddInstances(mc)
        yield mc
    finally:
        left = mc.Stop()
        if old is None:
            os.environ.pop("GANETI_OS_SEARCH_PATH", None)
        else:
            os.environ["GANETI_OS_SEARCH_PATH"] = old
    assert not [pid for pid in left if pid in mc.vc.pids], left


def _AddInstances(mc: MigrationCluster) -> None:
    common = ["-o", "noop+default", "-n", "node1", "--no-ip-check", "-B",
              "maxmem=128,minmem=128"]
    for idx, (name, template) in enumerate((("mig1", "diskless"),
                                            ("shared1", "sharedfile"),
                                            ("file1", "file"))):
        disk = [] if template == "diskless" else ["-s", "1G"]
        mc.Ok("instance", "add", "-t", template, *disk, *common, "--net",
              f"0:mode=routed,ip=192.0.2.{20 + idx}", name)


def test_instances_run_on_node1(cluster):
    for name in ("mig1", "shared1", "file1"):
        assert cluster.Primary(name) == "node1"
        assert cluster.RunsOn(name) == ["node1"]
        assert cluster.Status(name) == "running"


def test_migrate_to_node2_and_back(cluster):
    out = cluster.Ok("instance", "migrate", "-f", "-n", "node2", "mig1")
    assert "Migrating instance mig1" in out
    assert cluster.Primary("mig1") == "node2"
    assert cluster.RunsOn("mig1") == ["node2"]
    assert cluster.Status("mig1") == "running"
    cluster.Ok("instance", "migrate", "-f", "--non-live", "-n", "node1", "mig1")
    assert cluster.Primary("mig1") == "node1"
    assert cluster.RunsOn("mig1") == ["node1"]


def test_migrate_sharedfile_instance_to_node3(cluster):
    cluster.Ok("instance", "migrate", "-f", "-n", "node3", "shared1")
    assert cluster.Primary("shared1") == "node3"
    assert cluster.RunsOn("shared1") == ["node3"]
    assert cluster.Link("node3", "shared1").is_symlink()
    assert not cluster.Link("node1", "shared1").exists()
    (disk,) = cluster.Disks("shared1")
    assert disk["nodes"] == [cluster.Instance("shared1")["primary_node"]]


def test_failover_sharedfile_instance(cluster):
    source = cluster.Primary("shared1")
    target = "node2" if source != "node2" else "node1"
    out = cluster.Ok("instance", "failover", "-f", "-n", target, "shared1")
    assert f"* starting the instance on the target node {target}" in out
    assert cluster.Primary("shared1") == target
    assert cluster.RunsOn("shared1") == [target]
    assert cluster.Link(target, "shared1").is_symlink()
    assert not cluster.Link(source, "shared1").exists()
    assert cluster.Status("shared1") == "running"


def test_file_instance_cannot_migrate(cluster):
    err = cluster.Fails("instance", "migrate", "-f", "-n", "node2", "file1")
    assert "Instance's disk layout 'file' does not allow migrations" in err
    assert cluster.RunsOn("file1") == ["node1"]


def test_dead_destination_node_is_a_clear_error(cluster):
    stop = cluster.vc.Cmd("daemon-util stop ganeti-noded", node="node3")
    assert stop.returncode == 0, stop.stderr
    try:
        err = cluster.Fails("instance", "migrate", "-f", "-n", "node3", "mig1")
        assert "Can't get data from node node3" in err
        assert cluster.Primary("mig1") == "node1"
        assert cluster.RunsOn("mig1") == ["node1"]
        assert cluster.Status("mig1") == "running"
    finally:
        start = cluster.vc.Cmd("daemon-util start ganeti-noded", node="node3")
        assert start.returncode == 0, start.stderr
        cluster.vc.RecordDaemons()


def test_grow_disk(cluster):
    (disk,) = cluster.Disks("file1")
    path = cluster.DiskFile("node1", disk)
    assert path.stat().st_size == 1024 * MiB
    cluster.Ok("instance", "grow-disk", "file1", "0", "512M")
    assert path.stat().st_size == 1536 * MiB
    assert cluster.Disks("file1")[0]["size"] == 1536


def test_activate_and_deactivate_disks(cluster):
    cluster.Ok("instance", "shutdown", "--timeout=5", "file1")
    assert cluster.RunsOn("file1") == []
    cluster.Ok("instance", "deactivate-disks", "file1")
    assert not cluster.Link("node1", "file1").exists()
    out = cluster.Ok("instance", "activate-disks", "file1")
    (disk,) = cluster.Disks("file1")
    link = cluster.Link("node1", "file1")
    assert link.is_symlink()
    assert os.path.realpath(link) == str(cluster.DiskFile("node1", disk))
    assert out.startswith("node1:disk/0:")
    assert cluster.Instance("file1")["disks_active"] is True
    cluster.Ok("instance", "deactivate-disks", "file1")
    assert not link.exists()
    assert cluster.Instance("file1")["disks_active"] is False


def test_move_file_instance(cluster):
    (disk,) = cluster.Disks("file1")
    source = cluster.DiskFile("node1", disk)
    with open(source, "r+b") as handle:
        handle.write(b"MBR!" * 128)
        handle.seek(700 * MiB)
        handle.write(os.urandom(3 * MiB))
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    cluster.Ok("instance", "startup", "file1")
    out = cluster.Ok("instance", "move", "-f", "-n", "node3", "file1")
    assert f"sha256 {digest} identical on both nodes" in out
    assert cluster.Primary("file1") == "node3"
    copy = cluster.DiskFile("node3", cluster.Disks("file1")[0])
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == digest
    assert copy.stat().st_size == 1536 * MiB
    assert copy.stat().st_blocks * 512 < 64 * MiB  # still sparse
    assert not source.exists()
    assert not source.parent.exists()
    assert cluster.RunsOn("file1") == ["node3"]
    assert cluster.Status("file1") == "running"


def test_modify_backend_hypervisor_and_nics(cluster):
    out = cluster.Ok("instance", "modify", "-B", "maxmem=256,vcpus=2", "mig1")
    assert "be/maxmem -> 256" in out
    inst = cluster.Instance("mig1")
    assert inst["beparams"]["maxmem"] == 256 and inst["beparams"]["vcpus"] == 2
    err = cluster.Fails("instance", "modify", "-H", "migration_mode=non-live",
                        "mig1")
    assert "global and cannot be customized at instance level" in err
    cluster.Ok("instance", "modify", "--net",
               "add:mode=routed,ip=192.0.2.40,name=second", "mig1")
    nics = cluster.Instance("mig1")["nics"]
    assert [nic.get("name") for nic in nics] == [None, "second"]
    assert nics[1]["mac"].startswith("aa:00:00:")
    cluster.Ok("instance", "modify", "--net", "1:remove", "mig1")
    assert len(cluster.Instance("mig1")["nics"]) == 1


def test_modify_bad_input_changes_nothing(cluster):
    err = cluster.Fails("instance", "modify", "-B", "colour=red", "mig1")
    assert "colour" in err
    err = cluster.Fails("instance", "modify", "--net",
                        "add:mode=routed,ip=300.0.0.1", "mig1")
    assert "Invalid IP address '300.0.0.1'" in err
    err = cluster.Fails("instance", "modify", "--disk", "add:size=1G", "mig1")
    assert "Disk operations not supported for diskless instances" in err


def test_whole_node_migrate_and_evacuate(cluster):
    for name in ("mig1", "shared1"):
        if cluster.Primary(name) != "node2":
            cluster.Ok("instance", "migrate", "-f", "-n", "node2", name)
    out = cluster.Ok("node", "migrate", "-f", "node2")
    assert "All instances migrated successfully." in out
    for name in ("mig1", "shared1"):
        assert cluster.Primary(name) != "node2"
        assert cluster.RunsOn(name) == [cluster.Primary(name)]
    node = cluster.Primary("mig1")
    out = cluster.Ok("node", "evacuate", "-f", "-p", node)
    assert "All instances evacuated successfully." in out
    assert cluster.Primary("mig1") != node
    assert cluster.RunsOn("mig1") == [cluster.Primary("mig1")]
    # A file instance can only be moved, not relocated by an evacuation.
    assert cluster.Primary("file1") == "node3"
    proc = cluster.Gnt("node", "evacuate", "-f", "-p", "node3")
    assert proc.returncode != 0
    assert "Unable to evacuate instances file1 (Instances of type file cannot" \
        " be relocated)" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert cluster.Primary("file1") == "node3"
    assert cluster.RunsOn("file1") == ["node3"]


def _KvmPaths(cluster, node):
    from ganeti.hypervisor.hv_kvm import KVMHypervisor

    run_dir = str(cluster.vc.Root(node) / "var/run/ganeti")
    return KVMHypervisor(run_dir=run_dir).paths


def _QmpStatus(cluster, node, name):
    from ganeti.hypervisor.hv_kvm import qmp

    return qmp.RunQmpCommand(_KvmPaths(cluster, node).QmpSocket(name),
                             "query-status")["status"]


@pytest.mark.skipif(not _KVM_E2E, reason="GANETI_TEST_KVM_E2E=0")
def test_kvm_live_migration_end_to_end(cluster):
    from support import guest

    qemu = shutil.which("qemu-system-x86_64")
    if qemu is None:
        pytest.skip("qemu-system-x86_64 is not installed")
    kernel, initrd = guest.GetGuestKit()
    with socket.socket() as sock:
        sock.bind((cluster.vc.ips["node2"], 0))
        port = sock.getsockname()[1]
    # The cluster's kvm defaults boot the test guest under TCG.
    cluster.Ok("cluster", "modify", "--enabled-hypervisors=fake,kvm", "-H",
               f"kvm:kvm_path={qemu},kernel_path={kernel},initrd_path={initrd},"
               "kernel_args=quiet,root_path=/dev/ram0,kvm_flag=disabled,"
               f"serial_console=true,migration_bandwidth=1000,"
               f"migration_port={port}")
    try:
        cluster.Ok("instance", "add", "-t", "diskless", "-o", "noop+default",
                   "-n", "node1", "--no-ip-check", "--no-nics",
                   "--ignore-ipolicy", "-H", "kvm", "-B",
                   "maxmem=128,minmem=64", "kvm1")
        serial = _KvmPaths(cluster, "node1").SerialSocket("kvm1")
        with guest.SerialConsole(serial) as console:
            console.WaitFor(guest.MARKER, 90)
            assert console.Run("echo before-migration > /tmp/state")[0] == 0
        out = cluster.Ok("instance", "migrate", "-f", "-n", "node2", "kvm1")
        assert "* memory transfer complete" in out
        assert cluster.Primary("kvm1") == "node2"
        assert _QmpStatus(cluster, "node2", "kvm1") == "running"
        assert "kvm1" not in _KvmPaths(cluster, "node1").ListPidFiles()
        serial = _KvmPaths(cluster, "node2").SerialSocket("kvm1")
        with guest.SerialConsole(serial) as console:
            assert console.Run("cat /tmp/state") == (0, "before-migration")
        out = cluster.Ok("instance", "modify", "--ignore-ipolicy",
                         "--runtime-memory", "100", "kvm1")
        assert "runtime_memory -> 100" in out
    finally:
        # The guest may not handle ACPI (yet): do not wait the default 120 s.
        cluster.Gnt("instance", "remove", "-f", "--shutdown-timeout=2", "kvm1")
