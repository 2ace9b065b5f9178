"""Helpers of the gnt-* command tests (fixtures are in conftest.py).

`luxi_replay` plays the master daemon's side of a captured LUXI exchange
(test/data/cli/luxi-*.txt, recorded from the real gnt-* commands of Ganeti
3.0.2) on a real unix socket: the command under test connects with the real
LUXI client, each request it sends is recorded and answered with the next
captured reply. The tests then compare the requests and the command's output
with the capture.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
from typing import Any, NamedTuple

DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "data", "cli")

_RECORD = re.compile(rb"^=== conn (\d+) (C->S|S->C) t=\S+ len=(\d+)\n", re.M)
_OUTPUT = re.compile(rb"^=== command exit code: (\d+), output:\n", re.M)
_EOM = b"\x03"


class Capture(NamedTuple):
    """One captured command run."""

    command: list[str]
    requests: list[bytes]
    replies: list[bytes]
    exit_code: int
    output: str


def ReadSample(name: str) -> str:
    with open(os.path.join(DATA_DIR, name), encoding="utf-8") as handle:
        return handle.read()


def SampleOutput(name: str) -> tuple[str, int]:
    """(output, exit code) of a gnt-*.txt sample."""
    text = ReadSample(name)
    body, _, code = text.rpartition("[exit code: ")
    return body, int(code.rstrip("]\n"))


def LoadCapture(name: str) -> Capture:
    """Parse a luxi-*.txt capture."""
    with open(os.path.join(DATA_DIR, name), "rb") as handle:
        data = handle.read()
    command = data.split(b"\n", 1)[0].decode().removeprefix("# command: ").split()
    requests, replies = [], []
    for match in _RECORD.finditer(data):
        body = data[match.end():match.end() + int(match.group(3))]
        (requests if match.group(2) == b"C->S" else replies).append(body)
    out = _OUTPUT.search(data)
    assert out is not None, name
    return Capture(command, requests, replies, int(out.group(1)),
                   data[out.end():].decode())


def MaskReason(request: Any) -> Any:
    """A parsed request with the reason trail timestamps set to 0."""
    if isinstance(request, dict):
        return {key: ([[src, why, 0] for (src, why, _) in value]
                      if key == "reason" else MaskReason(value))
                for key, value in request.items()}
    if isinstance(request, list):
        return [MaskReason(item) for item in request]
    return request


class LuxiReplay:
    """A unix-socket server answering requests with scripted replies."""

    def __init__(self, path: str, replies: list[bytes]) -> None:
        self.path = path
        self.replies = list(replies)
        self.requests: list[bytes] = []
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(path)
        self._server.listen(4)
        self._stop = False
        self._thread = threading.Thread(target=self._Serve, daemon=True)
        self._thread.start()

    def _Serve(self) -> None:
        # Short timeouts so that Close() is noticed while a client still
        # holds its connection open.
        self._server.settimeout(0.05)
        while not self._stop:
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(0.05)
                self._Handle(conn)

    def _Handle(self, conn: socket.socket) -> None:
        buf = b""
        while not self._stop:
            try:
                data = conn.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            buf += data
            while _EOM in buf:
                msg, buf = buf.split(_EOM, 1)
                self.requests.append(msg)
                if not self.replies:
                    return
                conn.sendall(self.replies.pop(0) + _EOM)

    def ParsedRequests(self) -> list[Any]:
        return [json.loads(msg) for msg in self.requests]

    def Close(self) -> None:
        self._stop = True
        self._thread.join(timeout=5)
        self._server.close()


def RunMain(module: Any, argv: list[str], capsys: Any) -> tuple[int, str, str]:
    """Run a gnt-* program's GenericMain; return (code, stdout, stderr)."""
    code = module.cli.GenericMain(module.commands, aliases=module.aliases,
                                  override=getattr(module, "_TAG_KIND", None),
                                  argv=argv)
    out = capsys.readouterr()
    return code, out.out, out.err
