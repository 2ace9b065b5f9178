"""Field table of the "job" query (spec/query2.md section 6).

Names, titles, kinds and docs are those luxid answers
(samples/luxi-job-list-o.txt; src/Ganeti/Query/Job.hs).

The items of a job query are (job_id, job) pairs; job is None when the job
could not be loaded, and then every field but "id" is RS_UNAVAIL. A job is any
object with:

* ``ops``: the queued opcodes, each with ``input`` (an opcode object with
  ``ToDict()`` and ``Summary()``, or its dict form holding "OP_ID"),
  ``status``, ``result``, ``log`` (list of (serial, [sec, usec], type,
  message)), ``priority`` and ``start_timestamp``, ``exec_timestamp``,
  ``end_timestamp`` ([sec, usec] or None);
* ``received_timestamp``, ``start_timestamp``, ``end_timestamp``: [sec, usec]
  or None (None gives RS_UNAVAIL);
* ``archived``: whether the job was read from the archive (default False);
* ``CalcStatus() -> str`` and ``CalcPriority() -> int``.

The ctx of the query is only iterated; getters do not use it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ganeti.query.common import (
    JQ_ARCHIVED,
    QFF_JOB_ID,
    QFF_SPLIT_TIMESTAMP,
    QFT_BOOL,
    QFT_NUMBER,
    QFT_OTHER,
    QFT_TEXT,
    FieldDef,
    FieldDict,
    Getter,
    _FS_UNAVAIL,
    _MakeField,
    _PrepareFieldList,
)

# Job priorities run from OP_PRIO_HIGHEST (-20) to OP_PRIO_LOWEST (19).
OP_PRIO_LOWEST = 19
OP_PRIO_HIGHEST = -20

_INVALID_OP = "INVALID_OP"


def _JobUnavail(fn: Callable[[Any], Any]) -> Getter:
    """Wrap a job getter: unavailable when the job could not be loaded."""

    def _Getter(_ctx: Any, item: tuple[Any, Any]) -> Any:
        (_, job) = item
        return _FS_UNAVAIL if job is None else fn(job)

    return _Getter


def _PerJobOp(fn: Callable[[Any], Any]) -> Getter:
    """Return a getter listing fn(op) for every opcode of the job."""
    return _JobUnavail(lambda job: [fn(op) for op in job.ops])


def _JobTimestamp(attr: str) -> Getter:
    """Return a getter for a job timestamp, unavailable when unset."""

    def _Get(job: Any) -> Any:
        value = getattr(job, attr, None)
        return _FS_UNAVAIL if value is None else list(value)

    return _JobUnavail(_Get)


def _OpTimestamp(attr: str) -> Callable[[Any], Any]:
    return lambda op: (None if getattr(op, attr, None) is None
                       else list(getattr(op, attr)))


def _OpInput(op: Any) -> Any:
    """The opcode's dict form, as stored in the job file."""
    data = op.input
    return data.ToDict() if hasattr(data, "ToDict") else data


def _OpSummary(op: Any) -> str:
    """The opcode's summary, e.g. "INSTANCE_CREATE(inst1.example.com)".

    An opcode in dict form (one that could not be loaded) gives its OP_ID
    without the "OP_" prefix, or "INVALID_OP", as luxid's extractOpSummary.
    """
    data = op.input
    if hasattr(data, "Summary"):
        return data.Summary()
    if isinstance(data, dict) and isinstance(data.get("OP_ID"), str):
        return data["OP_ID"][3:]
    return _INVALID_OP


def _TsDoc(what: str) -> str:
    return f"{what} (tuple containing seconds and microseconds)"


def _BuildJobFields() -> FieldDict:
    """Build the job field table."""
    fields = [
        FieldDef(_MakeField("id", "ID", QFT_NUMBER, "Job ID"), None, QFF_JOB_ID,
                 lambda _ctx, item: item[0]),
        FieldDef(_MakeField("status", "Status", QFT_TEXT, "Job status"), None, 0,
                 _JobUnavail(lambda job: job.CalcStatus())),
        FieldDef(_MakeField("priority", "Priority", QFT_NUMBER,
                            f"Current job priority ({OP_PRIO_LOWEST} to"
                            f" {OP_PRIO_HIGHEST})"),
                 None, 0, _JobUnavail(lambda job: job.CalcPriority())),
        FieldDef(_MakeField("archived", "Archived", QFT_BOOL,
                            "Whether job is archived"),
                 JQ_ARCHIVED, 0,
                 _JobUnavail(lambda job: bool(getattr(job, "archived", False)))),
        FieldDef(_MakeField("ops", "OpCodes", QFT_OTHER, "List of all opcodes"),
                 None, 0, _PerJobOp(_OpInput)),
        FieldDef(_MakeField("opresult", "OpCode_result", QFT_OTHER,
                            "List of opcodes results"),
                 None, 0, _PerJobOp(lambda op: op.result)),
        FieldDef(_MakeField("opstatus", "OpCode_status", QFT_OTHER,
                            "List of opcodes status"),
                 None, 0, _PerJobOp(lambda op: op.status)),
        FieldDef(_MakeField("oplog", "OpCode_log", QFT_OTHER,
                            "List of opcode output logs"),
                 None, 0, _PerJobOp(lambda op: list(op.log or []))),
        FieldDef(_MakeField("opstart", "OpCode_start", QFT_OTHER,
                            "List of opcode start timestamps (before acquiring"
                            " locks)"),
                 None, 0, _PerJobOp(_OpTimestamp("start_timestamp"))),
        FieldDef(_MakeField("opexec", "OpCode_exec", QFT_OTHER,
                            "List of opcode execution start timestamps (after"
                            " acquiring locks)"),
                 None, 0, _PerJobOp(_OpTimestamp("exec_timestamp"))),
        FieldDef(_MakeField("opend", "OpCode_end", QFT_OTHER,
                            "List of opcode execution end timestamps"),
                 None, 0, _PerJobOp(_OpTimestamp("end_timestamp"))),
        FieldDef(_MakeField("oppriority", "OpCode_prio", QFT_OTHER,
                            "List of opcode priorities"),
                 None, 0, _PerJobOp(lambda op: op.priority)),
        FieldDef(_MakeField("summary", "Summary", QFT_OTHER,
                            "List of per-opcode summaries"),
                 None, 0, _PerJobOp(_OpSummary)),
        FieldDef(_MakeField("received_ts", "Received", QFT_OTHER,
                            _TsDoc("Timestamp of when job was received")),
                 None, QFF_SPLIT_TIMESTAMP, _JobTimestamp("received_timestamp")),
        FieldDef(_MakeField("start_ts", "Start", QFT_OTHER,
                            _TsDoc("Timestamp of job start")),
                 None, QFF_SPLIT_TIMESTAMP, _JobTimestamp("start_timestamp")),
        FieldDef(_MakeField("end_ts", "End", QFT_OTHER,
                            _TsDoc("Timestamp of job end")),
                 None, QFF_SPLIT_TIMESTAMP, _JobTimestamp("end_timestamp")),
    ]
    return _PrepareFieldList(fields, [])


#: Fields of the "job" query; items are (job_id, job) pairs.
JOB_FIELDS = _BuildJobFields()
