"""The job queue of the master daemon (Ganeti's lib/jqueue).

Design notes
============

What it does.  Clients submit jobs (lists of opcodes); the queue gives each
a new id from the serial file, writes it as queue/job-<id> and runs it in a
pool of worker threads, opcode after opcode, through mcpu.Processor. Every
change of a job is written atomically and replicated to the master
candidates. Clients follow jobs with WaitForJobChanges and QueryJobs.

Modules.  job.py: jobs, opcodes, their state machine and file form;
storage.py: the queue directory; workers.py: ready heap, worker threads,
dependency waiters; processor.py: one step of a job (dependencies, locks,
mcpu, callbacks); waiter.py: WaitForJobChanges and job queries. This file
holds JobQueue, the public face, and the submission/cancel/archive logic.

Locking.  One lock guards all in-memory state (every job, the ready heap,
the waiters); each job has a Condition bound to it, notified on every
change, which is what WaitForJobChanges sleeps on (no polling). A change
writes the job file before the lock is released and before anybody is
woken, so no client (WaitForJobChanges, QueryJobs) ever sees a state a
crash could lose. Replication to the master candidates (RPC, possibly
slow) happens after the lock is released, under the job's replicate lock,
skipping versions older than one already sent, so candidates only ever
move forward. Submissions are serialised by a separate submit lock (ids
are allocated and written in order). Lock order: replicate lock, then
queue lock; submit lock, then queue lock; the queue lock is never held
while waiting for another lock but the config's (max_running_jobs).

Crash safety.  A job file is always complete (utils.io.WriteFile). A job id
is returned to the client only after its file is written. On start-up the
queue takes the exclusive lock file, removes leftovers of interrupted
writes and reloads every job: queued ones run, waiting ones (nothing ran
yet) are queued again, running or canceling ones end in error with
["OpExecError", ["Unclean master daemon shutdown"]] on their unfinished
opcodes, as Ganeti does.

Deliberate differences from Ganeti 3.0, whose luxid forked one process per
job: jobs run in threads, so CancelJob(kill=True) cannot kill a running job
(it is refused with a message saying so; for queued and waiting jobs it is a
normal cancel); job files carry "process_id" (the master daemon's pid once
the job started) and "livelock": null.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from ganeti import (
    constants,
    defaults,
    errors,
    locking,
    mcpu,
    opcodes_base,
    pathutils,
    serializer,
)
from ganeti.jqueue import job as jqjob
from ganeti.jqueue import waiter
from ganeti.jqueue.job import _QueuedJob, _QueuedOpCode  # noqa: F401
from ganeti.jqueue.processor import CancelJob, QueueShutdown, _JobProcessor  # noqa: F401
from ganeti.jqueue.storage import JobStorage
from ganeti.jqueue.workers import FINISHED, JOBQUEUE_THREADS, JobScheduler
from ganeti.utils.text import CommaJoin

logger = logging.getLogger(__name__)

#: How long CancelJob waits for a job waiting for locks to notice its
#: cancellation (Ganeti's LUXI_CANCEL_JOB_TIMEOUT = (LUXI_DEF_RWTO - 1) // 4).
LUXI_CANCEL_JOB_TIMEOUT = (180 - 1) // 4

# Renames are replicated in batches of this size while auto-archiving (luxid).
_ARCHIVE_REPLICATION_BATCH = 10

# CancelJob answers that clients may compare (Ganeti 3.0 luxid wording).
_MSG_NOT_WAITING = "Job no longer waiting, can't cancel (informed it anyway)"
_MSG_CANCELED = "Job successfully cancelled"


def _ErrorText(err: errors.GenericError) -> str:
    """The message of an error (its first argument), for [False, msg] answers."""
    return str(err.args[0]) if err.args else str(err)


def _CheckJobId(job_id: Any) -> int:
    """Convert a job id from the wire (int or numeric string).

    Raises:
      errors.OpPrereqError: not a job id.
    """
    if isinstance(job_id, bool) or not isinstance(job_id, (int, str)):
        raise errors.OpPrereqError(f"Invalid job id {job_id!r}", errors.ECODE_INVAL)
    try:
        value = int(job_id)
    except ValueError as err:
        raise errors.OpPrereqError(f"Invalid job id {job_id!r}",
                                   errors.ECODE_INVAL) from err
    if value < 0:
        raise errors.OpPrereqError(f"Invalid job id {job_id!r}", errors.ECODE_INVAL)
    return value


def _LoadOpInput(data: dict) -> Any:
    """Opcode object of a stored opcode dict; the dict if it cannot be loaded."""
    try:
        return opcodes_base.OpCode.LoadOpCode(data)
    except (errors.GenericError, TypeError, ValueError) as err:
        logger.warning("Cannot load opcode %s: %s", data.get("OP_ID"), err)
        return data


def _PrepareOpCode(data: Any) -> Any:
    """Load (a copy of) a submitted opcode and validate it.

    Raises:
      errors.OpPrereqError: invalid opcode, parameter or priority.
    """
    if isinstance(data, opcodes_base.OpCode):
        data = data.ToDict()
    op = opcodes_base.OpCode.LoadOpCode(data)
    op.Validate(True)
    try:
        # A private copy in its JSON form: what the job file will hold.
        op = opcodes_base.OpCode.LoadOpCode(
            serializer.LoadJson(serializer.DumpJson(op.ToDict())))
    except (TypeError, ValueError) as err:
        raise errors.OpPrereqError(
            f"Opcode {op.OP_ID} cannot be serialised: {err}",
            errors.ECODE_INVAL) from err
    priority = getattr(op, "priority", None)
    if priority not in opcodes_base.OP_PRIO_SUBMIT_VALID:
        allowed = CommaJoin(sorted(opcodes_base.OP_PRIO_SUBMIT_VALID))
        raise errors.OpPrereqError(
            f"Opcode {op.OP_ID} has invalid priority {priority}, allowed"
            f" are {allowed}", errors.ECODE_INVAL)
    return op


def _PrepareJob(ops: Any, index: int, accepted: list[bool]) -> list[Any]:
    """Validate one job's opcodes and check its relative dependencies.

    Args:
      ops: the submitted opcodes (dicts or opcode objects).
      index: position of the job in its SubmitManyJobs call.
      accepted: for each earlier job of the call, whether it was accepted.

    Raises:
      errors.OpPrereqError: the job cannot be accepted.
    """
    if not isinstance(ops, list) or not ops:
        raise errors.OpPrereqError("A job needs at least one opcode",
                                   errors.ECODE_INVAL)
    prepared = [_PrepareOpCode(data) for data in ops]
    for op in prepared:
        for (dep_job_id, _) in op.depends or []:
            target = index + dep_job_id
            if dep_job_id < 0 and (target < 0 or not accepted[target]):
                raise errors.OpPrereqError(
                    f"Unable to resolve relative job ID {dep_job_id}",
                    errors.ECODE_INVAL)
    return prepared


def _FinalizeNewJob(job_id: int, index: int, ops: list[Any], ids: dict[int, int],
                    received: list[int]) -> _QueuedJob:
    """Resolve relative dependencies, extend reason trails, build the job.

    Args:
      ids: job id of each accepted job of the call, by position.
    """
    ts_ns = received[0] * 1000000000 + received[1] * 1000
    for (op_index, op) in enumerate(ops):
        if op.depends:
            op.depends = [[ids[index + dep_id] if dep_id < 0 else dep_id,
                           list(statuses)] for (dep_id, statuses) in op.depends]
        source = opcodes_base.NameToReasonSrc(
            type(op).__name__, opcodes_base.OPCODE_REASON_SRC_OPCODE)
        op.reason = [list(entry) for entry in op.reason or []]
        op.reason.append([source, f"job={job_id};index={op_index}", ts_ns])
    return _QueuedJob(job_id, ops, received)


class JobQueue:
    """The job queue; see the module docstring."""

    def __init__(self, context: Any, cfg: Any = None,
                 replicate_fn: Callable[[str, str], None] | None = None,
                 start_workers: bool = True, num_workers: int = JOBQUEUE_THREADS,
                 *, queue_dir: str | None = None,
                 replicate_rename_fn: Callable[[list[tuple[str, str]]], None]
                 | None = None,
                 replicate_drain_fn: Callable[[bool], None] | None = None,
                 _processor_factory: Callable[..., Any] | None = None,
                 _timeout_strategy_factory: Callable[[], Any] | None = None,
                 _cancel_timeout: float = LUXI_CANCEL_JOB_TIMEOUT):
        """Open the queue directory, recover its jobs and start the workers.

        Args:
          context: the master's context, passed to mcpu.Processor.
          cfg: the ConfigWriter (default: context.cfg), for the cluster's
            max_running_jobs.
          replicate_fn: called (file name, content) after each write of a
            job or serial file, to copy it to the master candidates.
          start_workers: start the worker threads now (else: StartWorkers).
          num_workers: number of worker threads.
          queue_dir: the queue directory (default pathutils.QUEUE_DIR).
          replicate_rename_fn: called with [(old, new)] after archiving.
          replicate_drain_fn: called with the new drain flag.
          _processor_factory: test seam for mcpu.Processor(context, ec_id=).
          _timeout_strategy_factory: test seam for the lock timeouts.
          _cancel_timeout: test seam for LUXI_CANCEL_JOB_TIMEOUT.

        Raises:
          errors.JobQueueError: the directory is in use by another queue, or
            its version or serial file is unusable.
        """
        self.context = context
        self._cfg = cfg if cfg is not None else getattr(context, "cfg", None)
        self._lock = threading.Lock()
        self._submit_lock = threading.Lock()
        self._jobs: dict[int, _QueuedJob] = {}
        self._closed = False
        self._accepting_jobs = True
        self._processor_factory = _processor_factory or mcpu.Processor
        self._strategy_factory = (_timeout_strategy_factory
                                  or locking.LockAttemptTimeoutStrategy)
        self._cancel_timeout = _cancel_timeout
        self._storage = JobStorage(queue_dir or pathutils.QUEUE_DIR, replicate_fn,
                                   replicate_rename_fn, replicate_drain_fn)
        self._scheduler = JobScheduler(self._lock, self._RunJobStep,
                                       self._GetMaxRunningJobs, num_workers)
        self._storage.Open()
        try:
            self._InspectQueue()
        except BaseException:
            self._storage.Close()
            raise
        if start_workers:
            self.StartWorkers()

    @property
    def queue_dir(self) -> str:
        return self._storage.queue_dir

    # --- start-up and shutdown ---------------------------------------------

    def _InspectQueue(self) -> None:
        """Load every live job and recover those a crash interrupted."""
        logger.info("Inspecting job queue %s", self._storage.queue_dir)
        restart = []
        for job_id in self._storage.ListLiveJobIds():
            job = self._LoadJobFile(self._storage.GetJobPath(job_id), job_id)
            if job is None:
                continue
            self._jobs[job_id] = job
            status = job.CalcStatus()
            if status == jqjob.JOB_STATUS_QUEUED:
                restart.append(job)
                continue
            if status in jqjob.JOBS_FINALIZED:
                continue
            logger.warning("Unfinished job %s found with status %s", job_id, status)
            if status == jqjob.JOB_STATUS_WAITING:
                # Nothing of the waiting opcode ran: run it again.
                job.MarkUnfinishedOps(jqjob.OP_STATUS_QUEUED, None)
                restart.append(job)
            else:
                job.MarkUnfinishedOps(jqjob.OP_STATUS_ERROR, jqjob.EncodeOpError(
                    errors.OpExecError(jqjob.UNCLEAN_SHUTDOWN_MSG)))
                job.Finalize()
            with self._lock:
                snap = self._JobChangedUnlocked(job)
            self._ReplicateJob(job, snap)
        with self._lock:
            for job in restart:
                self._scheduler.EnqueueUnlocked(job)
        logger.info("Job queue inspection finished: %d jobs, %d to run",
                    len(self._jobs), len(restart))

    def _LoadJobFile(self, path: str, job_id: int,
                     archived: bool = False) -> _QueuedJob | None:
        """Load one job file; None (logged) if it is missing or corrupted."""
        try:
            data = self._storage.ReadJobData(path)
            if data is None:
                return None
            job = _QueuedJob.Restore(data, _LoadOpInput, archived=archived)
            if job.id != job_id:
                raise errors.JobFileCorrupted(f"File holds job {job.id}")
        except errors.JobFileCorrupted as err:
            logger.error("Skipping unusable job file %s: %s", path, err)
            return None
        job.change_cond = threading.Condition(self._lock)
        return job

    def StartWorkers(self) -> None:
        """Start the worker threads (if the constructor did not)."""
        self._scheduler.Start()

    def Shutdown(self, timeout: float | None = None) -> None:
        """Stop the workers after their current step and release the queue.

        Jobs not finished stay on disk and continue after the next start.
        Idempotent.

        Args:
          timeout: seconds to wait for the workers (None: as long as needed).
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if not self._scheduler.Shutdown(timeout):
            logger.warning("Job queue workers still busy after %s seconds", timeout)
        self._storage.Close()

    def PrepareShutdown(self) -> bool:
        """Refuse new jobs from now on; tell whether jobs are still running.

        Returns:
          True while a worker is still processing a job (call again later),
          False once Shutdown can stop the queue without waiting for one.
        """
        with self._lock:
            self._accepting_jobs = False
            return self._scheduler.BusyCountUnlocked() > 0

    def _CheckOpen(self) -> None:
        if self._closed:
            raise errors.JobQueueError("The job queue has been shut down")
        if not self._accepting_jobs:
            raise errors.JobQueueError("Job queue is shutting down, refusing job")

    def _GetMaxRunningJobs(self) -> int:
        """The cluster's max_running_jobs (called with the queue lock held)."""
        value = None
        if self._cfg is not None:
            try:
                value = self._cfg.GetClusterInfo().max_running_jobs
            except (AttributeError, errors.GenericError):
                logger.debug("No max_running_jobs in the configuration")
        if isinstance(value, int) and value > 0:
            return value
        return defaults.MAX_RUNNING_JOBS

    # --- writing jobs ---------------------------------------------------------

    def _JobChangedUnlocked(self, job: _QueuedJob,
                            replicate: bool = True) -> tuple[int, str] | None:
        """Write a changed job's file, then wake its waiters (lock held).

        A failed write is logged; the job goes on in memory and its next
        change writes the file again.

        Args:
          replicate: whether the change must reach the master candidates
            (not for log lines, as in Ganeti: the next status change
            carries them).

        Returns:
          the snapshot to pass to _ReplicateJob once the lock is released,
          or None.
        """
        job.version += 1
        data = serializer.DumpJson(job.Serialize())
        path = self._storage.GetJobPath(job.id)
        try:
            self._storage.WriteFile(path, data, replicate=False)
        except OSError as err:
            logger.error("Cannot write job file %s: %s", path, err)
        job.written_data = data
        job.change_cond.notify_all()
        return (job.version, data) if replicate else None

    def _ReplicateJob(self, job: _QueuedJob, snap: tuple[int, str] | None) -> None:
        """Send a job snapshot to the master candidates, unless a newer one
        was sent already or the job was archived meanwhile."""
        if snap is None:
            return
        (version, data) = snap
        with job.replicate_lock:
            if job.archived or version <= job.replicated_version:
                return
            self._storage.Replicate(self._storage.GetJobPath(job.id), data)
            job.replicated_version = version

    def _RunJobStep(self, job: _QueuedJob) -> str:
        """Worker entry point: one step of job; never raises."""
        try:
            return _JobProcessor(self, job, self._processor_factory,
                                 self._strategy_factory)()
        except Exception as err:  # noqa: BLE001 - a worker must never die
            logger.exception("Internal error while processing job %s", job.id)
            with self._lock:
                if job.IsFinalized():
                    return FINISHED
                job.MarkUnfinishedOps(jqjob.OP_STATUS_ERROR, jqjob.EncodeOpError(
                    errors.OpExecError(f"Internal error in the job queue: {err}")))
                job.opctx = None
                job.Finalize()
                snap = self._JobChangedUnlocked(job)
            self._ReplicateJob(job, snap)
            return FINISHED

    def _GetJobStatusUnlocked(self, job_id: int) -> str:
        """Status of any job, live or archived (for dependencies).

        Raises:
          errors.JobLost: no such job.
        """
        job = self._jobs.get(job_id)
        if job is None:
            job = self._LoadJobFile(self._storage.GetArchivedJobPath(job_id),
                                    job_id, archived=True)
        if job is None:
            raise errors.JobLost(f"Job {job_id} not found")
        return job.CalcStatus()

    # --- submission ---------------------------------------------------------

    def _CheckDrainFlag(self) -> None:
        if self._storage.IsDrained():
            # What Ganeti 3.0's luxid answers (spec/luxi.md section 3).
            raise errors.GenericError("Queue drained")

    def SubmitJob(self, ops: list[Any]) -> int:
        """Submit one job.

        Args:
          ops: the opcodes, as opcode objects or dicts with "OP_ID".

        Returns:
          the new job id.

        Raises:
          errors.GenericError: "Queue drained" when the drain flag is set.
          errors.OpPrereqError: an opcode is invalid; nothing was written.
          errors.JobQueueFull: the queue holds its maximum number of jobs.
          errors.JobQueueError: the job could not be written.
        """
        self._CheckOpen()
        self._CheckDrainFlag()
        return self._SubmitOne(ops)

    def SubmitJobToDrainedQueue(self, ops: list[Any]) -> int:
        """Submit one job even if the queue is drained; see SubmitJob."""
        self._CheckOpen()
        return self._SubmitOne(ops)

    def _SubmitOne(self, ops: list[Any]) -> int:
        prepared = _PrepareJob(ops, 0, [])
        ((success, value),) = self._AddJobs([(0, prepared)])
        if not success:
            raise errors.JobQueueError(value)
        return value

    def SubmitManyJobs(self, jobs: list[list[Any]]) -> list[list[Any]]:
        """Submit several jobs; each may depend on earlier ones of the call.

        A negative job id in an opcode's "depends" refers to a job of this
        call (-1: the one just before).

        Returns:
          one [True, job_id] or [False, error message] per job, in order.

        Raises:
          errors.GenericError: "Queue drained" when the drain flag is set.
          errors.OpPrereqError: jobs is not a list.
          errors.JobQueueFull: the accepted jobs do not fit in the queue.
        """
        self._CheckOpen()
        self._CheckDrainFlag()
        if not isinstance(jobs, list):
            raise errors.OpPrereqError("SubmitManyJobs needs a list of jobs",
                                       errors.ECODE_INVAL)
        accepted: list[bool] = []
        answers: list[list[Any] | None] = []
        todo = []
        for (index, ops) in enumerate(jobs):
            try:
                todo.append((index, _PrepareJob(ops, index, accepted)))
            except errors.GenericError as err:
                accepted.append(False)
                answers.append([False, _ErrorText(err)])
            else:
                accepted.append(True)
                answers.append(None)
        results = iter(self._AddJobs(todo) if todo else [])
        return [answer if answer is not None else list(next(results))
                for answer in answers]

    def _AddJobs(self, todo: list[tuple[int, list[Any]]]) -> list[tuple[bool, Any]]:
        """Allocate ids for validated jobs, write them and enqueue them.

        Args:
          todo: (position in the call, prepared opcodes) per job.

        Returns:
          (True, job id) or (False, message) per job.

        Raises:
          errors.JobQueueFull: the jobs do not fit in the queue.
          errors.JobQueueError: no id could be allocated.
        """
        with self._submit_lock:
            with self._lock:
                live = len(self._jobs)
            if live + len(todo) > constants.JOB_QUEUE_SIZE_HARD_LIMIT:
                raise errors.JobQueueFull()
            new_ids = self._storage.AllocateIds(len(todo))
            ids = {index: job_id for ((index, _), job_id) in zip(todo, new_ids)}
            received = jqjob.TimeStampNow()
            results: list[tuple[bool, Any]] = []
            new_jobs = []
            for ((index, ops), job_id) in zip(todo, new_ids):
                job = _FinalizeNewJob(job_id, index, ops, ids, received)
                job.change_cond = threading.Condition(self._lock)
                # Not yet visible to anybody: no queue lock needed.
                job.version = job.replicated_version = 1
                job.written_data = serializer.DumpJson(job.Serialize())
                path = self._storage.GetJobPath(job_id)
                try:
                    self._storage.WriteFile(path, job.written_data)
                except OSError as err:
                    logger.error("Cannot write new job file %s: %s", path, err)
                    results.append((False, f"Failed to write job {job_id}: {err}"))
                    continue
                new_jobs.append(job)
                results.append((True, job_id))
            with self._lock:
                for job in new_jobs:
                    self._jobs[job.id] = job
                    self._scheduler.EnqueueUnlocked(job)
        if new_jobs:
            logger.info("New jobs enqueued: %s", CommaJoin(job.id for job in new_jobs))
        return results

    # --- cancel and priority --------------------------------------------------

    def CancelJob(self, job_id: Any, kill: bool = False) -> tuple[bool, str]:
        """Cancel a job that has not started running.

        A queued job, or one waiting for a dependency or between lock
        attempts, is canceled at once; one waiting for locks in mcpu is
        marked canceling and cancels itself at its next lock attempt (this
        call waits up to LUXI_CANCEL_JOB_TIMEOUT for that); a running job
        cannot be canceled.

        Args:
          job_id: the job.
          kill: Ganeti 3's "kill the job process"; jobs run in threads here,
            so a running job cannot be killed and this is refused; otherwise
            it is a normal cancel.

        Returns:
          (success, message), e.g. (True, "Dequeued job 42").
        """
        job_id = _CheckJobId(job_id)
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return (False, f"Job {job_id} not found in queue")
            status = job.CalcStatus()
            if status in jqjob.JOBS_FINALIZED:
                return (False, f"Job {job_id} has already finished (status {status})")
            if status == jqjob.JOB_STATUS_RUNNING:
                if kill:
                    return (False, f"Job {job_id} is running in a thread of the master"
                                   " daemon and cannot be killed")
                return (False, _MSG_NOT_WAITING)
            cancel_now = (status == jqjob.JOB_STATUS_QUEUED
                          or job.sched != jqjob.SCHED_WORKER)
            if cancel_now:
                (answer, snap) = self._CancelNowUnlocked(job, status)
            else:
                # A worker has it in mcpu, waiting for locks: mark it, and the
                # worker cancels it at its next lock attempt.
                index = job.NextOpIndex()
                assert index is not None, "unfinished job without pending opcode"
                op = job.ops[index]
                snap = None
                if op.status == jqjob.OP_STATUS_WAITING:
                    op.SetStatus(jqjob.OP_STATUS_CANCELING)
                    snap = self._JobChangedUnlocked(job)
                logger.info("Job %s marked for cancellation", job_id)
        self._ReplicateJob(job, snap)
        if cancel_now:
            with self._lock:
                self._scheduler.NotifyDependentsUnlocked(job_id)
            return answer
        return self._WaitForCancel(job)

    def _CancelNowUnlocked(self, job: _QueuedJob,
                           status: str) -> tuple[tuple[bool, str], Any]:
        """Cancel a job no worker is running an opcode of (lock held).

        Returns:
          the answer for the client and the snapshot to write.
        """
        self._scheduler.DequeueUnlocked(job)
        dequeued = status == jqjob.JOB_STATUS_QUEUED
        # A dequeued job's opcodes keep a null result, as luxid does.
        job.MarkUnfinishedOps(jqjob.OP_STATUS_CANCELED,
                              None if dequeued else jqjob.CANCELED_RESULT)
        job.opctx = None
        job.Finalize()
        snap = self._JobChangedUnlocked(job)
        logger.info("Job %s canceled", job.id)
        answer = (True, f"Dequeued job {job.id}" if dequeued else _MSG_CANCELED)
        return (answer, snap)

    def _WaitForCancel(self, job: _QueuedJob) -> tuple[bool, str]:
        deadline = time.monotonic() + self._cancel_timeout
        with self._lock:
            while not job.IsFinalized():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                job.change_cond.wait(remaining)
            status = job.CalcStatus()
        if status == jqjob.JOB_STATUS_CANCELED:
            return (True, _MSG_CANCELED)
        if status in jqjob.JOBS_FINALIZED:
            return (False, "Job exited before it could have been canceled,"
                           f" status {status}")
        return (False, f"Job could not be canceled, status {status}")

    def ChangeJobPriority(self, job_id: Any, priority: int) -> tuple[bool, str]:
        """Change the priority of a job's opcodes that have not started.

        Raises:
          errors.OpPrereqError: priority is not one of -10, 0, 10.
        """
        job_id = _CheckJobId(job_id)
        if (isinstance(priority, bool) or not isinstance(priority, int)
                or priority not in opcodes_base.OP_PRIO_SUBMIT_VALID):
            allowed = CommaJoin(sorted(opcodes_base.OP_PRIO_SUBMIT_VALID))
            raise errors.OpPrereqError(
                f"Invalid priority {priority!r}, allowed are {allowed}",
                errors.ECODE_INVAL)
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return (False, f"Job {job_id} not found in queue")
            status = job.CalcStatus()
            if status in jqjob.JOBS_FINALIZED:
                return (False, f"Job {job_id} is finished")
            if status == jqjob.JOB_STATUS_CANCELING:
                return (False, f"Job {job_id} is being canceled")
            pending = [op for op in job.ops if op.status in
                       (jqjob.OP_STATUS_QUEUED, jqjob.OP_STATUS_WAITING)]
            if not pending:
                return (False, f"Job {job_id} had no pending opcodes")
            for op in pending:
                op.priority = priority
            self._scheduler.ReprioritizeUnlocked(job)
            snap = self._JobChangedUnlocked(job)
        self._ReplicateJob(job, snap)
        return (True, f"Priorities of pending opcodes for job {job_id} have been"
                      f" changed to {priority}")

    # --- archive ------------------------------------------------------------

    def ArchiveJob(self, job_id: Any) -> bool:
        """Move a finalized job to the archive.

        Returns:
          False if the job is unknown, archived already or not finalized.
        """
        job_id = _CheckJobId(job_id)
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            logger.info("Cannot archive job %s: not in the queue", job_id)
            return False
        rename = self._ArchiveOne(job)
        if rename is None:
            return False
        self._storage.ReplicateRenames([rename])
        return True

    def _ArchiveOne(self, job: _QueuedJob) -> tuple[str, str] | None:
        """Archive one finalized live job; the rename to replicate, or None."""
        with job.replicate_lock:
            with self._lock:
                if self._jobs.get(job.id) is not job or not job.IsFinalized():
                    logger.info("Job %s not archived: not finalized", job.id)
                    return None
                try:
                    rename = self._storage.ArchiveJobFile(job.id)
                except OSError as err:
                    logger.error("Archiving job %s failed: %s", job.id, err)
                    return None
                job.archived = True
                del self._jobs[job.id]
                (version, data) = (job.version, job.written_data)
            if version > job.replicated_version and data is not None:
                # The candidates must hold the final state before the rename.
                self._storage.Replicate(rename[0], data)
                job.replicated_version = version
        logger.info("Archived job %s", job.id)
        return rename

    def AutoArchiveJobs(self, age: float, timeout: float) -> tuple[int, int]:
        """Archive finalized jobs older than age seconds, for up to timeout.

        Args:
          age: minimum age (since the job ended) in seconds; negative
            (-1): every finalized job.
          timeout: stop after this many seconds.

        Returns:
          (number archived, number of jobs left uninspected at the timeout).

        Raises:
          errors.OpPrereqError: age or timeout is not a number.
        """
        for (name, value) in (("age", age), ("timeout", timeout)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise errors.OpPrereqError(f"Invalid {name} {value!r}: not a number",
                                           errors.ECODE_INVAL)
        deadline = time.monotonic() + timeout
        now = time.time()
        with self._lock:
            candidates = sorted(self._jobs.values(), key=lambda job: job.id)
        archived = 0
        renames: list[tuple[str, str]] = []
        remaining = 0
        for (index, job) in enumerate(candidates):
            if time.monotonic() >= deadline:
                remaining = len(candidates) - index
                break
            with self._lock:
                stamp = jqjob.TimeStampToFloat(job.end_timestamp or job.start_timestamp
                                               or job.received_timestamp)
                old_enough = age < 0 or (stamp is not None and now - stamp > age)
                eligible = job.IsFinalized() and old_enough
            rename = self._ArchiveOne(job) if eligible else None
            if rename is not None:
                archived += 1
                renames.append(rename)
                if len(renames) >= _ARCHIVE_REPLICATION_BATCH:
                    self._storage.ReplicateRenames(renames)
                    renames = []
        self._storage.ReplicateRenames(renames)
        return (archived, remaining)

    # --- drain flag ------------------------------------------------------------

    def SetDrainFlag(self, drain_flag: bool) -> bool:
        """Set or clear the drain flag (replicated); returns True."""
        self._storage.SetDrainFlag(bool(drain_flag))
        return True

    def IsDrained(self) -> bool:
        """Whether the queue refuses new jobs (SubmitJob/SubmitManyJobs)."""
        return self._storage.IsDrained()

    # --- queries and waiting -------------------------------------------------

    def WaitForJobChanges(self, job_id: Any, fields: list[str],
                          prev_job_info: Any, prev_log_serial: int | None,
                          timeout: float) -> Any:
        """Wait until a job changes; see waiter.WaitForJobChanges."""
        return waiter.WaitForJobChanges(self, _CheckJobId(job_id), fields,
                                        prev_job_info, prev_log_serial, timeout)

    def QueryJobs(self, job_ids: list[Any] | None, fields: list[str]) -> list[Any]:
        """LUXI QueryJobs: one row of values per job id (None if unknown).

        Args:
          job_ids: the jobs, in the order wanted; None or empty: every live
            job (and archived ones too if the "archived" field is asked for).
          fields: job query field names.

        Raises:
          errors.OpPrereqError: unknown fields.
        """
        ids = None if not job_ids else [_CheckJobId(job_id) for job_id in job_ids]
        return waiter.QueryJobs(self, ids, fields)

    OldStyleQueryJobs = QueryJobs

    def QueryJobsNew(self, fields: list[str], qfilter: Any) -> dict[str, list]:
        """LUXI Query("job", fields, qfilter): {"fields": ..., "data": ...}.

        Raises:
          errors.ParameterError: the filter is invalid.
        """
        return waiter.QueryJobsNew(self, fields, qfilter)
