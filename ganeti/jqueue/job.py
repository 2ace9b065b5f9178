"""In-memory jobs and opcodes of the queue, their state machine and file form.

A job is an ordered list of queued opcodes; only opcodes have a stored
status. The job status is derived from them (spec/jobs.md section 2), so
there is exactly one place where a status changes: _QueuedOpCode.SetStatus,
which checks the move against _OP_TRANSITIONS and raises ProgrammerError on
an illegal one.

Serialize/Restore give the job file form of spec/jobs.md section 5, keys in
the order of samples/queue-job-1298.json. Everything kept in memory is in
its JSON form already (lists, not tuples; results and log messages passed
through a JSON round trip), so that what a query or WaitForJobChanges sees
in memory is what a reader of the file sees after a restart.

Nothing here locks: the job queue calls these methods with its lock held.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from ganeti import errors, opcodes_base, serializer

logger = logging.getLogger(__name__)

# Statuses, priorities and log types are those of ganeti.opcodes_base.
OP_STATUS_QUEUED = opcodes_base.OP_STATUS_QUEUED
OP_STATUS_WAITING = opcodes_base.OP_STATUS_WAITING
OP_STATUS_CANCELING = opcodes_base.OP_STATUS_CANCELING
OP_STATUS_RUNNING = opcodes_base.OP_STATUS_RUNNING
OP_STATUS_CANCELED = opcodes_base.OP_STATUS_CANCELED
OP_STATUS_SUCCESS = opcodes_base.OP_STATUS_SUCCESS
OP_STATUS_ERROR = opcodes_base.OP_STATUS_ERROR
OPS_FINALIZED = opcodes_base.OPS_FINALIZED
OP_STATUS_ALL = frozenset([OP_STATUS_QUEUED, OP_STATUS_WAITING,
                           OP_STATUS_CANCELING, OP_STATUS_RUNNING]) | OPS_FINALIZED

JOB_STATUS_QUEUED = opcodes_base.JOB_STATUS_QUEUED
JOB_STATUS_WAITING = opcodes_base.JOB_STATUS_WAITING
JOB_STATUS_CANCELING = opcodes_base.JOB_STATUS_CANCELING
JOB_STATUS_RUNNING = opcodes_base.JOB_STATUS_RUNNING
JOB_STATUS_CANCELED = opcodes_base.JOB_STATUS_CANCELED
JOB_STATUS_SUCCESS = opcodes_base.JOB_STATUS_SUCCESS
JOB_STATUS_ERROR = opcodes_base.JOB_STATUS_ERROR
JOBS_FINALIZED = opcodes_base.JOBS_FINALIZED

# The legal moves of an opcode's status. Why each non-obvious one exists:
#   queued -> error       a preceding opcode failed, or recovery after a crash
#   queued -> canceled    the job was canceled before this opcode started
#   waiting -> queued     the queue shut down (or restarted) before the opcode
#                         got its locks: nothing ran, it will be retried
#   waiting -> error      dependency failed, or LU failed before taking locks
#   canceling -> running  the cancel came too late: the processor started the
#                         opcode without calling NotifyStart first
#   canceling -> error    the opcode failed before the cancel took effect, or
#                         recovery after a crash
_OP_TRANSITIONS: dict[str, frozenset[str]] = {
    OP_STATUS_QUEUED: frozenset([OP_STATUS_WAITING, OP_STATUS_CANCELED,
                                 OP_STATUS_ERROR]),
    OP_STATUS_WAITING: frozenset([OP_STATUS_RUNNING, OP_STATUS_CANCELING,
                                  OP_STATUS_QUEUED, OP_STATUS_ERROR]),
    OP_STATUS_CANCELING: frozenset([OP_STATUS_CANCELED, OP_STATUS_RUNNING,
                                    OP_STATUS_ERROR]),
    OP_STATUS_RUNNING: frozenset([OP_STATUS_SUCCESS, OP_STATUS_ERROR]),
    OP_STATUS_CANCELED: frozenset(),
    OP_STATUS_SUCCESS: frozenset(),
    OP_STATUS_ERROR: frozenset(),
}

# Results given to opcodes that never ran (Ganeti's wording).
CANCELED_RESULT = "Job canceled by request"
PRECEDING_FAILED_MSG = "Preceding opcode failed"
UNCLEAN_SHUTDOWN_MSG = "Unclean master daemon shutdown"

# Scheduling states of a job (owned by the scheduler; under the queue lock).
SCHED_IDLE = "idle"        # not scheduled: finalized, or not yet enqueued
SCHED_READY = "ready"      # in the ready heap, waiting for a worker
SCHED_WORKER = "worker"    # a worker is processing it
SCHED_WAITDEP = "waitdep"  # registered for a dependency job to finish


def TimeStampNow(_time_fn: Callable[[], float] = time.time) -> list[int]:
    """The current time as [seconds, microseconds], the job file format."""
    now = _time_fn()
    seconds = int(now)
    return [seconds, int((now - seconds) * 1000000)]


def TimeStampToFloat(timestamp: list[int] | None) -> float | None:
    """Convert [seconds, microseconds] to seconds (None stays None)."""
    if timestamp is None:
        return None
    return timestamp[0] + timestamp[1] / 1000000.0


def CalcJobStatus(op_statuses: list[str]) -> str:
    """Derive a job's status from its opcodes' statuses (spec/jobs.md 2).

    error, canceling or canceled end the scan and are the job status;
    waiting and running are remembered; all-success gives success;
    otherwise the remembered status, or queued.
    """
    status = JOB_STATUS_QUEUED
    all_success = True
    for op_status in op_statuses:
        if op_status != OP_STATUS_SUCCESS:
            all_success = False
        if op_status in (OP_STATUS_ERROR, OP_STATUS_CANCELING, OP_STATUS_CANCELED):
            return op_status
        if op_status in (OP_STATUS_WAITING, OP_STATUS_RUNNING):
            status = op_status
    return JOB_STATUS_SUCCESS if all_success else status


def ToJsonValue(value: Any) -> Any:
    """Return value in its JSON form (tuples become lists, ...).

    A value that cannot be serialised is replaced by its str(), so that a
    job file can always be written.
    """
    try:
        return serializer.LoadJson(serializer.DumpJson(value))
    except (TypeError, ValueError, errors.GenericError):
        logger.warning("Value %r cannot be serialised, storing its text", value)
        return str(value)


def EncodeOpError(err: BaseException) -> list:
    """Encode an opcode's failure as ["ErrorClass", [args...]].

    Exceptions that are not ganeti errors become OpExecError(str(err)).
    """
    if not isinstance(err, errors.GenericError):
        err = errors.OpExecError(str(err))
    (name, args) = errors.EncodeException(err)
    return [name, ToJsonValue(list(args))]


def _CheckTimestamp(value: Any, what: str) -> list[int] | None:
    """A stored [seconds, microseconds] timestamp, or None.

    Raises:
      errors.JobFileCorrupted: anything else.
    """
    if value is None:
        return None
    if (isinstance(value, list) and len(value) == 2
            and all(isinstance(part, int) and not isinstance(part, bool)
                    for part in value)):
        return value
    raise errors.JobFileCorrupted(f"Invalid {what} {value!r}")


def OpInputToDict(op_input: Any) -> dict:
    """The dict form of an opcode (an OpCode object or an unloadable dict)."""
    if hasattr(op_input, "ToDict"):
        return op_input.ToDict()
    return op_input


class _QueuedOpCode:
    """One opcode of a job: its input, status, result, log and timestamps."""

    __slots__ = ("input", "status", "result", "log", "priority",
                 "start_timestamp", "exec_timestamp", "end_timestamp")

    def __init__(self, op: Any):
        """Wrap a validated opcode object (status queued)."""
        self.input = op
        self.status = OP_STATUS_QUEUED
        self.result: Any = None
        self.log: list[list] = []
        self.priority: int = getattr(op, "priority", opcodes_base.OP_PRIO_DEFAULT)
        self.start_timestamp: list[int] | None = None
        self.exec_timestamp: list[int] | None = None
        self.end_timestamp: list[int] | None = None

    def SetStatus(self, new: str) -> None:
        """Move to a new status.

        Raises:
          errors.ProgrammerError: the move is not in _OP_TRANSITIONS.
        """
        if new not in _OP_TRANSITIONS.get(self.status, frozenset()):
            raise errors.ProgrammerError(
                f"Illegal opcode status change {self.status} -> {new}")
        self.status = new

    def IsFinalized(self) -> bool:
        return self.status in OPS_FINALIZED

    def Serialize(self) -> dict[str, Any]:
        """The job file form of this opcode."""
        return {
            "input": OpInputToDict(self.input),
            "status": self.status,
            "result": self.result,
            "log": self.log,
            "start_timestamp": self.start_timestamp,
            "exec_timestamp": self.exec_timestamp,
            "end_timestamp": self.end_timestamp,
            "priority": self.priority,
        }

    @classmethod
    def Restore(cls, state: dict[str, Any],
                load_fn: Callable[[dict], Any]) -> _QueuedOpCode:
        """Rebuild an opcode from its job file form.

        Args:
          state: the dict from the job file.
          load_fn: turns the "input" dict into an opcode object; may return
            the dict itself when it cannot be loaded.

        Raises:
          errors.JobFileCorrupted: a key is missing or has the wrong type.
        """
        if not isinstance(state, dict) or not isinstance(state.get("input"), dict):
            raise errors.JobFileCorrupted("Opcode entry is not an object with input")
        status = state.get("status")
        if status not in OP_STATUS_ALL:
            raise errors.JobFileCorrupted(f"Unknown opcode status {status!r}")
        log = state.get("log") or []
        if not isinstance(log, list) or not all(
                isinstance(entry, list) and len(entry) == 4
                and isinstance(entry[0], int) for entry in log):
            raise errors.JobFileCorrupted("Malformed opcode log")
        priority = state.get("priority", opcodes_base.OP_PRIO_DEFAULT)
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise errors.JobFileCorrupted(f"Invalid opcode priority {priority!r}")
        obj = cls.__new__(cls)
        obj.input = load_fn(state["input"])
        obj.status = status
        obj.result = state.get("result")
        obj.log = log
        obj.priority = priority
        for name in ("start_timestamp", "exec_timestamp", "end_timestamp"):
            setattr(obj, name, _CheckTimestamp(state.get(name), f"opcode {name}"))
        return obj


class _QueuedJob:
    """A job: the item of the job query (see ganeti/query/job.py).

    Persistent attributes are those of the job file; the others are the
    queue's bookkeeping, all guarded by the queue lock except
    replicated_version, which is guarded by replicate_lock.
    """

    __slots__ = ("id", "ops", "log_serial", "received_timestamp",
                 "start_timestamp", "end_timestamp", "livelock", "process_id",
                 "archived", "change_cond", "sched", "ready_seq", "opctx",
                 "version", "written_data", "replicate_lock",
                 "replicated_version")

    def __init__(self, job_id: int, ops: list[Any], received: list[int],
                 archived: bool = False):
        """Create a new job of validated opcode objects, all queued."""
        if not ops:
            raise errors.ProgrammerError("A job needs at least one opcode")
        self.id = int(job_id)
        self.ops = [_QueuedOpCode(op) for op in ops]
        self.log_serial = 0
        self.received_timestamp: list[int] | None = received
        self.start_timestamp: list[int] | None = None
        self.end_timestamp: list[int] | None = None
        self.livelock: str | None = None
        self.process_id: int | None = None
        self.archived = archived
        self._InitInMemory()

    def _InitInMemory(self) -> None:
        # Rebound to the queue lock by the queue that owns the job.
        self.change_cond = threading.Condition()
        self.sched = SCHED_IDLE
        self.ready_seq = 0
        self.opctx: Any = None
        self.version = 0
        self.written_data: str | None = None
        self.replicate_lock = threading.Lock()
        self.replicated_version = 0

    def __repr__(self) -> str:
        return f"<_QueuedJob id={self.id} status={self.CalcStatus()}>"

    def CalcStatus(self) -> str:
        """The job status derived from the opcodes (spec/jobs.md 2)."""
        return CalcJobStatus([op.status for op in self.ops])

    def IsFinalized(self) -> bool:
        return self.CalcStatus() in JOBS_FINALIZED

    def CalcPriority(self) -> int:
        """The best (lowest) priority of the unfinished opcodes."""
        priorities = [op.priority for op in self.ops if not op.IsFinalized()]
        return min(priorities) if priorities else opcodes_base.OP_PRIO_DEFAULT

    def GetLogEntries(self, newer_than: int | None) -> list[list]:
        """The log entries with a serial above newer_than (None: all)."""
        serial = -1 if newer_than is None else newer_than
        return [entry for op in self.ops for entry in op.log if entry[0] > serial]

    def NextOpIndex(self) -> int | None:
        """Index of the first opcode that is not finalized, or None."""
        for (idx, op) in enumerate(self.ops):
            if not op.IsFinalized():
                return idx
        return None

    def AddLogEntry(self, op: _QueuedOpCode, log_type: str, message: Any) -> list:
        """Append a log entry [serial, [sec, usec], type, message] to op."""
        self.log_serial += 1
        entry = [self.log_serial, TimeStampNow(), log_type, ToJsonValue(message)]
        op.log.append(entry)
        return entry

    def MarkUnfinishedOps(self, status: str, result: Any) -> None:
        """Move every opcode that is not finalized to status, with result.

        An opcode already in status only gets the result; a waiting opcode
        that is canceled passes through canceling, as the transition table
        requires. Every move is checked by the table.
        """
        now = TimeStampNow()
        for op in self.ops:
            if op.IsFinalized():
                continue
            if status == OP_STATUS_CANCELED and op.status == OP_STATUS_WAITING:
                op.SetStatus(OP_STATUS_CANCELING)
            if op.status != status:
                op.SetStatus(status)
            op.result = result
            if status in OPS_FINALIZED:
                op.end_timestamp = now

    def Finalize(self) -> None:
        """Record the job's end; every opcode must be finalized by now."""
        if not all(op.IsFinalized() for op in self.ops):
            raise errors.ProgrammerError(f"Job {self.id} has unfinished opcodes")
        self.end_timestamp = TimeStampNow()

    def Serialize(self) -> dict[str, Any]:
        """The job file form (keys in the order of the real job files)."""
        return {
            "id": self.id,
            "ops": [op.Serialize() for op in self.ops],
            "start_timestamp": self.start_timestamp,
            "end_timestamp": self.end_timestamp,
            "received_timestamp": self.received_timestamp,
            "livelock": self.livelock,
            "process_id": self.process_id,
        }

    @classmethod
    def Restore(cls, state: Any, load_fn: Callable[[dict], Any],
                archived: bool = False) -> _QueuedJob:
        """Rebuild a job from its job file form.

        Raises:
          errors.JobFileCorrupted: the data is not a valid job.
        """
        if (not isinstance(state, dict) or not isinstance(state.get("id"), int)
                or not isinstance(state.get("ops"), list) or not state["ops"]):
            raise errors.JobFileCorrupted("Job data lacks a numeric id or opcodes")
        obj = cls.__new__(cls)
        obj.id = state["id"]
        obj.ops = [_QueuedOpCode.Restore(op_state, load_fn)
                   for op_state in state["ops"]]
        obj.log_serial = max((entry[0] for op in obj.ops for entry in op.log),
                             default=0)
        for name in ("received_timestamp", "start_timestamp", "end_timestamp"):
            setattr(obj, name, _CheckTimestamp(state.get(name), f"job {name}"))
        obj.livelock = state.get("livelock")
        obj.process_id = state.get("process_id")
        obj.archived = archived
        obj._InitInMemory()
        return obj
