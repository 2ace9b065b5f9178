"""Tests for ganeti.backend.jobqueue: job queue replication on candidates."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ganeti import backend, constants, pathutils, vcluster
from ganeti.backend import RPCFail
from ganeti.rpc import encoding

PROCS = backend.LoadAll()
_REPO = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.skipif(vcluster.IsVirtual(),
                                reason="tests expect a non-virtual node")

_REROOTED = ["DATA_DIR", "CLUSTER_CONF_FILE", "QUEUE_DIR",
             "JOB_QUEUE_ARCHIVE_DIR", "JOB_QUEUE_LOCK_FILE",
             "JOB_QUEUE_SERIAL_FILE", "JOB_QUEUE_DRAIN_FILE"]


@pytest.fixture
def queue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Move the queue below tmp_path; return the queue directory."""
    for name in _REROOTED:
        monkeypatch.setattr(pathutils, name, str(tmp_path) + getattr(pathutils, name))
    Path(pathutils.DATA_DIR).mkdir(parents=True)
    return Path(pathutils.QUEUE_DIR)


def _NotInQueue(path: str) -> str:
    return f"Passed job queue file '{path}' does not belong to the queue directory"


def test_update_creates_queue_and_writes(queue: Path) -> None:
    content = '{"id": 1, "ops": []}' * 50
    PROCS["jobqueue_update"](str(queue / "job-1"), encoding.Compress(content))
    assert (queue / "job-1").read_text() == content
    assert stat.S_IMODE((queue / "job-1").stat().st_mode) == 0o640
    assert stat.S_IMODE(queue.stat().st_mode) == constants.JOB_QUEUE_DIRS_PERMS
    assert (queue / "archive").is_dir()
    PROCS["jobqueue_update"](str(queue / "job-1"), encoding.Compress("new"))
    assert (queue / "job-1").read_text() == "new"


def test_update_refuses_paths_outside_the_queue(queue: Path) -> None:
    config = Path(pathutils.CLUSTER_CONF_FILE)
    config.write_text("precious")
    for path in [str(config), str(queue), str(queue) + "/",
                 str(queue) + "/../config.data",
                 str(queue) + "/archive/../../config.data", "/etc/passwd"]:
        with pytest.raises(RPCFail, match="does not belong to the queue"):
            PROCS["jobqueue_update"](path, encoding.Compress("evil"))
    assert config.read_text() == "precious"


def test_update_refuses_symlink_escape(queue: Path) -> None:
    queue.mkdir(parents=True)
    outside = Path(pathutils.DATA_DIR) / "outside"
    outside.write_text("precious")
    (queue / "job-9").symlink_to(outside)
    with pytest.raises(RPCFail, match=_NotInQueue(str(queue / "job-9"))):
        PROCS["jobqueue_update"](str(queue / "job-9"), encoding.Compress("evil"))
    assert outside.read_text() == "precious"


def test_update_argument_errors(queue: Path) -> None:
    with pytest.raises(RPCFail, match="Invalid content"):
        PROCS["jobqueue_update"](str(queue / "job-1"), "not encoded")
    with pytest.raises(RPCFail, match="is not absolute"):
        PROCS["jobqueue_update"]("job-1", encoding.Compress("x"))
    with pytest.raises(RPCFail, match="job queue file name"):
        PROCS["jobqueue_update"](["job-1"], encoding.Compress("x"))
    assert not (queue / "job-1").exists()


def test_rename_into_archive(queue: Path) -> None:
    queue.mkdir(parents=True)
    (queue / "job-1").write_text("one")
    (queue / "job-2").write_text("two")
    result = PROCS["jobqueue_rename"]([
        [str(queue / "job-1"), str(queue / "archive/0/job-1")],
        [str(queue / "job-2"), str(queue / "archive/0/job-2")]])
    assert result == [None, None]
    assert (queue / "archive/0/job-1").read_text() == "one"
    assert (queue / "archive/0/job-2").read_text() == "two"
    assert not (queue / "job-1").exists()


def test_rename_checks_every_pair_first(queue: Path) -> None:
    queue.mkdir(parents=True)
    (queue / "job-1").write_text("one")
    with pytest.raises(RPCFail, match="does not belong to the queue"):
        PROCS["jobqueue_rename"]([
            [str(queue / "job-1"), str(queue / "archive/0/job-1")],
            [str(queue / "job-2"), str(queue) + "/../stolen"]])
    assert (queue / "job-1").read_text() == "one"
    with pytest.raises(RPCFail, match="rename pair 0"):
        PROCS["jobqueue_rename"]([str(queue / "job-1")])
    with pytest.raises(RPCFail, match="argument 'rename'"):
        PROCS["jobqueue_rename"]({"a": "b"})
    with pytest.raises(RPCFail, match="Can't rename job queue file"):
        PROCS["jobqueue_rename"]([[str(queue / "job-7"), str(queue / "job-8")]])


def test_purge_keeps_only_the_lock(queue: Path) -> None:
    (queue / "archive/0").mkdir(parents=True)
    for name in ["lock", "serial", "version", "job-1", "job-2"]:
        (queue / name).write_text(name)
    (queue / "archive/0/job-0").write_text("old")
    (queue / "archive/stray").write_text("x")
    assert PROCS["jobqueue_purge"]() is None
    assert sorted(os.listdir(queue)) == ["archive", "lock"]
    assert os.listdir(queue / "archive") == []


def test_drain_flag(queue: Path) -> None:
    drain = Path(pathutils.JOB_QUEUE_DRAIN_FILE)
    PROCS["jobqueue_set_drain_flag"](True)
    assert drain.exists() and drain.read_text() == ""
    PROCS["jobqueue_set_drain_flag"](True)
    assert drain.exists()
    PROCS["jobqueue_set_drain_flag"](False)
    assert not drain.exists()
    PROCS["jobqueue_set_drain_flag"](False)
    with pytest.raises(RPCFail, match="argument 'flag'.*boolean"):
        PROCS["jobqueue_set_drain_flag"]("yes")
    assert not drain.exists()


def test_virtual_queue_paths(tmp_path: Path) -> None:
    root = tmp_path / "node1.example.com"
    root.mkdir()
    code = (
        "from ganeti import backend, constants\n"
        "from ganeti.backend import RPCFail\n"
        "from ganeti.rpc import encoding\n"
        "procs = backend.LoadAll()\n"
        "vq = constants.VIRTUAL_PATH_PREFIX + '/var/lib/ganeti/queue'\n"
        "procs['jobqueue_update'](vq + '/job-5', encoding.Compress('five'))\n"
        "procs['jobqueue_rename']([[vq + '/job-5', vq + '/archive/0/job-5']])\n"
        "try:\n"
        "    procs['jobqueue_update']('/var/lib/ganeti/queue/job-6',"
        " encoding.Compress('x'))\n"
        "except RPCFail as err:\n"
        "    print('REFUSED', err)\n")
    env = dict(os.environ, GANETI_ROOTDIR=str(root),
               GANETI_HOSTNAME="node1.example.com", PYTHONPATH=str(_REPO))
    result = subprocess.run([sys.executable, "-c", code], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    queue = root / "var/lib/ganeti/queue"
    assert (queue / "archive/0/job-5").read_text() == "five"
    # A non-virtual path on a virtual node points outside its root.
    assert "REFUSED Passed job queue file" in result.stdout
