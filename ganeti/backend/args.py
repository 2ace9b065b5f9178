"""Checks of the arguments a backend procedure receives over RPC.

noded calls PROCEDURES[name](*args) with whatever JSON list the caller sent.
A wrong argument count or type would otherwise surface as a TypeError deep
in the procedure ("Error while executing backend function: ..."). These
helpers turn such requests into an RPCFail naming the procedure, the
argument and the offending value, before anything on the node is changed.
"""

from __future__ import annotations

import functools
import inspect
import math
import os
from collections.abc import Callable
from typing import Any

from ganeti import errors, vcluster
from ganeti.backend import BackendFn, Procedure, RPCFail

# Offending values are quoted in messages only up to this many characters,
# so that a huge bogus argument cannot flood the caller's error output.
_MAX_VALUE_REPR = 80


def _Repr(value: Any) -> str:
    text = repr(value)
    if len(text) > _MAX_VALUE_REPR:
        text = text[:_MAX_VALUE_REPR - 3] + "..."
    return text


def _TypeName(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def RpcProcedure(name: str) -> Callable[[BackendFn], BackendFn]:
    """Register fn as RPC procedure `name`, checking the argument count.

    The registered function is a wrapper that binds the positional
    arguments against fn's signature first; a mismatch raises RPCFail
    listing the expected arguments.

    Args:
      name: the RPC procedure name (spec/rpc.md section 2).

    Returns:
      A decorator returning the checking wrapper (also registered).
    """

    def _Decorate(fn: BackendFn) -> BackendFn:
        signature = inspect.signature(fn)
        arg_names = ", ".join(signature.parameters)

        @functools.wraps(fn)
        def _Wrapper(*args: Any) -> Any:
            try:
                signature.bind(*args)
            except TypeError as err:
                raise RPCFail(
                    f"RPC procedure '{name}' takes {len(signature.parameters)}"
                    f" argument(s) ({arg_names}), got {len(args)}") from err
            return fn(*args)

        return Procedure(name)(_Wrapper)

    return _Decorate


def _Fail(what: str, expected: str, value: Any) -> RPCFail:
    return RPCFail(f"Invalid {what}: expected {expected}, got {_TypeName(value)}"
                   f" {_Repr(value)}")


def CheckStr(value: Any, what: str, *, non_empty: bool = False) -> str:
    """Return value if it is a str (non-empty if requested), else RPCFail.

    Args:
      value: the received value.
      what: description used in the message, e.g. "argument 'hpath'".
      non_empty: also refuse "".
    """
    if not isinstance(value, str) or (non_empty and not value):
        expected = "a non-empty string" if non_empty else "a string"
        raise _Fail(what, expected, value)
    if "\0" in value:
        raise RPCFail(f"Invalid {what}: contains a NUL byte")
    return value


def CheckBool(value: Any, what: str) -> bool:
    """Return value if it is a JSON boolean, else raise RPCFail."""
    if not isinstance(value, bool):
        raise _Fail(what, "a boolean", value)
    return value


def CheckNumber(value: Any, what: str, *, minimum: float | None = None) -> float:
    """Return value if it is a finite number (not a bool), else raise RPCFail.

    Args:
      value: the received value.
      what: description used in the message.
      minimum: smallest accepted value, if any.
    """
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not math.isfinite(value)):
        raise _Fail(what, "a finite number", value)
    if minimum is not None and value < minimum:
        raise RPCFail(f"Invalid {what}: must be at least {minimum},"
                              f" got {value}")
    return value


def CheckInt(value: Any, what: str, *, minimum: int | None = None) -> int:
    """Return value if it is an integer (not a bool), else raise RPCFail."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Fail(what, "an integer", value)
    if minimum is not None and value < minimum:
        raise RPCFail(f"Invalid {what}: must be at least {minimum},"
                              f" got {value}")
    return value


def CheckList(value: Any, what: str, *, length: int | None = None) -> list[Any]:
    """Return value if it is a list (of the given length), else raise RPCFail."""
    if not isinstance(value, list):
        raise _Fail(what, "a list", value)
    if length is not None and len(value) != length:
        raise RPCFail(f"Invalid {what}: expected a list of {length}"
                              f" items, got {len(value)} items {_Repr(value)}")
    return value


def CheckDict(value: Any, what: str) -> dict[str, Any]:
    """Return value if it is a dict with str keys, else raise RPCFail."""
    if not isinstance(value, dict):
        raise _Fail(what, "a dict", value)
    for key in value:
        if not isinstance(key, str):
            raise RPCFail(f"Invalid {what}: key {_Repr(key)} is not"
                                  " a string")
    return value


def LocalizePath(value: Any, what: str) -> str:
    """Turn a path received over RPC into this node's absolute local path.

    Virtual paths (spec/config.md section 6) get this node's root; every
    other path must already be absolute.

    Raises:
      RPCFail: the value is not a string, is a virtual path on a non-virtual
        node, or is not absolute.
    """
    path = CheckStr(value, what, non_empty=True)
    try:
        local = vcluster.LocalizeVirtualPath(path)
    except errors.GenericError as err:
        raise RPCFail(f"Invalid {what} {path!r}: {err}") from err
    if not os.path.isabs(local):
        raise RPCFail(f"Invalid {what}: path {path!r} is not absolute")
    return local

