"""Tests for ganeti.jqueue.job: state machine, status derivation, file form."""

import itertools

import pytest

from ganeti import errors, opcodes, serializer
from ganeti.jqueue import job as jqjob

SAMPLE = "/work/shared/spec/samples/queue-job-1298.json"

ALL = ["queued", "waiting", "canceling", "running", "canceled", "success", "error"]

LEGAL = {
    ("queued", "waiting"), ("queued", "canceled"), ("queued", "error"),
    ("waiting", "running"), ("waiting", "canceling"), ("waiting", "queued"),
    ("waiting", "error"),
    ("canceling", "canceled"), ("canceling", "running"), ("canceling", "error"),
    ("running", "success"), ("running", "error"),
}


def _Op(status="queued"):
    op = jqjob._QueuedOpCode(opcodes.OpTestDelay(duration=1.0))
    op.status = status
    return op


@pytest.mark.parametrize(("old", "new"), list(itertools.product(ALL, ALL)))
def test_transition_table(old, new):
    op = _Op(old)
    if (old, new) in LEGAL:
        op.SetStatus(new)
        assert op.status == new
    else:
        with pytest.raises(errors.ProgrammerError, match=f"{old} -> {new}"):
            op.SetStatus(new)
        assert op.status == old


def test_final_statuses_have_no_way_out():
    for status in jqjob.OPS_FINALIZED:
        for new in ALL:
            with pytest.raises(errors.ProgrammerError):
                _Op(status).SetStatus(new)


@pytest.mark.parametrize(("statuses", "expected"), [
    ([], "success"),
    (["queued"], "queued"),
    (["success"], "success"),
    (["success", "success"], "success"),
    (["success", "queued"], "queued"),
    (["waiting", "queued"], "waiting"),
    (["success", "running", "queued"], "running"),
    (["running", "waiting"], "waiting"),
    (["success", "error", "error"], "error"),
    (["error", "queued"], "error"),
    (["canceling", "queued"], "canceling"),
    (["waiting", "canceled"], "canceled"),
    (["success", "canceled", "canceled"], "canceled"),
    (["running", "error"], "error"),
    (["queued", "success"], "queued"),
])
def test_status_derivation(statuses, expected):
    assert jqjob.CalcJobStatus(statuses) == expected


def test_job_status_and_priority_follow_opcodes():
    job = jqjob._QueuedJob(7, [opcodes.OpTestDelay(duration=1.0, priority=10),
                               opcodes.OpTestDelay(duration=1.0, priority=-10)],
                           [1, 2])
    assert job.CalcStatus() == "queued"
    assert job.CalcPriority() == -10
    job.ops[0].SetStatus("waiting")
    assert job.CalcStatus() == "waiting"
    job.ops[0].SetStatus("running")
    job.ops[0].SetStatus("success")
    job.ops[1].SetStatus("waiting")
    job.ops[1].SetStatus("running")
    job.ops[1].SetStatus("error")
    assert job.CalcStatus() == "error"
    assert job.CalcPriority() == 0  # nothing left to run: default


def test_mark_unfinished_ops_passes_waiting_through_canceling():
    job = jqjob._QueuedJob(3, [opcodes.OpTestDelay(duration=1.0)] * 3, [1, 2])
    job.ops[0].status = "success"
    job.ops[1].status = "waiting"
    job.MarkUnfinishedOps("canceled", "Job canceled by request")
    assert [op.status for op in job.ops] == ["success", "canceled", "canceled"]
    assert job.ops[0].result is None
    assert job.ops[2].result == "Job canceled by request"
    assert job.ops[2].end_timestamp is not None


def test_finalize_refuses_unfinished_job():
    job = jqjob._QueuedJob(3, [opcodes.OpTestDelay(duration=1.0)], [1, 2])
    with pytest.raises(errors.ProgrammerError, match="unfinished"):
        job.Finalize()


def test_log_entries_and_serials():
    job = jqjob._QueuedJob(3, [opcodes.OpTestDelay(duration=1.0)] * 2, [1, 2])
    job.AddLogEntry(job.ops[0], "message", "one")
    job.AddLogEntry(job.ops[1], "message", ("two", 2))
    entries = job.GetLogEntries(None)
    assert [entry[0] for entry in entries] == [1, 2]
    assert entries[1][2:] == ["message", ["two", 2]]  # JSON form in memory
    assert job.GetLogEntries(1) == [entries[1]]
    assert job.GetLogEntries(2) == []
    (sec, usec) = entries[0][1]
    assert isinstance(sec, int) and 0 <= usec < 1000000


def test_encode_op_error():
    assert jqjob.EncodeOpError(errors.OpPrereqError("bad", "wrong_input")) == [
        "OpPrereqError", ["bad", "wrong_input"]]
    assert jqjob.EncodeOpError(KeyError("x")) == ["OpExecError", ["'x'"]]


def test_sample_job_file_round_trips_byte_for_byte():
    text = open(SAMPLE).read().rstrip("\n")
    job = jqjob._QueuedJob.Restore(serializer.LoadJson(text),
                                   opcodes.OpCode.LoadOpCode)
    assert job.id == 1298
    assert job.CalcStatus() == "success"
    assert job.log_serial == 10
    assert job.ops[0].input.Summary() == "INSTANCE_CREATE(sample-b.ganeti.test)"
    assert serializer.DumpJson(job.Serialize()) == text


def test_new_job_has_the_sample_keys_in_order():
    sample = serializer.LoadJson(open(SAMPLE).read())
    job = jqjob._QueuedJob(5, [opcodes.OpTestDelay(duration=1.0)], [10, 20])
    data = job.Serialize()
    assert list(data) == list(sample)
    assert list(data["ops"][0]) == list(sample["ops"][0])
    assert data["received_timestamp"] == [10, 20]
    assert data["ops"][0]["input"]["OP_ID"] == "OP_TEST_DELAY"
    assert data["ops"][0]["status"] == "queued"


@pytest.mark.parametrize("data", [
    [], {"id": "1", "ops": []}, {"id": 1, "ops": []},
    {"id": 1, "ops": [{"input": {}, "status": "bogus", "log": []}]},
    {"id": 1, "ops": [{"input": {}, "status": "queued", "log": [[1, 2]]}]},
    {"id": 1, "ops": [{"input": {}, "status": "queued", "log": [],
                       "priority": "high"}]},
    {"id": 1, "ops": [{"input": {}, "status": "queued", "log": [],
                       "start_timestamp": [1, "2"]}]},
    {"id": 1, "ops": [{"input": {}, "status": "queued", "log": []}],
     "end_timestamp": "yesterday"},
])
def test_restore_rejects_malformed_jobs(data):
    with pytest.raises(errors.JobFileCorrupted):
        jqjob._QueuedJob.Restore(data, lambda op: op)
