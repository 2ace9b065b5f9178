"""Node side of the RPC procedures: what noded does for each call.

Each area module registers its procedures with `Procedure("name")`; noded's
dispatcher calls PROCEDURES[name](*args) with the JSON-decoded argument list
of the request. A procedure signals a clean failure by raising RPCFail (its
message reaches the caller as-is); any other exception is reported as
"Error while executing backend function: <text>" (spec/rpc.md section 1).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any
from collections.abc import Callable

from ganeti import errors

BackendFn = Callable[..., Any]

PROCEDURES: dict[str, BackendFn] = {}


class RPCFail(errors.GenericError):
    """A backend procedure failed; the message is sent to the caller."""


def Procedure(name: str) -> Callable[[BackendFn], BackendFn]:
    """Register fn as the node-side handler of RPC procedure `name`."""

    def _Register(fn: BackendFn) -> BackendFn:
        if name in PROCEDURES:
            raise errors.ProgrammerError(f"RPC procedure {name} registered twice")
        PROCEDURES[name] = fn
        return fn

    return _Register


def LoadAll() -> dict[str, BackendFn]:
    """Import every area module so that all procedures are registered.

    Every module of this package is an area module; a new one needs no edit
    here.
    """
    # Imported here, not at the top: the area modules import this package.
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        importlib.import_module(f"{__name__}.{info.name}")
    return PROCEDURES
