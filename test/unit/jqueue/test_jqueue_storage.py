"""Tests for ganeti.jqueue.storage (queue directory) and dependency rules."""

import os
import stat

import pytest

from ganeti import errors
from ganeti.jqueue import processor
from ganeti.jqueue.storage import JobStorage


@pytest.fixture
def storage(tmp_path):
    replicated = []
    store = JobStorage(str(tmp_path / "queue"),
                       replicate_fn=lambda name, data: replicated.append((name, data)))
    store.replicated = replicated
    store.Open()
    yield store
    store.Close()


def test_open_creates_layout(storage, tmp_path):
    qdir = tmp_path / "queue"
    assert stat.S_IMODE(os.stat(qdir).st_mode) == 0o750
    assert stat.S_IMODE(os.stat(qdir / "archive").st_mode) == 0o750
    assert (qdir / "version").read_text() == "1\n"
    assert stat.S_IMODE(os.stat(qdir / "version").st_mode) == 0o640
    assert (qdir / "lock").exists()
    assert storage.last_serial == 0


def test_allocate_ids_persists_and_replicates_the_serial(storage, tmp_path):
    assert storage.AllocateIds(1) == [1]
    assert storage.AllocateIds(3) == [2, 3, 4]
    serial = str(tmp_path / "queue" / "serial")
    assert open(serial).read() == "4\n"
    assert storage.replicated[-1] == (serial, "4\n")
    with pytest.raises(errors.ProgrammerError):
        storage.AllocateIds(0)


def test_archive_buckets(storage, tmp_path):
    qdir = tmp_path / "queue"
    archive = qdir / "archive"
    assert storage.GetArchivedJobPath(12345) == str(archive / "1" / "job-12345")
    assert storage.GetArchivedJobPath(9999) == str(archive / "0" / "job-9999")
    storage.WriteFile(storage.GetJobPath(12345), "{}")
    (old, new) = storage.ArchiveJobFile(12345)
    assert old == str(qdir / "job-12345") and not os.path.exists(old)
    assert open(new).read() == "{}"
    assert stat.S_IMODE(os.stat(qdir / "archive" / "1").st_mode) == 0o750
    assert storage.ListArchivedJobIds() == [12345]
    assert storage.ListLiveJobIds() == []


def test_second_open_is_refused_until_close(storage, tmp_path):
    other = JobStorage(str(tmp_path / "queue"))
    with pytest.raises(errors.JobQueueError, match="in use by another job queue"):
        other.Open()
    storage.Close()
    other.Open()
    other.Close()


def test_open_removes_interrupted_writes_and_respects_existing_ids(tmp_path):
    qdir = tmp_path / "queue"
    (qdir / "archive" / "2").mkdir(parents=True)
    (qdir / "archive" / "2" / "job-20007").write_text("{}")
    (qdir / "job-17").write_text("{}")
    (qdir / ".job-17.ab12cd.new").write_text("{")
    (qdir / ".serial.zz.new").write_text("1")
    (qdir / "serial").write_text("5\n")
    store = JobStorage(str(qdir))
    store.Open()
    try:
        assert sorted(os.listdir(qdir)) == ["archive", "job-17", "lock", "serial",
                                            "version"]
        assert store.last_serial == 20007
    finally:
        store.Close()


@pytest.mark.parametrize(("name", "content", "match"), [
    ("version", "2\n", "version '2'"),
    ("serial", "twelve\n", "not a job id"),
])
def test_unusable_queue_files_are_refused(tmp_path, name, content, match):
    qdir = tmp_path / "queue"
    qdir.mkdir()
    (qdir / name).write_text(content)
    store = JobStorage(str(qdir))
    with pytest.raises(errors.JobQueueError, match=match):
        store.Open()
    # the lock was released: a fixed queue opens
    (qdir / name).unlink()
    store.Open()
    store.Close()


def test_read_job_data(storage):
    path = storage.GetJobPath(3)
    assert storage.ReadJobData(path) is None
    storage.WriteFile(path, '{"id": 3')
    with pytest.raises(errors.JobFileCorrupted, match="job-3"):
        storage.ReadJobData(path)


def test_drain_flag(storage, tmp_path):
    flags = []
    storage._replicate_drain_fn = flags.append
    assert not storage.IsDrained()
    storage.SetDrainFlag(True)
    storage.SetDrainFlag(True)
    assert storage.IsDrained()
    assert (tmp_path / "queue" / "drain").read_text() == ""
    storage.SetDrainFlag(False)
    storage.SetDrainFlag(False)
    assert not storage.IsDrained()
    assert flags == [True, True, False, False]


def _Status(statuses):
    def _Get(job_id):
        if job_id not in statuses:
            raise errors.JobLost(f"Job {job_id} not found")
        return statuses[job_id]
    return _Get


@pytest.mark.parametrize(("dep_status", "wanted", "result"), [
    ("running", ["success"], processor.DEP_WAIT),
    ("queued", [], processor.DEP_WAIT),
    ("success", ["success"], processor.DEP_CONTINUE),
    ("success", [], processor.DEP_CONTINUE),
    ("error", [], processor.DEP_CONTINUE),
    ("error", ["success"], processor.DEP_ERROR),
    ("error", ["error", "success"], processor.DEP_CONTINUE),
    ("canceled", [], processor.DEP_CANCEL),
    ("canceled", ["success"], processor.DEP_CANCEL),
    ("canceled", ["canceled"], processor.DEP_CONTINUE),
])
def test_dependency_rules(dep_status, wanted, result):
    (got, message) = processor.EvaluateDependency(
        2, 1, wanted, _Status({1: dep_status}))
    assert got == result
    assert "job 1" in message


def test_dependency_on_itself_or_unknown_job_fails():
    status_fn = _Status({})
    assert processor.EvaluateDependency(2, 2, [], status_fn)[0] == processor.DEP_ERROR
    assert processor.EvaluateDependency(2, 9, [], status_fn) == (
        processor.DEP_ERROR, "Dependency job 9 not found")
