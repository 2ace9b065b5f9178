"""gnt-debug: test and inspection commands (delay, locks, submit-job).

As Ganeti 3.0's gnt-debug (spec/cli.md); "delay" submits OpTestDelay and
follows it like any job, "locks" lists the master daemon's locks through the
LUXI "lock" query.
"""

from __future__ import annotations

import time
from typing import Any

from ganeti import cli, errors, serializer, utils
from ganeti.cli import (
    ARGS_NONE,
    DRY_RUN_OPT,
    FIELDS_OPT,
    INTERVAL_OPT,
    NOHDR_OPT,
    PRIORITY_OPT,
    SEP_OPT,
    SUBMIT_OPTS,
    VERBOSE_OPT,
    ArgFile,
    ArgUnknown,
    ToStdout,
    cli_option,
)

QR_LOCK = "lock"

#: Fields of "gnt-debug locks" without -o.
_LIST_LOCKS_DEF_FIELDS = ["name", "mode", "owner", "pending"]


def _ParseDuration(text: str) -> float:
    """The duration argument of "delay", in seconds.

    Raises:
      errors.OpPrereqError: not a number.
    """
    try:
        return float(text)
    except ValueError:
        raise errors.OpPrereqError(f"Invalid duration '{text}': expected a"
                                   " number of seconds", errors.ECODE_INVAL) from None


def Delay(opts: Any, args: list[str]) -> int:
    """Run a job that sleeps (on the master and/or nodes)."""
    from ganeti import opcodes  # only the job-submitting commands need them
    op = opcodes.OpTestDelay(duration=_ParseDuration(args[0]),
                             on_master=opts.on_master,
                             on_nodes=opts.on_nodes,
                             repeat=opts.repeat,
                             interruptible=opts.interruptible,
                             no_locks=opts.no_locks)
    cli.SubmitOrSend(op, opts)
    return cli.EXIT_SUCCESS


def _LoadOpcodes(fname: str) -> list[Any]:
    """The opcodes serialised (as a JSON list) in a file.

    Raises:
      errors.OpPrereqError: the file cannot be read or parsed.
    """
    from ganeti import opcodes
    try:
        data = serializer.LoadJson(utils.ReadFile(fname))
    except (OSError, errors.ParseError) as err:
        raise errors.OpPrereqError(f"Cannot load opcodes from '{fname}': {err}",
                                   errors.ECODE_INVAL) from err
    if not isinstance(data, list):
        raise errors.OpPrereqError(f"File '{fname}' does not hold a list of"
                                   " opcodes", errors.ECODE_INVAL)
    return [opcodes.OpCode.LoadOpCode(item) for item in data]


def GenericOpCodes(opts: Any, args: list[str]) -> int:
    """Submit jobs made of the opcodes in JSON files and wait for them."""
    jex = cli.JobExecutor(cl=cli.GetClient(), verbose=opts.verbose, opts=opts)
    job_cnt = op_cnt = 0
    if opts.timing_stats:
        ToStdout("Loading...")
    for job_idx in range(opts.rep_job):
        for fname in args:
            op_list = _LoadOpcodes(fname) * opts.rep_op
            jex.QueueJob(f"file {fname}/{job_idx}", *op_list)
            op_cnt += len(op_list)
            job_cnt += 1
    start = time.time()
    if opts.timing_stats:
        ToStdout("Submitting...")
    jex.SubmitPending(each=opts.each)
    submitted = time.time()
    if opts.timing_stats:
        ToStdout("Executing...")
    jex.GetResults()
    if opts.timing_stats:
        done = time.time()
        ToStdout("C:op     %4d", op_cnt)
        ToStdout("C:job    %4d", job_cnt)
        ToStdout("T:submit %4.4f", submitted - start)
        ToStdout("T:exec   %4.4f", done - submitted)
        ToStdout("T:total  %4.4f", done - start)
    return cli.EXIT_SUCCESS


def _DashIfEmpty(fn: Any) -> Any:
    def _Wrapper(value: Any) -> str:
        return fn(value) if value else "-"
    return _Wrapper


def _FormatPending(value: list[Any]) -> str:
    """Waiting requests as "mode:owner,owner, mode:owner"."""
    return utils.CommaJoin(f"{mode}:{','.join(str(owner) for owner in owners)}"
                           for mode, owners in value)


_LOCKS_FORMAT = {
    "mode": (_DashIfEmpty(str), False),
    "owner": (_DashIfEmpty(",".join), False),
    "pending": (_DashIfEmpty(_FormatPending), False),
}


def ListLocks(opts: Any, args: list[str], _sleep_fn: Any = time.sleep) -> int:
    """List the master daemon's locks, once or every --interval seconds."""
    selected_fields = cli.ParseFields(opts.output, _LIST_LOCKS_DEF_FIELDS)
    while True:
        ret = cli.GenericList(QR_LOCK, selected_fields, None, None,
                              opts.separator, not opts.no_headers,
                              format_override=_LOCKS_FORMAT,
                              verbose=opts.verbose)
        if ret != cli.EXIT_SUCCESS or not opts.interval:
            return ret
        ToStdout("")
        _sleep_fn(opts.interval)


commands: dict[str, Any] = {
    "delay": (
        Delay, [ArgUnknown(min=1, max=1)],
        [cli_option("--no-master", dest="on_master", default=True,
                    action="store_false", help="Do not sleep on the master"),
         cli_option("-n", "--node", dest="on_nodes", default=[],
                    action="append", help="Sleep on this node (repeatable)"),
         cli_option("-r", "--repeat", type="int", default=0, dest="repeat",
                    help="Repeat the sleep this many times"),
         cli_option("-i", "--interruptible", default=False,
                    dest="interruptible", action="store_true",
                    help="Let the sleep be interrupted through a unix socket"),
         cli_option("-l", "--no-locks", default=False, dest="no_locks",
                    action="store_true", help="Sleep without taking locks"),
         DRY_RUN_OPT, PRIORITY_OPT] + SUBMIT_OPTS,
        "[opts...] <duration>", "Executes a TestDelay OpCode"),
    "submit-job": (
        GenericOpCodes, [ArgFile(min=1)],
        [VERBOSE_OPT,
         cli_option("--op-repeat", type="int", default=1, dest="rep_op",
                    help="Repeat the opcodes of each file this many times"),
         cli_option("--job-repeat", type="int", default=1, dest="rep_job",
                    help="Submit each job this many times"),
         cli_option("--timing-stats", default=False, action="store_true",
                    help="Print timing statistics"),
         cli_option("--each", default=False, action="store_true",
                    help="Submit the jobs one by one"),
         DRY_RUN_OPT, PRIORITY_OPT],
        "<op_list_file...>",
        "Submits jobs built from json files containing a list of serialized"
        " opcodes"),
    "locks": (
        ListLocks, ARGS_NONE,
        [NOHDR_OPT, SEP_OPT, FIELDS_OPT, INTERVAL_OPT, VERBOSE_OPT],
        "[--interval N]", "Show a list of locks in the master daemon"),
}

#: Other names of commands.
aliases: dict[str, str] = {}


def Main() -> int:
    """Run gnt-debug with sys.argv; return the exit code."""
    return cli.GenericMain(commands, aliases=aliases)
