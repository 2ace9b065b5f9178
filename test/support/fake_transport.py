"""A scripted stand-in for ganeti.http.client.HttpClientPool (STYLE.md H2).

Each host (the address the runner sends to) has a script of replies, used in
order; a reply is one of:
  (status, body)              returned as the HTTP answer
  an exception instance       raised, as the real pool raises RpcError kinds
  a callable(FakeRequest)     called; returns (status, body) or raises
The last reply of a script repeats once the script runs out, so
`FakeTransport({"192.0.2.1": [(200, b'[true, 3000000]')]})` answers every
call. A host without a script is unreachable (connection refused).

Every request is recorded in `requests`, in the order received.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, NamedTuple

from ganeti import errors, serializer


class FakeRequest(NamedTuple):
    """One request as the transport received it."""

    host: str
    port: int
    method: str
    path: str
    body: bytes
    headers: dict[str, str] | None = None
    timeout: float = 60

    @property
    def procedure(self) -> str:
        return self.path.lstrip("/")

    @property
    def args(self) -> Any:
        """The decoded JSON body (the call's argument list)."""
        return serializer.LoadJson(self.body)


Reply = tuple[int, bytes] | BaseException | Callable[[FakeRequest], tuple[int, bytes]]


def Ok(payload: Any) -> tuple[int, bytes]:
    """The reply of a procedure that succeeded with payload."""
    return 200, serializer.DumpJsonBytes([True, payload])


def Fail(message: str) -> tuple[int, bytes]:
    """The reply of a procedure that failed on the node."""
    return 200, serializer.DumpJsonBytes([False, message])


class FakeTransport:
    """Answers RPC requests from per-host scripts; thread-safe."""

    def __init__(self, scripts: dict[str, list[Reply]] | None = None) -> None:
        self._scripts = {host: list(replies) for host, replies in
                         (scripts or {}).items()}
        self._lock = threading.Lock()
        self.requests: list[FakeRequest] = []
        self.closed = False

    def Script(self, host: str, *replies: Reply) -> FakeTransport:
        """Append replies to host's script; returns self for chaining."""
        with self._lock:
            self._scripts.setdefault(host, []).extend(replies)
        return self

    def RequestsTo(self, host: str) -> list[FakeRequest]:
        with self._lock:
            return [req for req in self.requests if req.host == host]

    def _NextReply(self, request: FakeRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            script = self._scripts.get(request.host)
            if not script:
                raise errors.RpcNetworkError(
                    f"Connection to {request.host}:{request.port} refused")
            return script.pop(0) if len(script) > 1 else script[0]

    def Request(self, host: str, port: int, method: str, path: str, body: bytes,
                headers: dict[str, str] | None = None,
                timeout: float = 60) -> tuple[int, bytes]:
        """Same contract as HttpClientPool.Request."""
        request = FakeRequest(host, port, method, path, body, headers, timeout)
        reply = self._NextReply(request)
        if isinstance(reply, BaseException):
            raise reply
        if callable(reply):
            return reply(request)
        return reply

    def Close(self) -> None:
        self.closed = True
