"""The command-line layer shared by every gnt-* program.

A program is a table of commands, each a tuple (function, argument
description, options, usage text, help text), handed to GenericMain, which
parses "gnt-x <command> [options] [args]", checks the argument count, runs
the function and turns the Ganeti errors it raises into Ganeti's messages
and exit codes (FormatError). Everything of Ganeti 3.0's lib/cli.py is
reachable from here under its name; the pieces live in cli_opts (options and
argument descriptions), cli_table (output formatting), cli_jobs (job
submission and polling) and cli_ipolicy (instance policies).
"""

from __future__ import annotations

import copy
import logging
import logging.handlers
import optparse
import os
import shlex
import sys
import textwrap
import traceback
from collections.abc import Callable, Iterator
from typing import Any

from ganeti import errors, luxi, pathutils, qlang
from ganeti.cli_ipolicy import CreateIPolicyFromOpts  # noqa: F401
from ganeti.cli_jobs import *  # noqa: F401,F403
from ganeti.cli_jobs import (
    GetClient,
    JobSubmittedException,
    SubmitOrSend,
)
from ganeti.cli_opts import *  # noqa: F401,F403
from ganeti.cli_opts import COMMON_OPTS, _Argument
from ganeti.cli_table import *  # noqa: F401,F403
from ganeti.cli_table import (
    QR_UNKNOWN,
    FieldDescValues,
    FormatQueryResult,
    FormatTable,
    GetQueryFields,
    GetUnknownFields,
    TableColumn,
    ToStderr,
    ToStdout,
)
from ganeti.constants import RELEASE_VERSION, VCS_VERSION
from ganeti.utils.text import CommaJoin, ShellQuoteArgs

# Exit codes of the gnt-* programs (Ganeti's constants.EXIT_*).
EXIT_SUCCESS = 0
EXIT_FAILURE = 1
EXIT_NOTCLUSTER = 5
EXIT_NOTMASTER = 11
EXIT_NODESETUP_ERROR = 12
EXIT_CONFIRMATION = 13
EXIT_UNKNOWN_FIELD = 14

# Tag kinds (Ganeti's constants.TAG_*).
TAG_CLUSTER = "cluster"
TAG_NODEGROUP = "nodegroup"
TAG_NODE = "node"
TAG_INSTANCE = "instance"
TAG_NETWORK = "network"

# A command table entry: (function, args, options, usage, help).
Command = tuple[Callable[[Any, list[str]], int | None], list[_Argument],
                list[optparse.Option], str, str]


# --- errors ------------------------------------------------------------------


def _FormatNoMaster(err: luxi.NoMasterError) -> str:
    """The message for an unreachable master daemon."""
    where = str(err.args[0]) if err.args else ""
    if where in (pathutils.MASTER_SOCKET, pathutils.QUERY_SOCKET):
        return ("Cannot communicate with the master daemon.\nIs the process"
                " running and listening for connections?")
    if where.startswith("/"):
        return (f"Cannot communicate with socket '{where}'.\nIs the process"
                " running and listening for connections?")
    return f"Cannot communicate with the master daemon.\n{where}"


def _FormatResolverError(err: errors.ResolverError) -> str:
    from ganeti import netutils  # resolver use only on this path
    name = err.args[0] if err.args else ""
    try:
        this_host = netutils.Hostname.GetSysName()
    except errors.GenericError:
        this_host = None
    if name == this_host:
        return f"Failure: can't resolve my own hostname ('{name}')"
    return f"Failure: can't resolve hostname '{name}'"


def _FormatHooksAbort(err: errors.HooksAbort) -> str:
    lines = ["Failure: hooks execution failed:"]
    for node, script, out in (err.args[0] if err.args else []):
        if out:
            lines.append(f"  node: {node}, script: {script}, output: {out}")
        else:
            lines.append(f"  node: {node}, script: {script} (no output)")
    return "\n".join(lines)


def _FormatOpPrereqError(err: errors.OpPrereqError) -> str:
    if len(err.args) == 2:
        return ("Failure: prerequisites not met for this operation:\n"
                f"error type: {err.args[1]}, error details:\n{err.args[0]}")
    return f"Failure: prerequisites not met for this operation:\n{err}"


# Checked in order: the first class the error is an instance of wins, so
# subclasses come before their bases (as Ganeti's if/elif chain).
_ERROR_FORMATTERS: list[tuple[type[BaseException], Callable[[Any], str]]] = [
    (errors.HooksAbort, _FormatHooksAbort),
    (errors.HooksFailure, lambda err: f"Failure: hooks general failure: {err}"),
    (errors.ResolverError, _FormatResolverError),
    (errors.OpPrereqError, _FormatOpPrereqError),
    (errors.OpExecError, lambda err: f"Failure: command execution error:\n{err}"),
    (errors.TagError, lambda err: f"Failure: invalid tag(s) given:\n{err}"),
    (errors.JobQueueDrainError,
     lambda _: ("Failure: the job queue is marked for drain and doesn't accept"
                " new requests")),
    (errors.JobQueueFull,
     lambda _: ("Failure: the job queue is full and doesn't accept new job"
                " submissions until old jobs are archived")),
    (errors.TypeEnforcementError, lambda err: f"Parameter Error: {err}"),
    (errors.ParameterError,
     lambda err: f"Failure: unknown/wrong parameter name '{err}'"),
    (luxi.NoMasterError, _FormatNoMaster),
    (luxi.TimeoutError,
     lambda err: ("Timeout while talking to the master daemon. Jobs might have"
                  " been submitted and will continue to run even if the call"
                  " timed out. Useful commands in this situation are \"gnt-job"
                  " list\", \"gnt-job cancel\" and \"gnt-job watch\". Error:\n"
                  f"{err}")),
    (luxi.PermissionError,
     lambda _: ("It seems you don't have permissions to connect to the master"
                " daemon.\nPlease retry as a different user.")),
    (luxi.ProtocolError,
     lambda err: ("Unhandled protocol error while talking to the master"
                  f" daemon:\n{err}")),
    (errors.JobLost, lambda err: f"Error checking job status: {err}"),
    (errors.QueryFilterParseError,
     lambda err: ("Error while parsing query filter: "
                  f"{err.args[0] if err.args else ''}\n"
                  + "\n".join(err.GetDetails()))),
    (errors.GenericError, lambda err: f"Unhandled Ganeti error: {err}"),
    (JobSubmittedException, lambda err: f"JobID: {err.args[0]}"),
]


def FormatError(err: BaseException) -> tuple[int, str]:
    """The exit code and message (no trailing newline) for an error.

    ConfigurationError exits with 2, a submitted job (JobSubmittedException)
    with 0, everything else with 1.
    """
    if isinstance(err, errors.ConfigurationError):
        txt = f"Corrupt configuration file: {err}"
        logging.error(txt)
        return 2, f"{txt}\nAborting."
    for cls, formatter in _ERROR_FORMATTERS:
        if isinstance(err, cls):
            retcode = EXIT_SUCCESS if cls is JobSubmittedException else EXIT_FAILURE
            return retcode, formatter(err).rstrip("\n")
    return EXIT_FAILURE, f"Unhandled exception: {err}".rstrip("\n")


# --- argument parsing --------------------------------------------------------


class _ShowUsage(Exception):
    """Print the list of commands; exit_error tells the exit code."""

    def __init__(self, exit_error: bool) -> None:
        super().__init__()
        self.exit_error = exit_error


class _ShowVersion(Exception):
    """Print the program's version."""


def _CheckArguments(cmd: str, args_def: list[_Argument], args: list[str]) -> bool:
    """Check the number of positional arguments; print why not on stderr.

    Raises:
      errors.ProgrammerError: an argument other than the last is unlimited.
    """
    if args and not args_def:
        ToStderr("Error: Command %s expects no arguments", cmd)
        return False
    min_count = sum(arg.min for arg in args_def if arg.min is not None)
    max_count: int | None = 0
    for idx, arg in enumerate(args_def):
        if arg.max is None:
            if idx != len(args_def) - 1:
                raise errors.ProgrammerError(
                    "Only the last argument can have max=None")
            max_count = None
        elif max_count is not None:
            max_count += arg.max
    if args_def and max_count is not None:
        if min_count == max_count and len(args) != min_count:
            ToStderr("Error: Command %s expects %d argument(s)", cmd, min_count)
            return False
        if len(args) > max_count:
            ToStderr("Error: Command %s expects only %d argument(s)", cmd,
                     max_count)
            return False
    if len(args) < min_count:
        ToStderr("Error: Command %s expects at least %d argument(s)", cmd,
                 min_count)
        return False
    return True


def _ParseArgs(binary: str, argv: list[str], commands: dict[str, Command],
               aliases: dict[str, str], env_override: frozenset[str] | set[str],
               ) -> tuple[Any, Any, Any]:
    """Find the command and parse its options and arguments.

    Returns:
      (function, options, args), or (None, None, None) after a usage error
      was printed.

    Raises:
      _ShowUsage, _ShowVersion: no command, --help, an unknown command or
        --version.
      errors.ProgrammerError: an alias names no command.
    """
    if len(argv) < 2:
        raise _ShowUsage(exit_error=True)
    cmd = argv[1]
    if cmd == "--version":
        raise _ShowVersion()
    if cmd == "--help":
        raise _ShowUsage(exit_error=False)
    if cmd not in commands and cmd not in aliases:
        raise _ShowUsage(exit_error=True)
    if cmd in aliases:
        if aliases[cmd] not in commands:
            raise errors.ProgrammerError(
                f"Alias '{cmd}' maps to non-existing command '{aliases[cmd]}'")
        cmd = aliases[cmd]
    args_list = list(argv[2:])
    if cmd in env_override:
        env_name = f"{binary.replace('-', '_')}_{cmd}".upper()
        env_args = os.environ.get(env_name)
        if env_args:
            args_list = shlex.split(env_args) + args_list
    func, args_def, parser_opts, usage, description = commands[cmd]
    parser = optparse.OptionParser(option_list=[*parser_opts, *COMMON_OPTS],
                                   description=description,
                                   formatter=optparse.TitledHelpFormatter(),
                                   usage=f"%prog {cmd} {usage}", prog=binary)
    parser.disable_interspersed_args()
    # Option objects are shared module constants: "append" options and code
    # changing a dict option in place would otherwise alter their defaults.
    parser.defaults = copy.deepcopy(parser.defaults)
    options, args = parser.parse_args(args=args_list)
    if not _CheckArguments(cmd, args_def, args):
        return None, None, None
    return func, options, args


def _FormatUsage(binary: str, commands: dict[str, Command]) -> Iterator[str]:
    """The lines of the general usage text: every command and its help."""
    width = min(60, max(map(len, commands)))
    yield f"Usage: {binary} {{command}} [options...] [argument...]"
    yield f"{binary} <command> --help to see details, or man {binary}"
    yield ""
    yield "Commands:"
    for cmd, entry in sorted(commands.items()):
        help_lines = textwrap.wrap(entry[4], 79 - 3 - width) or [""]
        yield f" {cmd:<{width}} - {help_lines.pop(0)}"
        for line in help_lines:
            yield f" {'':<{width}}   {line}"
    yield ""


def _SetupCommandLogging(program: str, debug: int) -> list[logging.Handler]:
    """Log to the commands log file and, with --debug, to stderr.

    A log file that cannot be opened (not root, no cluster) is skipped
    silently, as Ganeti does for command-line programs.

    Returns:
      the handlers added to the root logger.
    """
    fmt = f"%(asctime)s: {program} pid=%(process)d"
    if debug:
        fmt += " %(module)s:%(lineno)s"
    formatter = logging.Formatter(fmt + " %(levelname)s %(message)s")
    handlers: list[logging.Handler] = []
    try:
        handlers.append(logging.handlers.WatchedFileHandler(
            pathutils.LOG_COMMANDS, encoding="utf-8"))
    except OSError:
        pass
    stderr_handler = logging.StreamHandler(sys.stderr)
    stderr_handler.setLevel(logging.NOTSET if debug else logging.CRITICAL)
    handlers.append(stderr_handler)
    root = logging.getLogger("")
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    return handlers


def _RunCommand(func: Callable[[Any, list[str]], int | None], options: Any,
                args: list[str]) -> int:
    """Run a command function, turning its errors into messages and codes."""
    try:
        result = func(options, args)
    except (errors.GenericError, JobSubmittedException) as err:
        result, err_msg = FormatError(err)
        logging.exception("Error during command processing")
        ToStderr(err_msg)
    except KeyboardInterrupt:
        result = EXIT_FAILURE
        ToStderr("Aborted. Note that if the operation created any jobs, they"
                 " might have been submitted and will continue to run in the"
                 " background.")
    except BrokenPipeError:
        result = EXIT_FAILURE
    except Exception as err:  # the program's last resort
        # A bug, not bad input: say so in one line (the traceback goes to the
        # log, and to stderr with --debug) instead of dumping it on the user.
        logging.exception("Unexpected error during command processing")
        if getattr(options, "debug", 0):
            traceback.print_exc()
        result, err_msg = FormatError(err)
        ToStderr(err_msg)
    return EXIT_SUCCESS if result is None else int(result)


def GenericMain(commands: dict[str, Command],
                override: dict[str, Any] | None = None,
                aliases: dict[str, str] | None = None,
                env_override: frozenset[str] | set[str] = frozenset(),
                argv: list[str] | None = None) -> int:
    """Run a gnt-* program: parse sys.argv, run the command, return the code.

    Args:
      commands: command name -> (function, args, options, usage, help).
      override: option values forced onto the parsed options.
      aliases: alias -> command name.
      env_override: commands whose default arguments may come from the
        environment variable <PROGRAM>_<COMMAND> (e.g. GNT_JOB_LIST).
      argv: the command line instead of sys.argv (tests).

    Returns:
      the exit code.
    """
    argv = list(sys.argv if argv is None else argv)
    binary = os.path.basename(argv[0]) if argv and argv[0] else "<unknown program>"
    logname = ShellQuoteArgs(argv[:2]) if argv else binary
    try:
        func, options, args = _ParseArgs(binary, argv, commands, aliases or {},
                                         env_override)
    except _ShowVersion:
        ToStdout("%s (ganeti %s) %s", binary, VCS_VERSION, RELEASE_VERSION)
        return EXIT_SUCCESS
    except _ShowUsage as err:
        for line in _FormatUsage(binary, commands):
            ToStdout(line)
        return EXIT_FAILURE if err.exit_error else EXIT_SUCCESS
    except errors.ParameterError as err:
        ToStderr(FormatError(err)[1])
        return EXIT_FAILURE
    if func is None:
        return EXIT_FAILURE
    for key, val in (override or {}).items():
        setattr(options, key, val)
    # The reason trail names the program and command (SetGenericOpcodeOpts).
    options._argv = argv
    root = logging.getLogger("")
    old_level = root.level
    handlers = _SetupCommandLogging(logname, options.debug)
    try:
        logging.debug("Command line: %s", ShellQuoteArgs(argv))
        return _RunCommand(func, options, args)
    finally:
        # Leave logging as found (GenericMain may run inside another program).
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(old_level)


# --- interaction -------------------------------------------------------------


def _OpenTty() -> Any:
    return open("/dev/tty", "r+", encoding="utf-8")


def AskUser(text: str, choices: list[tuple[str, Any, str]] | None = None,
            _open_tty: Callable[[], Any] = _OpenTty) -> Any:
    """Ask a question on the terminal and return the chosen value.

    Args:
      text: the question.
      choices: (input character, return value, description) tuples; default
        yes (True) / no (False). "?" is reserved for help.

    Returns:
      the value of the chosen entry; without a terminal, the last entry's.

    Raises:
      errors.ProgrammerError: malformed choices.
    """
    if choices is None:
        choices = [("y", True, "Perform the operation"),
                   ("n", False, "Do not perform the operation")]
    if not choices or not isinstance(choices, list):
        raise errors.ProgrammerError("Invalid choices argument to AskUser")
    for entry in choices:
        if not isinstance(entry, tuple) or len(entry) < 3 or entry[0] == "?":
            raise errors.ProgrammerError("Invalid choices element to AskUser")
    answer = choices[-1][1]
    text = "\n".join(textwrap.fill(line, 70, replace_whitespace=False)
                     for line in text.splitlines())
    try:
        tty = _open_tty()
    except OSError:
        return answer
    with tty:
        keys = [entry[0] for entry in choices]
        keys[-1] = f"[{keys[-1]}]"
        keys.append("?")
        values = {entry[0]: entry[1] for entry in choices}
        while True:
            tty.write(f"{text}\n{'/'.join(keys)}: ")
            tty.flush()
            line = tty.readline(2)
            if not line:
                return answer
            line = line.strip().lower()
            if line in values:
                return values[line]
            if line == "?":
                for entry in choices:
                    tty.write(f" {entry[0]} - {entry[2]}\n")
                tty.write("\n")


def ConfirmOperation(names: list[str], list_type: str, text: str,
                     extra: str = "") -> Any:
    """Ask whether to run an operation on names (of list_type, e.g. "nodes")."""
    count = len(names)
    msg = (f"The {text} will operate on {count} {list_type}.\n{extra}"
           "Do you want to continue?")
    affected = (f"\nAffected {list_type}:\n"
                + "\n".join(f"  {name}" for name in names))
    choices: list[tuple[str, Any, str]] = [
        ("y", True, f"Yes, execute the {text}"),
        ("n", False, f"No, abort the {text}")]
    if count > 20:
        choices.insert(1, ("v", "v", f"View the list of affected {list_type}"))
        question = msg
    else:
        question = msg + affected
    choice = AskUser(question, choices)
    if choice == "v":
        choices.pop(1)
        choice = AskUser(msg + affected, choices)
    return choice


# --- list commands -----------------------------------------------------------


def _WarnUnknownFields(fdefs: list[Any]) -> bool:
    unknown = GetUnknownFields(fdefs)
    if unknown:
        ToStderr("Warning: Queried for unknown fields %s",
                 CommaJoin(fdef.name for fdef in unknown))
        return True
    return False


def GenericList(resource: str, fields: list[str], names: list[str] | None,
                unit: str | None, separator: str | None, header: bool,
                cl: Any = None, format_override: dict[str, Any] | None = None,
                verbose: bool = False, force_filter: bool = False,
                namefield: str | None = None, qfilter: Any = None,
                isnumeric: bool = False) -> int:
    """Query items over LUXI and print them as a table.

    Args:
      resource: the query resource ("job", "node", "lock", ...).
      fields: the fields to show.
      names: names (or one filter expression) restricting the items.
      unit: unit of size fields (None: automatic).
      separator: field separator instead of aligned columns.
      header: print the titles line.
      format_override: field -> (function, align right).
      verbose: long texts for abnormal values.
      force_filter: take names as a filter expression.
      namefield: field names are matched against (default "name").
      qfilter: a filter combined (AND) with the names.
      isnumeric: names are numbers (job IDs).

    Returns:
      EXIT_SUCCESS, or EXIT_UNKNOWN_FIELD if a field was unknown.

    Raises:
      errors.OpPrereqError, errors.QueryFilterParseError: bad names/filter.
    """
    namefilter = qlang.MakeFilter(names or None, force_filter,
                                  namefield=namefield, isnumeric=isnumeric)
    if qfilter is None:
        qfilter = namefilter
    elif namefilter is not None:
        qfilter = [qlang.OP_AND, namefilter, qfilter]
    if cl is None:
        cl = GetClient()
    response = cl.Query(resource, fields, qfilter)
    found_unknown = _WarnUnknownFields(GetQueryFields(response))
    (status, data) = FormatQueryResult(response, unit=unit, separator=separator,
                                       header=header,
                                       format_override=format_override,
                                       verbose=verbose)
    for line in data:
        ToStdout(line)
    if found_unknown or status == QR_UNKNOWN:
        return EXIT_UNKNOWN_FIELD
    return EXIT_SUCCESS


def GenericListFields(resource: str, fields: list[str] | None,
                      separator: str | None, header: bool, cl: Any = None) -> int:
    """Print the fields of a resource: name, type, title, description.

    Returns:
      EXIT_SUCCESS, or EXIT_UNKNOWN_FIELD if a requested field is unknown.
    """
    if cl is None:
        cl = GetClient()
    response = cl.QueryFields(resource, fields or None)
    fdefs = GetQueryFields(response)
    found_unknown = _WarnUnknownFields(fdefs)
    columns = [TableColumn("Name", str, False), TableColumn("Type", str, False),
               TableColumn("Title", str, False),
               TableColumn("Description", str, False)]
    rows = [FieldDescValues(fdef) for fdef in fdefs]
    for line in FormatTable(rows, columns, header, separator):
        ToStdout(line)
    return EXIT_UNKNOWN_FIELD if found_unknown else EXIT_SUCCESS


# --- small parsers -----------------------------------------------------------

_TIMESPEC_SUFFIXES = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def ParseTimespec(value: Any) -> int:
    """Parse a duration: a number of seconds with an optional s/m/h/d/w suffix.

    Raises:
      errors.OpPrereqError: empty, only a suffix, or not a number.
    """
    text = str(value)
    if not text:
        raise errors.OpPrereqError("Empty time specification passed",
                                   errors.ECODE_INVAL)
    multiplier = _TIMESPEC_SUFFIXES.get(text[-1])
    if multiplier is not None:
        text = text[:-1]
        if not text:
            raise errors.OpPrereqError(
                "Invalid time specification (only suffix passed)",
                errors.ECODE_INVAL)
    try:
        return int(text) * (multiplier or 1)
    except ValueError:
        raise errors.OpPrereqError(f"Invalid time specification '{text}'",
                                   errors.ECODE_INVAL) from None


def SplitNodeOption(value: str | None) -> tuple[str | None, str | None]:
    """Split "pnode:snode" of a --node option into (pnode, snode or None)."""
    if value and ":" in value:
        pnode, snode = value.split(":", 1)
        return pnode, snode
    return value, None


def CalculateOSNames(os_name: str, os_variants: list[str] | None) -> list[str]:
    """The names an OS answers to: "os+variant" for each variant, or "os"."""
    if os_variants:
        return [f"{os_name}+{variant}" for variant in os_variants]
    return [os_name]


def GetOnlineNodes(nodes: list[str], cl: Any = None, nowarn: bool = False,
                   secondary_ips: bool = False, filter_master: bool = False,
                   nodegroup: str | None = None) -> list[str]:
    """Names (or secondary IPs) of the online nodes among nodes (all if empty).

    Prints a note naming the offline nodes skipped, unless nowarn.
    """
    if cl is None:
        cl = GetClient(query=True)
    parts: list[Any] = []
    if nodes:
        parts.append(qlang.MakeSimpleFilter("name", nodes))
    if nodegroup is not None:
        parts.append([qlang.OP_OR, [qlang.OP_EQUAL, "group", nodegroup],
                      [qlang.OP_EQUAL, "group.uuid", nodegroup]])
    if filter_master:
        parts.append([qlang.OP_NOT, [qlang.OP_TRUE, "master"]])
    qfilter = None
    if len(parts) > 1:
        qfilter = [qlang.OP_AND] + parts
    elif parts:
        qfilter = parts[0]
    result = cl.Query("node", ["name", "offline", "sip"], qfilter)
    rows = result["data"] if isinstance(result, dict) else result.data
    offline = [row[0][1] for row in rows if row[1][1]]
    online = [row for row in rows if not row[1][1]]
    if offline and not nowarn:
        ToStderr("Note: skipping offline node(s): %s", CommaJoin(offline))
    column = 2 if secondary_ips else 0
    return [row[column][1] for row in online]


# --- tags --------------------------------------------------------------------


def _ExtractTagsObject(opts: Any, args: list[str]) -> tuple[str, str]:
    """(kind, name) of the tagged object; the name is taken from args.

    Raises:
      errors.OpPrereqError: no name given for a node, instance, ... tag.
      errors.ProgrammerError: opts has no known tag_type.
    """
    kind = getattr(opts, "tag_type", None)
    if kind == TAG_CLUSTER:
        return kind, ""
    if kind in (TAG_NODEGROUP, TAG_NODE, TAG_NETWORK, TAG_INSTANCE):
        if not args:
            raise errors.OpPrereqError("no arguments passed to the command",
                                       errors.ECODE_INVAL)
        return kind, args.pop(0)
    raise errors.ProgrammerError(f"Unhandled tag type '{kind}'")


def _ExtendTags(opts: Any, args: list[str]) -> None:
    """Add the tags of the --from file ("-" is stdin) to args."""
    fname = getattr(opts, "tags_source", None)
    if fname is None:
        return
    try:
        if fname == "-":
            lines = sys.stdin.readlines()
        else:
            with open(fname, encoding="utf-8") as handle:
                lines = handle.readlines()
    except OSError as err:
        raise errors.OpPrereqError(f"Cannot read tags from '{fname}': {err}",
                                   errors.ECODE_ENVIRON) from err
    args.extend(line.strip() for line in lines)


def ListTags(opts: Any, args: list[str]) -> int:
    """Print the tags of an object (opts.tag_type), sorted."""
    kind, name = _ExtractTagsObject(opts, args)
    cl = GetClient(query=True)
    for tag in sorted(cl.QueryTags(kind, name)):
        ToStdout(tag)
    return EXIT_SUCCESS


def _ChangeTags(opts: Any, args: list[str], opname: str, what: str) -> int:
    from ganeti import opcodes  # the opcode modules are only needed here
    kind, name = _ExtractTagsObject(opts, args)
    _ExtendTags(opts, args)
    if not args:
        raise errors.OpPrereqError(f"No tags to be {what}", errors.ECODE_INVAL)
    op = getattr(opcodes, opname)(kind=kind, name=name, tags=args)
    SubmitOrSend(op, opts)
    return EXIT_SUCCESS


def AddTags(opts: Any, args: list[str]) -> int:
    """Add tags (arguments and --from file) to an object."""
    return _ChangeTags(opts, args, "OpTagsSet", "added")


def RemoveTags(opts: Any, args: list[str]) -> int:
    """Remove tags (arguments and --from file) from an object."""
    return _ChangeTags(opts, args, "OpTagsDel", "removed")
