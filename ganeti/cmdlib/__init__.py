"""The logical units, one per opcode (Ganeti's lib/cmdlib).

mcpu finds the LU of an opcode by name in this package's namespace
(OpTestDelay -> LUTestDelay). Every module of the package is imported here
and its LU* classes are re-exported, so a new area module needs no edit of
this file.
"""

import importlib
import pkgutil

from ganeti.cmdlib.base import (  # noqa: F401
    LOCKS_APPEND,
    LOCKS_REPLACE,
    LogicalUnit,
    NoHooksLU,
    ResultWithJobs,
    Tasklet,
)


def _ExportLogicalUnits() -> None:
    namespace = globals()
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name, value in vars(module).items():
            if name.startswith("LU") and isinstance(value, type):
                namespace.setdefault(name, value)


_ExportLogicalUnits()
