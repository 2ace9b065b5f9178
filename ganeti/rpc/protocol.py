"""The node RPC wire format, without any I/O (spec/rpc.md section 1).

A call is `POST /<procedure>` whose body is the JSON list of the positional
arguments; the reply is HTTP 200 with the JSON list `[success, payload]`,
where payload is the result or, on failure, the error message. Anything else
(another status, a body that is not such a list) is a failed call whose
message says what came back. Sockets and TLS live in ganeti/http/client.py;
this module only turns values into bytes and bytes into values, so it is
tested without a network (STYLE H1).
"""

from __future__ import annotations

import http.client
from typing import Any

from ganeti import errors, serializer

CONTENT_TYPE = "application/json"
REQUEST_HEADERS = {"Content-Type": CONTENT_TYPE}

# Error bodies are shown to users; a runaway body must not flood a job log.
_MAX_ERROR_TEXT = 2000


def EncodeCall(args: list[Any]) -> bytes:
    """Serialise a call's (already encoded) positional arguments.

    Raises:
      errors.ProgrammerError: an argument is not JSON-serialisable (the
        caller forgot an encoder); nothing was sent.
    """
    if not isinstance(args, (list, tuple)):
        raise errors.ProgrammerError(
            f"RPC arguments must be a list, not {type(args).__name__}")
    try:
        return serializer.DumpJsonBytes(list(args))
    except (TypeError, ValueError) as err:
        raise errors.ProgrammerError(f"RPC arguments are not serialisable: {err}") \
            from err


def DecodeCall(body: bytes) -> list[Any]:
    """Parse a request body into the argument list (noded's side).

    Raises:
      errors.ParseError: the body is not JSON, or not a JSON list.
    """
    args = serializer.LoadJson(body or b"[]")
    if not isinstance(args, list):
        raise errors.ParseError(
            f"RPC arguments must be a JSON list, not {type(args).__name__}")
    return args


def EncodeReply(success: bool, payload: Any) -> bytes:
    """Serialise a procedure's outcome (noded's side)."""
    return serializer.DumpJsonBytes([bool(success), payload])


def _ErrorText(status: int, body: bytes) -> str:
    """The most useful text of a non-200 reply: its message, body or reason."""
    text = body.decode("utf-8", "replace").strip()
    if text.startswith("{"):
        # Ganeti's HTTP server sends {"code": ..., "message": ..., ...}.
        try:
            parsed = serializer.LoadJson(text)
        except errors.ParseError:
            parsed = None
        if isinstance(parsed, dict) and parsed.get("message"):
            text = str(parsed["message"])
    if not text:
        text = http.client.responses.get(status, "Unknown status")
    if len(text) > _MAX_ERROR_TEXT:
        text = text[:_MAX_ERROR_TEXT] + "..."
    return f"Error {status}: {text}"


def DecodeReply(status: int, body: bytes) -> tuple[bool, Any]:
    """Interpret one node's HTTP reply.

    Args:
      status: the HTTP status code.
      body: the complete response body.

    Returns:
      (True, payload) when the procedure succeeded; (False, message) when it
      failed on the node, when noded refused the request (non-200), or when
      the reply is not a valid `[bool, payload]` list. Never raises: every
      reply, however broken, is a per-node outcome.
    """
    if status != http.client.OK:
        return False, _ErrorText(status, body)
    try:
        data = serializer.LoadJson(body)
    except errors.ParseError as err:
        return False, f"RPC layer error: invalid JSON in reply: {err}"
    if not isinstance(data, list):
        return False, f"RPC layer error: invalid result type ({type(data).__name__})"
    if len(data) != 2:
        return False, (f"RPC layer error: invalid result length ({len(data)}),"
                       " expected 2")
    success, payload = data
    if not isinstance(success, bool):
        return False, ("RPC layer error: invalid success flag"
                       f" ({type(success).__name__})")
    if not success:
        return False, str(payload) if payload else "No error information"
    return True, payload
