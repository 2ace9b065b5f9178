"""The generic query engine: select fields, filter items, build the response.

How a query runs (Ganeti's lib/query.py):

1. Build Query(fieldtable, selected_fields, qfilter, namefield). The filter
   is checked now; errors.ParameterError if it is invalid.
2. Ask RequestedNames() (the names the filter is limited to, if it is a plain
   name filter) and RequestedData() (the data kinds to collect) and collect
   only that.
3. Call Query(ctx) or GetQueryResponse(query, ctx): ctx is iterated for the
   items; every getter is called as getter(ctx, item).

Unknown selected fields are no error: they get kind "unknown" and every row
has [RS_UNKNOWN, None] for them (spec/query2.md section 1).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ganeti import errors
from ganeti.query.common import (
    QFT_UNKNOWN,
    RS_NORMAL,
    FieldDef,
    LookupField,
    QueryFieldDefinition,
    _FS_UNKNOWN,
    _MakeField,
    _ProcessResult,
)
from ganeti.query.filter import _CompileFilter, _RequestedNames
from ganeti.utils.text import NiceSort


def _GetUnknownField(_ctx: Any, _item: Any) -> Any:
    """Getter of every unknown field."""
    return _FS_UNKNOWN


def _GetQueryFields(fielddefs: dict[str, FieldDef],
                    selected: Iterable[str]) -> list[FieldDef]:
    """Return the rows for the selected names, unknown ones included."""
    result = []
    for name in selected:
        fdef = LookupField(fielddefs, name)
        if fdef is None:
            fdef = FieldDef(_MakeField(name, name, QFT_UNKNOWN,
                                       f"Unknown field '{name}'"),
                            None, 0, _GetUnknownField)
        result.append(fdef)
    return result


class Query:
    """One query: selected fields of one item type, optionally filtered."""

    def __init__(self, fieldlist: dict[str, FieldDef], selected: list[str],
                 qfilter: list | None = None, namefield: str | None = "name") -> None:
        """Prepare the query and check the filter.

        Args:
          fieldlist: the item type's field table (from _PrepareFieldList).
          selected: the requested field names, in output order.
          qfilter: the filter in list form, or None for all items.
          namefield: the field that names items (used to sort rows and for
            RequestedNames), or None for neither.

        Raises:
          errors.ParameterError: the filter is invalid (unknown field or
            operator, wrong arity, bad value type, bad regexp).
          errors.ProgrammerError: namefield is not in fieldlist.
        """
        name_fdef = None if namefield is None else LookupField(fieldlist, namefield)
        if namefield is not None and name_fdef is None:
            raise errors.ProgrammerError(
                f"Name field '{namefield}' is not a known field (jobs are named"
                " by 'id')")
        if not isinstance(selected, (list, tuple)) or not all(
                isinstance(name, str) for name in selected):
            raise errors.ParameterError(
                f"Invalid field selection {selected!r}: expected a list of names")
        self._fields = _GetQueryFields(fieldlist, selected)
        self._filter_fn = None
        self._filter_datakinds: frozenset[int] = frozenset()
        self._requested_names = None
        if qfilter is not None:
            self._filter_fn, self._filter_datakinds = _CompileFilter(
                fieldlist, qfilter)
            if namefield is not None:
                self._requested_names = _RequestedNames(qfilter, namefield)
        self._name_fn = None if name_fdef is None else name_fdef.getter

    def RequestedNames(self) -> list[Any] | None:
        """The names the filter is limited to, or None for all items.

        Only a filter made of name equalities OR-ed together gives names.
        """
        return self._requested_names

    def RequestedData(self) -> frozenset[int]:
        """The data kinds the selected fields and the filter need."""
        return self._filter_datakinds | frozenset(
            fdef.data_kind for fdef in self._fields if fdef.data_kind is not None)

    def GetFields(self) -> list[QueryFieldDefinition]:
        """The definitions of the selected fields, unknown ones included."""
        return [fdef.definition for fdef in self._fields]

    def Query(self, ctx: Iterable[Any], sort_by_name: bool = True) -> list[list]:
        """Run the query over the items of ctx.

        Args:
          ctx: the data container; iterating it gives the items, and it is
            passed to every getter.
          sort_by_name: sort rows by the name field with NiceSort semantics
            (node2 before node10, job 99 before job 100); otherwise keep the
            order of ctx.

        Returns:
          one row per matching item; a row holds one [status, value] per
          selected field, value None unless status is RS_NORMAL.

        Raises:
          errors.ParameterError: the filter compares values that cannot be
            compared (e.g. a string with a number in an ordering).
        """
        rows = []
        for item in ctx:
            if self._filter_fn is not None and not self._filter_fn(ctx, item):
                continue
            row = [_ProcessResult(fdef.getter(ctx, item)) for fdef in self._fields]
            if sort_by_name and self._name_fn is not None:
                status, name = _ProcessResult(self._name_fn(ctx, item))
                rows.append((str(name) if status == RS_NORMAL else "", row))
            else:
                rows.append(("", row))
        if sort_by_name and self._name_fn is not None:
            # NiceSort is stable: equal names keep the order of ctx
            rows = NiceSort(rows, key=lambda entry: entry[0])
        return [row for (_, row) in rows]

    def OldStyleQuery(self, ctx: Iterable[Any],
                      sort_by_name: bool = True) -> list[list]:
        """Run the query returning plain values (None where not available).

        Raises:
          errors.OpPrereqError: (ECODE_INVAL) unknown fields were selected.
        """
        unknown = [fdef.definition.name for fdef in self._fields
                   if fdef.definition.kind == QFT_UNKNOWN]
        if unknown:
            raise errors.OpPrereqError(
                f"Unknown output fields selected: {', '.join(unknown)}",
                errors.ECODE_INVAL)
        return [[value for (_, value) in row]
                for row in self.Query(ctx, sort_by_name=sort_by_name)]


def GetQueryResponse(query: Query, ctx: Iterable[Any],
                     sort_by_name: bool = True) -> dict[str, list]:
    """Run a query and return the LUXI Query result {"fields", "data"}.

    Raises:
      errors.ParameterError: see Query.Query.
    """
    data = query.Query(ctx, sort_by_name=sort_by_name)
    return {"fields": [fdef.ToDict() for fdef in query.GetFields()],
            "data": data}


def QueryFields(fielddefs: dict[str, FieldDef],
                selected: list[str] | None) -> dict[str, list]:
    """Return the LUXI QueryFields result {"fields": [...]}.

    Args:
      fielddefs: the item type's field table.
      selected: the wanted names, in output order (unknown ones get kind
        "unknown"); None or empty for every listed field, sorted by name as
        luxid does.
    """
    if not selected:
        fdefs = [fielddefs[name].definition for name in sorted(fielddefs)]
    else:
        fdefs = Query(fielddefs, selected, namefield=None).GetFields()
    return {"fields": [fdef.ToDict() for fdef in fdefs]}
