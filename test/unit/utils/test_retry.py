"""Tests for ganeti.utils.retry with a controlled clock."""

from __future__ import annotations

import pytest

from ganeti import errors
from ganeti.utils import retry


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def Time(self) -> float:
        return self.now

    def Sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def _Flaky(succeed_on: int, calls: list[int]):
    def _Fn(value):
        calls.append(value)
        if len(calls) < succeed_on:
            raise retry.RetryAgain(f"attempt {len(calls)}")
        return value * 2
    return _Fn


def test_returns_value_after_retries():
    clock, calls = FakeClock(), []
    result = retry.Retry(_Flaky(3, calls), 0.5, 10, args=[21],
                         wait_fn=clock.Sleep, _time_fn=clock.Time)
    assert result == 42
    assert calls == [21, 21, 21]
    assert clock.sleeps == [0.5, 0.5]


def test_exponential_backoff_is_capped():
    clock, calls = FakeClock(), []
    retry.Retry(_Flaky(8, calls), (0.1, 2, 1.0), 100, args=[1],
                wait_fn=clock.Sleep, _time_fn=clock.Time)
    assert clock.sleeps == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]


def test_timeout_carries_last_retry_args_and_never_oversleeps():
    clock, calls = FakeClock(), []
    with pytest.raises(retry.RetryTimeout) as info:
        retry.Retry(_Flaky(1000, calls), 3, 10, args=[0],
                    wait_fn=clock.Sleep, _time_fn=clock.Time)
    assert clock.sleeps == [3, 3, 3, 1]
    assert info.value.args == ("attempt 5",)
    assert clock.now == 1010.0


def test_raise_inner_reraises_wrapped_exception():
    clock = FakeClock()
    inner = OSError("device busy")

    def _Fn():
        raise retry.RetryAgain(inner)

    with pytest.raises(retry.RetryTimeout) as info:
        retry.Retry(_Fn, 1, 2, wait_fn=clock.Sleep, _time_fn=clock.Time)
    with pytest.raises(OSError, match="device busy"):
        info.value.RaiseInner()
    plain = retry.RetryTimeout("just text")
    with pytest.raises(retry.RetryTimeout, match="just text"):
        plain.RaiseInner()


def test_other_exceptions_propagate_at_once():
    clock = FakeClock()

    def _Fn():
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        retry.Retry(_Fn, 1, 10, wait_fn=clock.Sleep, _time_fn=clock.Time)
    assert clock.sleeps == []


def test_nested_unhandled_timeout_is_a_programming_error():
    def _Fn():
        raise retry.RetryTimeout()

    with pytest.raises(errors.ProgrammerError, match="Nested"):
        retry.Retry(_Fn, 1, 10)


def test_bad_delay_tuple():
    with pytest.raises(errors.ProgrammerError):
        retry.Retry(lambda: 1, (1, 2), 10)
    with pytest.raises(errors.ProgrammerError):
        retry.Retry(lambda: 1, (1, 0.5, 2), 10)


def test_callable_delay_and_real_sleep():
    values = iter([0.01, 0.02])
    calls = []
    assert retry.Retry(_Flaky(3, calls), lambda: next(values), 5, args=[2]) == 4


def test_simple_retry():
    clock = FakeClock()
    values = iter([1, 2, 3, 4])
    assert retry.SimpleRetry(3, lambda: next(values), 1, 10,
                             wait_fn=clock.Sleep, _time_fn=clock.Time) == 3
    with pytest.raises(retry.RetryTimeout) as info:
        retry.SimpleRetry(lambda v: v > 10, lambda: 5, 1, 3,
                          wait_fn=clock.Sleep, _time_fn=clock.Time)
    assert info.value.args == (5,)
