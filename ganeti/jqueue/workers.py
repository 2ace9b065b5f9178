"""The worker pool of the job queue: ready jobs, workers, dependency waiters.

One lock, the queue's, guards everything here (STYLE.md C2): the ready
heap, every job's sched state and the dependency waiters. Workers sleep on
one Condition bound to that lock and are woken when a job becomes ready or
a slot frees up; nothing polls.

A job is handed to at most one worker at a time: only jobs in state
SCHED_READY are in the heap, a worker takes a job by moving it to
SCHED_WORKER, and it comes back only through Enqueue (worker done with a
step, dependency finished). A worker processes one step of a job (at most
one opcode) and then gives it back, so priorities and cancellations take
effect between opcodes, as Ganeti's workerpool did with deferred tasks.

Ready jobs are ordered by (priority, job id): lower priority numbers first,
then older jobs. Ganeti ordered equal priorities by arrival; ordering by id
is the same for new jobs and keeps a restarted queue deterministic.

At most max_running_fn() jobs are in workers at once (the cluster's
max_running_jobs, 20 by default), and never more than the number of
threads (25 by default, Ganeti's JOBQUEUE_THREADS). A job waiting for a
dependency or for its next lock attempt does not occupy a slot.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable

from ganeti.jqueue.job import (
    SCHED_IDLE,
    SCHED_READY,
    SCHED_WAITDEP,
    SCHED_WORKER,
    _QueuedJob,
)

logger = logging.getLogger(__name__)

#: Number of worker threads (Ganeti's JOBQUEUE_THREADS).
JOBQUEUE_THREADS = 25

# What one step of a job's processing returns to the pool.
FINISHED = "finished"  # job finalized: wake its dependents
DEFER = "defer"        # more to do: ready again (next opcode, lock retry)
WAITDEP = "waitdep"    # registered as waiter of a dependency job
SHUTDOWN = "shutdown"  # the queue stops; the job stays queued on disk


class JobScheduler:
    """Ready heap, worker threads and dependency waiters of one queue."""

    def __init__(self, lock: threading.Lock,
                 run_fn: Callable[[_QueuedJob], str],
                 max_running_fn: Callable[[], int],
                 num_workers: int = JOBQUEUE_THREADS):
        """Prepare the pool; threads start with Start.

        Args:
          lock: the queue lock, guarding all state here.
          run_fn: processes one step of a job, without the lock held;
            returns FINISHED, DEFER, WAITDEP or SHUTDOWN and never raises.
          max_running_fn: current limit of jobs in workers at once.
          num_workers: number of worker threads.
        """
        self._lock = lock
        self._cond = threading.Condition(lock)
        self._run_fn = run_fn
        self._max_running_fn = max_running_fn
        self._num_workers = num_workers
        self._heap: list[tuple[int, int, int, _QueuedJob]] = []
        self._seq = 0
        self._busy = 0
        self._stopping = False
        self._threads: list[threading.Thread] = []
        self._waiters: dict[int, set[_QueuedJob]] = {}

    # --- threads ---------------------------------------------------------

    def Start(self) -> None:
        """Start the worker threads (once)."""
        with self._lock:
            if self._threads or self._stopping:
                return
            self._threads = [
                threading.Thread(target=self._WorkerLoop, name=f"Jq{idx + 1}",
                                 daemon=True)
                for idx in range(self._num_workers)]
        for thread in self._threads:
            thread.start()

    def Shutdown(self, timeout: float | None = None) -> bool:
        """Stop taking jobs and wait for the workers to finish their step.

        Returns:
          whether every worker stopped within timeout (None: wait forever).
        """
        with self._lock:
            self._stopping = True
            self._cond.notify_all()
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            if thread is threading.current_thread():
                continue
            remaining = (None if deadline is None
                         else max(0.0, deadline - time.monotonic()))
            thread.join(remaining)
        return not any(thread.is_alive() for thread in self._threads
                       if thread is not threading.current_thread())

    def IsStoppingUnlocked(self) -> bool:
        return self._stopping

    def BusyCountUnlocked(self) -> int:
        """Number of jobs a worker is processing right now (lock held)."""
        return self._busy

    def _WorkerLoop(self) -> None:
        while True:
            with self._lock:
                job = self._NextJobUnlocked()
                if job is None:
                    return
                job.sched = SCHED_WORKER
                self._busy += 1
            outcome = SHUTDOWN
            try:
                outcome = self._run_fn(job)
            finally:
                with self._lock:
                    self._busy -= 1
                    self._AfterStepUnlocked(job, outcome)
                    self._cond.notify()

    def _NextJobUnlocked(self) -> _QueuedJob | None:
        """Wait for a ready job and a free slot; None when stopping."""
        while not self._stopping:
            if self._busy < self._max_running_fn():
                job = self._PopReadyUnlocked()
                if job is not None:
                    return job
            self._cond.wait()
        return None

    def _PopReadyUnlocked(self) -> _QueuedJob | None:
        while self._heap:
            (_, _, seq, job) = heapq.heappop(self._heap)
            # Entries of dequeued or re-prioritised jobs are left in the heap
            # and skipped here (lazy deletion).
            if job.sched == SCHED_READY and job.ready_seq == seq:
                return job
        return None

    def _AfterStepUnlocked(self, job: _QueuedJob, outcome: str) -> None:
        if outcome == WAITDEP:
            # The processor registered the job; a dependency may even have
            # made it ready again already.
            return
        if outcome == DEFER and not job.IsFinalized():
            self.EnqueueUnlocked(job)
            return
        job.sched = SCHED_IDLE
        if job.IsFinalized():
            self.NotifyDependentsUnlocked(job.id)

    # --- ready jobs ------------------------------------------------------

    def EnqueueUnlocked(self, job: _QueuedJob) -> None:
        """Make a job ready for a worker (lock held)."""
        self._seq += 1
        job.ready_seq = self._seq
        job.sched = SCHED_READY
        heapq.heappush(self._heap, (job.CalcPriority(), job.id, self._seq, job))
        self._cond.notify()

    def ReprioritizeUnlocked(self, job: _QueuedJob) -> None:
        """Re-sort a ready job after its priority changed (lock held)."""
        if job.sched == SCHED_READY:
            self.EnqueueUnlocked(job)

    def DequeueUnlocked(self, job: _QueuedJob) -> None:
        """Take a ready or dependency-waiting job out (lock held)."""
        if job.sched == SCHED_WAITDEP:
            for waiters in self._waiters.values():
                waiters.discard(job)
        if job.sched in (SCHED_READY, SCHED_WAITDEP):
            job.sched = SCHED_IDLE

    def ReadyCountUnlocked(self) -> int:
        return sum(1 for (_, _, seq, job) in self._heap
                   if job.sched == SCHED_READY and job.ready_seq == seq)

    # --- dependencies ----------------------------------------------------

    def RegisterWaiterUnlocked(self, job: _QueuedJob, dep_job_id: int) -> None:
        """Park a job until dep_job_id is finalized (lock held)."""
        self._waiters.setdefault(dep_job_id, set()).add(job)
        job.sched = SCHED_WAITDEP

    def NotifyDependentsUnlocked(self, dep_job_id: int) -> None:
        """Make the jobs waiting for dep_job_id ready again (lock held)."""
        waiters = self._waiters.pop(dep_job_id, set())
        for job in sorted(waiters, key=lambda waiter: waiter.id):
            if job.sched == SCHED_WAITDEP:
                logger.debug("Job %s: dependency %s finished", job.id, dep_job_id)
                self.EnqueueUnlocked(job)
