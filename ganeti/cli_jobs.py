"""Submitting jobs to the master daemon and following them.

Mirrors the job half of Ganeti 3.0's lib/cli.py. A command builds opcodes,
SubmitOrSend/SubmitOpCode fill in the generic options (debug level, dry
run, priority, reason trail) and submit them over LUXI, then PollJob loops on
WaitForJobChange(["status"]) printing each log entry as
"<ctime> <message>" until the job is final, and fetches the opcode results
with QueryJobs(["status", "opstatus", "opresult"]). A failed opcode's result
is the encoded exception, which is raised again here (errors.MaybeRaise), so
the command's user sees the same error as the job.
"""

from __future__ import annotations

import abc

import itertools
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from ganeti import errors, luxi, opcodes_base, ssconf
from ganeti.cli_table import FormatLogMessage, ToStderr, ToStdout
from ganeti.utils.text import CommaJoin

logger = logging.getLogger(__name__)

# Re-exported for the gnt-* modules (Ganeti keeps them in constants).
JOB_STATUS_QUEUED = opcodes_base.JOB_STATUS_QUEUED
JOB_STATUS_WAITING = opcodes_base.JOB_STATUS_WAITING
JOB_STATUS_CANCELING = opcodes_base.JOB_STATUS_CANCELING
JOB_STATUS_RUNNING = opcodes_base.JOB_STATUS_RUNNING
JOB_STATUS_CANCELED = opcodes_base.JOB_STATUS_CANCELED
JOB_STATUS_SUCCESS = opcodes_base.JOB_STATUS_SUCCESS
JOB_STATUS_ERROR = opcodes_base.JOB_STATUS_ERROR
JOBS_FINALIZED = opcodes_base.JOBS_FINALIZED
JOBS_PENDING = opcodes_base.JOBS_PENDING
OP_STATUS_SUCCESS = opcodes_base.OP_STATUS_SUCCESS
OP_STATUS_ERROR = opcodes_base.OP_STATUS_ERROR
OPCODE_REASON_SRC_CLIENT = opcodes_base.OPCODE_REASON_SRC_CLIENT
OPCODE_REASON_SRC_USER = opcodes_base.OPCODE_REASON_SRC_USER

# Polling stops on these job statuses; a canceling job will not run again.
_POLL_FINAL = JOBS_FINALIZED | frozenset([JOB_STATUS_CANCELING])

#: Jobs asked for at once when choosing which job to wait for next.
_CHOOSE_BATCH = 25


class JobSubmittedException(Exception):
    """The job was submitted (--submit); args[0] is its ID.

    Not an error: GenericMain prints "JobID: <id>" and exits with 0.
    """


def GetClient(query: bool = False) -> luxi.Client:
    """Connect to the master daemon.

    Args:
      query: only queries will be sent (Ganeti's query socket); both kinds
        go to the same socket here.

    Raises:
      errors.OpPrereqError: this machine is not in a cluster, or not its
        master node.
      luxi.NoMasterError: this is the master but its daemon does not answer.
    """
    del query  # one socket serves both kinds of requests
    try:
        return luxi.Client()
    except luxi.NoMasterError:
        store = ssconf.SimpleStore()
        try:
            store.GetMasterNode()
        except errors.ConfigurationError:
            raise errors.OpPrereqError(
                "Cluster not initialized or this machine is not part of a"
                " cluster", errors.ECODE_INVAL) from None
        master, myself = ssconf.GetMasterAndMyself(ss=store)
        if master != myself:
            raise errors.OpPrereqError(
                f"This is not the master node, please connect to node"
                f" '{master}' and rerun the command", errors.ECODE_INVAL) from None
        raise


def SendJob(ops: list[Any], cl: Any = None) -> int:
    """Submit one job without waiting for it; return its ID.

    Opcodes get their unset parameters filled with defaults first (they
    travel complete, as with Ganeti's client).

    Raises:
      errors.OpPrereqError: an opcode parameter is invalid.
      errors.GenericError: the master refused the job (e.g. queue drained).
    """
    if cl is None:
        cl = GetClient()
    _FillDefaults(ops)
    return cl.SubmitJob(ops)


def _FillDefaults(ops: Iterable[Any]) -> None:
    """Validate opcode objects and set their unset parameters to defaults.

    Raises:
      errors.OpPrereqError: a parameter has an invalid value.
    """
    for op in ops:
        validate = getattr(op, "Validate", None)
        if callable(validate):
            validate(True)


# --- polling -----------------------------------------------------------------


class JobPollCbBase(abc.ABC):
    """Where GenericPollJob gets job data from (a LUXI client, a fake)."""

    @abc.abstractmethod
    def WaitForJobChangeOnce(self, job_id: int, fields: list[str],
                             prev_job_info: Any, prev_log_serial: Any) -> Any:
        """One WaitForJobChange call (see luxi.Client)."""

    @abc.abstractmethod
    def QueryJobs(self, job_ids: list[int], fields: list[str]) -> Any:
        """One QueryJobs call (see luxi.Client)."""


class JobPollReportCbBase(abc.ABC):
    """What GenericPollJob does with log entries and waiting jobs."""

    @abc.abstractmethod
    def ReportLogMessage(self, job_id: int, serial: int, timestamp: Any,
                         log_type: str, log_msg: Any) -> None:
        """Show one log entry of the job."""

    @abc.abstractmethod
    def ReportNotChanged(self, job_id: int, status: str | None) -> None:
        """Called when a wait timed out without change (status may be None)."""


class _LuxiJobPollCb(JobPollCbBase):
    def __init__(self, cl: Any) -> None:
        self.cl = cl

    def WaitForJobChangeOnce(self, job_id: int, fields: list[str],
                             prev_job_info: Any, prev_log_serial: Any) -> Any:
        return self.cl.WaitForJobChangeOnce(job_id, fields, prev_job_info,
                                            prev_log_serial,
                                            timeout=luxi.DEFAULT_WFJC_TIMEOUT)

    def QueryJobs(self, job_ids: list[int], fields: list[str]) -> Any:
        return self.cl.QueryJobs(job_ids, fields)


class FeedbackFnJobPollReportCb(JobPollReportCbBase):
    """Hand each log entry to a function as (timestamp, type, message)."""

    def __init__(self, feedback_fn: Callable[[Any], None]) -> None:
        if not callable(feedback_fn):
            raise errors.ProgrammerError("feedback_fn must be callable")
        self.feedback_fn = feedback_fn

    def ReportLogMessage(self, job_id: int, serial: int, timestamp: Any,
                         log_type: str, log_msg: Any) -> None:
        self.feedback_fn((timestamp, log_type, log_msg))

    def ReportNotChanged(self, job_id: int, status: str | None) -> None:
        pass


def _MergeTime(timestamp: Any) -> float:
    (seconds, microseconds) = timestamp
    return float(seconds) + float(microseconds) / 1000000.0


class StdioJobPollReportCb(JobPollReportCbBase):
    """Print log entries on stdout, and once why a job is not moving."""

    def __init__(self) -> None:
        self.notified_queued = False
        self.notified_waitlock = False

    def ReportLogMessage(self, job_id: int, serial: int, timestamp: Any,
                         log_type: str, log_msg: Any) -> None:
        ToStdout("%s %s", time.ctime(_MergeTime(timestamp)),
                 FormatLogMessage(log_type, log_msg))

    def ReportNotChanged(self, job_id: int, status: str | None) -> None:
        if status == JOB_STATUS_QUEUED and not self.notified_queued:
            ToStderr("Job %s is waiting in queue", job_id)
            self.notified_queued = True
        elif status == JOB_STATUS_WAITING and not self.notified_waitlock:
            ToStderr("Job %s is trying to acquire all necessary locks", job_id)
            self.notified_waitlock = True


def _WaitForFinalStatus(job_id: int, cbs: JobPollCbBase,
                        report_cbs: JobPollReportCbBase) -> None:
    """Follow the job, reporting log entries, until it is final.

    Log entries are read until none are left, even after the final status
    arrived, so that no message of the job is lost.
    """
    prev_job_info = None
    prev_serial: int | None = None
    status = None
    while True:
        result = cbs.WaitForJobChangeOnce(job_id, ["status"], prev_job_info,
                                          prev_serial)
        if not result:
            raise errors.JobLost(f"Job with id {job_id} lost")
        if result == luxi.JOB_NOTCHANGED:
            report_cbs.ReportNotChanged(job_id, status)
            continue
        (job_info, log_entries) = result
        (status,) = job_info
        if log_entries:
            for (serial, timestamp, log_type, message) in log_entries:
                report_cbs.ReportLogMessage(job_id, serial, timestamp, log_type,
                                            message)
                prev_serial = serial if prev_serial is None else max(prev_serial,
                                                                     serial)
        elif status in _POLL_FINAL:
            return
        prev_job_info = job_info


def GenericPollJob(job_id: int, cbs: JobPollCbBase,
                   report_cbs: JobPollReportCbBase) -> list[Any]:
    """Wait for a job to end and return its opcodes' results.

    Raises:
      errors.JobLost: the job does not exist (any more).
      errors.OpExecError: the job was canceled, or failed without an encoded
        error ("partial failure (opcode N): ..." if earlier opcodes succeeded).
      errors.GenericError: the encoded error of the failed opcode.
    """
    _WaitForFinalStatus(job_id, cbs, report_cbs)
    jobs = cbs.QueryJobs([job_id], ["status", "opstatus", "opresult"])
    if not jobs or not jobs[0]:
        raise errors.JobLost(f"Job with id {job_id} lost")
    (status, opstatus, result) = jobs[0]
    if status == JOB_STATUS_SUCCESS:
        return result
    if status in (JOB_STATUS_CANCELING, JOB_STATUS_CANCELED):
        raise errors.OpExecError("Job was canceled")
    has_ok = False
    for idx, (op_status, msg) in enumerate(zip(opstatus, result)):
        if op_status == OP_STATUS_SUCCESS:
            has_ok = True
        elif op_status == OP_STATUS_ERROR:
            errors.MaybeRaise(msg)
            if has_ok:
                raise errors.OpExecError(f"partial failure (opcode {idx}): {msg}")
            raise errors.OpExecError(str(msg))
    raise errors.OpExecError(result)


def PollJob(job_id: int, cl: Any = None,
            feedback_fn: Callable[[Any], None] | None = None,
            reporter: JobPollReportCbBase | None = None) -> list[Any]:
    """Wait for a job, printing its log (or passing it to feedback_fn).

    Returns:
      the results of the job's opcodes.

    Raises:
      errors.ProgrammerError: both feedback_fn and reporter are given.
      see GenericPollJob.
    """
    if cl is None:
        cl = GetClient()
    if reporter is None:
        reporter = (FeedbackFnJobPollReportCb(feedback_fn) if feedback_fn
                    else StdioJobPollReportCb())
    elif feedback_fn:
        raise errors.ProgrammerError("Can't specify reporter and feedback function")
    return GenericPollJob(job_id, _LuxiJobPollCb(cl), reporter)


# --- submission --------------------------------------------------------------


def _InitReasonTrail(op: Any, opts: Any) -> None:
    """Start the opcode's reason trail: the user's reason, then the command.

    The command entry is ["gnt:client:<program>", <subcommand>, <time ns>].
    """
    trail = []
    if getattr(opts, "reason", None):
        trail.append([OPCODE_REASON_SRC_USER, opts.reason, time.time_ns()])
    argv = getattr(opts, "_argv", None) or sys.argv
    binary = os.path.basename(argv[0]) if argv else "<unknown program>"
    command = argv[1] if len(argv) > 1 else ""
    trail.append([f"{OPCODE_REASON_SRC_CLIENT}:{binary}", command, time.time_ns()])
    op.reason = trail


def SetGenericOpcodeOpts(opcode_list: Iterable[Any], options: Any) -> None:
    """Set debug_level, dry_run, priority and the reason trail from options.

    Does nothing when options is None.
    """
    if not options:
        return
    for op in opcode_list:
        op.debug_level = getattr(options, "debug", 0)
        if hasattr(options, "dry_run"):
            op.dry_run = options.dry_run
        if getattr(options, "priority", None) is not None:
            op.priority = options.priority
        _InitReasonTrail(op, options)


def SubmitOpCode(op: Any, cl: Any = None,
                 feedback_fn: Callable[[Any], None] | None = None,
                 opts: Any = None,
                 reporter: JobPollReportCbBase | None = None) -> Any:
    """Submit one opcode as a job, wait for it and return its result.

    With opts.print_jobid, the job ID is printed first.
    """
    if cl is None:
        cl = GetClient()
    SetGenericOpcodeOpts([op], opts)
    job_id = SendJob([op], cl=cl)
    if getattr(opts, "print_jobid", False):
        ToStdout("%d", job_id)
    op_results = PollJob(job_id, cl=cl, feedback_fn=feedback_fn,
                         reporter=reporter)
    return op_results[0]


def SubmitOpCodeToDrainedQueue(op: Any) -> Any:
    """Like SubmitOpCode, but accepted even when the queue is drained."""
    cl = GetClient()
    job_id = cl.SubmitJobToDrainedQueue([op])
    return PollJob(job_id, cl=cl)[0]


def SubmitOrSend(op: Any, opts: Any, cl: Any = None,
                 feedback_fn: Callable[[Any], None] | None = None) -> Any:
    """Run the opcode (SubmitOpCode), or with --submit only submit it.

    Raises:
      JobSubmittedException: with --submit, once the job is submitted.
    """
    if opts and getattr(opts, "submit_only", False):
        job = [op]
        SetGenericOpcodeOpts(job, opts)
        job_id = SendJob(job, cl=cl)
        if getattr(opts, "print_jobid", False):
            ToStdout("%d", job_id)
        raise JobSubmittedException(job_id)
    return SubmitOpCode(op, cl=cl, feedback_fn=feedback_fn, opts=opts)


class JobExecutor:
    """Submit several jobs and collect their results ("Waiting for job N")."""

    def __init__(self, cl: Any = None, verbose: bool = True, opts: Any = None,
                 feedback_fn: Callable[[Any], None] | None = None) -> None:
        self.queue: list[tuple[int, str | None, list[Any]]] = []
        self.cl = cl if cl is not None else GetClient()
        self.verbose = verbose
        self.jobs: list[tuple[int, bool, Any, str | None]] = []
        self.opts = opts
        self.feedback_fn = feedback_fn
        self._counter = itertools.count()

    @staticmethod
    def _IfName(name: str | None, fmt: str) -> str:
        return fmt % name if name else ""

    def QueueJob(self, name: str | None, *ops: Any) -> None:
        """Remember a job (a list of opcodes) for SubmitPending."""
        SetGenericOpcodeOpts(ops, self.opts)
        self.queue.append((next(self._counter), name, list(ops)))

    def AddJobId(self, name: str | None, status: bool, job_id: Any) -> None:
        """Add an already submitted job ([status, id] of SubmitManyJobs)."""
        self.jobs.append((next(self._counter), status, job_id, name))

    def SubmitPending(self, each: bool = False) -> None:
        """Submit the queued jobs (one by one with each, else in one call)."""
        results: list[Any]
        if each:
            results = [[True, SendJob(ops, cl=self.cl)]
                       for (_, _, ops) in self.queue]
        else:
            for (_, _, ops) in self.queue:
                _FillDefaults(ops)
            results = self.cl.SubmitManyJobs([ops for (_, _, ops) in self.queue])
        for ((status, data), (idx, name, _)) in zip(results, self.queue):
            self.jobs.append((idx, status, data, name))

    def _ChooseJob(self) -> tuple[int, bool, Any, str | None]:
        """Pick a job that is not waiting (so its wait returns soonest)."""
        batch = self.jobs[:_CHOOSE_BATCH]
        result = self.cl.QueryJobs([job[2] for job in batch], ["status"])
        for job_data, status in zip(batch, result):
            if (isinstance(status, list) and status
                    and status[0] in JOBS_PENDING):
                continue
            self.jobs.remove(job_data)
            return job_data
        return self.jobs.pop(0)

    def GetResults(self) -> list[tuple[bool, Any]]:
        """Wait for every job; return (success, results or error text) each."""
        if not self.jobs:
            self.SubmitPending()
        results = []
        if self.verbose:
            ok_jobs = [row[2] for row in self.jobs if row[1]]
            if ok_jobs:
                ToStdout("Submitted jobs %s", CommaJoin(ok_jobs))
        failures = [row for row in self.jobs if not row[1]]
        self.jobs = [row for row in self.jobs if row[1]]
        for idx, _, jid, name in failures:
            ToStderr("Failed to submit job%s: %s", self._IfName(name, " for %s"), jid)
            results.append((idx, False, jid))
        while self.jobs:
            (idx, _, jid, name) = self._ChooseJob()
            results.append((idx, *self._WaitOne(jid, name)))
        results.sort(key=lambda row: row[0])
        return [(row[1], row[2]) for row in results]

    def _WaitOne(self, jid: Any, name: str | None) -> tuple[bool, Any]:
        from ganeti.cli import FormatError  # cli imports this module
        ToStdout("Waiting for job %s%s ...", jid, self._IfName(name, " for %s"))
        try:
            return True, PollJob(jid, cl=self.cl, feedback_fn=self.feedback_fn)
        except errors.JobLost as err:
            _, job_result = FormatError(err)
            ToStderr("Job %s%s has been archived, cannot check its result",
                     jid, self._IfName(name, " for %s"))
            return False, job_result
        except errors.GenericError as err:
            _, job_result = FormatError(err)
            ToStderr("Job %s%s has failed: %s", jid,
                     self._IfName(name, " for %s"), job_result)
            return False, job_result

    def WaitOrShow(self, wait: bool) -> list[Any]:
        """Wait for the jobs (GetResults), or only print their IDs."""
        if wait:
            return self.GetResults()
        if not self.jobs:
            self.SubmitPending()
        for _, status, result, name in self.jobs:
            if status:
                ToStdout("%s: %s", result, name)
            else:
                ToStderr("Failure for %s: %s", name, result)
        return [row[1:3] for row in self.jobs]
