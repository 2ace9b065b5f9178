"""Tests for ganeti.backend.testing: the test_delay procedure."""

from __future__ import annotations

import time

import pytest

from ganeti import backend
from ganeti.backend import RPCFail

PROCS = backend.LoadAll()


def test_delay_sleeps() -> None:
    start = time.monotonic()
    assert PROCS["test_delay"](0.2) is None
    assert time.monotonic() - start >= 0.2
    assert PROCS["test_delay"](0) is None


@pytest.mark.parametrize("duration", [-1, "1", True, None, float("nan"),
                                      float("inf"), [1]])
def test_delay_rejects_bad_durations(duration: object) -> None:
    start = time.monotonic()
    with pytest.raises(RPCFail, match="sleep duration"):
        PROCS["test_delay"](duration)
    assert time.monotonic() - start < 1


def test_delay_argument_count() -> None:
    with pytest.raises(RPCFail, match=r"'test_delay' takes 1 argument\(s\)"):
        PROCS["test_delay"]()
