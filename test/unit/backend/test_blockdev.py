"""Block device procedures (ganeti/backend/blockdev.py) through the backend
table, with JSON-shaped arguments, on real sparse files and symlinks."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.storage_contract import MIB, FileStorageEnv

from ganeti import backend, errors, objects, pathutils
from ganeti.backend import RPCFail
from ganeti.backend import blockdev

PROCS = backend.LoadAll()
_REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FileStorageEnv:
    return FileStorageEnv.Create(tmp_path, monkeypatch)


def Json(value: Any) -> Any:
    """The value as it arrives after a trip through the wire."""
    return json.loads(json.dumps(value))


def DiskDict(path: Path | str, size: int = 4, dev_type: str = "file",
             idx: int = 0) -> dict[str, Any]:
    return Json({"dev_type": dev_type, "logical_id": ["loop", str(path)],
                 "children": [], "iv_name": f"disk/{idx}", "size": size,
                 "mode": "rw", "params": {}, "uuid": f"uuid-{idx}-{size}",
                 "nodes": ["node-uuid-1"]})


def InstDict(name: str, disks: list[dict[str, Any]]) -> dict[str, Any]:
    return Json({"name": name, "hypervisor": "kvm", "primary_node": "node-uuid-1",
                 "disks": [disk["uuid"] for disk in disks], "disks_info": disks,
                 "nics": [], "hvparams": {}, "beparams": {}, "osparams": {}})


def Call(name: str, *arguments: Any) -> Any:
    result = PROCS[name](*Json(list(arguments)))
    return Json(result)


def Link(name: str, idx: int) -> Path:
    return Path(pathutils.DISK_LINKS_DIR, f"{name}:{idx}")


def test_create_assemble_shutdown_remove(env: FileStorageEnv) -> None:
    path = env.file_dir / "inst1" / "disk0"
    disk = DiskDict(path, size=512)
    assert Call("blockdev_create", disk, 512, "inst1", True, "info", False) == \
        disk["logical_id"]
    assert path.stat().st_size == 512 * MIB and path.stat().st_blocks * 512 < MIB
    cache = Path(pathutils.BDEV_CACHE_DIR, "bdev_" + str(path).replace("/", "_"))
    assert cache.read_text() == "inst1 primary disk/0\n"
    with pytest.raises(RPCFail, match="Can't create block device: .*already exists"):
        Call("blockdev_create", disk, 512, "inst1", True, "info", False)

    inst = InstDict("inst1", [disk])
    assert Call("blockdev_assemble", disk, inst, True, 0) == [
        str(path), str(Link("inst1", 0)), None]
    assert os.readlink(Link("inst1", 0)) == str(path)
    assert Call("blockdev_assemble", disk, inst, False, 0) == [True, True]

    Call("blockdev_shutdown", disk)
    assert not Link("inst1", 0).is_symlink()
    assert path.exists() and not cache.exists()

    Call("blockdev_assemble", disk, inst, True, 0)
    Call("blockdev_remove", disk)
    assert not path.exists()
    assert not Link("inst1", 0).is_symlink()
    Call("blockdev_remove", disk)  # already gone: fine


def test_find_status_and_dimensions(env: FileStorageEnv) -> None:
    present, missing = DiskDict(env.file_dir / "i" / "d0"), DiskDict(
        env.file_dir / "i" / "d1", idx=1)
    Call("blockdev_create", present, 4, "i", True, "", False)
    status = Call("blockdev_find", present)
    assert status == {"dev_path": str(env.file_dir / "i" / "d0"), "major": None,
                      "minor": None, "sync_percent": None, "estimated_time": None,
                      "is_degraded": False, "ldisk_status": 1}
    assert Call("blockdev_find", missing) is None
    assert Call("blockdev_getmirrorstatus", [present]) == [status]
    with pytest.raises(RPCFail, match="Can't find device disk/1"):
        Call("blockdev_getmirrorstatus", [present, missing])
    multi = Call("blockdev_getmirrorstatus_multi", [present, missing, {"x": 1}])
    assert multi[0] == [True, status]
    assert multi[1][0] is False and "Can't find device disk/1" in multi[1][1]
    assert multi[2][0] is False and "dev_type" in multi[2][1]
    assert Call("blockdev_getdimensions", [present, missing]) == [[4 * MIB, None],
                                                                   None]
    assert Call("blockdev_pause_resume_sync", [present, missing], True) == [
        [True, None], [False, "Cannot change sync for device disk/1: device not"
                              " found"]]
    Call("blockdev_setinfo", present, "new info")


def test_grow(env: FileStorageEnv) -> None:
    path = env.file_dir / "i" / "d0"
    disk = DiskDict(path)
    Call("blockdev_create", disk, 4, "i", True, "", False)
    Call("blockdev_grow", disk, 6, True, True, False)
    assert path.stat().st_size == 4 * MIB
    Call("blockdev_grow", disk, 6, False, True, False)
    assert path.stat().st_size == 10 * MIB
    with pytest.raises(RPCFail, match="Failed to grow block device: .*shrinking"):
        Call("blockdev_grow", disk, -1, False, True, False)
    with pytest.raises(RPCFail, match="argument 'amount'"):
        Call("blockdev_grow", disk, "6", False, True, False)
    path.unlink()
    with pytest.raises(RPCFail, match="Cannot find block device disk/0"):
        Call("blockdev_grow", disk, 1, False, True, False)


def test_rename_moves_file_and_links(env: FileStorageEnv) -> None:
    old, new = env.file_dir / "old" / "d0", env.file_dir / "new" / "d0"
    disk = DiskDict(old)
    Call("blockdev_create", disk, 4, "old", True, "", False)
    Call("blockdev_assemble", disk, InstDict("old", [disk]), True, 0)
    Call("blockdev_rename", [[disk, ["loop", str(new)]]])
    assert new.exists() and not old.exists()
    assert os.readlink(Link("old", 0)) == str(new)
    missing = DiskDict(env.file_dir / "nope" / "d0", idx=3)
    with pytest.raises(RPCFail, match="Can't find device disk/3 .* in rename"):
        Call("blockdev_rename", [[missing, ["loop", str(old)]]])
    with pytest.raises(RPCFail, match="not acceptable for file storage"):
        Call("blockdev_rename", [[DiskDict(new), ["loop", "/srv/other/d0"]]])
    assert new.exists()


def test_open_close_links(env: FileStorageEnv) -> None:
    disks = [DiskDict(env.file_dir / "i" / f"d{idx}", idx=idx) for idx in range(2)]
    for disk in disks:
        Call("blockdev_create", disk, 4, "i", True, "", False)
    Call("blockdev_open", "inst2", disks, True)
    assert [os.readlink(Link("inst2", idx)) for idx in range(2)] == [
        disk["logical_id"][1] for disk in disks]
    Call("blockdev_close", "inst2", disks)
    assert not any(Link("inst2", idx).is_symlink() for idx in range(2))
    Call("blockdev_close", "", disks)
    with pytest.raises(RPCFail, match="Can't find device disk/5"):
        Call("blockdev_open", "inst2", [DiskDict(env.file_dir / "x", idx=5)], True)


def test_wipe_image_convert(env: FileStorageEnv, tmp_path: Path) -> None:
    path = env.file_dir / "i" / "d0"
    disk = DiskDict(path)
    Call("blockdev_create", disk, 4, "i", True, "", False)
    path.write_bytes(b"\x07" * (4 * MIB))
    Call("blockdev_wipe", disk, 1, 2)
    content = path.read_bytes()
    assert content[MIB:3 * MIB] == bytes(2 * MIB) and content[:MIB] == b"\x07" * MIB
    for offset, size, message in ((-1, 1, "Negative offset"), (0, -1, "Negative size"),
                                  (5, 0, "Offset is bigger"),
                                  (3, 2, "offset and size to wipe is bigger")):
        with pytest.raises(RPCFail, match=message):
            Call("blockdev_wipe", disk, offset, size)

    image = tmp_path / "image.raw"
    image.write_bytes(b"IMAGE" + bytes(MIB))
    Call("blockdev_image", disk, str(image), 4)
    assert path.read_bytes()[:5] == b"IMAGE"
    with pytest.raises(RPCFail, match="Image '/nonexistent.img' not found"):
        Call("blockdev_image", disk, "/nonexistent.img", 4)
    with pytest.raises(RPCFail, match="Image size is bigger than device size"):
        Call("blockdev_image", disk, str(image), 5)

    dest_path = env.file_dir / "j" / "d0"
    dest = DiskDict(dest_path, idx=1)
    Call("blockdev_create", dest, 4, "j", True, "", False)
    Call("blockdev_convert", disk, dest)
    assert dest_path.read_bytes() == path.read_bytes()
    small = DiskDict(env.file_dir / "k" / "d0", size=1, idx=2)
    Call("blockdev_create", small, 1, "k", True, "", False)
    with pytest.raises(RPCFail, match="onto the smaller"):
        Call("blockdev_convert", disk, small)


def test_refusals(env: FileStorageEnv) -> None:
    disk = DiskDict(env.file_dir / "i" / "d0")
    cases = [
        (("blockdev_create", DiskDict(env.file_dir / "i" / "d1", dev_type="plain"),
          4, "i", True, "", False),
         "Disk type 'plain' is not available on this node \\(LVM is not installed\\)"),
        (("blockdev_create", DiskDict(env.file_dir / "../../etc/x"), 4, "i", True,
          "", False), "must not contain '..'"),
        (("blockdev_create", DiskDict("/etc/passwd"), 4, "i", True, "", False),
         "Can't create block device: Path '/etc/passwd' uses a forbidden prefix"),
        (("blockdev_create", DiskDict("/srv/other/d0"), 4, "i", True, "", False),
         "Can't create block device: Path '/srv/other/d0' is not acceptable"),
        (("blockdev_create", disk, 4, "i", "yes", "", False), "argument 'on_primary'"),
        (("blockdev_create", ["not", "a", "dict"], 4, "i", True, "", False),
         "Invalid argument 'bdev': expected a dict"),
        (("blockdev_snapshot", disk, "snap", 4),
         "Cannot snapshot block device .* of type 'file'"),
        (("blockdev_snapshot", DiskDict("/x", dev_type="drbd"), "snap", 4),
         "DRBD is not installed"),
        (("blockdev_assemble", disk, InstDict("i", [disk]), True, 0),
         "Error while assembling disk: .*No such file"),
        (("blockdev_addchildren", disk, []), "Can't find parent device"),
        (("blockdev_remove", DiskDict("/x", dev_type="rbd")),
         "Can't remove block device .*Ceph RBD is not installed"),
        (("blockdev_find", DiskDict("/srv/elsewhere/d")),
         "Failed to find device: .*not acceptable"),
    ]
    for (name, *arguments), message in cases:
        with pytest.raises(RPCFail, match=message):
            Call(name, *arguments)
    with pytest.raises(RPCFail, match="takes 1 argument"):
        PROCS["blockdev_remove"]()
    Call("blockdev_create", disk, 4, "i", True, "", False)
    with pytest.raises(RPCFail, match="Invalid instance name"):
        Call("blockdev_assemble", disk, InstDict("../evil", [disk]), True, 0)
    with pytest.raises(RPCFail, match="FileStorage device is not mirrored"):
        Call("blockdev_removechildren", disk, [])
    assert not list(env.root.glob("etc/x*"))


def test_file_storage_dirs(env: FileStorageEnv) -> None:
    inst_dir = env.file_dir / "inst1"
    Call("file_storage_dir_create", str(inst_dir))
    assert stat.S_IMODE(inst_dir.stat().st_mode) == 0o750
    Call("file_storage_dir_create", str(inst_dir))  # exists: fine
    Call("file_storage_dir_rename", str(inst_dir), str(env.file_dir / "inst2"))
    assert (env.file_dir / "inst2").is_dir() and not inst_dir.exists()
    Call("file_storage_dir_rename", str(inst_dir), str(env.file_dir / "inst2"))
    (env.file_dir / "inst2" / "disk0").write_text("x")
    with pytest.raises(RPCFail, match="Cannot remove file storage directory"):
        Call("file_storage_dir_remove", str(env.file_dir / "inst2"))
    (env.file_dir / "inst2" / "disk0").unlink()
    Call("file_storage_dir_remove", str(env.file_dir / "inst2"))
    assert not (env.file_dir / "inst2").exists()
    Call("file_storage_dir_remove", str(env.file_dir / "inst2"))  # gone: fine

    (env.file_dir / "a").mkdir()
    (env.file_dir / "b").mkdir()
    with pytest.raises(RPCFail, match="both locations exist"):
        Call("file_storage_dir_rename", str(env.file_dir / "a"),
             str(env.file_dir / "b"))
    with pytest.raises(RPCFail, match="different storage types"):
        Call("file_storage_dir_rename", str(env.file_dir / "a"),
             str(env.shared_dir / "a"))
    with pytest.raises(RPCFail, match="not acceptable for file storage"):
        Call("file_storage_dir_remove", str(env.file_dir))
    with pytest.raises(RPCFail, match="not below the cluster's file storage"):
        Call("file_storage_dir_create", "/tmp/elsewhere")
    with pytest.raises(RPCFail, match="must not contain '..'"):
        Call("file_storage_dir_create", f"{env.file_dir}/../../../etc/evil")
    (env.file_dir / "plain-file").write_text("")
    with pytest.raises(RPCFail, match="is not a directory"):
        Call("file_storage_dir_create", str(env.file_dir / "plain-file"))
    assert not Path("/tmp/elsewhere").exists()


def test_gather_and_link_block_devs(env: FileStorageEnv) -> None:
    disks = [DiskDict(env.file_dir / "inst3" / f"d{idx}", idx=idx) for idx in range(2)]
    for disk in disks:
        Call("blockdev_create", disk, 4, "inst3", True, "", False)
    instance = objects.Instance.FromDict(InstDict("inst3", disks))
    result = blockdev.GatherAndLinkBlockDevs(instance)
    assert result == [(disks[idx], str(Link("inst3", idx)), None) for idx in range(2)]
    assert os.readlink(Link("inst3", 1)) == disks[1]["logical_id"][1]
    assert blockdev.GetInstanceDiskPaths(instance) == [
        disk["logical_id"][1] for disk in disks]
    blockdev.RemoveBlockDevsSymlinks("inst3", disks)
    assert not any(Link("inst3", idx).is_symlink() for idx in range(2))

    Path(disks[1]["logical_id"][1]).unlink()
    with pytest.raises(errors.BlockDeviceError, match="disk/1 .* is not set up"):
        blockdev.GatherAndLinkBlockDevs(InstDict("inst3", disks))
    assert not Link("inst3", 0).is_symlink()  # no half-made links
    assert blockdev.GatherAndLinkBlockDevs(InstDict("diskless", [])) == []
    with pytest.raises(errors.BlockDeviceError, match="disks_info\\[0\\]"):
        blockdev.GatherAndLinkBlockDevs(InstDict("bad", [{"uuid": "u", "size": 1}]))
    with pytest.raises(errors.BlockDeviceError, match="not set up"):
        blockdev.OpenRealBD(disks[1])


def test_bdev_sizes() -> None:
    block_devices = []
    for name in sorted(os.listdir("/dev")):
        path = f"/dev/{name}"
        try:
            if stat.S_ISBLK(os.stat(path).st_mode) and os.access(path, os.R_OK):
                block_devices.append(path)
        except OSError:
            continue
    sizes = Call("bdev_sizes", ["/dev/null", "/etc/passwd", "/dev/../etc/passwd",
                                *block_devices[:1]])
    assert set(sizes) == set(block_devices[:1])
    assert all(isinstance(size, int) for size in sizes.values())


_VIRTUAL_CODE = """
import json, os, sys
from ganeti import backend
procs = backend.LoadAll()
base = sys.argv[1]
disk = {"dev_type": "file", "size": 2, "iv_name": "disk/0", "params": {},
        "logical_id": ["loop", base + "/node1/srv/ganeti/file-storage/vi/disk0"]}
procs["file_storage_dir_create"](base + "/node1/srv/ganeti/file-storage/vi")
print(json.dumps(procs["blockdev_create"](disk, 2, "vi", True, "", False)))
print(json.dumps(procs["blockdev_assemble"](disk, {"name": "vi"}, True, 0)))
"""


def test_virtual_node(tmp_path: Path) -> None:
    """On virtual node2, a file disk of the master's path lives in node2's root."""
    root = tmp_path / "node2"
    (root / "etc/ganeti").mkdir(parents=True)
    (root / "var/lib/ganeti").mkdir(parents=True)
    (root / "etc/ganeti/file-storage-paths").write_text("/srv/ganeti/file-storage\n")
    data = root / "var/lib/ganeti"
    (data / "ssconf_node_list").write_text("node1\nnode2\n")
    (data / "ssconf_file_storage_dir").write_text(
        f"{tmp_path}/node1/srv/ganeti/file-storage\n")
    (data / "ssconf_shared_file_storage_dir").write_text("")
    env = dict(os.environ, GANETI_ROOTDIR=str(root), GANETI_HOSTNAME="node2",
               PYTHONPATH=str(_REPO))
    result = subprocess.run([sys.executable, "-c", _VIRTUAL_CODE, str(tmp_path)],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    created, assembled = (json.loads(line) for line in result.stdout.splitlines())
    local = root / "srv/ganeti/file-storage/vi/disk0"
    assert created == ["loop", f"{tmp_path}/node1/srv/ganeti/file-storage/vi/disk0"]
    assert assembled == [str(local), f"{root}/var/run/ganeti/instance-disks/vi:0",
                         None]
    assert local.stat().st_size == 2 * MIB
    assert os.readlink(root / "var/run/ganeti/instance-disks/vi:0") == str(local)
    assert not (tmp_path / "node1").exists()
