"""Errors survive the trip across RPC and LUXI as the same class."""

import pytest

from ganeti import errors, serializer


def _RoundTrip(err: BaseException) -> errors.GenericError | None:
    wire = serializer.LoadJson(serializer.DumpJson(errors.EncodeException(err)))
    return errors.GetEncodedError(wire)


def test_op_prereq_error_keeps_class_message_and_code():
    back = _RoundTrip(
        errors.OpPrereqError("Instance 'x' not known", errors.ECODE_NOENT)
    )
    assert type(back) is errors.OpPrereqError
    assert back.args == ("Instance 'x' not known", errors.ECODE_NOENT)


@pytest.mark.parametrize(
    "err",
    [
        errors.ConfigVersionMismatch(3000000, 2160000),
        errors.HooksAbort([["node1", "instance-start-pre.d/10check", "no"]]),
        errors.JobQueueDrainError("Queue drained"),
        errors.ConfigVerifyError("Config is inconsistent", ["node x missing"]),
        errors.ResolverError("nosuch.example.com", -2, "Name or service not known"),
    ],
)
def test_structured_errors_round_trip(err):
    back = _RoundTrip(err)
    assert type(back) is type(err)
    assert list(back.args) == serializer.LoadJson(serializer.DumpJson(list(err.args)))


def test_wire_shape_is_name_and_args_list():
    encoded = serializer.LoadJson(
        serializer.DumpJson(errors.EncodeException(errors.OpExecError("disk failed")))
    )
    assert encoded == ["OpExecError", ["disk failed"]]


@pytest.mark.parametrize(
    "result",
    [
        "Failed to parse request",
        ["NoSuchError", ["x"]],
        ["ValueError", ["x"]],  # not ours: must not be instantiated
        ["Exception", []],
        ["OpPrereqError", "not a list"],
        [1, 2, 3],
        None,
    ],
)
def test_non_error_results_are_not_decoded(result):
    assert errors.GetEncodedError(result) is None
    errors.MaybeRaise(result)  # does not raise


def test_maybe_raise_raises_the_encoded_class():
    with pytest.raises(errors.JobLost, match="job 7"):
        errors.MaybeRaise(["JobLost", ["job 7"]])


def test_every_error_derives_from_generic_error():
    for name in dir(errors):
        obj = getattr(errors, name)
        if (
            isinstance(obj, type)
            and issubclass(obj, Exception)
            and obj.__module__ == errors.__name__
        ):
            if obj is errors.QuitGanetiException:
                continue
            assert issubclass(obj, errors.GenericError), name
