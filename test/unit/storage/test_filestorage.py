"""File-backed disks (ganeti/storage/filestorage.py) on real sparse files."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from support.storage_contract import MIB, CheckBlockDevContract, FileStorageEnv

from ganeti import errors
from ganeti.storage import filestorage
from ganeti.storage.filestorage import FileStorage, SharedFileStorage

_REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FileStorageEnv:
    return FileStorageEnv.Create(tmp_path, monkeypatch)


def _Id(path: Path | str) -> list[str]:
    return ["loop", str(path)]


def _Create(path: Path | str, size: int = 4,
            driver: type[FileStorage] = FileStorage) -> FileStorage:
    return driver.Create(_Id(path), [], size, None, {}, False, {})


def test_file_driver_passes_the_contract(env: FileStorageEnv) -> None:
    CheckBlockDevContract(FileStorage, lambda name: _Id(env.file_dir / "i1" / name))


def test_sharedfile_driver_passes_the_contract(env: FileStorageEnv) -> None:
    CheckBlockDevContract(SharedFileStorage,
                          lambda name: _Id(env.shared_dir / "i1" / name))


def test_create_makes_a_sparse_private_file(env: FileStorageEnv) -> None:
    path = env.file_dir / "inst1.example.com" / "disk0"
    device = _Create(path, size=1024)
    info = path.stat()
    assert info.st_size == 1024 * MIB
    assert info.st_blocks * 512 < MIB  # nothing allocated
    assert stat.S_IMODE(info.st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o750
    assert device.dev_path == str(path)
    device.Grow(512, False, True, False)
    assert path.stat().st_size == 1536 * MIB
    assert path.stat().st_blocks * 512 < MIB
    assert device.GetActualDimensions() == (1536 * MIB, None)


def test_create_refuses_an_existing_file_and_keeps_it(env: FileStorageEnv) -> None:
    path = env.file_dir / "inst1" / "disk0"
    path.parent.mkdir()
    path.write_bytes(b"guest data")
    with pytest.raises(errors.BlockDeviceError, match="already exists"):
        _Create(path)
    assert path.read_bytes() == b"guest data"


def test_failed_create_leaves_nothing_behind(env: FileStorageEnv) -> None:
    path = env.file_dir / "new-inst" / "sub" / "disk0"
    # An exabyte is more than any file system here can hold: ftruncate fails
    # after the directories and the file were made.
    with pytest.raises(errors.BlockDeviceError, match="can't create"):
        _Create(path, size=2 ** 40)
    assert not (env.file_dir / "new-inst").exists()


@pytest.mark.parametrize("path, message", [
    ("{file_dir}/inst/../../../../etc/passwd", "must not contain '..'"),
    ("{file_dir}/../escape/disk0", "must not contain '..'"),
    ("relative/disk0", "must be absolute"),
    ("{root}/elsewhere/disk0", "not acceptable for file storage"),
    ("{file_dir}", "not acceptable for file storage"),
])
def test_path_refusals(env: FileStorageEnv, path: str, message: str) -> None:
    path = path.format(file_dir=env.file_dir, root=env.root)
    with pytest.raises(errors.FileStoragePathError, match=message):
        _Create(path)
    with pytest.raises(errors.FileStoragePathError, match=message):
        FileStorage(_Id(path), [], 4, {}, {})
    assert not Path(env.root, "elsewhere").exists()


def test_not_listed_in_file_storage_paths(env: FileStorageEnv) -> None:
    env.WriteAllowed([str(env.shared_dir)])
    with pytest.raises(errors.FileStoragePathError,
                       match="not below an entry of .*file-storage-paths"):
        _Create(env.file_dir / "inst" / "disk0")
    Path(filestorage.pathutils.FILE_STORAGE_PATHS_FILE).unlink()
    with pytest.raises(errors.FileStoragePathError, match="No paths are valid"):
        _Create(env.shared_dir / "inst" / "disk0", driver=SharedFileStorage)


def test_forbidden_system_directories(env: FileStorageEnv) -> None:
    env.WriteAllowed(["/", str(env.file_dir)])
    for path in ("/etc/ganeti-disk", "/usr/lib/disk0", "/boot/disk"):
        with pytest.raises(errors.FileStoragePathError, match="forbidden prefix"):
            _Create(path)
    env.WriteAllowed(["/etc", "/srv", "relative/dir"])
    assert filestorage.ComputeWrongFileStoragePaths() == ["/etc", "relative/dir"]


def test_new_files_must_be_below_the_clusters_directory(env: FileStorageEnv) -> None:
    other = env.root / "other"
    other.mkdir()
    env.WriteAllowed([str(env.file_dir), str(env.shared_dir), str(other)])
    with pytest.raises(errors.FileStoragePathError,
                       match="not below the cluster's file storage directory"):
        _Create(other / "disk0")
    # The file template's directory does not hold sharedfile disks.
    with pytest.raises(errors.FileStoragePathError, match="sharedfile storage"):
        _Create(env.file_dir / "i" / "disk0", driver=SharedFileStorage)
    # An existing disk stays usable after the cluster's directory moved.
    device = _Create(env.file_dir / "i" / "disk0")
    env.WriteSsconf(str(other), str(env.shared_dir))
    FileStorage(_Id(device.dev_path), [], 4, {}, {}).Remove()
    assert not Path(device.dev_path).exists()


def test_symlinks_are_never_followed(env: FileStorageEnv, tmp_path: Path) -> None:
    target = tmp_path / "victim"
    target.write_bytes(b"precious")
    link = env.file_dir / "disk-link"
    link.symlink_to(target)
    with pytest.raises(errors.BlockDeviceError, match="not a regular file"):
        FileStorage(_Id(link), [], 4, {}, {})
    with pytest.raises(errors.BlockDeviceError, match="already exists"):
        _Create(link)
    assert target.read_bytes() == b"precious"


def test_grow_checks(env: FileStorageEnv) -> None:
    device = _Create(env.file_dir / "i" / "disk0")
    with pytest.raises(errors.BlockDeviceError, match="shrinking is not supported"):
        device.Grow(-2, True, True, False)
    with pytest.raises(errors.BlockDeviceError, match="not enough free space"):
        device.Grow(2 ** 40, True, True, False)
    assert device.GetActualSize() == 4 * MIB
    device.Remove()
    with pytest.raises(errors.BlockDeviceError, match="No such file"):
        device.Grow(1, False, True, False)


def test_rename(env: FileStorageEnv) -> None:
    device = _Create(env.file_dir / "old-name" / "disk0")
    Path(device.dev_path).write_bytes(b"data")
    taken = _Create(env.file_dir / "taken" / "disk0")
    with pytest.raises(errors.BlockDeviceError, match="File exists"):
        device.Rename(_Id(taken.dev_path))
    with pytest.raises(errors.FileStoragePathError):
        device.Rename(_Id(env.root / "outside" / "disk0"))
    assert Path(device.dev_path).read_bytes() == b"data"
    device.Rename(_Id(env.file_dir / "new-name" / "disk0"))
    assert Path(env.file_dir / "new-name" / "disk0").read_bytes() == b"data"
    assert not (env.file_dir / "old-name" / "disk0").exists()
    assert device.unique_id == _Id(env.file_dir / "new-name" / "disk0")


def test_bad_logical_ids(env: FileStorageEnv) -> None:
    for unique_id in (["loop"], "path", ["loop", 5], None):
        with pytest.raises(errors.BlockDeviceError, match="Invalid logical_id"):
            FileStorage(unique_id, [], 4, {}, {})
    with pytest.raises(errors.BlockDeviceError, match="cannot have children"):
        FileStorage(_Id(env.file_dir / "d"), [object()], 4, {}, {})
    with pytest.raises(errors.BlockDeviceError, match="exclusive storage"):
        FileStorage.Create(_Id(env.file_dir / "d"), [], 4, None, {}, True, {})
    with pytest.raises(errors.BlockDeviceError, match="Invalid size"):
        _Create(env.file_dir / "d", size=-1)


def test_check_file_storage_path(env: FileStorageEnv) -> None:
    assert filestorage.CheckFileStoragePath(str(env.file_dir)) is None
    missing = env.file_dir / "missing"
    assert "is not existing" in filestorage.CheckFileStoragePath(str(missing))
    assert "not acceptable" in filestorage.CheckFileStoragePath(str(env.root))
    info = filestorage.GetFileStorageSpaceInfo(str(env.file_dir))
    assert info["type"] == "file" and 0 < info["storage_free"] <= info["storage_size"]
    with pytest.raises(errors.CommandError, match="Failed to retrieve"):
        filestorage.GetFileStorageSpaceInfo(str(missing))


def test_classify_storage_dir(env: FileStorageEnv) -> None:
    assert filestorage.ClassifyStorageDir(str(env.file_dir / "i1")) == (
        "file", str(env.file_dir / "i1"))
    assert filestorage.ClassifyStorageDir(str(env.shared_dir)) == (
        "sharedfile", str(env.shared_dir))
    with pytest.raises(errors.FileStoragePathError, match="not below the cluster's"):
        filestorage.ClassifyStorageDir(str(env.root / "tmp"))
    (Path(filestorage.pathutils.DATA_DIR) / "ssconf_file_storage_dir").unlink()
    with pytest.raises(errors.FileStoragePathError, match="part of a cluster"):
        filestorage.ClassifyStorageDir(str(env.file_dir / "i1"))


_VIRTUAL_CODE = """
import os, sys
from ganeti import errors
from ganeti.storage import filestorage
base = sys.argv[1]
node1 = base + "/node1/srv/ganeti/file-storage/inst/disk0"
shared = base + "/node1/srv/ganeti/shared-file-storage/inst/disk0"
common = base + "/shared/inst/disk0"
dev = filestorage.FileStorage.Create(["loop", node1], [], 2, None, {}, False, {})
print("FILE", dev.dev_path)
dev = filestorage.SharedFileStorage.Create(["loop", shared], [], 2, None, {}, False, {})
print("SHARED", dev.dev_path)
try:
    filestorage.SharedFileStorage.Create(["loop", common], [], 2, None, {}, False, {})
except errors.FileStoragePathError as err:
    print("REFUSED", err)
try:
    filestorage.FileStorage.Create(["loop", base + "/node2/etc/x/disk"], [], 2,
                                   None, {}, False, {})
except errors.FileStoragePathError as err:
    print("FORBIDDEN", err)
"""


def test_virtual_node_paths(tmp_path: Path) -> None:
    """node2 of a virtual cluster: file disks move into its root, shared
    ones stay where the configuration says."""
    root = tmp_path / "node2"
    etc, data = root / "etc/ganeti", root / "var/lib/ganeti"
    etc.mkdir(parents=True)
    data.mkdir(parents=True)
    # Node-root relative entry for "file", host path of node1's shared dir.
    (etc / "file-storage-paths").write_text(
        f"/srv/ganeti/file-storage\n{tmp_path}/node1/srv/ganeti/shared-file-storage\n"
        "/\n")
    (data / "ssconf_node_list").write_text("node1\nnode2\n")
    (data / "ssconf_file_storage_dir").write_text(
        f"{tmp_path}/node1/srv/ganeti/file-storage\n")
    (data / "ssconf_shared_file_storage_dir").write_text(
        f"{tmp_path}/node1/srv/ganeti/shared-file-storage\n")
    env = dict(os.environ, GANETI_ROOTDIR=str(root), GANETI_HOSTNAME="node2",
               PYTHONPATH=str(_REPO))
    result = subprocess.run([sys.executable, "-c", _VIRTUAL_CODE, str(tmp_path)],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert lines["FILE"] == f"{root}/srv/ganeti/file-storage/inst/disk0"
    assert Path(lines["FILE"]).stat().st_size == 2 * MIB
    assert lines["SHARED"] == (f"{tmp_path}/node1/srv/ganeti/shared-file-storage"
                               "/inst/disk0")
    assert Path(lines["SHARED"]).exists()
    assert "not below the cluster's sharedfile storage" in lines["REFUSED"]
    assert "forbidden prefix" in lines["FORBIDDEN"]
