"""The job queue of a real master daemon, driven over LUXI and by the CLI.

One virtual cluster for the module (tools/vcluster-setup, then `gnt-cluster
init` through node1/cmd): 200 concurrent delay jobs, cancelling a queued
and a waiting job, chained jobs, the drain flag. Every process is stopped by
pid at the end and the module fails if daemon-util stop-all missed one.
"""

import os
import threading
import time

import pytest

pytest.importorskip("ganeti.jqueue")

from support import cluster  # noqa: E402

from ganeti import errors, luxi, opcodes  # noqa: E402

N_JOBS = 200
N_THREADS = 8
# The cluster default max_running_jobs (spec/jobs.md section 1).
MAX_RUNNING_JOBS = 20


@pytest.fixture(scope="module")
def vc(tmp_path_factory):
    with cluster.RunningCluster(tmp_path_factory.mktemp("jobs")) as running:
        yield running


def _Delay(duration, **kwargs):
    """A delay opcode on the master; no_locks so jobs run side by side."""
    kwargs.setdefault("no_locks", True)
    return opcodes.OpTestDelay(duration=duration, **kwargs)


def _WaitAll(client, job_ids, timeout=60.0):
    """Poll QueryJobs until every job is finalized; return their rows."""
    deadline = time.monotonic() + timeout
    while True:
        rows = client.QueryJobs(job_ids, ["id", "status", "opresult"])
        pending = [row[0] for row in rows if row[1] not in cluster.FINALIZED]
        if not pending:
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(pending)} jobs unfinished: {pending[:10]}")
        time.sleep(0.05)


def _MaxOverlap(intervals):
    """Most intervals (start, end) open at the same instant."""
    events = sorted([(start, 1) for start, _ in intervals] +
                    [(end, -1) for _, end in intervals])
    best = level = 0
    for _, step in events:
        level += step
        best = max(best, level)
    return best


def _Seconds(timestamp):
    return timestamp[0] + timestamp[1] / 1e6


def test_200_concurrent_delay_jobs_all_succeed(vc):
    submitted = []
    failures = []

    def Submitter(count):
        try:
            with vc.Client() as client:
                for _ in range(count):
                    submitted.append(client.SubmitJob([_Delay(0.01)]))
        except Exception as err:  # reported below, in the test's thread
            failures.append(err)

    threads = [threading.Thread(target=Submitter, args=(N_JOBS // N_THREADS,))
               for _ in range(N_THREADS)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures
    assert len(submitted) == N_JOBS and len(set(submitted)) == N_JOBS
    assert all(isinstance(job_id, int) for job_id in submitted)
    with vc.Client() as client:
        rows = _WaitAll(client, submitted)
        elapsed = time.monotonic() - start
        assert [row[1:] for row in rows] == [["success", [None]]] * N_JOBS
        times = client.QueryJobs(submitted, ["start_ts", "end_ts"])
    # Without locks the jobs ran side by side, up to max_running_jobs.
    overlap = _MaxOverlap([(_Seconds(s), _Seconds(e)) for s, e in times])
    assert 2 <= overlap <= MAX_RUNNING_JOBS
    assert elapsed < 45, f"200 delay jobs took {elapsed:.1f} s"


@pytest.fixture()
def full_workers(vc):
    """max_running_jobs interruptible delay jobs, all running; ended after."""
    with vc.Client() as client:
        blockers = [client.SubmitJob([_Delay(60.0, interruptible=True)])
                    for _ in range(MAX_RUNNING_JOBS)]
        for job_id in blockers:
            cluster.DelaySocket(client, job_id)  # it is running and listening
        try:
            yield blockers
        finally:
            for job_id in blockers:
                cluster.InterruptDelay(client, job_id)
            rows = _WaitAll(client, blockers)
    assert [row[1] for row in rows] == ["success"] * MAX_RUNNING_JOBS


def test_cancel_queued_job_dequeues_it(vc, full_workers):
    with vc.Client() as client:
        job_id = client.SubmitJob([_Delay(0.01)])
        time.sleep(0.3)
        assert client.QueryJobs([job_id], ["status"]) == [["queued"]]
        # A queued job does not change: WaitForJobChange times out.
        start = time.monotonic()
        assert client.WaitForJobChangeOnce(job_id, ["status"], ["queued"], None,
                                           timeout=0.5) == luxi.JOB_NOTCHANGED
        assert time.monotonic() - start >= 0.4
        # ...and wakes up as soon as the job is cancelled.
        changes = []
        with vc.Client() as waiter_client:
            waiter = threading.Thread(target=lambda: changes.append(
                waiter_client.WaitForJobChangeOnce(job_id, ["status"], ["queued"],
                                                   None, timeout=20)))
            waiter.start()
            time.sleep(0.2)
            cancelled_at = time.monotonic()
            assert client.CancelJob(job_id) == [True, f"Dequeued job {job_id}"]
            waiter.join(20)
            assert time.monotonic() - cancelled_at < 5
        assert changes == [[["canceled"], []]]
        assert client.QueryJobs([job_id], ["status", "opstatus", "opresult"]) == \
            [["canceled", ["canceled"], [None]]]
        # A finished job cannot be cancelled again.
        success, message = client.CancelJob(job_id)
        assert success is False and str(job_id) in message


def test_cancel_job_waiting_for_a_dependency(vc):
    with vc.Client() as client:
        blocker = client.SubmitJob([_Delay(60.0, interruptible=True)])
        cluster.DelaySocket(client, blocker)
        follower = client.SubmitJob([_Delay(0.01, depends=[[blocker, []]])])
        time.sleep(0.2)
        (status, ), = client.QueryJobs([follower], ["status"])
        assert status in ("queued", "waiting")
        success, _ = client.CancelJob(follower)
        assert success is True
        assert cluster.WaitJob(client, follower, timeout=10) == "canceled"
        # The blocker cannot be cancelled while it runs; it is interrupted.
        success, message = client.CancelJob(blocker)
        assert (success, message) == \
            (False, "Job no longer waiting, can't cancel (informed it anyway)")
        cluster.InterruptDelay(client, blocker)
        assert cluster.WaitJob(client, blocker, timeout=20) == "success"
        success, message = client.CancelJob(blocker)
        assert success is False and str(blocker) in message


def test_submit_many_jobs_with_relative_dependencies(vc):
    with vc.Client() as client:
        results = client.SubmitManyJobs([
            [_Delay(0.05)],
            [_Delay(0.01, depends=[[-1, ["success"]]])],
            [_Delay(0.01, depends=[[-2, ["success"]], [-1, ["success"]]])],
        ])
        assert [ok for ok, _ in results] == [True, True, True]
        first, second, third = [job_id for _, job_id in results]
        assert second == first + 1 and third == second + 1
        rows = _WaitAll(client, [first, second, third])
        assert [row[1] for row in rows] == ["success"] * 3
        # start_ts is when a job was picked up, before its dependencies
        # were met; opexec is when its opcode began to execute.
        times = client.QueryJobs([first, second, third], ["opexec", "end_ts"])
        (ops, ), = client.QueryJobs([third], ["ops"])
    # The relative ids were resolved at submission, and the order kept.
    assert ops[0]["depends"] == [[first, ["success"]], [second, ["success"]]]
    assert _Seconds(times[1][0][0]) >= _Seconds(times[0][1])
    assert _Seconds(times[2][0][0]) >= _Seconds(times[1][1])


def test_dependency_on_a_failed_job_fails_the_dependent(vc):
    with vc.Client() as client:
        failing = client.SubmitJob([_Delay(0.0)])  # the LU refuses <= 0
        dependent = client.SubmitJob([_Delay(0.01, depends=[[failing, ["success"]]])])
        assert cluster.WaitJob(client, failing) == "error"
        assert cluster.WaitJob(client, dependent) == "error"
        (opresult, ), = client.QueryJobs([failing], ["opresult"])
    assert opresult[0][0] == "OpPrereqError"
    assert opresult[0][1][0] == "Duration must be greater than zero"


def _QueueSerial(vc):
    return (vc.QueueDir() / "serial").read_text()


def test_drain_flag_refuses_new_jobs_until_undrained(vc):
    drain_file = vc.QueueDir() / "drain"
    proc = vc.Cmd(["gnt-cluster", "queue", "drain"])
    try:
        assert proc.returncode == 0, proc.stderr
        assert drain_file.exists()
        info = vc.Cmd(["gnt-cluster", "queue", "info"])
        assert (info.returncode, info.stdout) == (0, "The drain flag is set\n")
        serial = _QueueSerial(vc)
        with vc.Client() as client:
            assert client.QueryConfigValues(["drain_flag"]) == [True]
            with pytest.raises(errors.GenericError) as err:
                client.SubmitJob([_Delay(0.01)])
            # luxid's answer: ["GenericError", ["Queue drained"]].
            assert err.type is errors.GenericError
            assert err.value.args == ("Queue drained",)
            with pytest.raises(errors.GenericError, match="Queue drained"):
                client.SubmitManyJobs([[_Delay(0.01)]])
            cli = vc.Cmd(["gnt-debug", "delay", "0.01"])
            assert cli.returncode == 1
            assert "Queue drained" in cli.stderr
            assert "Traceback" not in cli.stdout + cli.stderr
            assert _QueueSerial(vc) == serial  # no job id was used up
            # Only the drained-queue variant gets through.
            job_id = client.SubmitJobToDrainedQueue([_Delay(0.01)])
            assert cluster.WaitJob(client, job_id) == "success"
    finally:
        undrain = vc.Cmd(["gnt-cluster", "queue", "undrain"])
    assert undrain.returncode == 0, undrain.stderr
    assert not drain_file.exists()
    info = vc.Cmd(["gnt-cluster", "queue", "info"])
    assert (info.returncode, info.stdout) == (0, "The drain flag is unset\n")
    with vc.Client() as client:
        assert client.QueryConfigValues(["drain_flag"]) == [False]
    delay = vc.Cmd(["gnt-debug", "delay", "0.01"])
    assert delay.returncode == 0, delay.stderr


def test_job_files_are_private_to_the_master(vc):
    with vc.Client() as client:
        job_id = client.SubmitJob([_Delay(0.01)])
        assert cluster.WaitJob(client, job_id) == "success"
    mode = os.stat(vc.QueueDir() / f"job-{job_id}").st_mode & 0o777
    assert mode == 0o640  # JOB_QUEUE_FILES_PERMS
