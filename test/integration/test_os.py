"""OS definitions for real: gnt-os on a 3-node virtual cluster, the shipped
definitions on real disks.

The cluster: tools/vcluster-setup makes node1..node3, `gnt-cluster init`
starts node1's daemons and node2/node3 are added with `gnt-node add` over
SSH to their own sshd (test/support/sshd.py), as test_node_add.py does.
Every noded gets GANETI_OS_SEARCH_PATH: test/data/os (definitions written
from the seed page) and os-definitions/ (the shipped ones); node3's path
starts with a directory of its own holding an OS only it has, a copy of
"variants" with other variants and a broken "api10" that, coming first,
hides the valid one (see _Node3Dir).

The shipped definitions run through ganeti.backend.os (noded's code) on
sparse files, with the real qemu-img; the debootstrap one only when
GANETI_TEST_DEBOOTSTRAP=1 (it needs minutes and a Debian mirror).
"""

import json
import os
import pathlib
import shutil
import subprocess

import pytest

from support import sshd as sshd_support
from support.cluster import MasterCluster

from ganeti import objects, pathutils
from ganeti.backend import RPCFail
from ganeti.backend import os as bos

TOP = pathlib.Path(__file__).resolve().parents[2]
TEST_OS_DIR = TOP / "test" / "data" / "os"
SHIPPED_DIR = TOP / "os-definitions"
SHIPPED = ("image", "debootstrap")
SCRIPTS = ("create", "export", "import", "rename")
MIB = 1024 * 1024


# --- the cluster ---------------------------------------------------------------------


def _Node3Dir(base):
    """node3's own first search directory.

    node3only: an OS no other node has; variants: a copy declaring other
    variants; api10: a broken copy that, being first, hides the valid one.
    """
    top = base / "node3-os"
    shutil.copytree(TEST_OS_DIR / "api20", top / "node3only", symlinks=False)
    shutil.copytree(TEST_OS_DIR / "variants", top / "variants", symlinks=False)
    (top / "variants" / "variants.list").write_text("minimal\ndefault\nextra\n")
    (top / "api10").mkdir()
    (top / "api10" / "ganeti_api_version").write_text("4\n")
    return top


class OsCluster:
    """Three nodes, each noded with its OS search path."""

    def __init__(self, base):
        self.base = base
        self.vc = MasterCluster.VclusterSetup(base, count=3)
        self.key = sshd_support.ClientKey(base / "ssh-key")
        self.servers = []
        common = f"{TEST_OS_DIR}:{SHIPPED_DIR}"
        self.search_path = {"node1": common, "node2": common,
                            "node3": f"{_Node3Dir(base)}:{common}"}

    def Start(self):
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("GANETI_OS_SEARCH_PATH", self.search_path["node1"])
            self.vc.InitWithCli(["-C", "3"])
        for node in ("node2", "node3"):
            env = sshd_support.NodeEnv(self.vc.Root(node), node, self.base / "hosts",
                                       GANETI_OS_SEARCH_PATH=self.search_path[node])
            server = sshd_support.Sshd(self.base / f"sshd-{node}", self.vc.ips[node],
                                       self.key, node_env=env)
            self.servers.append(server)
            server.Start()
            proc = self.vc.Cmd(["gnt-node", "add", "--no-ssh-key-check",
                                "--node-parameters", f"ssh_port={server.port}",
                                node], timeout=180,
                               GANETI_SSH_KEY_FILE=str(self.key.path))
            assert proc.returncode == 0, proc.stderr
        self.vc.RecordDaemons()

    def Stop(self):
        for server in self.servers:
            server.Stop()
        return self.vc.StopAll()

    def GntOs(self, *args):
        return self.vc.Cmd(["gnt-os", *args], timeout=120)

    def NodeUuids(self):
        data = json.loads((self.vc.Root() / "var/lib/ganeti/config.data").read_text())
        return {node["name"]: uuid for uuid, node in data["nodes"].items()}

    def Serial(self):
        data = json.loads((self.vc.Root() / "var/lib/ganeti/config.data").read_text())
        return data["serial_no"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if not sshd_support.Available():
        pytest.skip("OpenSSH sshd is not installed")
    osc = OsCluster(tmp_path_factory.mktemp("oscluster"))
    try:
        osc.Start()
        yield osc
    finally:
        left = osc.Stop()
    assert not [pid for pid in left if pid in osc.vc.pids], left


# api10 is missing: node3's broken copy comes first in its search path.
LIST = "\n".join(["Name" + " " * 15, "api15+default", "api20+default",
                  "debootstrap+default", "image+default", "params", "untrusted",
                  "variants+default", "variants+minimal", ""])


def test_list_shows_the_valid_oses_of_all_nodes(cluster):
    proc = cluster.GntOs("list")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, LIST, "")
    proc = cluster.GntOs("list", "--no-headers")
    assert proc.stdout == LIST.split("\n", 1)[1]


def test_info_of_the_image_os(cluster):
    proc = cluster.GntOs("info", "image", "nosuch")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (
        "image:\n  - valid: True\n  - hidden: False\n  - blacklisted: False\n"
        "  - API versions:\n    - 20\n  - variants:\n    - default\n"
        "  - parameters:\n"
        "    - image: The image to install: an absolute path, or a file name in"
        " the images directory (/srv/ganeti/os-images)\n"
        "    - image_format: The image's format: auto (the default, detected),"
        " raw or qcow2\n"
        "  - trusted: True\n\n"
        "nosuch: \n\n")


def test_diagnose_shows_every_node(cluster):
    proc = cluster.GntOs("diagnose")
    # broken definitions and node3's own ones make the cluster "bad"
    assert proc.returncode == 1, proc.stderr
    uuids = cluster.NodeUuids()
    blocks = {block.split("\n", 1)[0]: block for block in proc.stdout.split("\n\n")}
    image = blocks["OS: image [global status: valid]"].splitlines()
    assert image[1] == "  Variants: [default]"
    assert sorted(image[2:]) == sorted(
        f"  Node: {uuid}, status: valid (path: {SHIPPED_DIR}/image) [API versions:"
        " 20] [variants: default] [parameters: image, image_format] [trusted]"
        for uuid in uuids.values())
    only = blocks["OS: node3only [global status: partial valid]"]
    assert f"  Node: {uuids['node1']}, status: OS not found" in only
    assert f"  Node: {uuids['node3']}, status: valid" in only
    api10 = blocks["OS: api10 [global status: partial valid]"]
    assert (f"  Node: {uuids['node3']}, status: invalid - API version mismatch"
            in api10)
    assert f"    [hidden] path: {TEST_OS_DIR}/api10, status: valid" in api10
    broken = blocks["OS: broken-missing [global status: invalid]"]
    assert "File 'rename' under path" in broken
    assert "  Variants: [default, minimal]" in blocks[
        "OS: variants [global status: valid]"]


def test_modify_hides_an_os_and_sets_its_parameters(cluster):
    proc = cluster.GntOs("modify", "--hidden=yes", "image")
    assert proc.returncode == 0, proc.stderr
    assert "image+default" not in cluster.GntOs("list").stdout
    assert "  - hidden: True" in cluster.GntOs("info", "image").stdout
    proc = cluster.GntOs("modify", "--hidden=no", "-O", "image_format=raw",
                         "image+default")
    assert proc.returncode == 0, proc.stderr
    proc = cluster.GntOs("modify", "--hidden", "no", "image")
    assert proc.returncode == 0, proc.stderr
    assert "image+default" in cluster.GntOs("list").stdout
    info = cluster.GntOs("info", "image+default").stdout
    assert info == ("image+default: \n  OS-specific hypervisor parameters: \n"
                    "  OS parameters: \n    image_format: raw\n\n")


def test_modify_without_a_change_is_refused(cluster):
    serial = cluster.Serial()
    proc = cluster.GntOs("modify", "image")
    assert proc.returncode == 1
    assert "At least one of OS parameters" in proc.stderr
    proc = cluster.GntOs("modify", "--blacklisted=perhaps", "image")
    assert proc.returncode == 1 and "Invalid boolean value" in proc.stderr
    assert "Traceback" not in proc.stderr and cluster.Serial() == serial


# --- the shipped definitions ---------------------------------------------------


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """noded's view: search os-definitions/, OS logs in the test directory."""
    monkeypatch.setattr(pathutils, "OS_SEARCH_PATH", [str(SHIPPED_DIR)])
    monkeypatch.setattr(pathutils, "LOG_OS_DIR", str(tmp_path / "log"))
    return tmp_path


def _FileDisk(path, size):
    with open(path, "wb") as handle:
        handle.truncate(size)
    disk = objects.Disk(dev_type="file", logical_id=["loop", str(path)],
                        size=size // MIB, mode="rw", uuid=f"uuid-{path.name}")
    return disk, str(path), None


def _Instance(os_name, disks, osparams=None, name="inst1.example.com"):
    idict = objects.Instance(name=name, uuid="inst-uuid", os=os_name,
                             hypervisor="kvm", osparams=osparams or {},
                             disks=[d.uuid for d, _, _ in disks]).ToDict()
    idict["disks_info"] = [d.ToDict() for d, _, _ in disks]
    return bos.InstanceFromRpc(idict)


@pytest.mark.parametrize("definition", SHIPPED)
def test_shipped_definitions_are_valid_and_print_usage(definition):
    os_obj = bos.OSFromDisk(definition, base_dir=str(SHIPPED_DIR))
    assert os_obj.api_versions == (20,) and os_obj.supported_variants == ("default",)
    assert os_obj.trusted
    for script in SCRIPTS + ("verify",):
        path = str(SHIPPED_DIR / definition / script)
        proc = subprocess.run([path, "--help"], capture_output=True, text=True,
                              env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
        assert proc.returncode == 0 and proc.stdout.startswith(f"Usage: {script}")
        bad = [path, "surplus"] if script != "verify" else [path]
        proc = subprocess.run(bad, capture_output=True, text=True,
                              env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
        assert proc.returncode == 1 and "Usage:" in proc.stderr, script


@pytest.mark.skipif(shutil.which("qemu-img") is None,
                    reason="qemu-img (qemu-utils) is not installed")
@pytest.mark.parametrize("fmt", ["raw", "qcow2"])
def test_image_os_writes_the_image_onto_the_disk(shipped, fmt):
    content = os.urandom(MIB) + b"\0" * MIB
    raw = shipped / "src.raw"
    raw.write_bytes(content)
    image = raw
    if fmt == "qcow2":
        image = shipped / "src.qcow2"
        subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw),
                        str(image)], check=True)
    disks = [_FileDisk(shipped / "disk0", 8 * MIB)]
    with open(disks[0][1], "r+b") as handle:  # old data beyond the image stays
        handle.seek(4 * MIB)
        handle.write(b"old data")
    instance = _Instance("image+default", disks, {"image": str(image)})
    assert bos.ValidateOS(True, "image+default", ["parameters"],
                          {"image": str(image)}, False)
    bos.InstanceOsAdd(instance, False, 0, block_devices=disks)
    data = pathlib.Path(disks[0][1]).read_bytes()
    assert len(data) == 8 * MIB and data[:2 * MIB] == content
    assert data[4 * MIB:4 * MIB + 8] == b"old data"
    (log,) = (shipped / "log").iterdir()
    assert f"writing {image} ({fmt}, {2 * MIB} bytes)" in log.read_text()


@pytest.mark.skipif(shutil.which("qemu-img") is None,
                    reason="qemu-img (qemu-utils) is not installed")
def test_image_os_refuses_bad_input(shipped):
    (shipped / "big.raw").write_bytes(b"x" * (2 * MIB))
    disks = [_FileDisk(shipped / "disk0", MIB)]
    cases = [({"image": str(shipped / "big.raw")}, "needs 2097152 bytes, but disk"
              " 0 has only 1048576"),
             ({"image": "nosuch.img"}, "image 'nosuch.img' not found (looked for"
              " /srv/ganeti/os-images/nosuch.img)"),
             ({}, "the OS parameter 'image' is not set")]
    for osparams, message in cases:
        with pytest.raises(RPCFail) as err:
            bos.InstanceOsAdd(_Instance("image+default", disks, osparams), False, 0,
                              block_devices=disks)
        assert message in str(err.value)
    assert pathlib.Path(disks[0][1]).read_bytes() == b"\0" * MIB
    with pytest.raises(RPCFail, match="invalid image_format 'vmdk'"):
        bos.ValidateOS(True, "image+default", ["parameters"],
                       {"image_format": "vmdk"}, False)


def test_image_os_export_and_import_round_trip(shipped):
    disks = [_FileDisk(shipped / "disk0", 2 * MIB), _FileDisk(shipped / "disk1",
                                                               2 * MIB)]
    payload = os.urandom(2 * MIB)
    pathlib.Path(disks[0][1]).write_bytes(payload)
    instance = _Instance("image+default", disks)
    size = bos.RunOSExport(instance, 0, str(shipped / "dump"), block_devices=disks)
    assert size == 2 * MIB and (shipped / "dump").read_bytes() == payload
    bos.RunOSImport(instance, 1, str(shipped / "dump"), block_devices=disks)
    assert pathlib.Path(disks[1][1]).read_bytes() == payload
    bos.RunRenameInstance(instance, "old.example.com", 0, block_devices=disks)


@pytest.mark.skipif(os.environ.get("GANETI_TEST_DEBOOTSTRAP") != "1",
                    reason="slow (minutes) and needs a Debian mirror: set"
                    " GANETI_TEST_DEBOOTSTRAP=1")
def test_debootstrap_installs_a_minimal_debian(shipped, monkeypatch):
    # A copy of the definition whose "defaults" keeps the cache here.
    os_dir = shipped / "os"
    shutil.copytree(SHIPPED_DIR / "debootstrap", os_dir / "debootstrap")
    (os_dir / "debootstrap" / "defaults").write_text(
        f"CACHE_DIR={shipped / 'cache'}\n")
    monkeypatch.setattr(pathutils, "OS_SEARCH_PATH", [str(os_dir)])
    disks = [_FileDisk(shipped / "disk0", 1024 * MIB)]
    instance = _Instance("debootstrap+default", disks, name="deb1.example.com")
    bos.InstanceOsAdd(instance, False, 0, block_devices=disks)
    bos.InstanceOsAdd(instance, True, 0, block_devices=disks)  # from the cache
    renamed = _Instance("debootstrap+default", disks, name="deb2.example.com")
    bos.RunRenameInstance(renamed, "deb1.example.com", 0, block_devices=disks)
    mnt = shipped / "mnt"
    mnt.mkdir()
    subprocess.run(["mount", "-o", "loop,ro", disks[0][1], str(mnt)], check=True)
    try:
        assert (mnt / "etc" / "hostname").read_text() == "deb2.example.com\n"
        assert (mnt / "etc" / "debian_version").exists()
        assert "deb2.example.com deb2" in (mnt / "etc" / "hosts").read_text()
    finally:
        subprocess.run(["umount", str(mnt)], check=True)
