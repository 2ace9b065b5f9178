"""Formatting and printing of gnt-* command output.

Reproduces the layouts of Ganeti 3.0's lib/cli.py byte for byte (checked
against spec/samples/gnt-*.txt):

* tables (GenerateTable for fixed data, FormatTable/FormatQueryResult for
  query results): one space between columns, text left-aligned and numbers
  right-aligned, padded to the widest cell; the last column is not padded
  unless it is right-aligned, so lines carry no trailing spaces; with a
  separator nothing is padded at all;
* the indented "key: value" trees of the info commands (PrintGenericInfo),
  valid YAML, where entries tagged with the same group name have their values
  aligned (the timestamps of gnt-job info);
* abnormal query results: "??" unknown field, "?" no data, "-" unavailable,
  "*" offline, or "(unknown)", ... with --verbose.

Only ToStdout/ToStderr touch the streams; everything else returns text.
"""

from __future__ import annotations

import errno
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple, TextIO

from ganeti import errors
from ganeti.opcodes_base import ELOG_MESSAGE
from ganeti.query.common import (
    QFT_BOOL,
    QFT_NUMBER,
    QFT_NUMBER_FLOAT,
    QFT_OTHER,
    QFT_TEXT,
    QFT_TIMESTAMP,
    QFT_UNIT,
    QFT_UNKNOWN,
    RS_ALL,
    RS_NORMAL,
    RS_UNKNOWN,
    RSS_DESCRIPTION,
    QueryFieldDefinition,
)
from ganeti.utils.text import CommaJoin, FormatTime, FormatUnit, SafeEncode

# Overall status of a formatted query result.
(QR_NORMAL, QR_UNKNOWN, QR_INCOMPLETE) = range(3)


#: What list-fields shows as the type of each field kind.
_QFT_NAMES = {
    QFT_UNKNOWN: "Unknown",
    QFT_TEXT: "Text",
    QFT_BOOL: "Boolean",
    QFT_NUMBER: "Number",
    QFT_NUMBER_FLOAT: "Floating-point number",
    QFT_UNIT: "Storage size",
    QFT_TIMESTAMP: "Timestamp",
    QFT_OTHER: "Custom",
}

# Instance policy pieces, in the order gnt-cluster info prints them.
_ISPECS_MINMAX = "minmax"
_ISPECS_MINMAX_KEYS = ("min", "max")
_ISPECS_STD = "std"
_IPOLICY_DTS = "disk-templates"
_IPOLICY_PARAMETERS = ("vcpu-ratio", "spindle-ratio")

# Exit code when stdout/stderr went away (cli.EXIT_FAILURE).
_EXIT_FAILURE = 1

Formatter = tuple[Callable[[Any], Any], Any]


# --- streams -----------------------------------------------------------------


def _ToStream(stream: TextIO, txt: str, *args: Any) -> None:
    """Write one line, bypassing logging; exit quietly if the reader is gone."""
    try:
        stream.write((txt % args) if args else txt)
        stream.write("\n")
        stream.flush()
    except OSError as err:
        if err.errno == errno.EPIPE:
            sys.exit(_EXIT_FAILURE)
        raise


def ToStdout(txt: str, *args: Any) -> None:
    """Print a line on stdout ("%" formatting when args are given)."""
    _ToStream(sys.stdout, txt, *args)


def ToStderr(txt: str, *args: Any) -> None:
    """Print a line on stderr ("%" formatting when args are given)."""
    _ToStream(sys.stderr, txt, *args)


# --- fixed tables ------------------------------------------------------------


class _FieldSet:
    """Field names or regular expressions matching whole field names."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self._patterns = [re.compile(f"^{pattern}$") for pattern in patterns]

    def Matches(self, field: str) -> bool:
        return any(pattern.match(field) for pattern in self._patterns)


def GenerateTable(headers: dict[str, str] | None, fields: Sequence[str],
                  separator: str | None, data: list[list[Any] | None],
                  numfields: Iterable[str] | None = None,
                  unitfields: Iterable[str] | None = None,
                  units: str | None = None) -> list[str]:
    """Format rows of fixed data as table lines.

    Unlike FormatTable, the header line is padded to the full width of the
    last column (Ganeti's old-style tables, e.g. gnt-os list).

    Args:
      headers: field name -> column title, or None/empty for no header line.
      fields: the field of each column.
      separator: join cells with this instead of aligning them.
      data: the rows (modified in place: cells become strings); a None row
        prints "-" in every column.
      numfields: fields (or regexps) that are right-aligned.
      unitfields: fields whose integer values are sizes in MiB.
      units: unit letter for sizes; default "m" with a separator, else "h".

    Returns:
      the lines, without newlines.
    """
    if units is None:
        units = "m" if separator else "h"
    num_set = _FieldSet(numfields or [])
    unit_set = _FieldSet(unitfields or [])
    if headers:
        for field in fields:
            headers.setdefault(field, field)
    widths = [0] * len(fields)
    for row in data:
        if row is None:
            continue
        for idx, value in enumerate(row):
            if unit_set.Matches(fields[idx]):
                try:
                    value = FormatUnit(int(value), units)
                except (TypeError, ValueError):
                    pass
            row[idx] = str(value)
            widths[idx] = max(widths[idx], len(row[idx]))
    right = [num_set.Matches(field) for field in fields]
    result = []
    if headers:
        titles = [headers[field] for field in fields]
        widths = [max(width, len(title)) for width, title in zip(widths, titles)]
        result.append(_JoinCells(titles, widths, right, separator))
    if fields and not right[-1]:
        widths[-1] = 0
    for row in data:
        cells = ["-"] * len(fields) if row is None else row
        result.append(_JoinCells(cells, widths, right, separator))
    return result


def _JoinCells(cells: Sequence[str], widths: Sequence[int],
               right: Sequence[bool], separator: str | None) -> str:
    if separator is not None:
        return separator.join(str(cell) for cell in cells)
    return " ".join(str(cell).rjust(width) if align else str(cell).ljust(width)
                    for cell, width, align in zip(cells, widths, right))


# --- query result tables -----------------------------------------------------


class TableColumn(NamedTuple):
    """One column of FormatTable: title, formatting function, alignment."""

    title: str
    format: Callable[[Any], Any]
    align_right: bool


def FormatTable(rows: Iterable[Sequence[Any]], columns: Sequence[TableColumn],
                header: bool, separator: str | None) -> list[str]:
    """Format rows through their columns' functions into table lines.

    Raises:
      errors.ProgrammerError: a row does not have one value per column.
    """
    data = [[col.title for col in columns]] if header else []
    for row in rows:
        if len(row) != len(columns):
            raise errors.ProgrammerError(
                f"Row has {len(row)} values for {len(columns)} columns")
        data.append([str(col.format(value)) for value, col in zip(row, columns)])
    if separator is not None:
        return [separator.join(line) for line in data]
    widths = [max((len(line[idx]) for line in data), default=0)
              for idx in range(len(columns))]
    right = [col.align_right for col in columns]
    if columns and not right[-1]:
        # The last column needs no padding: no trailing spaces.
        widths[-1] = 0
    return [_JoinCells(line, widths, right, None) for line in data]


def _FormatBool(value: Any) -> str:
    return "Y" if value else "N"


#: Default formatting per field kind: (function, align right).
_DEFAULT_FORMAT_QUERY: dict[str, Formatter] = {
    QFT_TEXT: (str, False),
    QFT_BOOL: (_FormatBool, False),
    QFT_NUMBER: (str, True),
    QFT_NUMBER_FLOAT: (str, True),
    QFT_TIMESTAMP: (FormatTime, False),
    QFT_OTHER: (str, False),
    QFT_UNKNOWN: (str, False),
}


def _GetColumnFormatter(fdef: QueryFieldDefinition,
                        override: dict[str, Formatter],
                        unit: str) -> Formatter:
    """(function, align right) for a field; overrides win over kinds.

    Raises:
      errors.ProgrammerError: the field kind is unknown.
    """
    if fdef.name in override:
        return override[fdef.name]
    if fdef.kind == QFT_UNIT:
        return (lambda value: FormatUnit(value, unit), True)
    try:
        return _DEFAULT_FORMAT_QUERY[fdef.kind]
    except KeyError:
        raise errors.ProgrammerError(
            f"Can't format column type '{fdef.kind}'") from None


def FormatResultError(status: int, verbose: bool) -> str:
    """The text shown instead of a value with an abnormal status.

    Raises:
      errors.ProgrammerError: status is RS_NORMAL or unknown.
    """
    try:
        (verbose_text, normal_text) = RSS_DESCRIPTION[status]
    except KeyError:
        raise errors.ProgrammerError(f"Unknown result status {status}") from None
    return verbose_text if verbose else normal_text


class _QueryColumnFormatter:
    """Format one [status, value] cell and count the statuses seen."""

    def __init__(self, fn: Callable[[Any], Any], stats: dict[int, int],
                 verbose: bool) -> None:
        self._fn = fn
        self._stats = stats
        self._verbose = verbose

    def __call__(self, data: Sequence[Any]) -> Any:
        (status, value) = data
        if status in self._stats:
            self._stats[status] += 1
        if status == RS_NORMAL:
            return self._fn(value)
        return FormatResultError(status, self._verbose)


def GetQueryFields(response: Any) -> list[QueryFieldDefinition]:
    """The field definitions of a Query/QueryFields answer (dict or object)."""
    raw = response["fields"] if isinstance(response, dict) else response.fields
    return [fdef if isinstance(fdef, QueryFieldDefinition)
            else QueryFieldDefinition.FromDict(fdef) for fdef in raw]


def GetQueryData(response: Any) -> list[list[Any]]:
    """The rows of a Query answer (dict or object)."""
    return response["data"] if isinstance(response, dict) else response.data


def GetUnknownFields(fdefs: Iterable[QueryFieldDefinition]) -> list[
        QueryFieldDefinition]:
    """The definitions of the fields the server did not know."""
    return [fdef for fdef in fdefs if fdef.kind == QFT_UNKNOWN]


def FormatQueryResult(result: Any, unit: str | None = None,
                      format_override: dict[str, Formatter] | None = None,
                      separator: str | None = None, header: bool = False,
                      verbose: bool = False) -> tuple[int, list[str]]:
    """Format the answer of a LUXI Query as table lines.

    Args:
      result: {"fields": [...], "data": [[[status, value], ...], ...]}.
      unit: unit of QFT_UNIT fields; default "m" with a separator, else "h".
      format_override: field name -> (function, align right).
      separator: join cells with this instead of aligning them.
      header: print the titles first.
      verbose: long texts for abnormal values.

    Returns:
      (QR_NORMAL, QR_UNKNOWN or QR_INCOMPLETE, lines).
    """
    if unit is None:
        unit = "m" if separator else "h"
    override = format_override or {}
    stats = dict.fromkeys(RS_ALL, 0)
    fdefs = GetQueryFields(result)
    columns = []
    for fdef in fdefs:
        (fn, align_right) = _GetColumnFormatter(fdef, override, unit)
        columns.append(TableColumn(fdef.title,
                                   _QueryColumnFormatter(fn, stats, verbose),
                                   bool(align_right)))
    data = GetQueryData(result)
    table = FormatTable(data, columns, header, separator)
    if stats[RS_UNKNOWN] or (not data and GetUnknownFields(fdefs)):
        status = QR_UNKNOWN
    elif any(count for key, count in stats.items() if key != RS_NORMAL):
        status = QR_INCOMPLETE
    else:
        status = QR_NORMAL
    return (status, table)


def FieldDescValues(fdef: QueryFieldDefinition) -> list[str]:
    """The list-fields row of a field: name, type, title, description."""
    return [fdef.name, _QFT_NAMES.get(fdef.kind, fdef.kind), fdef.title, fdef.doc]


def ParseFields(selected: str | None, default: list[str]) -> list[str]:
    """The fields of -o/--output: a new list, or "+a,b" added to default."""
    if selected is None:
        return list(default)
    if selected.startswith("+"):
        return list(default) + selected[1:].split(",")
    return selected.split(",")


# --- values ------------------------------------------------------------------


def FormatTimestamp(ts: Any) -> str:
    """Format a [seconds, microseconds] pair as local time; "?" otherwise."""
    if not isinstance(ts, (tuple, list)) or len(ts) != 2:
        return "?"
    (sec, usecs) = ts
    return FormatTime(sec, usecs=usecs)


def FormatLogMessage(log_type: str, log_msg: Any) -> str:
    """A job log message as printable text (non-"message" types via str)."""
    if log_type != ELOG_MESSAGE or not isinstance(log_msg, str):
        log_msg = str(log_msg)
    return SafeEncode(log_msg)


def NormalizeNumbers(data: Any) -> Any:
    """Integral floats become ints, recursively (as luxid's JSON shows them).

    Ganeti 3.0's CLI gets its data from the Haskell luxid, whose JSON writes
    4.0 as 4; this reproduces what the CLI then prints ("vcpu-ratio: 4").
    """
    if isinstance(data, float) and data.is_integer():
        return int(data)
    if isinstance(data, dict):
        return {key: NormalizeNumbers(value) for key, value in data.items()}
    if isinstance(data, list):
        return [NormalizeNumbers(value) for value in data]
    return data


# --- info trees --------------------------------------------------------------


def _IsPairList(data: Any) -> bool:
    """Whether data is an ordered dictionary: a list of (key, value[, group])."""
    return isinstance(data, list) and bool(data) and isinstance(data[0], tuple)


def _KeyWidths(pairs: list[tuple]) -> dict[Any, int]:
    """Per alignment group, the width of the widest "key:"."""
    widths: dict[Any, int] = {}
    for entry in pairs:
        if len(entry) > 2:
            widths[entry[2]] = max(widths.get(entry[2], 0), len(entry[0]) + 1)
    return widths


def _SerializeGenericInfo(buf: list[str], data: Any, level: int,
                          afterkey: bool = False) -> None:
    """Append the lines of one node of an info tree to buf."""
    indent = "  "
    if isinstance(data, dict) or _IsPairList(data):
        if not data:
            buf.append("\n")
            return
        if isinstance(data, dict):
            entries: list[tuple] = [(key, data[key]) for key in sorted(data)]
        else:
            entries = data
        widths = _KeyWidths(entries)
        if afterkey:
            buf.append("\n")
        for idx, entry in enumerate(entries):
            if afterkey or idx:
                buf.append(indent * level)
            key_text = f"{entry[0]}:"
            if len(entry) > 2:
                key_text = key_text.ljust(widths[entry[2]])
            buf.append(key_text + " ")
            _SerializeGenericInfo(buf, entry[1], level + 1, afterkey=True)
    elif isinstance(data, list):
        if not data:
            buf.append("\n")
            return
        if afterkey:
            buf.append("\n")
        for idx, item in enumerate(data):
            if afterkey or idx:
                buf.append(indent * level)
            buf.append("- ")
            _SerializeGenericInfo(buf, item, level + 1)
    elif isinstance(data, tuple):
        buf.append("[" + ", ".join(str(item) for item in data) + "]\n")
    else:
        buf.append(f"{data}\n")


def FormatGenericInfo(data: Any) -> str:
    """Format an info tree as indented text (see PrintGenericInfo)."""
    buf: list[str] = []
    _SerializeGenericInfo(buf, data, 0)
    return "".join(buf).rstrip("\n")


def PrintGenericInfo(data: Any) -> None:
    """Print a tree of dicts (keys sorted), lists, and ordered dicts.

    An ordered dict is a list of (key, value) tuples; a third item names an
    alignment group: the values of entries of one group start in the same
    column. A tuple as a value prints as "[a, b, c]"; anything else with
    str().
    """
    ToStdout(FormatGenericInfo(data))


def FormatParamsDictInfo(param_dict: dict[str, Any],
                         actual: dict[str, Any]) -> dict[str, Any]:
    """Parameters as strings, "default (<value>)" where not set explicitly.

    Args:
      param_dict: the parameters set on the object itself.
      actual: the effective parameters (with inherited defaults).
    """
    ret: dict[str, Any] = {}
    for key, data in actual.items():
        if isinstance(data, dict) and data:
            ret[key] = FormatParamsDictInfo(param_dict.get(key, {}), data)
        else:
            ret[key] = str(param_dict.get(key, f"default ({data})"))
    return ret


def _FormatListInfoDefault(data: list[Any] | None, def_data: list[Any]) -> str:
    if data is not None:
        return CommaJoin(data)
    return f"default ({CommaJoin(def_data)})"


def FormatPolicyInfo(custom_ipolicy: dict[str, Any],
                     eff_ipolicy: dict[str, Any] | None,
                     iscluster: bool) -> list[tuple[str, Any]]:
    """An instance policy as an ordered info tree.

    Args:
      custom_ipolicy: the policy set on the object.
      eff_ipolicy: the effective policy (ignored for the cluster).
      iscluster: whether this is the cluster's policy (adds "std").
    """
    if iscluster or eff_ipolicy is None:
        eff_ipolicy = custom_ipolicy
    custom_minmax = custom_ipolicy.get(_ISPECS_MINMAX)
    source = custom_minmax or eff_ipolicy.get(_ISPECS_MINMAX, [])
    minmax_out = []
    for idx, minmax in enumerate(source):
        own = minmax if custom_minmax else {}
        minmax_out.append([
            (f"{key}/{idx}", FormatParamsDictInfo(own.get(key, {}), minmax[key]))
            for key in _ISPECS_MINMAX_KEYS])
    ret: list[tuple[str, Any]] = [("bounds specs", minmax_out)]
    if iscluster:
        stdspecs = custom_ipolicy[_ISPECS_STD]
        ret.append((_ISPECS_STD, FormatParamsDictInfo(stdspecs, stdspecs)))
    ret.append(("allowed disk templates",
                _FormatListInfoDefault(custom_ipolicy.get(_IPOLICY_DTS),
                                       eff_ipolicy.get(_IPOLICY_DTS, []))))
    for key in _IPOLICY_PARAMETERS:
        ret.append((key, str(custom_ipolicy.get(
            key, f"default ({eff_ipolicy.get(key)})"))))
    return ret
