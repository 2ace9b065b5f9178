"""Query2 building blocks: kinds, statuses, field definitions, field tables.

A field table maps a field name to a FieldDef row: the public definition
(name, title, kind, doc), the kind of data the field needs (so the caller
collects only that), flags changing how the filter compares values, and a
getter. A getter is called as getter(ctx, item) and returns the value, or one
of the status sentinels _FS_NODATA, _FS_UNAVAIL, _FS_OFFLINE (_FS_UNKNOWN is
for unknown fields only). Getters must be idempotent: they may be called any
number of times, in any order (the filter calls them too).

Mirrors Ganeti's lib/query.py (top part) and src/Ganeti/Query/Common.hs.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from ganeti import errors

# --- field kinds (QFT_*) -----------------------------------------------------
QFT_UNKNOWN = "unknown"
QFT_TEXT = "text"
QFT_BOOL = "bool"
QFT_NUMBER = "number"
QFT_NUMBER_FLOAT = "float"
QFT_UNIT = "unit"
QFT_TIMESTAMP = "timestamp"
QFT_OTHER = "other"
QFT_ALL = frozenset([QFT_UNKNOWN, QFT_TEXT, QFT_BOOL, QFT_NUMBER,
                     QFT_NUMBER_FLOAT, QFT_UNIT, QFT_TIMESTAMP, QFT_OTHER])

# --- result status per field (RS_*); values are part of the wire format -------
RS_NORMAL = 0
RS_UNKNOWN = 1
RS_NODATA = 2
RS_UNAVAIL = 3
RS_OFFLINE = 4
RS_ALL = frozenset([RS_NORMAL, RS_UNKNOWN, RS_NODATA, RS_UNAVAIL, RS_OFFLINE])

# CLI rendering of the abnormal statuses: (verbose, terse).
RSS_DESCRIPTION = {
    RS_UNKNOWN: ("(unknown)", "??"),
    RS_NODATA: ("(nodata)", "?"),
    RS_OFFLINE: ("(offline)", "*"),
    RS_UNAVAIL: ("(unavail)", "-"),
}

# --- query resources (QR_*) --------------------------------------------------
QR_CLUSTER = "cluster"
QR_INSTANCE = "instance"
QR_NODE = "node"
QR_LOCK = "lock"
QR_GROUP = "group"
QR_OS = "os"
QR_JOB = "job"
QR_EXPORT = "export"
QR_NETWORK = "network"
QR_EXTSTORAGE = "extstorage"
QR_FILTER = "filter"
QR_VIA_OP = frozenset([QR_CLUSTER, QR_OS, QR_EXTSTORAGE])
QR_VIA_LUXI = frozenset([QR_GROUP, QR_EXPORT, QR_INSTANCE, QR_JOB, QR_LOCK,
                         QR_NETWORK, QR_NODE, QR_FILTER])

# --- data kinds: what a caller must collect for a field (Ganeti's values) -----
(NQ_CONFIG, NQ_INST, NQ_LIVE, NQ_GROUP, NQ_OOB) = range(1, 6)
(LQ_MODE, LQ_OWNER, LQ_PENDING) = range(10, 13)
(IQ_CONFIG, IQ_LIVE, IQ_DISKUSAGE, IQ_CONSOLE, IQ_NODES,
 IQ_NETWORKS) = range(100, 106)
(GQ_CONFIG, GQ_NODE, GQ_INST, GQ_DISKPARAMS) = range(200, 204)
(CQ_CONFIG, CQ_QUEUE_DRAINED, CQ_WATCHER_PAUSE) = range(300, 303)
(NETQ_CONFIG, NETQ_GROUP, NETQ_STATS, NETQ_INST) = range(300, 304)
(JQ_ARCHIVED,) = range(400, 401)

# --- field flags (QFF_*): change how the filter compares the field ------------
# Equality also matches a leading part of the name ("node1" == "node1.x.com").
QFF_HOSTNAME = 0x01
QFF_IP_ADDRESS = 0x02
QFF_JOB_ID = 0x04
# The value is a [seconds, microseconds] pair; filters compare the seconds.
QFF_SPLIT_TIMESTAMP = 0x08
QFF_ALL = QFF_HOSTNAME | QFF_IP_ADDRESS | QFF_JOB_ID | QFF_SPLIT_TIMESTAMP

FIELD_NAME_RE = re.compile(r"^[a-z0-9/._]+$")
TITLE_RE = re.compile(r"^[^\s]+$")
DOC_RE = re.compile(r"^[A-Z].*[^.,?!]$")


class _FieldStatus:
    """A marker a getter returns instead of a value (see RS_*)."""

    __slots__ = ("status", "_name")

    def __init__(self, status: int, name: str) -> None:
        self.status = status
        self._name = name

    def __repr__(self) -> str:
        return f"<{self._name}>"


_FS_UNKNOWN = _FieldStatus(RS_UNKNOWN, "_FS_UNKNOWN")
_FS_NODATA = _FieldStatus(RS_NODATA, "_FS_NODATA")
_FS_UNAVAIL = _FieldStatus(RS_UNAVAIL, "_FS_UNAVAIL")
_FS_OFFLINE = _FieldStatus(RS_OFFLINE, "_FS_OFFLINE")
_FS_ALL = frozenset([_FS_UNKNOWN, _FS_NODATA, _FS_UNAVAIL, _FS_OFFLINE])


@dataclasses.dataclass(frozen=True)
class QueryFieldDefinition:
    """The public description of one field (objects.QueryFieldDefinition)."""

    name: str
    title: str
    kind: str
    doc: str

    def ToDict(self) -> dict[str, str]:
        """Return the wire form {"name", "title", "kind", "doc"}."""
        return {"name": self.name, "title": self.title, "kind": self.kind,
                "doc": self.doc}

    @classmethod
    def FromDict(cls, data: dict[str, Any]) -> QueryFieldDefinition:
        """Build a definition from its wire form.

        Raises:
          errors.ParameterError: a key is missing.
        """
        try:
            return cls(name=data["name"], title=data["title"], kind=data["kind"],
                       doc=data["doc"])
        except (KeyError, TypeError) as err:
            raise errors.ParameterError(
                f"Invalid field definition {data!r}: missing {err}") from err


Getter = Callable[[Any, Any], Any]


class FieldDef(NamedTuple):
    """One row of a field table (unpacks like Ganeti's 4-tuples)."""

    definition: QueryFieldDefinition
    data_kind: int | None
    flags: int
    getter: Getter


class FieldDict(dict):
    """A field table: name -> FieldDef, plus an optional resolver.

    The resolver handles parameterised names that are not listed, e.g.
    "disk.size/7": it returns a FieldDef (whose definition carries that exact
    name) or None. QueryFields without a selection lists only listed fields.
    """

    def __init__(self, fields: dict[str, FieldDef],
                 resolver: Callable[[str], FieldDef | None] | None = None) -> None:
        super().__init__(fields)
        self.resolver = resolver

    def Lookup(self, name: str) -> FieldDef | None:
        """Return the row for name (listed or resolved), or None."""
        fdef = self.get(name)
        if fdef is None and self.resolver is not None:
            fdef = self.resolver(name)
        return fdef


def LookupField(fielddefs: dict[str, FieldDef], name: str) -> FieldDef | None:
    """Return the row for name from any field table, or None if unknown."""
    if isinstance(fielddefs, FieldDict):
        return fielddefs.Lookup(name)
    return fielddefs.get(name)


def _MakeField(name: str, title: str, kind: str, doc: str) -> QueryFieldDefinition:
    """Create a field definition."""
    return QueryFieldDefinition(name=name, title=title, kind=kind, doc=doc)


def CheckFieldDefinition(fdef: FieldDef) -> list[str]:
    """Check one row against the rules of spec/query2.md section 2.

    Returns:
      the problems found, as readable strings (empty when the row is fine).
    """
    definition = fdef.definition
    name = definition.name
    problems = []
    if not FIELD_NAME_RE.match(name):
        problems.append(f"field name '{name}' does not match {FIELD_NAME_RE.pattern}")
    if not TITLE_RE.match(definition.title):
        problems.append(f"field '{name}': title '{definition.title}' is invalid")
    doc = definition.doc
    if not (DOC_RE.match(doc) and len(doc.splitlines()) == 1
            and doc.strip() == doc):
        problems.append(f"field '{name}': invalid description '{doc}'")
    if definition.kind not in QFT_ALL or definition.kind == QFT_UNKNOWN:
        problems.append(f"field '{name}': invalid kind '{definition.kind}'")
    if not callable(fdef.getter):
        problems.append(f"field '{name}': getter is not callable")
    if fdef.flags & ~QFF_ALL:
        problems.append(f"field '{name}': unknown flags {fdef.flags:#x}")
    return problems


def _PrepareFieldList(fields: Iterable[FieldDef],
                      aliases: Iterable[tuple[str, str]],
                      resolver: Callable[[str], FieldDef | None] | None = None,
                      ) -> FieldDict:
    """Turn a list of rows into a field table, checking it.

    Args:
      fields: the rows.
      aliases: (alias, target) pairs; each alias gets a copy of the target's
        row under the alias name.
      resolver: see FieldDict.

    Returns:
      the table, name -> FieldDef.

    Raises:
      errors.ProgrammerError: an invalid row, a duplicate name or title, or
        an alias clashing with a field or pointing at a missing one.
    """
    fields = list(fields)
    problems = [msg for fdef in fields for msg in CheckFieldDefinition(fdef)]
    titles: set[str] = set()
    result: dict[str, FieldDef] = {}
    for fdef in fields:
        name, title = fdef.definition.name, fdef.definition.title.lower()
        if name in result:
            problems.append(f"duplicate field name '{name}'")
        if title in titles:
            problems.append(f"duplicate field title '{fdef.definition.title}'")
        titles.add(title)
        result[name] = fdef
    for alias, target in aliases:
        if alias in result or target not in result:
            problems.append(f"invalid alias '{alias}' for '{target}'")
            continue
        row = result[target]
        definition = dataclasses.replace(row.definition, name=alias)
        result[alias] = row._replace(definition=definition)
    if problems:
        raise errors.ProgrammerError("Invalid field list: " + "; ".join(problems))
    return FieldDict(result, resolver)


def GetAllFields(fielddefs: Iterable[FieldDef]) -> list[QueryFieldDefinition]:
    """Return the definitions of the given rows."""
    return [fdef.definition for fdef in fielddefs]


def _VerifyValue(kind: str, value: Any) -> bool:
    """Whether value is valid for a field of the given kind."""
    is_int = isinstance(value, int) and not isinstance(value, bool)
    is_num = is_int or isinstance(value, float)
    checks = {
        QFT_UNKNOWN: value is None,
        QFT_TEXT: isinstance(value, str),
        QFT_BOOL: isinstance(value, bool),
        QFT_NUMBER: is_int,
        QFT_NUMBER_FLOAT: is_num,
        QFT_UNIT: is_int,
        QFT_TIMESTAMP: is_num,
    }
    return checks.get(kind, True)


def _VerifyResultRow(fields: list[FieldDef], row: list[list[Any]]) -> list[str]:
    """Check a result row against its field definitions.

    Returns:
      the problems found (empty when the row is valid): normal values of the
      wrong type, or abnormal statuses carrying a value.
    """
    problems = []
    if len(row) != len(fields):
        return [f"row has {len(row)} entries for {len(fields)} fields"]
    for (status, value), fdef in zip(row, fields):
        definition = fdef.definition
        if status == RS_NORMAL:
            if not _VerifyValue(definition.kind, value):
                problems.append(f"normal field {definition.name} has invalid"
                                f" value {value!r} for kind {definition.kind}")
        elif status not in RS_ALL:
            problems.append(f"field {definition.name} has invalid status {status}")
        elif value is not None:
            problems.append(f"abnormal field {definition.name} has a value")
    return problems


def _ProcessResult(value: Any) -> list[Any]:
    """Turn a getter's result into a [status, value] entry."""
    if isinstance(value, _FieldStatus):
        return [value.status, None]
    return [RS_NORMAL, value]


# --- getters shared by item types --------------------------------------------

def _GetItemAttr(attr: str) -> Getter:
    """Return a getter reading an attribute of the item."""
    return lambda _ctx, item: getattr(item, attr)


def _GetItemMaybeAttr(attr: str) -> Getter:
    """Return a getter reading an attribute, unavailable when it is None."""

    def _Getter(_ctx: Any, item: Any) -> Any:
        value = getattr(item, attr, None)
        return _FS_UNAVAIL if value is None else value

    return _Getter


def _GetItemTags(_ctx: Any, item: Any) -> list[str]:
    """Return the item's tags, sorted (an empty list when there are none)."""
    return sorted(item.tags or [])


def _GetItemTimestampFields(datatype: int | None) -> list[FieldDef]:
    """The ctime and mtime fields (unavailable on old objects without them)."""
    return [
        FieldDef(_MakeField("ctime", "CTime", QFT_TIMESTAMP, "Creation timestamp"),
                 datatype, 0, _GetItemMaybeAttr("ctime")),
        FieldDef(_MakeField("mtime", "MTime", QFT_TIMESTAMP,
                            "Modification timestamp"),
                 datatype, 0, _GetItemMaybeAttr("mtime")),
    ]


def _GetItemCommonFields(name: str, datatype: int | None) -> list[FieldDef]:
    """The ctime, mtime, uuid, serial_no and tags fields of config objects.

    Args:
      name: the object kind in the docs, e.g. "Node" ("Node UUID").
      datatype: the data kind of these fields.
    """
    return _GetItemTimestampFields(datatype) + [
        FieldDef(_MakeField("uuid", "UUID", QFT_TEXT, f"{name} UUID"),
                 datatype, 0, _GetItemAttr("uuid")),
        FieldDef(_MakeField("serial_no", "SerialNo", QFT_NUMBER,
                            f"{name} object serial number, incremented on each"
                            " modification"),
                 datatype, 0, _GetItemAttr("serial_no")),
        FieldDef(_MakeField("tags", "Tags", QFT_OTHER, "Tags"),
                 datatype, 0, _GetItemTags),
    ]
