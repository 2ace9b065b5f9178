"""Field table of the "lock" query (spec/query2.md section 6).

Titles, kinds and docs follow Ganeti 3.0 (src/Ganeti/Query/Locks.hs). The
items are the rows of the lock manager's QueryLocks:
``(name, mode, owners, pending)`` where mode is "exclusive", "shared" or None
(not held), owners a list of owner names and pending a list of
``(mode, [owner names])`` of waiting requests.
"""

from __future__ import annotations

from typing import Any

from ganeti.query.common import (
    LQ_MODE,
    LQ_OWNER,
    LQ_PENDING,
    QFT_OTHER,
    FieldDef,
    FieldDict,
    _MakeField,
    _PrepareFieldList,
)
from ganeti.utils.text import NiceSort


def _GetLockName(_ctx: Any, data: tuple) -> Any:
    return data[0]


def _GetLockMode(_ctx: Any, data: tuple) -> Any:
    return data[1]


def _GetLockOwners(_ctx: Any, data: tuple) -> list[str]:
    """The owners, nicely sorted."""
    return NiceSort(data[2] or [])


def _GetLockPending(_ctx: Any, data: tuple) -> list[list[Any]]:
    """The waiting requests as [mode, [owners nicely sorted]]."""
    return [[mode, NiceSort(names)] for (mode, names) in data[3] or []]


def _BuildLockFields() -> FieldDict:
    """Build the lock field table."""
    return _PrepareFieldList([
        FieldDef(_MakeField("name", "Name", QFT_OTHER, "Lock name"), None, 0,
                 _GetLockName),
        FieldDef(_MakeField("mode", "Mode", QFT_OTHER,
                            "Mode in which the lock is currently acquired"
                            " (exclusive or shared)"),
                 LQ_MODE, 0, _GetLockMode),
        FieldDef(_MakeField("owner", "Owner", QFT_OTHER, "Current lock owner(s)"),
                 LQ_OWNER, 0, _GetLockOwners),
        FieldDef(_MakeField("pending", "Pending", QFT_OTHER,
                            "Jobs waiting for the lock"),
                 LQ_PENDING, 0, _GetLockPending),
    ], [])


#: Fields of the "lock" query; items are QueryLocks rows.
LOCK_FIELDS = _BuildLockFields()
