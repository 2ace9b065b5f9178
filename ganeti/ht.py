"""Composable runtime type checks (Ganeti's lib/ht.py).

A check is a callable `check(value) -> bool` whose `str()` describes what it
accepts, in words meant for error messages ("List of (Integer)"). Checks are
built from the primitives below with TOr, TAnd, TListOf, TDictOf... and are
the runtime guard at trust boundaries: opcode parameters, RAPI bodies, RPC
arguments.

A check never raises on a value of the wrong type: it returns False.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

CheckFn = Callable[[Any], bool]


class _Sentinel:
    """A named marker object, distinct from every value (even None)."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"<{self._name}>"

    def __bool__(self) -> bool:
        return False


# Marks a parameter that has no default value (it must be given).
NoDefault = _Sentinel("NoDefault")
# Marks a parameter whose type is not checked.
NoType = _Sentinel("NoType")


class _Check:
    """A predicate with a description; calling it returns a bool."""

    __slots__ = ("_desc", "_fn")

    def __init__(self, fn: CheckFn, desc: str) -> None:
        self._fn = fn
        self._desc = desc

    def __call__(self, value: Any) -> bool:
        try:
            return bool(self._fn(value))
        except (TypeError, ValueError, AttributeError):
            # A value of an unexpected shape does not match; it is no error.
            return False

    def __str__(self) -> str:
        return self._desc

    def __repr__(self) -> str:
        return f"<ht check {self._desc}>"


def WithDesc(text: str) -> Callable[[CheckFn], _Check]:
    """Return a decorator giving a check the description text."""

    def _Wrap(fn: CheckFn) -> _Check:
        return _Check(fn, text)

    return _Wrap


def Comment(text: str) -> Callable[[CheckFn], _Check]:
    """Return a decorator appending a comment to a check's description."""

    def _Wrap(fn: CheckFn) -> _Check:
        return _Check(fn, f"{fn} [{text}]")

    return _Wrap


def Parens(text: Any) -> str:
    """Put text in parentheses if it has blanks (for nested descriptions)."""
    text = str(text)
    if " " in text and not (text.startswith("(") and text.endswith(")")):
        return f"({text})"
    return text


def _IsInt(value: Any) -> bool:
    # bool is a subclass of int, but True is not a valid integer parameter.
    return isinstance(value, int) and not isinstance(value, bool)


def _IsNumber(value: Any) -> bool:
    return _IsInt(value) or isinstance(value, float)


# --- primitives --------------------------------------------------------------

TAny = WithDesc("Anything")(lambda _: True)
TNone = WithDesc("None")(lambda value: value is None)
TNotNone = WithDesc("NotNone")(lambda value: value is not None)
TBool = WithDesc("Boolean")(lambda value: isinstance(value, bool))
TTrue = WithDesc("ValueTrue")(bool)
TFalse = WithDesc("ValueFalse")(lambda value: not value)
TInt = WithDesc("Integer")(_IsInt)
TFloat = WithDesc("Float")(lambda value: isinstance(value, float))
TNumber = WithDesc("Number")(_IsNumber)
TString = WithDesc("String")(lambda value: isinstance(value, str))
TNonEmptyString = WithDesc("NonEmptyString")(
    lambda value: isinstance(value, str) and bool(value))
TList = WithDesc("List")(lambda value: isinstance(value, (list, tuple)))
TDict = WithDesc("Dictionary")(lambda value: isinstance(value, dict))
TCallable = WithDesc("Callable")(callable)


# --- combinators -------------------------------------------------------------

def TOr(*checks: CheckFn) -> _Check:
    """Accept a value matching at least one of checks."""
    desc = " or ".join(Parens(check) for check in checks)
    return _Check(lambda value: any(check(value) for check in checks), desc)


def TAnd(*checks: CheckFn) -> _Check:
    """Accept a value matching every one of checks."""
    desc = " and ".join(Parens(check) for check in checks)
    return _Check(lambda value: all(check(value) for check in checks), desc)


def TMaybe(check: CheckFn) -> _Check:
    """Accept None or a value matching check."""
    return TOr(TNone, check)


def TNot(check: CheckFn) -> _Check:
    return _Check(lambda value: not check(value), f"Not {Parens(check)}")


def TListOf(check: CheckFn) -> _Check:
    """Accept a list (or tuple) whose every item matches check."""
    return _Check(
        lambda value: TList(value) and all(check(item) for item in value),
        f"List of {Parens(check)}")


def TMaybeListOf(check: CheckFn) -> _Check:
    return TMaybe(TListOf(check))


def TDictOf(key_check: CheckFn, val_check: CheckFn) -> _Check:
    """Accept a dict whose keys and values match the given checks."""
    return _Check(
        lambda value: TDict(value) and all(
            key_check(key) and val_check(val) for key, val in value.items()),
        f"Dictionary with keys of {Parens(key_check)} and values of"
        f" {Parens(val_check)}")


def TStrictDict(require_all: bool, exclusive: bool,
                items: dict[str, CheckFn]) -> _Check:
    """Accept a dict whose listed keys have values matching their checks.

    Args:
      require_all: every key of items must be present.
      exclusive: no key outside items may be present.
      items: key -> check of its value.
    """

    def _Fn(value: Any) -> bool:
        if not isinstance(value, dict):
            return False
        if require_all and not set(items) <= set(value):
            return False
        if exclusive and not set(value) <= set(items):
            return False
        return all(items[key](val) for key, val in value.items() if key in items)

    keys = ", ".join(f"{key}: {Parens(check)}" for key, check in sorted(items.items()))
    flags = [word for flag, word in ((require_all, "all required"),
                                     (exclusive, "no other keys")) if flag]
    suffix = f" ({', '.join(flags)})" if flags else ""
    return _Check(_Fn, f"Dictionary with keys {{{keys}}}{suffix}")


def TItems(checks: Iterable[CheckFn]) -> _Check:
    """Accept a list whose n-th item matches the n-th check (extra items pass)."""
    checks = list(checks)
    return _Check(
        lambda value: TList(value) and all(
            check(item) for check, item in zip(checks, value)),
        f"Items of [{', '.join(Parens(check) for check in checks)}]")


def TIsLength(length: int) -> _Check:
    """Accept a value with exactly length items."""
    return _Check(lambda value: len(value) == length, f"Length {length}")


def TElemOf(values: Iterable[Any]) -> _Check:
    """Accept a value that is one of values."""
    if isinstance(values, (set, frozenset)):
        # Sorted so that the description does not depend on set ordering.
        shown = sorted(values, key=repr)
    else:
        values = shown = list(values)
    return _Check(lambda value: value in values, f"OneOf {shown!r}")


def TRegex(pattern: str | re.Pattern[str]) -> _Check:
    """Accept a string matching pattern (re.match: anchored at the start)."""
    regex = re.compile(pattern) if isinstance(pattern, str) else pattern
    return _Check(
        lambda value: isinstance(value, str) and regex.match(value) is not None,
        f"String matching regex \"{regex.pattern}\"")


def TNonNegative(check: CheckFn) -> _Check:
    """Accept a value matching check that is >= 0."""
    return TAnd(check, WithDesc("EqualOrGreaterThanZero")(lambda value: value >= 0))


def TPositive(check: CheckFn) -> _Check:
    """Accept a value matching check that is > 0."""
    return TAnd(check, WithDesc("GreaterThanZero")(lambda value: value > 0))


def TNegative(check: CheckFn) -> _Check:
    return TAnd(check, WithDesc("LessThanZero")(lambda value: value < 0))


# --- common composites -------------------------------------------------------

TMaybeBool = TMaybe(TBool)
TMaybeInt = TMaybe(TInt)
TMaybeString = TMaybe(TNonEmptyString)
TMaybeDict = TMaybe(TDict)
TMaybeList = TMaybe(TList)
TNonNegativeInt = TNonNegative(TInt)
TPositiveInt = TPositive(TInt)
TNegativeInt = TNegative(TInt)
TNonNegativeFloat = TNonNegative(TNumber)
TListOfStrings = TListOf(TString)
TMaybeListOfStrings = TMaybeListOf(TString)


def TNonEmpty(check: CheckFn) -> _Check:
    """Accept a value matching check that is not empty (e.g. a list)."""
    return TAnd(check, WithDesc("NonEmpty")(lambda value: len(value) > 0))


# A job id: a non-negative integer or its decimal string form.
TJobId = WithDesc("JobId")(TOr(TNonNegativeInt, TRegex(r"\A\d+\Z")))
# A job id relative to the jobs submitted in the same request: -1, -2, ...
TRelativeJobId = WithDesc("RelativeJobId")(TNegativeInt)
TMaybeJobId = TMaybe(TJobId)
