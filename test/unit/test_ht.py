"""Tests for ganeti.ht: composable type checks and their descriptions."""

from __future__ import annotations

import pytest

from ganeti import ht


@pytest.mark.parametrize(("check", "good", "bad"), [
    (ht.TAny, [None, 0, "x", [], {}], []),
    (ht.TNone, [None], [0, "", False]),
    (ht.TNotNone, [0, "", False], [None]),
    (ht.TBool, [True, False], [0, 1, "true", None]),
    (ht.TInt, [0, -3, 10**12], [True, 1.0, "1", None]),
    (ht.TFloat, [0.0, -1.5], [1, "1.0", None]),
    (ht.TNumber, [1, 1.5], [True, "1", None]),
    (ht.TString, ["", "x"], [None, 1, b"x"]),
    (ht.TNonEmptyString, ["x"], ["", None, 1]),
    (ht.TMaybeString, [None, "x"], ["", 1]),
    (ht.TList, [[], (1,)], [{}, "ab", None]),
    (ht.TDict, [{}, {"a": 1}], [[], None]),
    (ht.TMaybeDict, [None, {}], [[]]),
    (ht.TMaybeBool, [None, True], [0]),
    (ht.TNonNegativeInt, [0, 5], [-1, 1.5, True]),
    (ht.TPositiveInt, [1], [0, -1, "1"]),
    (ht.TJobId, [0, 17, "17"], [-1, "-1", "17a", "", True, 1.0]),
    (ht.TRelativeJobId, [-1, -20], [0, 1, "-1"]),
])
def test_primitives(check, good, bad):
    for value in good:
        assert check(value) is True, (check, value)
    for value in bad:
        assert check(value) is False, (check, value)


def test_combinators():
    int_or_str = ht.TOr(ht.TInt, ht.TString)
    assert int_or_str(1) and int_or_str("a") and not int_or_str(None)
    small = ht.TAnd(ht.TInt, ht.WithDesc("Small")(lambda v: v < 10))
    assert small(3) and not small(30) and not small("3")
    assert ht.TMaybe(ht.TInt)(None) and not ht.TMaybe(ht.TInt)("x")
    ints = ht.TListOf(ht.TInt)
    assert ints([]) and ints([1, 2]) and ints((1,))
    assert not ints([1, "2"]) and not ints("12") and not ints(None)
    assert ht.TMaybeListOf(ht.TString)(None)
    mapping = ht.TDictOf(ht.TString, ht.TPositiveInt)
    assert mapping({"a": 1}) and not mapping({"a": 0}) and not mapping({1: 1})
    assert ht.TElemOf(["a", "b"])("a") and not ht.TElemOf(["a", "b"])("c")
    # Unhashable values against a set are a mismatch, not a crash.
    assert not ht.TElemOf({"a"})(["a"])
    assert ht.TRegex(r"^ab+$")("abbb") and not ht.TRegex(r"^ab+$")(3)
    assert ht.TIsLength(2)([1, 2]) and not ht.TIsLength(2)([1]) and \
        not ht.TIsLength(2)(5)
    pair = ht.TAnd(ht.TIsLength(2), ht.TItems([ht.TString, ht.TInt]))
    assert pair(["a", 1]) and not pair([1, "a"]) and not pair(["a"])
    assert ht.TNonEmpty(ht.TList)([1]) and not ht.TNonEmpty(ht.TList)([])
    assert ht.TNot(ht.TNone)(1) and not ht.TNot(ht.TNone)(None)


def test_strict_dict():
    items = {"name": ht.TNonEmptyString, "size": ht.TInt}
    loose = ht.TStrictDict(False, False, items)
    assert loose({}) and loose({"name": "x", "other": 1})
    assert not loose({"size": "big"}) and not loose([])
    required = ht.TStrictDict(True, False, items)
    assert not required({"name": "x"})
    assert required({"name": "x", "size": 1, "other": None})
    exclusive = ht.TStrictDict(True, True, items)
    assert exclusive({"name": "x", "size": 1})
    assert not exclusive({"name": "x", "size": 1, "other": None})


def test_descriptions_read_well():
    assert str(ht.TInt) == "Integer"
    assert str(ht.TListOf(ht.TInt)) == "List of Integer"
    assert str(ht.TMaybeString) == "None or NonEmptyString"
    assert str(ht.TListOf(ht.TMaybe(ht.TInt))) == "List of (None or Integer)"
    assert str(ht.TDictOf(ht.TString, ht.TBool)) == \
        "Dictionary with keys of String and values of Boolean"
    assert str(ht.TElemOf(["up", "down"])) == "OneOf ['up', 'down']"
    assert str(ht.TElemOf(frozenset(["b", "a"]))) == "OneOf ['a', 'b']"
    assert str(ht.TJobId) == "JobId"
    assert str(ht.TNonNegativeInt) == "Integer and EqualOrGreaterThanZero"
    assert "name: NonEmptyString" in str(
        ht.TStrictDict(True, True, {"name": ht.TNonEmptyString}))
    assert str(ht.TRegex("^a$")) == 'String matching regex "^a$"'
    assert str(ht.Comment("the node's name")(ht.TString)) == \
        "String [the node's name]"
    assert "Integer" in repr(ht.TInt)


def test_sentinels():
    assert ht.NoDefault is not None and ht.NoType is not None
    assert ht.NoDefault is not ht.NoType
    assert repr(ht.NoDefault) == "<NoDefault>"


def test_check_does_not_raise_on_odd_values():
    # A predicate that would raise on the value just does not match.
    positive = ht.TPositive(ht.TAny)
    assert positive(3) and not positive("x") and not positive(None)
