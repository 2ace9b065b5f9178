"""Tests for ganeti.jqueue.JobQueue with real files and threads.

Opcodes run through a small fake processor (mcpu's contract: CurrentPriority
before lock attempts, NotifyStart once "locked", Feedback, SubmitManyJobs),
driven by OpTestDummy's parameters and by per-job gates the tests open.
"""

import collections
import logging
import os
import shutil
import stat
import subprocess
import sys
import threading
import time

import pytest

from ganeti import config, errors, locking, mcpu, opcodes, serializer
from ganeti.jqueue import JobQueue

FINAL = ("success", "error", "canceled")


class FakeCluster:
    max_running_jobs = 20


class FakeCfg:
    def __init__(self):
        self.cluster = FakeCluster()

    def GetClusterInfo(self):
        return self.cluster


class FakeContext:
    """What the fake processor reads its instructions from, per job id."""

    def __init__(self):
        self.cfg = FakeCfg()
        self.lock = threading.Lock()
        self.executed = []
        self.timeouts = collections.defaultdict(list)
        self.lock_failures = {}
        self.lock_gates = {}
        self.run_gates = {}
        self.in_lock_wait = collections.defaultdict(threading.Event)
        self.running = collections.defaultdict(threading.Event)
        self.concurrent = 0
        self.max_concurrent = 0

    def OpenAllGates(self):
        for gate in list(self.lock_gates.values()) + list(self.run_gates.values()):
            gate.set()


class FakeProcessor:
    def __init__(self, context, ec_id):
        self.context = context
        self.ec_id = ec_id

    def ExecOpCode(self, op, cbs, timeout=None):
        ctx = self.context
        job_id = self.ec_id
        ctx.timeouts[job_id].append(timeout)
        cbs.CurrentPriority()
        with ctx.lock:
            failures = ctx.lock_failures.get(job_id, 0)
            ctx.lock_failures[job_id] = max(0, failures - 1)
        if failures:
            raise mcpu.LockAcquireTimeout("locks are busy")
        if job_id in ctx.lock_gates:
            ctx.in_lock_wait[job_id].set()
            assert ctx.lock_gates[job_id].wait(10)
        cbs.NotifyStart()
        with ctx.lock:
            ctx.executed.append(job_id)
            ctx.concurrent += 1
            ctx.max_concurrent = max(ctx.max_concurrent, ctx.concurrent)
        try:
            ctx.running[job_id].set()
            if job_id in ctx.run_gates:
                assert ctx.run_gates[job_id].wait(10)
            return self._Run(op, cbs)
        finally:
            with ctx.lock:
                ctx.concurrent -= 1

    @staticmethod
    def _Run(op, cbs):
        if not isinstance(op, opcodes.OpTestDummy):
            return None
        for message in op.messages:
            cbs.Feedback(message)
        if op.submit_jobs:
            return cbs.SubmitManyJobs(op.submit_jobs)
        if op.fail == "prereq":
            raise errors.OpPrereqError("Instance is not down", errors.ECODE_STATE)
        if op.fail == "crash":
            raise RuntimeError("boom")
        return op.result


def Dummy(result=None, messages=(), fail=False, submit_jobs=None, **kwargs):
    return opcodes.OpTestDummy(result=result, messages=list(messages), fail=fail,
                               submit_jobs=submit_jobs, **kwargs)


@pytest.fixture
def ctx():
    return FakeContext()


@pytest.fixture
def qdir(tmp_path):
    return str(tmp_path / "queue")


@pytest.fixture
def make_queue(ctx, qdir):
    queues = []

    def _Make(**kwargs):
        kwargs.setdefault("_processor_factory", FakeProcessor)
        kwargs.setdefault("queue_dir", qdir)
        kwargs.setdefault("num_workers", 4)
        queue = JobQueue(ctx, **kwargs)
        queues.append(queue)
        return queue

    yield _Make
    ctx.OpenAllGates()
    for queue in queues:
        queue.Shutdown(timeout=10)


def WaitJob(queue, job_id, timeout=10.0):
    """Follow a job as the CLI does, until it is finalized; its status."""
    deadline = time.monotonic() + timeout
    prev = None
    while time.monotonic() < deadline:
        answer = queue.WaitForJobChanges(job_id, ["status"], prev, None, 2)
        if answer != "nochange":
            prev = answer[0]
            if prev[0] in FINAL:
                return prev[0]
    raise AssertionError(f"job {job_id} not finalized, status {prev}")


def WaitStatus(queue, job_id, wanted, timeout=10.0):
    deadline = time.monotonic() + timeout
    prev = None
    while prev != [wanted]:
        assert time.monotonic() < deadline, f"job {job_id} never {wanted}: {prev}"
        answer = queue.WaitForJobChanges(job_id, ["status"], prev, None, 1)
        if answer != "nochange":
            prev = answer[0]


def ReadJobFile(qdir, job_id):
    return serializer.LoadJson(open(os.path.join(qdir, f"job-{job_id}")).read())


# --- submission and execution ------------------------------------------------

def test_submit_runs_job_and_persists_it(make_queue, qdir):
    replicated = []
    queue = make_queue(replicate_fn=lambda name, data: replicated.append(name))
    job_id = queue.SubmitJob([Dummy(result=1), Dummy(result="two").ToDict()])
    assert job_id == 1
    assert WaitJob(queue, job_id) == "success"
    assert queue.QueryJobs([job_id], ["status", "opstatus", "opresult", "summary"]) \
        == [["success", ["success", "success"], [1, "two"],
             ["TEST_DUMMY", "TEST_DUMMY"]]]
    assert open(os.path.join(qdir, "serial")).read() == "1\n"
    assert open(os.path.join(qdir, "version")).read() == "1\n"
    data = ReadJobFile(qdir, job_id)
    assert [op["status"] for op in data["ops"]] == ["success", "success"]
    op = data["ops"][0]
    assert op["start_timestamp"] <= op["exec_timestamp"] <= op["end_timestamp"]
    assert data["start_timestamp"] == op["start_timestamp"]
    assert data["end_timestamp"] >= data["ops"][1]["end_timestamp"]
    assert data["process_id"] == os.getpid()
    (sec, usec) = data["received_timestamp"]
    assert op["input"]["reason"][-1] == [
        "gnt:opcode:test_dummy", "job=1;index=0", sec * 10**9 + usec * 1000]
    assert data["ops"][1]["input"]["reason"][-1][1] == "job=1;index=1"
    mode = stat.S_IMODE(os.stat(os.path.join(qdir, "job-1")).st_mode)
    assert mode == 0o640
    assert stat.S_IMODE(os.stat(qdir).st_mode) == 0o750
    path = os.path.join(qdir, "job-1")
    assert os.path.join(qdir, "serial") in replicated and path in replicated


def test_error_ends_the_job_and_fails_following_opcodes(make_queue):
    queue = make_queue()
    job_id = queue.SubmitJob([Dummy(result=1), Dummy(fail="prereq"), Dummy()])
    assert WaitJob(queue, job_id) == "error"
    [[opstatus, opresult]] = queue.QueryJobs([job_id], ["opstatus", "opresult"])
    assert opstatus == ["success", "error", "error"]
    assert opresult == [1, ["OpPrereqError", ["Instance is not down", "wrong_state"]],
                        ["OpExecError", ["Preceding opcode failed"]]]


def test_unexpected_exception_becomes_op_exec_error(make_queue, caplog):
    queue = make_queue()
    job_id = queue.SubmitJob([Dummy(fail="crash")])
    assert WaitJob(queue, job_id) == "error"
    assert queue.QueryJobs([job_id], ["opresult"]) == [[[["OpExecError", ["boom"]]]]]
    # the worker survived: the next job runs
    assert WaitJob(queue, queue.SubmitJob([Dummy()])) == "success"


@pytest.mark.parametrize(("ops", "match"), [
    ([{"OP_ID": "OP_TEST_DELAY"}], "OP_TEST_DELAY.duration"),
    ([{"OP_ID": "OP_NO_SUCH_THING"}], "Unknown opcode"),
    ([Dummy(priority=5)], "invalid priority 5"),
    ([Dummy(depends=[[-1, []]])], "Unable to resolve relative job ID -1"),
    ([], "at least one opcode"),
    ("OP_TEST_DELAY", "at least one opcode"),
    ([42], "expected a dict"),
])
def test_bad_opcodes_are_refused_before_an_id_is_used(make_queue, qdir, ops, match):
    queue = make_queue()
    with pytest.raises(errors.OpPrereqError, match=match):
        queue.SubmitJob(ops)
    assert not [name for name in os.listdir(qdir) if name.startswith("job-")]
    assert not os.path.exists(os.path.join(qdir, "serial"))
    assert queue.SubmitJob([Dummy()]) == 1


def test_submit_many_jobs_resolves_relative_dependencies(make_queue):
    queue = make_queue()
    result = queue.SubmitManyJobs([
        [Dummy(result="a")],
        [Dummy(depends=[[-1, ["success"]]])],
        [{"OP_ID": "OP_TEST_DELAY"}],
        [Dummy(depends=[[-1, []]])],
        [Dummy(depends=[[-3, []], [-4, ["success"]]])],
    ])
    assert result[0] == [True, 1] and result[1] == [True, 2]
    assert result[2][0] is False and "OP_TEST_DELAY.duration" in result[2][1]
    assert result[3] == [False, "Unable to resolve relative job ID -1"]
    assert result[4] == [True, 3]
    [[ops2], [ops3]] = queue.QueryJobs([2, 3], ["ops"])
    assert ops2[0]["depends"] == [[1, ["success"]]]
    assert ops3[0]["depends"] == [[2, []], [1, ["success"]]]
    assert [WaitJob(queue, job_id) for job_id in (1, 2, 3)] == ["success"] * 3


def test_200_jobs_submitted_concurrently_all_finish(make_queue):
    queue = make_queue(num_workers=25)
    ids = []
    lock = threading.Lock()

    def _Submit():
        for _ in range(25):
            job_id = queue.SubmitJob([Dummy(result=1), Dummy(result=2)])
            with lock:
                ids.append(job_id)

    threads = [threading.Thread(target=_Submit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(ids) == list(range(1, 201))
    assert all(WaitJob(queue, job_id, timeout=30) == "success" for job_id in ids)
    rows = queue.QueryJobs(None, ["id", "status"])
    assert rows == [[job_id, "success"] for job_id in range(1, 201)]


def test_max_running_jobs_limits_concurrency(make_queue, ctx):
    ctx.cfg.cluster.max_running_jobs = 2
    queue = make_queue(num_workers=5, start_workers=False)
    ids = [queue.SubmitJob([Dummy()]) for _ in range(5)]
    for job_id in ids:
        ctx.run_gates[job_id] = threading.Event()
    queue.StartWorkers()
    assert ctx.running[1].wait(5) and ctx.running[2].wait(5)
    time.sleep(0.2)
    assert sorted(ctx.executed) == [1, 2]
    ctx.OpenAllGates()
    assert all(WaitJob(queue, job_id) == "success" for job_id in ids)
    assert ctx.max_concurrent == 2


def test_opcodes_can_submit_jobs(make_queue):
    queue = make_queue()
    job_id = queue.SubmitJob([Dummy(submit_jobs=[[Dummy(result=5).ToDict()]])])
    assert WaitJob(queue, job_id) == "success"
    assert queue.QueryJobs([job_id], ["opresult"]) == [[[[[True, 2]]]]]
    assert WaitJob(queue, 2) == "success"


def test_lock_timeouts_retry_with_growing_timeouts_then_raise_priority(
        make_queue, ctx):
    class Strategy:
        def __init__(self):
            self._timeouts = iter([1.0, 2.0])

        def NextAttempt(self):
            return next(self._timeouts, None)

    queue = make_queue(start_workers=False, _timeout_strategy_factory=Strategy)
    job_id = queue.SubmitJob([Dummy(result="done")])
    ctx.lock_failures[job_id] = 2
    queue.StartWorkers()
    assert WaitJob(queue, job_id) == "success"
    # two timed attempts failed; the priority went up a step and the timeouts
    # started over
    assert ctx.timeouts[job_id] == [1.0, 2.0, 1.0]
    assert queue.QueryJobs([job_id], ["oppriority", "opresult"]) == [[[-1], ["done"]]]


# --- cancel and priorities ----------------------------------------------------

def test_cancel_queued_job(make_queue, ctx, qdir):
    queue = make_queue(start_workers=False)
    job_id = queue.SubmitJob([Dummy(), Dummy()])
    assert queue.CancelJob(job_id) == (True, f"Dequeued job {job_id}")
    queue.StartWorkers()
    assert WaitJob(queue, job_id) == "canceled"
    assert queue.QueryJobs([job_id], ["opstatus", "opresult"]) == [
        [["canceled", "canceled"], [None, None]]]
    assert ReadJobFile(qdir, job_id)["end_timestamp"] is not None
    assert queue.CancelJob(job_id)[0] is False
    assert queue.CancelJob(999) == (False, "Job 999 not found in queue")
    assert ctx.executed == []


def test_cancel_job_waiting_for_locks(make_queue, ctx):
    queue = make_queue(start_workers=False)
    job_id = queue.SubmitJob([Dummy(), Dummy()])
    ctx.lock_gates[job_id] = threading.Event()
    queue.StartWorkers()
    assert ctx.in_lock_wait[job_id].wait(5)
    answer = []
    canceler = threading.Thread(target=lambda: answer.append(queue.CancelJob(job_id)))
    canceler.start()
    WaitStatus(queue, job_id, "canceling")
    ctx.lock_gates[job_id].set()  # the next lock step sees the cancellation
    canceler.join(10)
    assert answer == [(True, "Job successfully cancelled")]
    assert queue.QueryJobs([job_id], ["status", "opstatus", "opresult"]) == [
        ["canceled", ["canceled", "canceled"], ["Job canceled by request"] * 2]]
    assert job_id not in ctx.executed


def test_running_job_cannot_be_canceled_or_killed(make_queue, ctx):
    queue = make_queue(start_workers=False)
    job_id = queue.SubmitJob([Dummy(result=3)])
    ctx.run_gates[job_id] = threading.Event()
    queue.StartWorkers()
    assert ctx.running[job_id].wait(5)
    assert queue.CancelJob(job_id) == (
        False, "Job no longer waiting, can't cancel (informed it anyway)")
    (success, message) = queue.CancelJob(job_id, kill=True)
    assert not success and "cannot be killed" in message
    ctx.run_gates[job_id].set()
    assert WaitJob(queue, job_id) == "success"


def test_change_job_priority_reorders_queued_jobs(make_queue, ctx):
    queue = make_queue(start_workers=False, num_workers=1)
    low = queue.SubmitJob([Dummy(priority=10)])
    normal = queue.SubmitJob([Dummy()])
    high = queue.SubmitJob([Dummy(priority=-10)])
    normal2 = queue.SubmitJob([Dummy()])
    later = queue.SubmitJob([Dummy(priority=10)])
    assert queue.ChangeJobPriority(later, -10) == (
        True, f"Priorities of pending opcodes for job {later} have been changed"
              " to -10")
    with pytest.raises(errors.OpPrereqError, match="Invalid priority 3"):
        queue.ChangeJobPriority(low, 3)
    assert queue.ChangeJobPriority(999, 0)[0] is False
    queue.StartWorkers()
    for job_id in (low, normal, high, normal2, later):
        assert WaitJob(queue, job_id) == "success"
    assert ctx.executed == [high, later, normal, normal2, low]
    assert queue.ChangeJobPriority(low, 0) == (False, f"Job {low} is finished")


# --- dependencies -------------------------------------------------------------

def test_dependent_job_waits_for_its_dependency(make_queue, ctx):
    queue = make_queue(start_workers=False)
    first = queue.SubmitJob([Dummy()])
    ctx.run_gates[first] = threading.Event()
    second = queue.SubmitJob([Dummy(depends=[[first, ["success"]]])])
    queue.StartWorkers()
    WaitStatus(queue, second, "waiting")
    assert ctx.running[first].wait(5)
    assert queue.QueryJobs([first, second], ["status"]) == [["running"],
                                                            ["waiting"]]
    ctx.run_gates[first].set()
    assert WaitJob(queue, second) == "success"
    assert ctx.executed == [first, second]


def test_dependency_outcomes(make_queue, ctx):
    queue = make_queue(start_workers=False)
    failed = queue.SubmitJob([Dummy(fail="prereq")])
    canceled = queue.SubmitJob([Dummy()])
    queue.CancelJob(canceled)
    wants_success = queue.SubmitJob([Dummy(depends=[[failed, ["success"]]])])
    any_end = queue.SubmitJob([Dummy(depends=[[failed, []]])])
    after_cancel = queue.SubmitJob([Dummy(), Dummy(depends=[[canceled, []]])])
    accepts_cancel = queue.SubmitJob([Dummy(depends=[[canceled, ["canceled"]]])])
    unknown = queue.SubmitJob([Dummy(depends=[[999, []]])])
    queue.StartWorkers()
    assert WaitJob(queue, wants_success) == "error"
    assert queue.QueryJobs([wants_success], ["opresult"]) == [[[[
        "OpExecError", [f"Dependency job {failed} finished with status 'error',"
                        " not one of 'success' as required"]]]]]
    assert WaitJob(queue, any_end) == "success"
    assert WaitJob(queue, after_cancel) == "canceled"
    assert queue.QueryJobs([after_cancel], ["opstatus"]) == [[["success",
                                                               "canceled"]]]
    assert WaitJob(queue, accepts_cancel) == "success"
    assert WaitJob(queue, unknown) == "error"
    assert queue.QueryJobs([unknown], ["opresult"]) == [[[[
        "OpExecError", ["Dependency job 999 not found"]]]]]


def test_cancel_job_waiting_for_dependency(make_queue, ctx):
    queue = make_queue(start_workers=False)
    first = queue.SubmitJob([Dummy()])
    ctx.run_gates[first] = threading.Event()
    second = queue.SubmitJob([Dummy(depends=[[first, []]])])
    queue.StartWorkers()
    WaitStatus(queue, second, "waiting")
    assert queue.CancelJob(second) == (True, "Job successfully cancelled")
    assert queue.QueryJobs([second], ["status"]) == [["canceled"]]
    ctx.run_gates[first].set()
    assert WaitJob(queue, first) == "success"
    assert second not in ctx.executed


# --- drain flag and archive ------------------------------------------------------

def test_drain_flag(make_queue, qdir):
    flags = []
    queue = make_queue(replicate_drain_fn=flags.append)
    assert queue.SetDrainFlag(True) is True
    assert queue.IsDrained() and os.path.exists(os.path.join(qdir, "drain"))
    for submit in (lambda: queue.SubmitJob([Dummy()]),
                   lambda: queue.SubmitManyJobs([[Dummy()]])):
        with pytest.raises(errors.GenericError) as info:
            submit()
        assert type(info.value) is errors.GenericError
        assert info.value.args == ("Queue drained",)
    job_id = queue.SubmitJobToDrainedQueue([Dummy()])
    assert WaitJob(queue, job_id) == "success"
    queue.SetDrainFlag(False)
    assert not queue.IsDrained()
    assert WaitJob(queue, queue.SubmitJob([Dummy()])) == "success"
    assert flags == [True, False]


def test_archive_job(make_queue, qdir):
    renames = []
    queue = make_queue(start_workers=False, replicate_rename_fn=renames.extend)
    done = queue.SubmitJob([Dummy(result=7)])
    pending = queue.SubmitJob([Dummy()])
    assert queue.ArchiveJob(pending) is False
    queue.StartWorkers()
    assert WaitJob(queue, done) == "success"
    assert queue.ArchiveJob(done) is True
    archived = os.path.join(qdir, "archive", "0", f"job-{done}")
    assert renames == [(os.path.join(qdir, f"job-{done}"), archived)]
    assert not os.path.exists(os.path.join(qdir, f"job-{done}"))
    assert serializer.LoadJson(open(archived).read())["ops"][0]["result"] == 7
    assert queue.ArchiveJob(done) is False
    assert queue.ArchiveJob(12345) is False
    assert queue.QueryJobs([done], ["id", "status", "archived"]) == [
        [done, "success", True]]
    assert queue.QueryJobs(None, ["id"]) == [[pending]]
    assert queue.QueryJobs(None, ["id", "archived"]) == [[done, True],
                                                         [pending, False]]
    answer = queue.WaitForJobChanges(done, ["status"], ["success"], None, 5)
    assert answer == [["success"], []]


def _HandJob(job_id, statuses, end=None, received=(1000, 0)):
    """A job file written by hand, as a crashed master would leave it."""
    ops = []
    for (idx, status) in enumerate(statuses):
        started = status != "queued"
        ops.append({"input": Dummy(result=idx).ToDict(), "status": status,
                    "result": idx if status == "success" else None, "log": [],
                    "start_timestamp": [1000, 1] if started else None,
                    "exec_timestamp": [1000, 2] if started else None,
                    "end_timestamp": end if status in FINAL else None,
                    "priority": 0})
    return {"id": job_id, "ops": ops,
            "start_timestamp": [1000, 1] if statuses[0] != "queued" else None,
            "end_timestamp": end, "received_timestamp": list(received),
            "livelock": None, "process_id": 4242}


def _WriteHandJobs(qdir, jobs, serial=None):
    os.makedirs(qdir, exist_ok=True)
    for job in jobs:
        with open(os.path.join(qdir, f"job-{job['id']}"), "w") as handle:
            handle.write(serializer.DumpJson(job))
    if serial is not None:
        with open(os.path.join(qdir, "serial"), "w") as handle:
            handle.write(f"{serial}\n")


def test_auto_archive_by_age_and_timeout(make_queue, qdir):
    now = int(time.time())
    _WriteHandJobs(qdir, [
        _HandJob(1, ["success"], end=[now - 7200, 0]),
        _HandJob(2, ["error"], end=[now - 60, 0]),
        _HandJob(3, ["queued"]),
        _HandJob(4, ["success"], end=[now - 7200, 5]),
    ], serial=4)
    queue = make_queue(start_workers=False)
    assert queue.AutoArchiveJobs(3600, 30) == (2, 0)
    assert sorted(os.listdir(os.path.join(qdir, "archive", "0"))) == [
        "job-1", "job-4"]
    assert queue.AutoArchiveJobs(3600, 30) == (0, 0)
    assert queue.AutoArchiveJobs(30, 0) == (0, 2)  # no time: nothing inspected
    assert queue.AutoArchiveJobs(-1, 30) == (1, 0)
    assert queue.QueryJobs(None, ["id"]) == [[3]]


# --- waiting for changes ---------------------------------------------------------

def test_wait_for_job_changes_wakes_promptly_on_a_log_entry(make_queue, ctx):
    queue = make_queue(start_workers=False)
    job_id = queue.SubmitJob([Dummy(messages=["hello"])])
    ctx.run_gates[job_id] = threading.Event()
    queue.StartWorkers()
    WaitStatus(queue, job_id, "running")
    opened = []

    def _Open():
        time.sleep(0.3)
        opened.append(time.monotonic())
        ctx.run_gates[job_id].set()

    opener = threading.Thread(target=_Open)
    opener.start()
    answer = queue.WaitForJobChanges(job_id, ["status"], ["running"], None, 10)
    woke = time.monotonic()
    opener.join()
    (_, log) = answer
    assert [entry[0] for entry in log] == [1]
    assert log[0][2:] == ["message", "hello"]
    assert woke - opened[0] < 0.1
    assert WaitJob(queue, job_id) == "success"
    assert queue.WaitForJobChanges(job_id, ["status"], ["success"], 1, 10) == [
        ["success"], []]


def test_wait_for_job_changes_times_out_with_nochange(make_queue, ctx):
    queue = make_queue(start_workers=False)
    job_id = queue.SubmitJob([Dummy()])
    assert queue.WaitForJobChanges(job_id, ["status"], None, None, 5) == [
        ["queued"], []]
    start = time.monotonic()
    assert queue.WaitForJobChanges(job_id, ["status"], ["queued"], None,
                                   0.3) == "nochange"
    assert 0.25 <= time.monotonic() - start < 2
    with pytest.raises(errors.JobLost):
        queue.WaitForJobChanges(999, ["status"], None, None, 1)
    with pytest.raises(errors.OpPrereqError, match="no_such_field"):
        queue.WaitForJobChanges(job_id, ["no_such_field"], None, None, 1)


def test_query_jobs_new_reports_unknown_jobs_as_unavailable(make_queue):
    queue = make_queue()
    job_id = queue.SubmitJob([Dummy()])
    WaitJob(queue, job_id)
    result = queue.QueryJobsNew(["id", "status"],
                                ["|", ["==", "id", 999], ["==", "id", job_id]])
    assert [field["name"] for field in result["fields"]] == ["id", "status"]
    assert result["data"] == [[[0, job_id], [0, "success"]], [[0, 999], [3, None]]]
    assert queue.QueryJobs([999, job_id], ["id"]) == [None, [job_id]]


# --- restart and recovery -----------------------------------------------------------

def test_recovery_after_crash(make_queue, ctx, qdir, caplog):
    _WriteHandJobs(qdir, [
        _HandJob(1, ["success", "running", "queued"]),
        _HandJob(2, ["waiting"]),
        _HandJob(3, ["queued"]),
        _HandJob(4, ["canceling"]),
        _HandJob(5, ["success"], end=[1000, 9]),
    ], serial=7)
    with open(os.path.join(qdir, "job-6"), "w") as handle:
        handle.write('{"id": 6, "ops": [{"inp')  # half written
    leftover = os.path.join(qdir, ".job-3.x1y2.new")
    with open(leftover, "w") as handle:
        handle.write("{")
    with caplog.at_level(logging.ERROR):
        queue = make_queue()
    assert "job-6" in caplog.text
    assert not os.path.exists(leftover)
    unclean = ["OpExecError", ["Unclean master daemon shutdown"]]
    assert queue.QueryJobs([1, 4], ["status", "opstatus", "opresult"]) == [
        ["error", ["success", "error", "error"], [0, unclean, unclean]],
        ["error", ["error"], [unclean]]]
    assert ReadJobFile(qdir, 1)["ops"][1]["result"] == unclean
    assert ReadJobFile(qdir, 1)["end_timestamp"] is not None
    assert WaitJob(queue, 2) == "success" and WaitJob(queue, 3) == "success"
    assert sorted(ctx.executed) == [2, 3]
    assert queue.QueryJobs([5, 6], ["status"]) == [["success"], None]
    assert queue.SubmitJob([Dummy()]) == 8


def test_serial_never_goes_below_existing_jobs(make_queue, qdir):
    _WriteHandJobs(qdir, [_HandJob(41, ["success"], end=[1000, 0])], serial=3)
    queue = make_queue()
    assert queue.SubmitJob([Dummy()]) == 42


def test_shutdown_leaves_jobs_to_the_next_start(make_queue, ctx, qdir):
    queue = make_queue(start_workers=False)
    job_id = queue.SubmitJob([Dummy(result="later")])
    queue.Shutdown()
    with pytest.raises(errors.JobQueueError):
        queue.SubmitJob([Dummy()])
    queue = make_queue()
    assert WaitJob(queue, job_id) == "success"


def test_prepare_shutdown_refuses_jobs_and_reports_running_ones(make_queue, ctx):
    queue = make_queue(start_workers=False)
    job_id = queue.SubmitJob([Dummy()])
    ctx.run_gates[job_id] = threading.Event()
    queue.StartWorkers()
    assert ctx.running[job_id].wait(5)
    assert queue.PrepareShutdown() is True
    with pytest.raises(errors.JobQueueError, match="shutting down"):
        queue.SubmitJob([Dummy()])
    ctx.run_gates[job_id].set()
    assert WaitJob(queue, job_id) == "success"
    deadline = time.monotonic() + 5
    while queue.PrepareShutdown():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_queue_lock_refuses_a_second_queue(make_queue, qdir):
    first = make_queue(start_workers=False)
    with pytest.raises(errors.JobQueueError, match="in use"):
        make_queue(start_workers=False)
    first.Shutdown()
    make_queue(start_workers=False)


def test_replication_failures_never_fail_jobs(make_queue, caplog):
    def _Fail(name, data):
        raise errors.RpcError("node2 unreachable")

    queue = make_queue(replicate_fn=_Fail)
    with caplog.at_level(logging.WARNING):
        job_id = queue.SubmitJob([Dummy()])
        assert WaitJob(queue, job_id) == "success"
    assert "node2 unreachable" in caplog.text


# --- with the real processor ------------------------------------------------------

CONFIG_DATA = os.path.join(os.path.dirname(__file__), "..", "..", "data",
                           "config.data.json")


class _HooksOnlyRpc:
    """The one RPC a hook-less LU needs when no node daemon runs."""

    def call_hooks_runner(self, node_list, *args, **kwargs):
        return {}


class _MasterContext:
    def __init__(self, cfg):
        self.cfg = cfg
        self.glm = locking.GanetiLockManager(
            cfg.GetNodeList(), cfg.GetNodeGroupList(), cfg.GetInstanceList(), [])

    def GetRpc(self, cfg):
        return _HooksOnlyRpc()


def test_real_processor_runs_test_delay(tmp_path):
    shutil.copy(CONFIG_DATA, tmp_path / "config.data")
    cfg = config.ConfigWriter(str(tmp_path / "config.data"), offline=True)
    queue = JobQueue(_MasterContext(cfg), queue_dir=str(tmp_path / "queue"))
    try:
        ok = queue.SubmitJob([opcodes.OpTestDelay(duration=0.01, repeat=2,
                                                  no_locks=False).ToDict()])
        bad = queue.SubmitJob([opcodes.OpTestDelay(duration=0.0)])
        assert WaitJob(queue, ok) == "success"
        assert WaitJob(queue, bad) == "error"
        [[log, _], [_, result]] = queue.QueryJobs([ok, bad], ["oplog", "opresult"])
        assert [entry[3] for entry in log[0]] == [
            " - INFO: Test delay iteration 0/1", " - INFO: Test delay iteration 1/1"]
        # As real Ganeti (samples/luxi-debug-delay-zero.txt): no error code.
        assert result == [["OpPrereqError", ["Duration must be greater than zero"]]]
    finally:
        queue.Shutdown()


_CRASHING_MASTER = """
import sys, threading
from ganeti import opcodes
from ganeti.jqueue import JobQueue

class Processor:
    def __init__(self, context, ec_id):
        pass

    def ExecOpCode(self, op, cbs, timeout=None):
        cbs.NotifyStart()
        cbs.Feedback("about to hang")
        print("running", flush=True)
        threading.Event().wait()

queue = JobQueue(None, queue_dir=sys.argv[1], num_workers=1, start_workers=False,
                 _processor_factory=Processor)
op = opcodes.OpTestDummy(result=1, messages=[], fail=False, submit_jobs=None)
queue.SubmitJob([op, op])
queue.SubmitJob([op])
queue.StartWorkers()
threading.Event().wait()
"""


def test_kill_9_of_the_master_loses_nothing(make_queue, ctx, qdir):
    root = os.path.join(os.path.dirname(__file__), "..", "..", "..")
    child = subprocess.Popen([sys.executable, "-c", _CRASHING_MASTER, qdir],
                             stdout=subprocess.PIPE, text=True,
                             env=dict(os.environ, PYTHONPATH=os.path.abspath(root)))
    try:
        assert child.stdout.readline() == "running\n"
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
    queue = make_queue()
    unclean = ["OpExecError", ["Unclean master daemon shutdown"]]
    [[status, opresult, oplog]] = queue.QueryJobs([1], ["status", "opresult",
                                                       "oplog"])
    assert (status, opresult) == ("error", [unclean, unclean])
    assert oplog[0][0][3] == "about to hang"
    assert WaitJob(queue, 2) == "success"
    assert not [name for name in os.listdir(qdir) if name.endswith(".new")]
