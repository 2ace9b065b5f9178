"""gnt-job: list, inspect, follow, cancel and archive jobs.

Commands, options and output as Ganeti 3.0's gnt-job (spec/cli.md,
samples/gnt-job-*.txt); everything goes over LUXI (Query "job" for list and
info, CancelJob, ChangeJobPriority, ArchiveJob, AutoArchiveJobs,
WaitForJobChange for watch and wait).
"""

from __future__ import annotations

from typing import Any

from ganeti import cli, errors, qlang
from ganeti.cli import (
    ArgJobId,
    ArgSuggest,
    ArgUnknown,
    FORCE_FILTER_OPT,
    FORCE_OPT,
    FIELDS_OPT,
    NOHDR_OPT,
    PRIORITY_OPT,
    SEP_OPT,
    VERBOSE_OPT,
    ToStderr,
    ToStdout,
    cli_option,
)
from ganeti.cli_jobs import (
    JOB_STATUS_CANCELED,
    JOB_STATUS_CANCELING,
    JOB_STATUS_ERROR,
    JOB_STATUS_QUEUED,
    JOB_STATUS_RUNNING,
    JOB_STATUS_SUCCESS,
    JOB_STATUS_WAITING,
    JOBS_FINALIZED,
    JOBS_PENDING,
)

QR_JOB = "job"

#: Fields of "gnt-job list" without -o.
_LIST_DEF_FIELDS = ["id", "status", "summary"]

#: Job statuses as shown to users.
_USER_JOB_STATUS = {
    JOB_STATUS_QUEUED: "queued",
    JOB_STATUS_WAITING: "waiting",
    JOB_STATUS_CANCELING: "canceling",
    JOB_STATUS_RUNNING: "running",
    JOB_STATUS_CANCELED: "canceled",
    JOB_STATUS_SUCCESS: "success",
    JOB_STATUS_ERROR: "error",
}

#: Fields of "gnt-job info", in the order the query returns them.
_INFO_FIELDS = ["id", "status", "ops", "opresult", "opstatus", "oplog",
                "opstart", "opexec", "opend", "received_ts", "start_ts",
                "end_ts"]


def _FormatStatus(value: Any) -> str:
    """A job status as shown to users.

    Raises:
      errors.ProgrammerError: not a job status.
    """
    try:
        return _USER_JOB_STATUS[value]
    except KeyError:
        raise errors.ProgrammerError(f"Unknown job status code '{value}'") from None


def _FormatSummary(value: list[Any]) -> str:
    """The opcode summaries of a job, comma-separated."""
    return ",".join(str(item) for item in value)


def _FormatTimestamps(value: list[Any]) -> str:
    return str([cli.FormatTimestamp(ts) for ts in value])


_JOB_LIST_FORMAT: dict[str, Any] = {
    "status": (_FormatStatus, False),
    "summary": (_FormatSummary, False),
    "opstart": (_FormatTimestamps, False),
    "opexec": (_FormatTimestamps, False),
    "opend": (_FormatTimestamps, False),
}


def _ParseJobIds(args: list[str]) -> list[int]:
    """Job IDs from the command line.

    Raises:
      errors.OpPrereqError: an argument is not a number.
    """
    try:
        return [int(arg) for arg in args]
    except (TypeError, ValueError) as err:
        raise errors.OpPrereqError(f"Invalid job ID passed: {err}",
                                   errors.ECODE_INVAL) from err


def _StatusFilter(statuses: Any) -> list | None:
    """An OR filter matching any of statuses (sorted, for stable requests)."""
    if statuses is None:
        return None
    return qlang.MakeSimpleFilter("status", sorted(statuses))


def ListJobs(opts: Any, args: list[str]) -> int:
    """List jobs (default fields id, status, summary)."""
    selected_fields = cli.ParseFields(opts.output, _LIST_DEF_FIELDS)
    if opts.archived and "archived" not in selected_fields:
        selected_fields.append("archived")
    cl = cli.GetClient()
    return cli.GenericList(QR_JOB, selected_fields, args, None, opts.separator,
                           not opts.no_headers, format_override=_JOB_LIST_FORMAT,
                           verbose=opts.verbose, force_filter=opts.force_filter,
                           namefield="id", qfilter=_StatusFilter(opts.status_filter),
                           isnumeric=True, cl=cl)


def ListJobFields(opts: Any, args: list[str]) -> int:
    """List the fields of jobs (all, or those given)."""
    return cli.GenericListFields(QR_JOB, args, opts.separator,
                                 not opts.no_headers, cl=cli.GetClient())


def ArchiveJobs(opts: Any, args: list[str]) -> int:
    """Move finished jobs to the archive."""
    client = cli.GetClient()
    rcode = cli.EXIT_SUCCESS
    for job_id in _ParseJobIds(args):
        if not client.ArchiveJob(job_id):
            ToStderr("Failed to archive job with ID '%s'", job_id)
            rcode = cli.EXIT_FAILURE
    return rcode


def AutoArchiveJobs(opts: Any, args: list[str]) -> int:
    """Archive finished jobs older than an age ("1d", "2h"...) or "all"."""
    age = -1 if args[0] == "all" else cli.ParseTimespec(args[0])
    (archived_count, jobs_left) = cli.GetClient().AutoArchiveJobs(age)
    ToStdout("Archived %s jobs, %s unchecked left", archived_count, jobs_left)
    return cli.EXIT_SUCCESS


def _MultiJobAction(opts: Any, args: list[str], cl: Any, stdout_fn: Any,
                    ask_fn: Any, question: str, action_fn: Any) -> int:
    """Apply action_fn(cl, job_id) -> (success, message) to several jobs.

    The jobs are the arguments, or those with a status of --pending,
    --queued or --waiting (shown, and confirmed unless --force).

    Raises:
      errors.OpPrereqError: both or neither of job IDs and a status
        selection given, or no job has the selected status.
    """
    if bool(args) == (opts.status_filter is not None):
        raise errors.OpPrereqError("Either a status filter or job ID(s) must be"
                                   " specified and never both", errors.ECODE_INVAL)
    if cl is None:
        cl = cli.GetClient()
    if opts.status_filter is None:
        jobs: list[Any] = _ParseJobIds(args)
    else:
        response = cl.Query(QR_JOB, ["id", "status", "summary"],
                            _StatusFilter(opts.status_filter))
        jobs = [row[0][1] for row in cli.GetQueryData(response)]
        if not jobs:
            raise errors.OpPrereqError("No jobs with the requested status have"
                                       " been found", errors.ECODE_STATE)
        if not opts.force:
            (_, table) = cli.FormatQueryResult(response, header=True,
                                               format_override=_JOB_LIST_FORMAT)
            for line in table:
                stdout_fn(line)
            if not ask_fn(question):
                return cli.EXIT_CONFIRMATION
    result = cli.EXIT_SUCCESS
    for job_id in jobs:
        (success, msg) = action_fn(cl, job_id)
        if not success:
            result = cli.EXIT_FAILURE
        stdout_fn(msg)
    return result


def CancelJobs(opts: Any, args: list[str], cl: Any = None,
               _stdout_fn: Any = ToStdout, _ask_fn: Any = cli.AskUser) -> int:
    """Cancel jobs that did not start yet (or kill them with --kill)."""
    if opts.kill:
        action_name = "KILL"
        if not opts.yes_do_it:
            raise errors.OpPrereqError("The --kill option must be confirmed"
                                       " with --yes-do-it", errors.ECODE_INVAL)
    else:
        action_name = "Cancel"
    return _MultiJobAction(opts, args, cl, _stdout_fn, _ask_fn,
                           f"{action_name} job(s) listed above?",
                           lambda client, job_id: client.CancelJob(
                               job_id, kill=opts.kill))


def ChangePriority(opts: Any, args: list[str], cl: Any = None,
                   _stdout_fn: Any = ToStdout, _ask_fn: Any = cli.AskUser) -> int:
    """Change the priority of jobs that did not finish."""
    if opts.priority is None:
        ToStderr("--priority option must be given.")
        return cli.EXIT_FAILURE
    return _MultiJobAction(opts, args, cl, _stdout_fn, _ask_fn,
                           "Change priority of job(s) listed above?",
                           lambda client, job_id: client.ChangeJobPriority(
                               job_id, opts.priority))


def _CalcDelta(from_ts: list[int], to_ts: list[int]) -> float:
    return to_ts[0] - from_ts[0] + (to_ts[1] - from_ts[1]) / 1000000.0


def _ListJobTimestamp(name: str, ts: Any, container: list[tuple],
                      prior_ts: Any = None) -> None:
    """Add a job timestamp (with the time since prior_ts) to container."""
    if ts is None:
        container.append((name, f"unknown ({ts})", "job_timestamp"))
        return
    delta = ""
    if prior_ts is not None:
        delta = f" (delta {_CalcDelta(prior_ts, ts):.6f}s)"
    container.append((name, f"{cli.FormatTimestamp(ts)}{delta}", "job_timestamp"))


def _ListOpcodeTimestamp(name: str, ts: Any, container: list[tuple]) -> None:
    text = cli.FormatTimestamp(ts) if isinstance(ts, (tuple, list)) else "N/A"
    container.append((name, text, "opcode_timestamp"))


def _FormatOpcode(opcode: dict[str, Any], result: Any, status: str, log: Any,
                  s_ts: Any, x_ts: Any, e_ts: Any) -> list[tuple]:
    """The info tree of one opcode of a job."""
    info: list[tuple] = [("Opcode", opcode.get("OP_ID")), ("Status", status)]
    _ListOpcodeTimestamp("Processing start", s_ts, info)
    _ListOpcodeTimestamp("Execution start", x_ts, info)
    _ListOpcodeTimestamp("Processing end", e_ts, info)
    info.append(("Input fields", opcode))
    info.append(("Result", result))
    exec_log = []
    for serial, log_ts, log_type, log_msg in log or []:
        # Time and content are separate entries: the time's colons would
        # break YAML parsers if the entry were one tuple.
        exec_log.append([
            ("Time", cli.FormatTimestamp(log_ts)),
            ("Content", (serial, log_type, cli.FormatLogMessage(log_type, log_msg))),
        ])
    info.append(("Execution log", exec_log))
    return info


def _FormatJob(row: list[list[Any]]) -> Any:
    """The info tree of one job, or a "not found" line."""
    values = [value for (_, value) in row]
    (job_id, status, ops, opresult, opstatus, oplog, opstart, opexec, opend,
     recv_ts, start_ts, end_ts) = values
    if row[1][0] != cli.RS_NORMAL:
        return f"Job ID {job_id} not found"
    info: list[tuple] = [("Job ID", job_id), ("Status", _FormatStatus(status))]
    _ListJobTimestamp("Received", recv_ts, info)
    _ListJobTimestamp("Processing start", start_ts, info, prior_ts=recv_ts)
    _ListJobTimestamp("Processing end", end_ts, info, prior_ts=start_ts)
    if end_ts is not None and recv_ts is not None:
        info.append(("Total processing time",
                     f"{_CalcDelta(recv_ts, end_ts):.6f} seconds"))
    else:
        info.append(("Total processing time", "N/A"))
    info.append(("Opcodes", [
        _FormatOpcode(*op_data)
        for op_data in zip(ops, opresult, opstatus, oplog, opstart, opexec, opend)
    ]))
    return info


def ShowJobs(opts: Any, args: list[str]) -> int:
    """Show everything about jobs: timestamps, opcodes, results, logs."""
    qfilter = qlang.MakeSimpleFilter("id", _ParseJobIds(args))
    response = cli.GetClient().Query(QR_JOB, _INFO_FIELDS, qfilter)
    rows = cli.NormalizeNumbers(cli.GetQueryData(response))
    cli.PrintGenericInfo([_FormatJob(row) for row in rows])
    return cli.EXIT_SUCCESS


def _FollowJob(job_id: int, feedback_fn: Any) -> int:
    try:
        cli.PollJob(job_id, feedback_fn=feedback_fn)
    except errors.GenericError as err:
        (retcode, job_result) = cli.FormatError(err)
        ToStderr("Job %s failed: %s", job_id, job_result)
        return retcode
    return cli.EXIT_SUCCESS


def WatchJob(opts: Any, args: list[str]) -> int:
    """Print a job's log as it arrives, until the job ends."""
    (job_id,) = _ParseJobIds(args)
    msg = f"Output from job {job_id} follows"
    ToStdout(msg)
    ToStdout("-" * len(msg))
    return _FollowJob(job_id, None)


def WaitJob(opts: Any, args: list[str]) -> int:
    """Wait silently for a job to end; fail if the job failed."""
    (job_id,) = _ParseJobIds(args)
    return _FollowJob(job_id, lambda _: None)


_KILL_OPT = cli_option("--kill", default=False, action="store_true", dest="kill",
                       help="Kill running jobs (SIGKILL)")

_YES_DOIT_OPT = cli_option("--yes-do-it", "--ya-rly", dest="yes_do_it",
                           action="store_true", default=False,
                           help="Confirm --kill")


def _StatusOpt(name: str, statuses: frozenset[str], doc: str) -> Any:
    return cli_option(name, default=None, action="store_const",
                      dest="status_filter", const=statuses, help=doc)


_PENDING_OPT = _StatusOpt("--pending", JOBS_PENDING,
                          "Select jobs that did not start or are being"
                          " canceled")
_RUNNING_OPT = _StatusOpt("--running", frozenset([JOB_STATUS_RUNNING]),
                          "Show running jobs only")
_ERROR_OPT = _StatusOpt("--error", frozenset([JOB_STATUS_ERROR]),
                        "Show failed jobs only")
_FINISHED_OPT = _StatusOpt("--finished", JOBS_FINALIZED,
                           "Show finished jobs only")
_QUEUED_OPT = _StatusOpt("--queued", frozenset([JOB_STATUS_QUEUED]),
                         "Select queued jobs only")
_WAITING_OPT = _StatusOpt("--waiting", frozenset([JOB_STATUS_WAITING]),
                          "Select waiting jobs only")
_ARCHIVED_OPT = cli_option("--archived", default=False, action="store_true",
                           dest="archived",
                           help="Include archived jobs (slow)")

commands: dict[str, Any] = {
    "list": (
        ListJobs, [ArgJobId()],
        [NOHDR_OPT, SEP_OPT, FIELDS_OPT, VERBOSE_OPT, FORCE_FILTER_OPT,
         _PENDING_OPT, _RUNNING_OPT, _ERROR_OPT, _FINISHED_OPT, _ARCHIVED_OPT],
        "[job_id ...]",
        "Lists the jobs and their status. The available fields can be shown"
        " with the \"list-fields\" command (see the man page). The default"
        f" fields are (in order): {', '.join(_LIST_DEF_FIELDS)}."),
    "list-fields": (
        ListJobFields, [ArgUnknown()], [NOHDR_OPT, SEP_OPT],
        "[fields...]", "Lists all available fields for jobs"),
    "archive": (
        ArchiveJobs, [ArgJobId(min=1)], [],
        "<job-id> [<job-id> ...]", "Archive specified jobs"),
    "autoarchive": (
        AutoArchiveJobs,
        [ArgSuggest(min=1, max=1, choices=["1d", "1w", "4w", "all"])], [],
        "<age>", "Auto archive jobs older than the given age"),
    "cancel": (
        CancelJobs, [ArgJobId()],
        [FORCE_OPT, _KILL_OPT, _PENDING_OPT, _QUEUED_OPT, _WAITING_OPT,
         _YES_DOIT_OPT],
        "{[--force] [--kill --yes-do-it] {--pending | --queued | --waiting} |"
        " <job-id> [<job-id> ...]}",
        "Cancel jobs"),
    "info": (
        ShowJobs, [ArgJobId(min=1)], [],
        "<job-id> [<job-id> ...]",
        "Show detailed information about the specified jobs"),
    "wait": (
        WaitJob, [ArgJobId(min=1, max=1)], [],
        "<job-id>", "Wait for a job to finish"),
    "watch": (
        WatchJob, [ArgJobId(min=1, max=1)], [],
        "<job-id>", "Follows a job and prints its output as it arrives"),
    "change-priority": (
        ChangePriority, [ArgJobId()],
        [PRIORITY_OPT, FORCE_OPT, _PENDING_OPT, _QUEUED_OPT, _WAITING_OPT],
        "--priority <priority> {[--force] {--pending | --queued | --waiting} |"
        " <job-id> [<job-id> ...]}",
        "Change the priority of jobs"),
}

#: Other names of commands.
aliases = {
    "show": "info",
}


def Main() -> int:
    """Run gnt-job with sys.argv; return the exit code."""
    return cli.GenericMain(commands, aliases=aliases)
