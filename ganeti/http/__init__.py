"""HTTP/1.1 protocol, kept apart from sockets.

Everything here is pure: it turns bytes into parsed heads and parsed heads
into bytes, and never touches a socket (STYLE.md H1). The I/O lives in
ganeti/http/stream.py (buffered socket), server.py and client.py; TLS
contexts in tls.py.

Only what Ganeti's daemons need is supported: requests and responses with a
Content-Length body (responses may also be chunked or end at connection
close), persistent connections, "Expect: 100-continue". Header names are
kept lower-cased in parsed heads so that look-ups are case-insensitive.

The HttpException family mirrors Ganeti's lib/http/__init__.py: a request
handler raises one to send an error status with a message.
"""

from __future__ import annotations

import dataclasses
import email.utils
import http as _stdlib_http

from ganeti import constants, errors

HTTP_0_9 = "HTTP/0.9"
HTTP_1_0 = "HTTP/1.0"
HTTP_1_1 = "HTTP/1.1"

HTTP_GET = "GET"
HTTP_HEAD = "HEAD"
HTTP_POST = "POST"
HTTP_PUT = "PUT"
HTTP_DELETE = "DELETE"

HTTP_OK = 200
HTTP_NO_CONTENT = 204
HTTP_NOT_MODIFIED = 304

HTTP_SERVER = "Server"
HTTP_DATE = "Date"
HTTP_CONNECTION = "Connection"
HTTP_CONTENT_TYPE = "Content-Type"
HTTP_CONTENT_LENGTH = "Content-Length"
HTTP_HOST = "Host"
HTTP_EXPECT = "Expect"
HTTP_APP_JSON = "application/json"
HTTP_TEXT_PLAIN = "text/plain"

# Value of the Server header (Ganeti's HTTP_GANETI_VERSION).
HTTP_GANETI_VERSION = f"Ganeti {constants.RELEASE_VERSION}"

# Longest request or status head (start line plus headers) accepted. Ganeti
# allows 4 KiB per line; our heads are a few hundred bytes.
MAX_HEAD_SIZE = 64 * 1024
_MAX_HEADERS = 100

_CRLF = b"\r\n"
_HEX_DIGITS = b"0123456789abcdefABCDEF"
HEAD_END = b"\r\n\r\n"


# --- exceptions a handler raises to send an error status --------------------

class HttpException(errors.HttpError):
    """A request cannot be served; the server answers with self.code.

    Raised by request handlers (and by the server's own parsing); the server
    turns it into an error response whose body is the message. Nothing of
    the request has been done unless the handler says otherwise.

    Args:
      message: text for the client (default: the status' reason phrase).
      headers: extra response headers.
    """

    code = 500

    def __init__(self, message: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class HttpBadRequest(HttpException):
    """The request is malformed (400)."""

    code = 400


class HttpUnauthorized(HttpException):
    """Authentication is needed (401)."""

    code = 401


class HttpForbidden(HttpException):
    """The client may not do this (403)."""

    code = 403


class HttpNotFound(HttpException):
    """No such resource (404)."""

    code = 404


class HttpMethodNotAllowed(HttpException):
    """The resource does not support the method (405)."""

    code = 405


class HttpNotAcceptable(HttpException):
    """No acceptable representation (406)."""

    code = 406


class HttpRequestTimeout(HttpException):
    """The client was too slow to send its request (408)."""

    code = 408


class HttpConflict(HttpException):
    """The request conflicts with the resource's state (409)."""

    code = 409


class HttpGone(HttpException):
    """The resource is gone (410)."""

    code = 410


class HttpLengthRequired(HttpException):
    """A body was sent without Content-Length (411)."""

    code = 411


class HttpPreconditionFailed(HttpException):
    """A precondition header did not hold (412)."""

    code = 412


class HttpRequestEntityTooLarge(HttpException):
    """The request body is larger than the server accepts (413)."""

    code = 413


class HttpUnsupportedMediaType(HttpException):
    """The body's content type is not supported (415)."""

    code = 415


class HttpInternalServerError(HttpException):
    """The handler failed unexpectedly (500)."""

    code = 500


class HttpNotImplemented(HttpException):
    """The server does not implement this (501)."""

    code = 501


class HttpServiceUnavailable(HttpException):
    """The server cannot serve now, e.g. it is shutting down (503)."""

    code = 503


class HttpVersionNotSupported(HttpException):
    """The HTTP version is not supported (505)."""

    code = 505


# --- parsed heads ------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class RequestHead:
    """Start line and headers of a request; header names are lower-case."""

    method: str
    path: str
    version: str
    headers: dict[str, str]


@dataclasses.dataclass(frozen=True)
class ResponseHead:
    """Status line and headers of a response; header names are lower-case."""

    version: str
    status: int
    reason: str
    headers: dict[str, str]


def GetReason(status: int) -> str:
    """Return the standard reason phrase of a status code ("" if unknown)."""
    try:
        return _stdlib_http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def _ParseVersion(version: str) -> tuple[int, int]:
    """Parse "HTTP/x.y" into (x, y).

    Raises:
      ValueError: not an HTTP version.
    """
    if not version.startswith("HTTP/"):
        raise ValueError(version)
    major, _, minor = version[5:].partition(".")
    if not (major.isdigit() and minor.isdigit()):
        raise ValueError(version)
    return int(major), int(minor)


def _ParseHeaders(lines: list[bytes]) -> dict[str, str]:
    """Parse header lines into a dict with lower-case names.

    Repeated headers are joined with ", " (RFC 9110 section 5.3), except
    Content-Length, which must not disagree with itself.

    Raises:
      ValueError: a line is not a header, or Content-Length repeats with
        different values.
    """
    if len(lines) > _MAX_HEADERS:
        raise ValueError(f"more than {_MAX_HEADERS} headers")
    headers: dict[str, str] = {}
    for raw in lines:
        line = raw.decode("latin-1")
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip() or line[0] in " \t":
            raise ValueError(f"malformed header line {line[:80]!r}")
        key = name.lower()
        value = value.strip(" \t")
        if key in headers:
            if key == "content-length" and headers[key] != value:
                raise ValueError("conflicting Content-Length headers")
            if key != "content-length":
                headers[key] = f"{headers[key]}, {value}"
            continue
        headers[key] = value
    return headers


def _SplitHead(data: bytes) -> tuple[str, list[bytes]]:
    """Split a head (without its final blank line) into start line and headers."""
    lines = data.split(_CRLF)
    return lines[0].decode("latin-1"), [line for line in lines[1:] if line]


def ParseRequestHead(data: bytes) -> RequestHead:
    """Parse the head of a request.

    Args:
      data: the bytes up to, not including, the blank line ending the head.

    Raises:
      HttpBadRequest: the start line or a header is malformed.
      HttpVersionNotSupported: the version is HTTP/2 or later.
    """
    start_line, header_lines = _SplitHead(data)
    words = start_line.split()
    if len(words) != 3:
        raise HttpBadRequest(f"Bad request syntax ({start_line[:200]!r})")
    method, path, version = words
    try:
        version_number = _ParseVersion(version)
    except ValueError:
        raise HttpBadRequest(f"Bad request version ({version[:40]!r})") from None
    if version_number >= (2, 0):
        raise HttpVersionNotSupported(f"Invalid HTTP version ({version[:40]})")
    if not method.isalpha() or not method.isupper():
        raise HttpBadRequest(f"Bad request method ({method[:40]!r})")
    try:
        headers = _ParseHeaders(header_lines)
    except ValueError as err:
        raise HttpBadRequest(f"Bad request header: {err}") from err
    return RequestHead(method=method, path=path, version=version, headers=headers)


def ParseResponseHead(data: bytes) -> ResponseHead:
    """Parse the head of a response.

    Args:
      data: the bytes up to, not including, the blank line ending the head.

    Raises:
      errors.RpcProtocolError: the peer did not answer with HTTP.
    """
    start_line, header_lines = _SplitHead(data)
    version, _, rest = start_line.partition(" ")
    code, _, reason = rest.partition(" ")
    try:
        _ParseVersion(version)
        if len(code) != 3 or not code.isdigit():
            raise ValueError(f"bad status code {code[:20]!r}")
        headers = _ParseHeaders(header_lines)
    except ValueError as err:
        raise errors.RpcProtocolError(
            f"Invalid HTTP response ({start_line[:80]!r}): {err}") from err
    return ResponseHead(version=version, status=int(code), reason=reason,
                        headers=headers)


def GetContentLength(headers: dict[str, str]) -> int | None:
    """Return the Content-Length of a parsed head, or None if absent.

    Raises:
      ValueError: the value is not a non-negative integer.
    """
    value = headers.get("content-length")
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()):
        raise ValueError(f"invalid Content-Length {value[:40]!r}")
    return int(value)


def IsChunked(headers: dict[str, str]) -> bool:
    """Whether the message body uses chunked transfer coding."""
    coding = headers.get("transfer-encoding", "")
    return coding.lower().rsplit(",", 1)[-1].strip() == "chunked"


def WantsKeepAlive(version: str, headers: dict[str, str]) -> bool:
    """Whether the connection stays open after this message.

    HTTP/1.1 is persistent unless "Connection: close"; HTTP/1.0 only with
    "Connection: keep-alive".
    """
    tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
    if version == HTTP_1_1:
        return "close" not in tokens
    return "keep-alive" in tokens


def ResponseHasBody(method: str, status: int) -> bool:
    """Whether a response to method with status carries a body (RFC 9112 6.3)."""
    return not (method == HTTP_HEAD or 100 <= status < 200 or
                status in (HTTP_NO_CONTENT, HTTP_NOT_MODIFIED))


def _FormatHeaders(headers: dict[str, str]) -> bytes:
    parts = []
    for name, value in headers.items():
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            raise errors.ProgrammerError(f"Line break in HTTP header {name!r}")
        parts.append(f"{name}: {value}\r\n")
    try:
        return "".join(parts).encode("latin-1")
    except UnicodeEncodeError as err:
        raise errors.ProgrammerError(f"HTTP header not encodable: {err}") from err


def FormatResponse(status: int, headers: dict[str, str], body: bytes,
                   keep_alive: bool, send_body: bool = True) -> bytes:
    """Serialise a response; adds Content-Length, Date, Server, Connection.

    Args:
      status: the status code.
      headers: headers chosen by the handler (they win over the defaults).
      body: the body; its length is announced even if send_body is false.
      keep_alive: whether the connection stays open afterwards.
      send_body: false for HEAD requests.
    """
    all_headers = {
        HTTP_SERVER: HTTP_GANETI_VERSION,
        HTTP_DATE: email.utils.formatdate(usegmt=True),
        HTTP_CONNECTION: "keep-alive" if keep_alive else "close",
    }
    all_headers.update(headers)
    all_headers[HTTP_CONTENT_LENGTH] = str(len(body))
    head = (f"{HTTP_1_1} {status} {GetReason(status)}\r\n".encode("latin-1") +
            _FormatHeaders(all_headers) + _CRLF)
    return head + body if send_body else head


def FormatRequest(method: str, path: str, host: str, port: int,
                  headers: dict[str, str] | None, body: bytes) -> bytes:
    """Serialise a request with Host and Content-Length.

    Args:
      method: e.g. "POST".
      path: the request target, e.g. "/version".
      host, port: the server, for the Host header.
      headers: extra headers (they win over the defaults).
      body: the body (Content-Length is always sent, even when 0).
    """
    if (not path.startswith("/") or not path.isascii() or
            any(char in path for char in " \r\n")):
        raise errors.ProgrammerError(f"Invalid HTTP request path {path!r}")
    host_value = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    all_headers = {HTTP_HOST: host_value}
    if headers:
        all_headers.update(headers)
    all_headers[HTTP_CONTENT_LENGTH] = str(len(body))
    head = f"{method} {path} {HTTP_1_1}\r\n".encode("latin-1")
    return head + _FormatHeaders(all_headers) + _CRLF + body


def FormatContinue() -> bytes:
    """The interim response that lets a client send its announced body."""
    return f"{HTTP_1_1} 100 Continue\r\n\r\n".encode("latin-1")


def ParseChunkSize(line: bytes) -> int:
    """Parse the size line of a chunk (extensions are ignored).

    Raises:
      errors.RpcProtocolError: not a hexadecimal size.
    """
    text = line.split(b";", 1)[0].strip()
    if not text or len(text) > 16 or text.strip(_HEX_DIGITS):
        raise errors.RpcProtocolError(f"Invalid chunk size line {line[:40]!r}")
    return int(text, 16)
