"""The disk type map and data helpers of ganeti/storage/bdev.py."""

import http.server
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from support.storage_contract import MIB, FileStorageEnv

from ganeti import constants, errors, objects
from ganeti.storage import bdev, filestorage


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FileStorageEnv:
    return FileStorageEnv.Create(tmp_path, monkeypatch)


def _Disk(path: Path, dev_type: str = constants.DT_FILE, size: int = 4
          ) -> objects.Disk:
    return objects.Disk(dev_type=dev_type, logical_id=["loop", str(path)],
                        size=size, params={}, children=[], iv_name="disk/0")


def test_dev_map_serves_the_file_templates() -> None:
    assert bdev.DEV_MAP == {constants.DT_FILE: filestorage.FileStorage,
                            constants.DT_SHARED_FILE: filestorage.SharedFileStorage}


@pytest.mark.parametrize("dev_type, reason", [
    (constants.DT_PLAIN, "LVM is not installed"),
    (constants.DT_DRBD8, "DRBD is not installed"),
    (constants.DT_RBD, "Ceph RBD is not installed"),
    (constants.DT_GLUSTER, "GlusterFS is not installed"),
    (constants.DT_EXT, "ExtStorage"),
    (constants.DT_BLOCK, "cannot be adopted"),
])
def test_unavailable_disk_types(dev_type: str, reason: str) -> None:
    with pytest.raises(errors.BlockDeviceError) as info:
        bdev.GetDeviceClass(dev_type)
    message = str(info.value)
    assert message.startswith(f"Disk type '{dev_type}' is not available on this node")
    assert reason in message
    assert "implemented" not in message


def test_diskless_and_unknown_types() -> None:
    with pytest.raises(errors.BlockDeviceError, match="diskless instance has no"):
        bdev.GetDeviceClass(constants.DT_DISKLESS)
    with pytest.raises(errors.BlockDeviceError, match="Invalid block device type"):
        bdev.GetDeviceClass("floppy")
    with pytest.raises(errors.BlockDeviceError, match="Invalid block device type"):
        bdev.GetDeviceClass(None)


def test_create_find_assemble(env: FileStorageEnv) -> None:
    disk = _Disk(env.file_dir / "inst" / "disk0", size=6)
    assert bdev.FindDevice(disk, []) is None
    with pytest.raises(errors.BlockDeviceError, match="No such file"):
        bdev.Assemble(disk, [])
    device = bdev.Create(disk, [], False)
    assert Path(device.dev_path).stat().st_size == 6 * MIB
    found = bdev.FindDevice(disk, [])
    assert found is not None and found.dev_path == device.dev_path
    assert bdev.Assemble(disk, []).attached
    plain = objects.Disk(dev_type=constants.DT_PLAIN, logical_id=["xenvg", "lv"],
                         size=4, params={}, children=[])
    with pytest.raises(errors.BlockDeviceError, match="LVM is not installed"):
        bdev.Create(plain, [], False)


def test_wipe_device(tmp_path: Path) -> None:
    path = tmp_path / "disk"
    path.write_bytes(b"\xff" * (4 * MIB))
    bdev.WipeDevice(str(path), 1, 2)
    content = path.read_bytes()
    assert len(content) == 4 * MIB
    assert content[:MIB] == b"\xff" * MIB
    assert content[MIB:3 * MIB] == bytes(2 * MIB)
    assert content[3 * MIB:] == b"\xff" * MIB


def test_copy_data_keeps_sparse_targets_sparse(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    with open(src, "wb") as fh:
        fh.truncate(8 * MIB)
        fh.seek(5 * MIB)
        fh.write(b"payload")
    with open(dst, "wb") as fh:
        fh.truncate(16 * MIB)
    bdev.CopyData(str(src), str(dst), 8 * MIB)
    with open(dst, "rb") as fh:
        fh.seek(5 * MIB)
        assert fh.read(7) == b"payload"
    assert dst.stat().st_size == 16 * MIB
    assert dst.stat().st_blocks * 512 <= 2 * MIB
    # Zeros in the source overwrite old data of the target.
    dst.write_bytes(b"\x01" * (8 * MIB))
    bdev.CopyData(str(src), str(dst), 8 * MIB)
    assert dst.read_bytes()[:MIB] == bytes(MIB)
    with pytest.raises(errors.BlockDeviceError, match="bigger than the device"):
        bdev.CopyData(str(src), str(dst), 4 * MIB)


@pytest.mark.skipif(shutil.which("qemu-img") is None, reason="needs qemu-img")
def test_write_qcow2_image(tmp_path: Path) -> None:
    raw, qcow = tmp_path / "image.raw", tmp_path / "image.qcow2"
    raw.write_bytes(b"bootsector" + bytes(MIB - 10))
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw),
                    str(qcow)], check=True)
    disk = tmp_path / "disk"
    disk.write_bytes(b"\x02" * (4 * MIB))
    bdev.WriteImage(str(qcow), str(disk), 4)
    assert disk.read_bytes()[:10] == b"bootsector"
    assert disk.stat().st_size == 4 * MIB
    small = tmp_path / "small"
    small.write_bytes(bytes(MIB // 2))
    with pytest.raises(errors.BlockDeviceError, match="bigger than the device"):
        bdev.WriteImage(str(qcow), str(small), 4)
    overlay = tmp_path / "overlay.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(raw),
                    "-F", "raw", str(overlay)], check=True)
    with pytest.raises(errors.BlockDeviceError, match="has a backing file"):
        bdev.WriteImage(str(overlay), str(disk), 4)


def test_write_raw_image_without_qemu_img(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no qemu-img to be found
    image = tmp_path / "image.raw"
    image.write_bytes(b"raw-image" + bytes(100))
    disk = tmp_path / "disk"
    disk.write_bytes(b"\x03" * (2 * MIB))
    bdev.WriteImage(str(image), str(disk), 2)
    content = disk.read_bytes()
    assert content[:9] == b"raw-image"
    assert content[109:] == b"\x03" * (2 * MIB - 109)
    image.write_bytes(bytes(3 * MIB))
    with pytest.raises(errors.BlockDeviceError, match="bigger than the device"):
        bdev.WriteImage(str(image), str(disk), 2)


def test_write_image_from_url(tmp_path: Path) -> None:
    (tmp_path / "image.raw").write_bytes(b"from-http" + bytes(1000))
    directory = str(tmp_path)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=directory, **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        disk = tmp_path / "disk"
        disk.write_bytes(bytes(MIB))
        assert bdev.IsUrl(f"{url}/image.raw") and not bdev.IsUrl(str(disk))
        bdev.WriteImage(f"{url}/image.raw", str(disk), 1)
        assert disk.read_bytes()[:9] == b"from-http"
        with pytest.raises(errors.BlockDeviceError, match="Cannot download"):
            bdev.WriteImage(f"{url}/missing.raw", str(disk), 1)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_device_size(tmp_path: Path) -> None:
    path = tmp_path / "f"
    with open(path, "wb") as fh:
        fh.truncate(3 * MIB)
    assert bdev.DeviceSize(str(path)) == 3 * MIB
    with pytest.raises(OSError):
        bdev.DeviceSize(str(tmp_path / "missing"))
    assert os.path.exists(path)
