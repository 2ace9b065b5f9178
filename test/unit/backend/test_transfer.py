"""Node side of disk copies (ganeti/backend/transfer.py) on real sparse files."""

import hashlib
import os

import pytest

from ganeti import backend, pathutils
from ganeti.backend import RPCFail, transfer

MiB = 1024 * 1024


@pytest.fixture
def storage(tmp_path):
    """An allowed file storage directory and its paths file."""
    root = tmp_path / "file-storage"
    root.mkdir()
    paths_file = tmp_path / "file-storage-paths"
    paths_file.write_text(f"# allowed\n{root}\n")
    return root, str(paths_file)


def _Sparse(path, size, writes=()):
    """A sparse file of size bytes with (offset, data) written into it."""
    with open(path, "wb") as handle:
        handle.truncate(size)
        for offset, data in writes:
            handle.seek(offset)
            handle.write(data)
    return str(path)


def _Disk(path, dev_type="file"):
    return {"dev_type": dev_type, "logical_id": ["loop", str(path)], "size": 1}


def _Copy(src, dst, chunk=MiB):
    """What the master does: relay chunks until the source is exhausted."""
    pos, calls = 0, 0
    while True:
        reply = transfer.ReadChunk(src, pos, chunk)
        calls += 1
        if reply["data"] is None:
            if reply["offset"] >= reply["size"]:
                return calls
            pos = reply["offset"]
            continue
        data = transfer.DecodeChunk(reply["data"])
        assert transfer.WriteChunk(dst, reply["offset"], data) == len(data)
        pos = reply["offset"] + len(data)


def testCopyOfSparseFileHasSameChecksumAndStaysSparse(tmp_path):
    payload = os.urandom(3 * MiB + 123)
    src = _Sparse(tmp_path / "src", 64 * MiB,
                  [(5 * MiB + 7, payload), (60 * MiB, b"tail")])
    dst = _Sparse(tmp_path / "dst", 64 * MiB)
    calls = _Copy(src, dst)
    assert calls < 10  # holes are skipped, not read chunk by chunk
    src_sum, dst_sum = transfer.Checksum(src), transfer.Checksum(dst)
    assert src_sum == dst_sum
    with open(src, "rb") as handle:
        assert src_sum["sha256"] == hashlib.sha256(handle.read()).hexdigest()
    assert src_sum["size"] == 64 * MiB
    # Only the written ranges were allocated on the target.
    assert os.stat(dst).st_blocks * 512 < 8 * MiB


def testWrittenZerosAreNotSent(tmp_path):
    src = _Sparse(tmp_path / "src", 8 * MiB, [(0, bytes(6 * MiB))])
    reply = transfer.ReadChunk(src, 0, MiB)
    assert reply == {"size": 8 * MiB, "offset": 8 * MiB, "data": None}


def testReadReturnsDataStartingAtTheNextExtent(tmp_path):
    src = _Sparse(tmp_path / "src", 4 * MiB, [(2 * MiB, b"x" * 10)])
    reply = transfer.ReadChunk(src, 0, MiB)
    assert transfer.DecodeChunk(reply["data"])[:10] == b"x" * 10
    assert reply["offset"] <= 2 * MiB  # extent granularity is the fs block
    assert reply["offset"] + MiB > 2 * MiB


def testChecksumDiffersWhenOneByteDiffers(tmp_path):
    one = _Sparse(tmp_path / "one", MiB, [(100, b"a")])
    two = _Sparse(tmp_path / "two", MiB, [(100, b"b")])
    assert transfer.Checksum(one)["sha256"] != transfer.Checksum(two)["sha256"]


def testWritePastTheEndIsRefusedAndLeavesTheFileAlone(tmp_path):
    dst = _Sparse(tmp_path / "dst", MiB)
    with pytest.raises(RPCFail, match="has only 1048576 bytes"):
        transfer.WriteChunk(dst, MiB - 2, b"abc")
    assert os.path.getsize(dst) == MiB
    assert transfer.Checksum(dst) == transfer.Checksum(_Sparse(tmp_path / "z", MiB))


def testMissingDeviceIsAClearError(tmp_path):
    with pytest.raises(RPCFail, match="Cannot open .*missing"):
        transfer.ReadChunk(str(tmp_path / "missing"), 0, MiB)
    (tmp_path / "dir").mkdir()
    with pytest.raises(RPCFail, match="neither a regular file"):
        transfer.Checksum(str(tmp_path / "dir"))


def testDevicePathFindsExistingFileDisksBelowAllowedDirs(storage, tmp_path,
                                                        monkeypatch):
    root, paths_file = storage
    monkeypatch.setattr(pathutils, "FILE_STORAGE_PATHS_FILE", paths_file)
    (root / "inst1").mkdir()
    inside = _Sparse(root / "inst1" / "disk0", MiB)
    assert transfer.DevicePath(_Disk(inside)) == inside
    assert transfer.DevicePath(_Disk(inside, "sharedfile")) == inside
    with pytest.raises(RPCFail, match="does not exist on this node"):
        transfer.DevicePath(_Disk(root / "inst1" / "disk1"))
    elsewhere = _Sparse(tmp_path / "elsewhere", MiB)
    with pytest.raises(RPCFail, match="not acceptable for file storage"):
        transfer.DevicePath(_Disk(elsewhere))
    with pytest.raises(RPCFail, match="must not contain '..'"):
        transfer.DevicePath(_Disk(f"{root}/../elsewhere"))
    with pytest.raises(RPCFail, match="Cannot find disk"):
        transfer.DevicePath({"dev_type": "file", "logical_id": "x"})
    monkeypatch.setattr(pathutils, "FILE_STORAGE_PATHS_FILE",
                        str(tmp_path / "no-such-file"))
    with pytest.raises(RPCFail, match="not accessible"):
        transfer.DevicePath(_Disk(inside))


def testProceduresAreRegisteredAndCheckTheirArguments():
    procedures = backend.LoadAll()
    for name in ("transfer_read", "transfer_write", "transfer_checksum"):
        assert name in procedures
    with pytest.raises(RPCFail, match="takes 3 argument"):
        procedures["transfer_read"]({"dev_type": "file"})
    with pytest.raises(RPCFail, match="Cannot find disk"):
        procedures["transfer_checksum"]({"dev_type": "no-such-type"})


def testProcedureLimitsChunkSizeAndRejectsCorruptData(storage, monkeypatch):
    root, paths_file = storage
    monkeypatch.setattr(pathutils, "FILE_STORAGE_PATHS_FILE", paths_file)
    path = _Sparse(root / "disk0", MiB)
    disk = _Disk(path)
    with pytest.raises(RPCFail, match="at most"):
        transfer.TransferRead(disk, 0, transfer.MAX_CHUNK_SIZE + 1)
    with pytest.raises(RPCFail, match="Invalid argument 'offset'"):
        transfer.TransferRead(disk, -1, MiB)
    with pytest.raises(RPCFail, match="Invalid chunk data"):
        transfer.TransferWrite(disk, 0, [1, "not base64 !"])
    written = transfer.TransferWrite(disk, 10, transfer.EncodeChunk(b"hello"))
    assert written == 5
    reply = transfer.TransferRead(disk, 0, MiB)
    assert transfer.DecodeChunk(reply["data"])[10:15] == b"hello"
    assert transfer.TransferChecksum(disk)["size"] == MiB
