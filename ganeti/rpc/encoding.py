"""Encodings of RPC arguments shared by the client and noded.

The compressed form (ED_COMPRESS in Ganeti's rpc_defs) is [encoding, data]:
encoding 0 is the plain text, 1 is zlib (level 3) then base64. Small payloads
stay plain because compressing them costs more than it saves.
"""

from __future__ import annotations

import base64
import zlib
from typing import Any

from ganeti import constants, errors


def Compress(data: str | bytes) -> list[Any]:
    """Encode data for the wire, compressing it when that pays off."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) < constants.RPC_COMPRESS_MIN_SIZE:
        return [constants.RPC_ENCODING_NONE, data.decode("utf-8", "surrogateescape")]
    packed = base64.b64encode(zlib.compress(data, 3)).decode("ascii")
    return [constants.RPC_ENCODING_ZLIB_BASE64, packed]


def Decompress(value: Any) -> bytes:
    """Decode the [encoding, data] form produced by Compress.

    Raises:
      errors.ProgrammerError: the value is not a valid encoded payload (a
        malformed request; noded reports it to the caller).
    """
    if not (isinstance(value, (list, tuple)) and len(value) == 2
            and isinstance(value[1], str)):
        raise errors.ProgrammerError(f"Invalid encoded payload: {value!r:.80}")
    encoding, content = value
    if encoding == constants.RPC_ENCODING_NONE:
        return content.encode("utf-8", "surrogateescape")
    if encoding == constants.RPC_ENCODING_ZLIB_BASE64:
        try:
            return zlib.decompress(base64.b64decode(content, validate=True))
        except (ValueError, zlib.error) as err:
            raise errors.ProgrammerError(f"Corrupt compressed payload: {err}") from err
    raise errors.ProgrammerError(f"Unknown payload encoding {encoding!r}")
