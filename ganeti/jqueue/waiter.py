"""WaitForJobChanges and the job queries, over a JobQueue's jobs.

Query getters read live job objects, which workers change, so every query
runs under the queue lock; archived jobs are read from disk before taking
it (they never change). WaitForJobChanges sleeps on the job's Condition,
which every change of the job notifies: a new log line wakes it at once.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ganeti import errors, opcodes_base, query
from ganeti.jqueue.job import _QueuedJob

if TYPE_CHECKING:
    from ganeti.jqueue import JobQueue

#: Longest wait of one WaitForJobChanges call (Ganeti's LUXI_WFJC_TIMEOUT =
#: (LUXI_DEF_RWTO - 1) // 2): the client's read timeout must not expire.
LUXI_WFJC_TIMEOUT = (180 - 1) // 2

Item = tuple[int, _QueuedJob | None]


def _LoadOtherJob(queue: JobQueue, job_id: int) -> _QueuedJob | None:
    """A job that is not live in memory: from the archive, or None."""
    storage = queue._storage
    return queue._LoadJobFile(storage.GetArchivedJobPath(job_id), job_id,
                              archived=True)


def _ItemsFor(queue: JobQueue, job_ids: list[int]) -> list[Item]:
    """(id, job or None) for each id, live jobs first, then the archive."""
    with queue._lock:
        live = {job_id: queue._jobs.get(job_id) for job_id in job_ids}
    return [(job_id, live[job_id] if live[job_id] is not None
             else _LoadOtherJob(queue, job_id)) for job_id in job_ids]


def _AllItems(queue: JobQueue, include_archived: bool) -> list[Item]:
    """Every live job, and every archived one if asked for, by id."""
    with queue._lock:
        items: dict[int, _QueuedJob | None] = dict(queue._jobs)
    if include_archived:
        for job_id in queue._storage.ListArchivedJobIds():
            if job_id not in items:
                job = _LoadOtherJob(queue, job_id)
                if job is not None:
                    items[job_id] = job
    return sorted(items.items())


def QueryJobs(queue: JobQueue, job_ids: list[int] | None,
              fields: list[str]) -> list[Any]:
    """Rows of plain values, one per job id (None for an unknown job).

    Raises:
      errors.OpPrereqError: unknown fields.
      errors.ParameterError: fields is not a list of names.
    """
    qobj = query.Query(query.JOB_FIELDS, fields, namefield="id")
    if job_ids is None:
        items = _AllItems(queue, query.JQ_ARCHIVED in qobj.RequestedData())
        with queue._lock:
            return qobj.OldStyleQuery(items)
    items = _ItemsFor(queue, job_ids)
    with queue._lock:
        rows = iter(qobj.OldStyleQuery([item for item in items
                                        if item[1] is not None],
                                       sort_by_name=False))
        return [next(rows) if job is not None else None for (_, job) in items]


def QueryJobsNew(queue: JobQueue, fields: list[str], qfilter: Any) -> dict[str, list]:
    """The LUXI Query("job", ...) answer {"fields": [...], "data": [...]}.

    Jobs named by the filter are looked up live, then in the archive; an
    unknown one gives a row whose fields are all unavailable but "id"
    (samples/luxi-job-info-missing.txt). Without names, every live job is
    listed, and the archived ones too if the "archived" field is used.

    Raises:
      errors.ParameterError: invalid filter or field selection.
    """
    qobj = query.Query(query.JOB_FIELDS, fields, qfilter, namefield="id")
    names = qobj.RequestedNames()
    if names is None:
        items = _AllItems(queue, query.JQ_ARCHIVED in qobj.RequestedData())
    else:
        job_ids = [name for name in names
                   if isinstance(name, int) and not isinstance(name, bool)
                   and name >= 0]
        items = _ItemsFor(queue, list(dict.fromkeys(job_ids)))
    with queue._lock:
        return query.GetQueryResponse(qobj, items)


def _JobInfoUnlocked(qobj: query.Query, job: _QueuedJob) -> list[Any]:
    return qobj.OldStyleQuery([(job.id, job)], sort_by_name=False)[0]


def WaitForJobChanges(queue: JobQueue, job_id: int, fields: list[str],
                      prev_job_info: Any, prev_log_serial: int | None,
                      timeout: float) -> Any:
    """Wait until a job's fields or log change, or it is finalized.

    Args:
      job_id: the job.
      fields: job query fields making up job_info (e.g. ["status"]).
      prev_job_info: the job_info the caller has (None at first).
      prev_log_serial: serial of the last log entry the caller has (None:
        it has none).
      timeout: seconds to wait at most (capped to LUXI_WFJC_TIMEOUT).

    Returns:
      [job_info, log_entries newer than prev_log_serial] at once if the job
      is finalized or differs from what the caller has; else as soon as it
      does; "nochange" if nothing changed within the timeout.

    Raises:
      errors.JobLost: no such job.
      errors.OpPrereqError: unknown fields, or a bad timeout or serial.
    """
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise errors.OpPrereqError(f"Invalid timeout {timeout!r}", errors.ECODE_INVAL)
    if prev_log_serial is not None and (isinstance(prev_log_serial, bool)
                                        or not isinstance(prev_log_serial, int)):
        raise errors.OpPrereqError(f"Invalid log serial {prev_log_serial!r}",
                                   errors.ECODE_INVAL)
    qobj = query.Query(query.JOB_FIELDS, fields, namefield=None)
    (_, job) = _ItemsFor(queue, [job_id])[0]
    if job is None:
        raise errors.JobLost(f"Job {job_id} not found")
    deadline = time.monotonic() + max(0.0, min(timeout, LUXI_WFJC_TIMEOUT))
    with queue._lock:
        while True:
            job_info = _JobInfoUnlocked(qobj, job)
            log_entries = job.GetLogEntries(prev_log_serial)
            if (job.IsFinalized() or job_info != prev_job_info or log_entries):
                return [job_info, log_entries]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return opcodes_base.JOB_NOTCHANGED
            job.change_cond.wait(remaining)
