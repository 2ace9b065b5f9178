"""JSON serialisation for files and wire messages (simplejson).

config.data is written compactly, as Ganeti 3.0's wconfd does; job files and
wire messages use the default separators, as Ganeti's Python side does
(spec/samples/config.data.json and queue-job-1298.json).
"""

from __future__ import annotations

from typing import Any

import simplejson

from ganeti import errors


def DumpJson(data: Any, compact: bool = False) -> str:
    """Serialise data to JSON text.

    Args:
      data: JSON-compatible value (tuples become lists, sets are refused).
      compact: omit the blanks after separators (config.data style).
    """
    separators = (",", ":") if compact else (", ", ": ")
    return simplejson.dumps(data, separators=separators)


def DumpJsonBytes(data: Any, compact: bool = False) -> bytes:
    return DumpJson(data, compact=compact).encode("utf-8")


def LoadJson(text: str | bytes) -> Any:
    """Parse JSON text.

    Raises:
      errors.ParseError: the text is not valid JSON; the parser's message says
        where.
    """
    try:
        return simplejson.loads(text)
    except (ValueError, UnicodeDecodeError) as err:
        raise errors.ParseError(f"Invalid JSON: {err}") from err


# Ganeti's historical names.
Dump = DumpJson
Load = LoadJson
