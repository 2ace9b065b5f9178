"""Retrying a function until it succeeds or a timeout expires.

Mirrors Ganeti's lib/utils/retry.py: the function signals "not yet" by
raising RetryAgain; Retry sleeps (fixed or exponentially growing delays) and
calls it again until the timeout, then raises RetryTimeout carrying the last
RetryAgain's arguments. Clock and sleep are injectable for tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TypeVar

from ganeti import errors

T = TypeVar("T")

Delay = float | tuple[float, float, float | None] | Callable[[], float]


class RetryAgain(Exception):  # noqa: N818 - Ganeti's name
    """Raised by the retried function: not done yet, call me again.

    Its arguments are kept and become RetryTimeout's arguments if time runs
    out; pass the exception that caused the retry to let the caller re-raise
    it with RetryTimeout.RaiseInner().
    """


class RetryTimeout(Exception):  # noqa: N818 - Ganeti's name
    """Retry gave up: the timeout expired while the function asked to retry.

    Args: those of the last RetryAgain.
    """

    def RaiseInner(self) -> NoReturn:
        """Re-raise the exception given to the last RetryAgain, if any.

        Raises:
          the inner exception when the first argument is one, else self.
        """
        if self.args and isinstance(self.args[0], Exception):
            raise self.args[0]
        raise self


class _DelayCalculator:
    """Exponential back-off: start, start*factor, ... capped at limit."""

    def __init__(self, start: float, factor: float, limit: float | None):
        if start < 0 or factor < 1.0 or (limit is not None and limit < 0):
            raise errors.ProgrammerError(
                f"Invalid back-off (start={start}, factor={factor},"
                f" limit={limit})")
        self._next = start
        self._factor = factor
        self._limit = limit

    def __call__(self) -> float:
        current = self._next
        if self._limit is None or current < self._limit:
            self._next = current * self._factor
            if self._limit is not None:
                self._next = min(self._next, self._limit)
        return current


def _MakeDelayFn(delay: Delay) -> Callable[[], float]:
    if callable(delay):
        return delay
    if isinstance(delay, (tuple, list)):
        if len(delay) != 3:
            raise errors.ProgrammerError(
                f"Delay tuple must be (start, factor, limit), got {delay!r}")
        return _DelayCalculator(*delay)
    fixed = float(delay)
    return lambda: fixed


def Retry(fn: Callable[..., T], delay: Delay, timeout: float,
          args: Sequence[Any] | None = None,
          wait_fn: Callable[[float], Any] = time.sleep,
          _time_fn: Callable[[], float] = time.time) -> T:
    """Call fn(*args) until it returns without raising RetryAgain.

    Args:
      fn: the function; it raises RetryAgain to be called again.
      delay: seconds between calls, a (start, factor, limit) tuple for
        exponential back-off (limit None: no cap), or a function returning
        the next delay.
      timeout: total seconds to keep trying.
      args: positional arguments for fn.
      wait_fn: sleeps between calls (never longer than the time left).
      _time_fn: the clock (test seam).

    Returns:
      fn's return value.

    Raises:
      RetryTimeout: time ran out; it carries the last RetryAgain's args.
      errors.ProgrammerError: fn let a nested Retry's RetryTimeout escape.
    """
    call_args = tuple(args or ())
    calc_delay = _MakeDelayFn(delay)
    end_time = _time_fn() + timeout
    while True:
        try:
            return fn(*call_args)
        except RetryAgain as err:
            retry_args = err.args
        except RetryTimeout as err:
            raise errors.ProgrammerError(
                "Nested retry loop did not handle RetryTimeout") from err
        remaining = end_time - _time_fn()
        if remaining <= 0.0:
            raise RetryTimeout(*retry_args)
        current_delay = calc_delay()
        if current_delay > 0.0:
            wait_fn(min(current_delay, remaining))


def SimpleRetry(expected: Any, fn: Callable[..., Any], delay: Delay,
                timeout: float, args: Sequence[Any] | None = None,
                wait_fn: Callable[[float], Any] = time.sleep,
                _time_fn: Callable[[], float] = time.time) -> Any:
    """Call fn until it returns expected (or, if expected is callable, a value
    for which expected(value) is true).

    Returns:
      the accepted value.

    Raises:
      RetryTimeout: time ran out; its only argument is the last value.
    """
    accept = expected if callable(expected) else (lambda value: value == expected)

    def _Check() -> Any:
        value = fn(*(args or ()))
        if not accept(value):
            raise RetryAgain(value)
        return value

    return Retry(_Check, delay, timeout, wait_fn=wait_fn, _time_fn=_time_fn)
