"""Tests of the opcode machinery (ganeti/opcodes_base.py)."""

from __future__ import annotations

import copy
import pickle

import pytest

from ganeti import errors, ht, opcodes_base
from ganeti.opcodes_base import OpCode, Param


class OpFooBar(OpCode):
    """A test opcode with one parameter of each kind."""

    OP_DSC_FIELD = "name"
    OP_PARAMS = [
        Param("name", ht.NoDefault, ht.TNonEmptyString, "Required name"),
        Param("count", 3, ht.TNonNegativeInt, "Defaulted count"),
        Param("items", [], ht.TListOf(ht.TString), "Mutable default"),
        Param("made", dict, ht.TDict, "Callable default"),
        Param("ratio", 1.5, ht.TFloat, "Float parameter"),
        Param("extra", None, ht.TMaybe(ht.TString), "Optional"),
    ]
    OP_RESULT = ht.TNone


def _PrereqMessage(excinfo: pytest.ExceptionInfo[errors.OpPrereqError]) -> str:
    (message, code) = excinfo.value.args
    assert code == errors.ECODE_INVAL
    return message


def test_op_id_from_class_name() -> None:
    assert opcodes_base._NameToId("OpTestDelay") == "OP_TEST_DELAY"
    assert opcodes_base._NameToId("OpInstanceStartup") == "OP_INSTANCE_STARTUP"
    assert opcodes_base._NameToId("OpNodeQueryvols") == "OP_NODE_QUERYVOLS"
    assert opcodes_base._NameToId("TestDelay") is None
    assert OpFooBar.OP_ID == "OP_FOO_BAR"


def test_reason_source_of_class_name() -> None:
    # spec/samples/queue-job-1298.json: "gnt:opcode:instance_create"
    assert opcodes_base.NameToReasonSrc(
        "OpInstanceCreate", opcodes_base.OPCODE_REASON_SRC_OPCODE) == \
        "gnt:opcode:instance_create"
    assert opcodes_base.NameToReasonSrc("Foo", "gnt:opcode") is None


@pytest.mark.parametrize(("value", "text"), [
    (0.001, "1.0e-3"), (0.0, "0.0"), (10.0, "10.0"), (1.0, "1.0"),
    (0.1, "0.1"), (0.05, "5.0e-2"), (2.5, "2.5"), (123.456, "123.456"),
    (1234567.0, "1234567.0"), (1e7, "1.0e7"), (12345678.9, "1.23456789e7"),
    (1e22, "1.0e22"), (-3.0, "-3.0"), (-0.001, "-1.0e-3"),
    (float("inf"), "Infinity"), (float("nan"), "NaN"),
])
def test_haskell_show_float(value: float, text: str) -> None:
    # luxid summaries show durations with Haskell's `show`
    # (spec/samples/gnt-job-list.txt: TEST_DELAY(1.0e-3), TEST_DELAY(0.0)).
    assert opcodes_base.HaskellShowFloat(value) == text


def test_params_collected_own_first_then_common() -> None:
    names = OpFooBar.GetAllSlots()
    assert names == ["name", "count", "items", "made", "ratio", "extra",
                     "dry_run", "debug_level", "priority", "depends", "comment",
                     "reason"]
    assert all(isinstance(param, Param) for param in OpFooBar.GetAllParams())
    (name, default, check, doc) = OpFooBar.GetAllParams()[0]
    assert (name, default, doc) == ("name", ht.NoDefault, "Required name")
    assert check("x") and not check("")


def test_slots_refuse_unknown_attributes() -> None:
    op = OpFooBar(name="a")
    with pytest.raises(AttributeError):
        op.colour = "red"  # type: ignore[attr-defined]
    assert not hasattr(op, "__dict__")


def test_unset_differs_from_none() -> None:
    op = OpFooBar(name="a", extra=None)
    assert hasattr(op, "extra") and not hasattr(op, "count")
    assert op.__getstate__() == {"name": "a", "extra": None}
    assert op.ToDict() == {"name": "a", "extra": None, "OP_ID": "OP_FOO_BAR"}
    assert list(op.ToDict())[-1] == "OP_ID"


def test_unknown_keyword_is_rejected() -> None:
    with pytest.raises(errors.OpPrereqError) as excinfo:
        OpFooBar(name="a", colour="red", size=1)
    message = _PrereqMessage(excinfo)
    assert "OP_FOO_BAR" in message and "unknown parameter" in message
    assert "'colour'" in message and "'size'" in message


def test_setstate_replaces_all_parameters() -> None:
    op = OpFooBar(name="a", count=5)
    op.__setstate__({"name": "b", "extra": "x"})
    assert op.__getstate__() == {"name": "b", "extra": "x"}
    with pytest.raises(errors.OpPrereqError, match="expected a dict"):
        op.__setstate__(["name", "b"])  # type: ignore[arg-type]
    with pytest.raises(errors.OpPrereqError, match="unknown parameter"):
        op.__setstate__({"name": "c", "bogus": 1})
    assert op.__getstate__() == {"name": "b", "extra": "x"}


def test_validate_fills_defaults_with_fresh_values() -> None:
    first, second = OpFooBar(name="a"), OpFooBar(name="b")
    first.Validate(True)
    second.Validate(True)
    assert first.__getstate__() == {
        "name": "a", "count": 3, "items": [], "made": {}, "ratio": 1.5,
        "extra": None, "dry_run": None, "debug_level": None, "priority": 0,
        "depends": None, "comment": None, "reason": []}
    first.items.append("x")
    first.made["k"] = 1
    assert second.items == [] and second.made == {}
    assert OpFooBar.GetAllParams()[2].default == []


def test_validate_without_defaults_changes_nothing() -> None:
    op = OpFooBar(name="a", ratio=2)
    op.Validate(False)
    assert op.__getstate__() == {"name": "a", "ratio": 2}
    op.Validate(True)
    assert op.ratio == 2.0 and isinstance(op.ratio, float)


def test_validate_reports_missing_required_parameter() -> None:
    with pytest.raises(errors.OpPrereqError) as excinfo:
        OpFooBar(count=1).Validate(False)
    assert _PrereqMessage(excinfo) == (
        "Parameter 'OP_FOO_BAR.name' fails validation: required parameter"
        " missing, expected NonEmptyString")


@pytest.mark.parametrize(("params", "expected"), [
    ({"name": ""}, "'OP_FOO_BAR.name' fails validation: expected NonEmptyString,"
                   " got ''"),
    ({"name": "a", "count": -1}, "'OP_FOO_BAR.count' fails validation: expected"
                                 " Integer and EqualOrGreaterThanZero, got -1"),
    ({"name": "a", "count": True}, "'OP_FOO_BAR.count'"),
    ({"name": "a", "ratio": "abc"}, "'OP_FOO_BAR.ratio' fails validation:"
                                    " expected Float, got 'abc'"),
    ({"name": "a", "items": [1]}, "expected List of String, got [1]"),
    ({"name": "a", "priority": 20}, "'OP_FOO_BAR.priority' fails validation:"
                                    " expected Integer in [-20, 19], got 20"),
    ({"name": "a", "debug_level": -1}, "'OP_FOO_BAR.debug_level'"),
    ({"name": "a", "dry_run": "yes"}, "'OP_FOO_BAR.dry_run'"),
    ({"name": "a", "comment": 5}, "'OP_FOO_BAR.comment'"),
])
def test_validate_rejects_wrong_types(params: dict, expected: str) -> None:
    op = OpFooBar(**params)
    with pytest.raises(errors.OpPrereqError) as excinfo:
        op.Validate(True)
    assert expected in _PrereqMessage(excinfo)


def test_validate_truncates_long_values() -> None:
    with pytest.raises(errors.OpPrereqError) as excinfo:
        OpFooBar(name="a", ratio="x" * 500).Validate(False)
    message = _PrereqMessage(excinfo)
    assert message.endswith("...") and len(message) < 200


def test_none_for_defaulted_parameter_means_default() -> None:
    # luxid reads null like a missing key; a required one stays required.
    op = OpFooBar(name="a", count=None, priority=None)
    op.Validate(True)
    assert (op.count, op.priority) == (3, 0)
    with pytest.raises(errors.OpPrereqError, match="got None"):
        OpFooBar(name=None).Validate(True)


@pytest.mark.parametrize("depends", [
    None, [], [[1, []]], [[-1, ["success"]], ["1297", ["error", "canceled"]]],
    [(-2, ("success",))],
])
def test_depends_accepted(depends: object) -> None:
    OpFooBar(name="a", depends=depends).Validate(False)


@pytest.mark.parametrize("depends", [
    [[1]], [[1, ["running"]]], [[1, "success"]], [["x", []]], [1], "1",
    [[1, [], 3]], [[True, []]],
])
def test_depends_rejected(depends: object) -> None:
    with pytest.raises(errors.OpPrereqError, match="OP_FOO_BAR.depends"):
        OpFooBar(name="a", depends=depends).Validate(False)


def test_absolute_dependency_check_refuses_relative_ids() -> None:
    check = opcodes_base.TNoRelativeJobDependencies
    assert check([[5, ["success"]]]) and check(None)
    assert not check([[-1, ["success"]]])


@pytest.mark.parametrize(("reason", "good"), [
    ([], True), (None, True),
    ([["gnt:client:gnt-debug", "delay", 1795236266187246592]], True),
    ([("gnt:user", "", 0)], True),
    ([["gnt:user", "why"]], False), ([["gnt:user", "why", "now"]], False),
    ([["gnt:user", 5, 0]], False), ("because", False),
])
def test_reason_trail_check(reason: object, good: bool) -> None:
    op = OpFooBar(name="a", reason=reason)
    if good:
        op.Validate(False)
    else:
        with pytest.raises(errors.OpPrereqError, match="OP_FOO_BAR.reason"):
            op.Validate(False)


@pytest.mark.parametrize("priority", [-20, -10, 0, 10, 19])
def test_priority_range(priority: int) -> None:
    OpFooBar(name="a", priority=priority).Validate(False)


def test_summary_and_tiny_summary() -> None:
    assert OpFooBar(name="x1").Summary() == "FOO_BAR(x1)"
    assert OpFooBar().Summary() == "FOO_BAR"
    assert OpFooBar().TinySummary() == "FOO_BAR"

    class OpInstanceFrob(OpCode):
        OP_DSC_FIELD = "names"
        OP_PARAMS = [Param("names", [], ht.TList, "Names")]

    assert OpInstanceFrob(names=["a", "b"]).Summary() == "INSTANCE_FROB(a,b)"
    assert OpInstanceFrob().TinySummary() == "I_FROB"


def test_summary_formatter() -> None:
    class OpFmt(OpCode):
        OP_DSC_FIELD = "value"
        OP_DSC_FORMATTER = opcodes_base.HaskellShowFloat
        OP_PARAMS = [Param("value", ht.NoDefault, ht.TFloat, "Value")]

    assert OpFmt(value=0.001).Summary() == "FMT(1.0e-3)"


def test_repr_shows_set_parameters() -> None:
    assert repr(OpFooBar(name="a", count=2)) == "OpFooBar(name='a', count=2)"


def test_copy_and_pickle_keep_state() -> None:
    op = OpFooBar(name="a", items=["x"], extra=None)
    clone = copy.deepcopy(op)
    assert clone.__getstate__() == op.__getstate__()
    assert clone.items is not op.items
    restored = pickle.loads(pickle.dumps(op))
    assert type(restored) is OpFooBar
    assert restored.__getstate__() == op.__getstate__()


def test_class_definition_errors() -> None:
    with pytest.raises(errors.ProgrammerError, match="twice: priority"):
        class OpDup(OpCode):
            OP_PARAMS = [Param("priority", 0, ht.TInt, "Clashes with common")]

    with pytest.raises(errors.ProgrammerError, match="OP_DSC_FIELD"):
        class OpBadDsc(OpCode):
            OP_DSC_FIELD = "missing"

    with pytest.raises(errors.ProgrammerError, match="OP_ID"):
        class OpOwnId(OpCode):
            OP_ID = "OP_X"


def test_tuples_become_params() -> None:
    class OpTuple(OpCode):
        OP_PARAMS = [("size", 1, ht.TInt, "Size")]

    assert OpTuple.OP_PARAMS == [Param("size", 1, ht.TInt, "Size")]
    assert OpTuple.GetAllParams()[0].name == "size"


def test_load_opcode_errors() -> None:
    for data, expected in [([1], "expected a dict, got list"),
                           ({"duration": 1.0}, "missing OP_ID"),
                           ({"OP_ID": "OP_NO_SUCH_THING"}, "OP_NO_SUCH_THING"),
                           ({"OP_ID": 5}, "Unknown opcode")]:
        with pytest.raises(errors.OpPrereqError) as excinfo:
            OpCode.LoadOpCode(data)  # type: ignore[arg-type]
        assert expected in _PrereqMessage(excinfo)


def test_load_opcode_builds_the_named_class() -> None:
    op = OpCode.LoadOpCode({"OP_ID": "OP_TEST_DELAY", "duration": 2.0})
    assert type(op).__name__ == "OpTestDelay"
    assert op.__getstate__() == {"duration": 2.0}


def test_status_and_priority_constants() -> None:
    # spec/jobs.md sections 2 and 3
    assert opcodes_base.JOBS_FINALIZED == {"canceled", "success", "error"}
    assert opcodes_base.OPS_FINALIZED == opcodes_base.JOBS_FINALIZED
    assert opcodes_base.JOB_STATUS_ALL == {
        "queued", "waiting", "canceling", "running", "canceled", "success",
        "error"}
    assert opcodes_base.OP_PRIO_SUBMIT_VALID == {-10, 0, 10}
    assert (opcodes_base.OP_PRIO_HIGHEST, opcodes_base.OP_PRIO_LOWEST) == (-20, 19)
    assert opcodes_base.JOB_NOTCHANGED == "nochange"


def test_failed_validation_leaves_opcode_unchanged() -> None:
    op = OpFooBar(name="a", comment=5)
    with pytest.raises(errors.OpPrereqError, match="OP_FOO_BAR.comment"):
        op.Validate(True)
    assert op.__getstate__() == {"name": "a", "comment": 5}
