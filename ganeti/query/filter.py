"""The filter compiler: a JSON filter (spec/query2.md section 4) to a predicate.

The filter is checked completely before any item is looked at: operators,
arity, field names, value types against the field kind and regular
expressions. Every problem raises errors.ParameterError, which is what the
real luxid answers (samples/luxi-query-filter-error.txt:
["ParameterError", ["Can't find field named 'nosuchfield'"]]).

Evaluation follows Ganeti 3.0's luxid (src/Ganeti/Query/Filter.hs):

* a condition on a field whose value is not available for an item (status
  other than RS_NORMAL) is true: the filter "has no data to work with" and
  lets the item through; "!=" is the negation of "==", so it is false there;
* "==" on a QFF_HOSTNAME field also matches a leading part of the name
  ("node1" matches "node1.example.com");
* on a QFF_SPLIT_TIMESTAMP field ([seconds, microseconds]) the seconds are
  compared;
* "?" is true for truthy values (non-empty, non-zero, true);
* ordering between a string and a number is an error (ParameterError),
  equality between them is simply false.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable
from typing import Any

from ganeti import errors, qlang
from ganeti.query.common import (
    QFF_HOSTNAME,
    QFF_SPLIT_TIMESTAMP,
    QFT_BOOL,
    QFT_NUMBER,
    QFT_NUMBER_FLOAT,
    QFT_OTHER,
    QFT_TEXT,
    QFT_TIMESTAMP,
    QFT_UNIT,
    FieldDef,
    LookupField,
    _FieldStatus,
)

Predicate = Callable[[Any, Any], bool]

# How deep filters may be nested (Ganeti's _FilterCompilerHelper._LEVELS_MAX).
_LEVELS_MAX = 10

_LOGIC_OPS = {qlang.OP_OR: any, qlang.OP_AND: all}
_UNARY_OPS = frozenset([qlang.OP_NOT, qlang.OP_TRUE])
_ORDER_OPS = {
    qlang.OP_LT: operator.lt,
    qlang.OP_LE: operator.le,
    qlang.OP_GT: operator.gt,
    qlang.OP_GE: operator.ge,
}
_EQUAL_OPS = frozenset([qlang.OP_EQUAL, qlang.OP_EQUAL_LEGACY])
_BINARY_OPS = (_EQUAL_OPS | frozenset(_ORDER_OPS)
               | frozenset([qlang.OP_NOT_EQUAL, qlang.OP_REGEXP, qlang.OP_CONTAINS]))


def _IsNumber(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _IsInt(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _IsScalar(value: Any) -> bool:
    return isinstance(value, (str, int, float))


# Which filter values a field of each kind can be compared with.
_VALUE_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    QFT_TEXT: (lambda v: isinstance(v, str), "a string"),
    QFT_BOOL: (lambda v: isinstance(v, bool), "a boolean"),
    QFT_NUMBER: (_IsInt, "an integer"),
    QFT_UNIT: (_IsInt, "an integer"),
    QFT_NUMBER_FLOAT: (_IsNumber, "a number"),
    QFT_TIMESTAMP: (_IsNumber, "a number"),
    QFT_OTHER: (_IsScalar, "a string or a number"),
}


def _Evaluate(getter: Callable[[Any, Any], Any], test: Callable[[Any], bool],
              ctx: Any, item: Any) -> bool:
    """Apply test to the field's value; an unavailable value passes."""
    value = getter(ctx, item)
    if isinstance(value, _FieldStatus):
        return True
    return test(value)


def _Equal(flags: int, expected: Any, value: Any) -> bool:
    """Field equality as luxid does it, honouring the field's flags."""
    if flags & QFF_SPLIT_TIMESTAMP and isinstance(value, (list, tuple)) and value:
        value = value[0]
    if isinstance(value, bool) != isinstance(expected, bool):
        return False
    if value == expected:
        return True
    return bool(flags & QFF_HOSTNAME and isinstance(value, str)
                and isinstance(expected, str) and value.startswith(expected + "."))


def _Order(flags: int, compare: Callable[[Any, Any], bool], expected: Any,
           value: Any) -> bool:
    """Ordering comparison of a field value with the filter value.

    Raises:
      errors.ParameterError: the two values cannot be ordered.
    """
    if flags & QFF_SPLIT_TIMESTAMP and isinstance(value, (list, tuple)) and value:
        value = value[0]
    if ((isinstance(value, str) and isinstance(expected, str))
            or (_IsNumber(value) and _IsNumber(expected))):
        return compare(value, expected)
    raise errors.ParameterError(
        f"Invalid types in comparison, trying to compare {value!r} with"
        f" {expected!r}")


def _Contains(expected: Any, value: Any) -> bool:
    """Whether a list field (or a text) contains the filter value."""
    if isinstance(value, (list, tuple)):
        return any(_Equal(0, expected, element) for element in value)
    if isinstance(value, str) and isinstance(expected, str):
        return expected in value
    return False


def _Regexp(pattern: re.Pattern[str], value: Any) -> bool:
    return isinstance(value, str) and pattern.search(value) is not None


class _FilterCompiler:
    """Compiles one filter against one field table.

    After the call, datakinds holds the data kinds of the referenced fields.
    """

    def __init__(self, fields: dict[str, FieldDef]) -> None:
        self._fields = fields
        self.datakinds: set[int] = set()

    def __call__(self, qfilter: Any) -> Predicate:
        return self._Compile(qfilter, 0)

    def _Compile(self, qfilter: Any, level: int) -> Predicate:
        if not (isinstance(qfilter, (list, tuple)) and qfilter):
            raise errors.ParameterError(
                f"Invalid filter on level {level}: expected a non-empty list"
                f" [operator, operands...], got {qfilter!r}")
        if level >= _LEVELS_MAX:
            raise errors.ParameterError(
                f"Only up to {_LEVELS_MAX} levels are allowed (filter nested"
                " too deep)")
        op, operands = qfilter[0], list(qfilter[1:])
        if not isinstance(op, str):
            raise errors.ParameterError(f"Unknown operator {op!r}")
        if op in _LOGIC_OPS:
            return self._HandleLogicOp(level, _LOGIC_OPS[op], operands)
        if op in _UNARY_OPS:
            return self._HandleUnaryOp(level, op, operands)
        if op in _BINARY_OPS:
            return self._HandleBinaryOp(op, operands)
        raise errors.ParameterError(f"Unknown operator '{op}'")

    def _LookupField(self, name: Any) -> FieldDef:
        if not isinstance(name, str):
            raise errors.ParameterError(f"Invalid field name {name!r}")
        fdef = LookupField(self._fields, name)
        if fdef is None:
            raise errors.ParameterError(f"Can't find field named '{name}'")
        if fdef.data_kind is not None:
            self.datakinds.add(fdef.data_kind)
        return fdef

    def _HandleLogicOp(self, level: int, combine: Callable[[Any], bool],
                       operands: list[Any]) -> Predicate:
        subs = [self._Compile(sub, level + 1) for sub in operands]
        return lambda ctx, item: combine(fn(ctx, item) for fn in subs)

    def _HandleUnaryOp(self, level: int, op: str, operands: list[Any]) -> Predicate:
        if len(operands) != 1:
            raise errors.ParameterError(
                f"Unary operator '{op}' expects exactly one operand")
        if op == qlang.OP_NOT:
            inner = self._Compile(operands[0], level + 1)
            return lambda ctx, item: not inner(ctx, item)
        getter = self._LookupField(operands[0]).getter
        return lambda ctx, item: _Evaluate(getter, bool, ctx, item)

    def _CheckValue(self, op: str, fdef: FieldDef, value: Any) -> None:
        """Check the filter value fits the field and operator.

        Raises:
          errors.ParameterError: it does not.
        """
        kind = fdef.definition.kind
        kind_ok = True
        if op == qlang.OP_REGEXP:
            # a regexp is text; only text (and free-form) fields can match it
            check, expected = _VALUE_CHECKS[QFT_TEXT]
            kind_ok = kind in (QFT_TEXT, QFT_OTHER)
        elif fdef.flags & QFF_SPLIT_TIMESTAMP:
            check, expected = _VALUE_CHECKS[QFT_TIMESTAMP]
        else:
            check, expected = _VALUE_CHECKS.get(kind, _VALUE_CHECKS[QFT_OTHER])
        if not (kind_ok and check(value)):
            raise errors.ParameterError(
                f"Unable to compare field '{fdef.definition.name}' (type"
                f" '{kind}') with '{type(value).__name__}', expected {expected}")

    def _HandleBinaryOp(self, op: str, operands: list[Any]) -> Predicate:
        if len(operands) != 2:
            raise errors.ParameterError(
                f"Invalid binary operator '{op}', expected exactly two operands")
        name, value = operands
        fdef = self._LookupField(name)
        self._CheckValue(op, fdef, value)
        getter, flags = fdef.getter, fdef.flags
        test: Callable[[Any], bool]
        if op in _EQUAL_OPS or op == qlang.OP_NOT_EQUAL:
            test = functools.partial(_Equal, flags, value)
        elif op in _ORDER_OPS:
            test = functools.partial(_Order, flags, _ORDER_OPS[op], value)
        elif op == qlang.OP_REGEXP:
            try:
                pattern = re.compile(value)
            except re.error as err:
                raise errors.ParameterError(
                    f"Invalid regex pattern ({err})") from err
            test = functools.partial(_Regexp, pattern)
        else:
            test = functools.partial(_Contains, value)
        if op == qlang.OP_NOT_EQUAL:
            # luxid reads "!=" as "not ==", unavailable values included
            return lambda ctx, item: not _Evaluate(getter, test, ctx, item)
        return lambda ctx, item: _Evaluate(getter, test, ctx, item)


def _CompileFilter(fields: dict[str, FieldDef],
                   qfilter: Any) -> tuple[Predicate, frozenset[int]]:
    """Check a filter and turn it into a predicate.

    Args:
      fields: the field table of the item type.
      qfilter: the filter in list form (not None).

    Returns:
      (predicate(ctx, item) -> bool, data kinds of the fields it uses).

    Raises:
      errors.ParameterError: the filter is invalid for this field table.
    """
    compiler = _FilterCompiler(fields)
    predicate = compiler(qfilter)
    return predicate, frozenset(compiler.datakinds)


def _RequestedNames(qfilter: Any, namefield: str) -> list[Any] | None:
    """The names a filter asks for, if it only ORs name equalities.

    Returns:
      the names in order without duplicates, or None when the filter is
      anything else (then every item must be considered).
    """
    names: list[Any] = []

    def _Walk(node: Any) -> bool:
        if not (isinstance(node, (list, tuple)) and node):
            return False
        if node[0] == qlang.OP_OR:
            return all(_Walk(sub) for sub in node[1:])
        if node[0] in _EQUAL_OPS and len(node) == 3 and node[1] == namefield:
            names.append(node[2])
            return True
        return False

    if qfilter is None or not _Walk(qfilter) or not names:
        return None
    unique: list[Any] = []
    for name in names:
        if name not in unique:
            unique.append(name)
    return unique
