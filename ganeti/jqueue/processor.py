"""One step of a job: its next opcode, through dependencies, locks and mcpu.

A worker calls _JobProcessor(queue, job)() and gets FINISHED, DEFER,
WAITDEP or SHUTDOWN back (ganeti.jqueue.workers). A step:

1. (queue lock) picks the first unfinished opcode; a queued one becomes
   waiting and gets its start timestamp (the job too, for its first one);
2. (queue lock) checks the opcode's dependencies: a dependency that is not
   finalized parks the job (WAITDEP) until it is; one that ended in a status
   the opcode does not accept fails the opcode, one that was canceled
   cancels it (spec/jobs.md section 4);
3. (no lock) runs mcpu.Processor.ExecOpCode with the next lock timeout of a
   locking.LockAttemptTimeoutStrategy; the callbacks move the opcode to
   running (NotifyStart), append log entries (Feedback) and cancel it at
   its next lock attempt when asked to (CurrentPriority/NotifyStart raise
   CancelJob);
4. (queue lock) records the outcome. A lock timeout keeps the opcode
   waiting and gives the job back (DEFER) for a retry with a longer
   timeout; when all timed attempts are used up the opcode's priority is
   raised by one step, as Ganeti does, and the attempts start over.

Each locked part that changes the job writes its file before releasing
the lock (JobQueue._JobChangedUnlocked), so no client ever sees a state
that a crash could lose; the replication to the master candidates, which
can be slow, happens after the lock is released (JobQueue._ReplicateJob).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ganeti import errors, locking, mcpu, opcodes_base
from ganeti.jqueue import job as jqjob
from ganeti.jqueue.job import _QueuedJob, _QueuedOpCode
from ganeti.jqueue.workers import DEFER, FINISHED, SHUTDOWN, WAITDEP
from ganeti.utils.text import CommaJoin

if TYPE_CHECKING:
    from ganeti.jqueue import JobQueue

logger = logging.getLogger(__name__)


class CancelJob(Exception):  # noqa: N818  (Ganeti's name)
    """Raised from the callbacks into mcpu to abandon a canceled opcode.

    mcpu releases the locks it took and lets it through; the queue then
    marks the opcode and the rest of the job canceled.
    """


class QueueShutdown(Exception):  # noqa: N818  (Ganeti's name)
    """Raised from the callbacks into mcpu when the queue stops.

    The opcode has not started; it goes back to queued and runs after the
    next start of the queue.
    """


# Outcomes of running an opcode, besides an opcode status.
_LOCK_TIMEOUT = "lock-timeout"
_CANCEL = "cancel"
_SHUTDOWN = "shutdown"

# Results of checking one dependency (as Ganeti's _JobDependencyManager).
DEP_WAIT = "wait"
DEP_CONTINUE = "continue"
DEP_CANCEL = "cancel"
DEP_ERROR = "error"


def EvaluateDependency(job_id: int, dep_job_id: int, wanted: list[str],
                       status_fn: Callable[[int], str]) -> tuple[str, str]:
    """Decide what one dependency means for a waiting opcode.

    Args:
      job_id: the waiting job.
      dep_job_id: the job it depends on.
      wanted: accepted final statuses; empty means success or error.
      status_fn: returns a job's status; raises errors.JobLost if unknown.

    Returns:
      (DEP_*, message for the log or the opcode's result).
    """
    if dep_job_id == job_id:
        return (DEP_ERROR, f"Job {job_id} can't depend on itself")
    try:
        status = status_fn(dep_job_id)
    except errors.JobLost:
        return (DEP_ERROR, f"Dependency job {dep_job_id} not found")
    if status not in jqjob.JOBS_FINALIZED:
        return (DEP_WAIT, f"Need to wait for job {dep_job_id}, wanted status"
                          f" '{CommaJoin(wanted) or 'success, error'}'")
    if status == jqjob.JOB_STATUS_CANCELED and status not in wanted:
        return (DEP_CANCEL, f"Dependency job {dep_job_id} was canceled")
    if (not wanted and status != jqjob.JOB_STATUS_CANCELED) or status in wanted:
        return (DEP_CONTINUE,
                f"Dependency job {dep_job_id} finished with status '{status}'")
    return (DEP_ERROR, f"Dependency job {dep_job_id} finished with status"
                       f" '{status}', not one of '{CommaJoin(wanted)}' as required")


class _OpExecCallbacks(mcpu.OpExecCbBase):
    """What mcpu calls back while it runs one opcode of a job."""

    def __init__(self, queue: JobQueue, job: _QueuedJob, op: _QueuedOpCode):
        self._queue = queue
        self._job = job
        self._op = op

    def _CheckCancelUnlocked(self) -> None:
        if self._op.status == jqjob.OP_STATUS_CANCELING:
            logger.info("Job %s: canceling opcode before it starts", self._job.id)
            raise CancelJob()

    def NotifyStart(self) -> None:
        """All locks are held: the opcode is now running.

        Raises:
          CancelJob: the job was canceled while it waited for locks.
        """
        with self._queue._lock:
            self._CheckCancelUnlocked()
            self._op.SetStatus(jqjob.OP_STATUS_RUNNING)
            self._op.exec_timestamp = jqjob.TimeStampNow()
            snap = self._queue._JobChangedUnlocked(self._job)
        self._queue._ReplicateJob(self._job, snap)

    def Feedback(self, *args: Any) -> None:
        """Append log entries: (message) or (log type, message).

        A message-list is stored as one "message" entry per item, written
        in one update (Ganeti's convention).
        """
        if len(args) == 1:
            (log_type, message) = (opcodes_base.ELOG_MESSAGE, args[0])
        elif len(args) == 2:
            (log_type, message) = args
        else:
            raise errors.ProgrammerError(
                f"Feedback takes (message) or (type, message), got {len(args)} args")
        if log_type == opcodes_base.ELOG_MESSAGE_LIST:
            entries = [(opcodes_base.ELOG_MESSAGE, item) for item in message]
        else:
            entries = [(log_type, message)]
        with self._queue._lock:
            for (entry_type, entry_msg) in entries:
                self._job.AddLogEntry(self._op, entry_type, entry_msg)
            # Log lines are written locally only, as Ganeti does: the next
            # status change replicates the whole file anyway.
            snap = self._queue._JobChangedUnlocked(self._job, replicate=False)
        self._queue._ReplicateJob(self._job, snap)

    def CurrentPriority(self) -> int:
        """The opcode's priority, asked by mcpu before each lock attempt.

        Raises:
          CancelJob: the job is being canceled.
          QueueShutdown: the queue is stopping.
        """
        with self._queue._lock:
            self._CheckCancelUnlocked()
            if self._queue._scheduler.IsStoppingUnlocked():
                raise QueueShutdown()
            return self._op.priority

    def SubmitManyJobs(self, jobs: list[list[Any]]) -> list[list[Any]]:
        """Submit follow-up jobs; see JobQueue.SubmitManyJobs."""
        return self._queue.SubmitManyJobs(jobs)


class _OpExecContext:
    """Per-opcode state kept between the steps of a job."""

    def __init__(self, op: _QueuedOpCode, index: int, count: int,
                 strategy_factory: Callable[[], Any]):
        self.op = op
        self.index = index
        self.log_prefix = f"Op {index + 1}/{count}"
        depends = getattr(op.input, opcodes_base.DEPEND_ATTR, None)
        self.jobdeps: list[list[Any]] = [list(dep) for dep in depends or []]
        self._strategy_factory = strategy_factory
        self._strategy = strategy_factory()
        self._next_timeout: float | None = None
        self._peeked = False

    def _Peek(self) -> float | None:
        if not self._peeked:
            self._next_timeout = self._strategy.NextAttempt()
            self._peeked = True
        return self._next_timeout

    def GetNextLockTimeout(self) -> float | None:
        """The timeout of the next lock attempt (None: block)."""
        timeout = self._Peek()
        self._peeked = False
        return timeout

    def CheckPriorityIncrease(self) -> bool:
        """Raise the priority once all timed attempts failed; True if raised."""
        if (self._Peek() is None
                and self.op.priority > opcodes_base.OP_PRIO_HIGHEST):
            self.op.priority -= 1
            self._strategy = self._strategy_factory()
            self._peeked = False
            logger.info("%s: raised priority to %s after failing to get locks",
                        self.log_prefix, self.op.priority)
            return True
        return False


class _JobProcessor:
    """Runs one step of a job; see the module docstring."""

    def __init__(self, queue: JobQueue, job: _QueuedJob,
                 processor_factory: Callable[..., Any],
                 strategy_factory: Callable[[], Any]
                 = locking.LockAttemptTimeoutStrategy):
        self.queue = queue
        self.job = job
        self._processor_factory = processor_factory
        self._strategy_factory = strategy_factory

    def __call__(self) -> str:
        queue = self.queue
        with queue._lock:
            outcome, snap, opctx = self._PrepareUnlocked()
        queue._ReplicateJob(self.job, snap)
        if outcome is not None:
            return outcome
        assert opctx is not None
        with queue._lock:
            outcome, snap = self._CheckDependenciesUnlocked(opctx)
        queue._ReplicateJob(self.job, snap)
        if outcome is not None:
            return outcome
        (kind, value) = self._ExecOpCode(opctx)
        with queue._lock:
            outcome, snap = self._ApplyResultUnlocked(opctx, kind, value)
        queue._ReplicateJob(self.job, snap)
        return outcome

    def _PrepareUnlocked(self) -> tuple[str | None, Any, _OpExecContext | None]:
        """Pick the next opcode and mark it waiting."""
        job = self.job
        if job.IsFinalized():
            return (FINISHED, None, None)
        if self.queue._scheduler.IsStoppingUnlocked():
            return (SHUTDOWN, None, None)
        index = job.NextOpIndex()
        assert index is not None
        op = job.ops[index]
        opctx = job.opctx
        if opctx is None or opctx.op is not op:
            opctx = _OpExecContext(op, index, len(job.ops), self._strategy_factory)
            job.opctx = opctx
        if op.status == jqjob.OP_STATUS_CANCELING:
            return (FINISHED, self._FinishCanceledUnlocked(), None)
        changed = False
        if op.status == jqjob.OP_STATUS_QUEUED:
            op.SetStatus(jqjob.OP_STATUS_WAITING)
            op.result = None
            changed = True
            logger.info("Job %s %s: %s waiting for locks", job.id,
                        opctx.log_prefix, _Summary(op))
        if op.start_timestamp is None:
            op.start_timestamp = jqjob.TimeStampNow()
            changed = True
        if job.start_timestamp is None:
            job.start_timestamp = op.start_timestamp
            changed = True
        if job.process_id != os.getpid():
            job.process_id = os.getpid()
            changed = True
        snap = self.queue._JobChangedUnlocked(job) if changed else None
        return (None, snap, opctx)

    def _CheckDependenciesUnlocked(
            self, opctx: _OpExecContext) -> tuple[str | None, Any]:
        job = self.job
        op = opctx.op
        if job.IsFinalized():
            return (FINISHED, None)
        if op.status == jqjob.OP_STATUS_CANCELING:
            return (FINISHED, self._FinishCanceledUnlocked())
        while opctx.jobdeps:
            (dep_job_id, wanted) = opctx.jobdeps[0]
            (result, msg) = EvaluateDependency(job.id, dep_job_id, wanted,
                                               self.queue._GetJobStatusUnlocked)
            logger.info("Job %s %s: %s", job.id, opctx.log_prefix, msg)
            if result == DEP_CONTINUE:
                opctx.jobdeps.pop(0)
            elif result == DEP_WAIT:
                self.queue._scheduler.RegisterWaiterUnlocked(job, dep_job_id)
                return (WAITDEP, None)
            elif result == DEP_CANCEL:
                op.SetStatus(jqjob.OP_STATUS_CANCELING)
                return (FINISHED, self._FinishCanceledUnlocked(msg))
            else:
                return (FINISHED, self._FinishErrorUnlocked(
                    op, jqjob.EncodeOpError(errors.OpExecError(msg))))
        return (None, None)

    def _ExecOpCode(self, opctx: _OpExecContext) -> tuple[str, Any]:
        """Run the opcode through mcpu (no lock held); (kind, value)."""
        op = opctx.op
        job = self.job
        if not hasattr(op.input, "OP_ID"):
            msg = f"Opcode {opctx.index} of job {job.id} could not be loaded"
            return (jqjob.OP_STATUS_ERROR,
                    jqjob.EncodeOpError(errors.OpExecError(msg)))
        timeout = opctx.GetNextLockTimeout()
        cbs = _OpExecCallbacks(self.queue, job, op)
        try:
            proc = self._processor_factory(self.queue.context, ec_id=job.id)
            result = proc.ExecOpCode(op.input, cbs, timeout=timeout)
        except mcpu.LockAcquireTimeout:
            logger.debug("Job %s: no locks within %s seconds", job.id, timeout)
            return (_LOCK_TIMEOUT, None)
        except CancelJob:
            return (_CANCEL, None)
        except QueueShutdown:
            return (_SHUTDOWN, None)
        except errors.GenericError as err:
            logger.info("Job %s %s: %s failed: %s", job.id, opctx.log_prefix,
                        _Summary(op), err)
            return (jqjob.OP_STATUS_ERROR, jqjob.EncodeOpError(err))
        except Exception as err:  # noqa: BLE001 - the job's boundary
            # Whatever an LU raises ends the opcode, never the worker.
            logger.exception("Job %s %s: unexpected error in %s", job.id,
                             opctx.log_prefix, _Summary(op))
            return (jqjob.OP_STATUS_ERROR, jqjob.EncodeOpError(err))
        logger.info("Job %s %s: %s successful", job.id, opctx.log_prefix, _Summary(op))
        return (jqjob.OP_STATUS_SUCCESS, jqjob.ToJsonValue(result))

    def _ApplyResultUnlocked(self, opctx: _OpExecContext, kind: str,
                             value: Any) -> tuple[str, Any]:
        """Record what ExecOpCode gave; returns (outcome, snapshot)."""
        job = self.job
        op = opctx.op
        if job.IsFinalized():
            return (FINISHED, None)
        if kind == jqjob.OP_STATUS_SUCCESS:
            return self._FinishSuccessUnlocked(op, value)
        if kind == jqjob.OP_STATUS_ERROR:
            return (FINISHED, self._FinishErrorUnlocked(op, value))
        if op.status == jqjob.OP_STATUS_RUNNING:
            # Only a faulty processor can get here: cancel and shutdown are
            # raised before the opcode starts.
            msg = f"Opcode ended with '{kind}' after it started"
            return (FINISHED, self._FinishErrorUnlocked(
                op, jqjob.EncodeOpError(errors.OpExecError(msg))))
        if kind == _CANCEL or op.status == jqjob.OP_STATUS_CANCELING:
            return (FINISHED, self._FinishCanceledUnlocked())
        if kind == _SHUTDOWN:
            op.SetStatus(jqjob.OP_STATUS_QUEUED)
            job.opctx = None
            return (SHUTDOWN, self.queue._JobChangedUnlocked(job))
        # A lock timeout: stay waiting, retry later with a longer timeout.
        if opctx.CheckPriorityIncrease():
            return (DEFER, self.queue._JobChangedUnlocked(job))
        return (DEFER, None)

    def _FinishSuccessUnlocked(self, op: _QueuedOpCode, value: Any) -> tuple[str, Any]:
        job = self.job
        if op.status != jqjob.OP_STATUS_RUNNING:
            # The processor never called NotifyStart; it did run the opcode.
            op.SetStatus(jqjob.OP_STATUS_RUNNING)
            op.exec_timestamp = jqjob.TimeStampNow()
        op.SetStatus(jqjob.OP_STATUS_SUCCESS)
        op.result = value
        op.end_timestamp = jqjob.TimeStampNow()
        job.opctx = None
        if job.NextOpIndex() is None:
            job.Finalize()
            logger.info("Finished job %s, status = %s", job.id, job.CalcStatus())
            return (FINISHED, self.queue._JobChangedUnlocked(job))
        return (DEFER, self.queue._JobChangedUnlocked(job))

    def _FinishErrorUnlocked(self, op: _QueuedOpCode, encoded: list) -> Any:
        """Fail op with encoded, fail the following opcodes, finalize."""
        job = self.job
        op.SetStatus(jqjob.OP_STATUS_ERROR)
        op.result = encoded
        op.end_timestamp = jqjob.TimeStampNow()
        job.MarkUnfinishedOps(jqjob.OP_STATUS_ERROR, jqjob.EncodeOpError(
            errors.OpExecError(jqjob.PRECEDING_FAILED_MSG)))
        job.opctx = None
        job.Finalize()
        logger.info("Finished job %s, status = %s", job.id, job.CalcStatus())
        return self.queue._JobChangedUnlocked(job)

    def _FinishCanceledUnlocked(self, result: str = jqjob.CANCELED_RESULT) -> Any:
        """Cancel every unfinished opcode and finalize the job."""
        job = self.job
        job.MarkUnfinishedOps(jqjob.OP_STATUS_CANCELED, result)
        job.opctx = None
        job.Finalize()
        logger.info("Job %s canceled", job.id)
        return self.queue._JobChangedUnlocked(job)


def _Summary(op: _QueuedOpCode) -> str:
    summary = getattr(op.input, "Summary", None)
    return summary() if callable(summary) else str(op.input.get("OP_ID"))
