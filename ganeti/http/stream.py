"""A buffered, deadline-aware byte stream over a (TLS) socket.

The one place where the HTTP server and client read and write sockets. Every
read takes an absolute deadline (time.monotonic()) rather than a per-call
timeout, so a peer trickling one byte at a time cannot stretch a request
beyond its time budget.

Errors are left as the socket raised them (TimeoutError, OSError,
ssl.SSLError); the server and client translate them at their boundary. A
peer closing the connection in the middle of a message raises EOFError.
"""

from __future__ import annotations

import socket
import time

# Bytes asked from the socket per recv(); large enough for a typical RPC
# body in one call, small enough not to matter per connection.
_RECV_SIZE = 256 * 1024


class BufferedSocket:
    """Reads whole heads and exact-size bodies from a connected socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buf = bytearray()

    def HasBufferedData(self) -> bool:
        """Whether bytes were received that no read consumed yet."""
        return bool(self._buf)

    def _Recv(self, deadline: float) -> bytes:
        """Receive some bytes before deadline (b"" at end of stream).

        Raises:
          TimeoutError: the deadline passed.
        """
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("timed out")
        self.sock.settimeout(remaining)
        return self.sock.recv(_RECV_SIZE)

    def WaitForData(self, timeout: float | None) -> bool:
        """Wait until at least one byte is buffered.

        Args:
          timeout: seconds to wait; None waits forever.

        Returns:
          False if the peer closed the connection before sending anything.

        Raises:
          TimeoutError: nothing arrived within timeout.
        """
        if self._buf:
            return True
        self.sock.settimeout(timeout)
        data = self.sock.recv(_RECV_SIZE)
        self._buf += data
        return bool(data)

    def ReadHead(self, deadline: float, max_size: int) -> bytes | None:
        """Read up to the blank line that ends an HTTP head.

        Blank lines before the head are skipped (RFC 9112 section 2.2).

        Args:
          deadline: time.monotonic() value by which the head must be complete.
          max_size: longest head accepted.

        Returns:
          The head without its final CRLFCRLF, or None if the peer closed the
          connection before sending a byte.

        Raises:
          TimeoutError: the head was not complete by the deadline.
          EOFError: the peer closed the connection in the middle of the head.
          ValueError: the head is longer than max_size.
        """
        searched = 0
        while True:
            while self._buf[:2] == b"\r\n":
                del self._buf[:2]
                searched = 0
            end = self._buf.find(b"\r\n\r\n", max(0, searched - 3))
            if end >= 0:
                head = bytes(self._buf[:end])
                del self._buf[:end + 4]
                return head
            if len(self._buf) > max_size:
                raise ValueError(f"message head longer than {max_size} bytes")
            searched = len(self._buf)
            data = self._Recv(deadline)
            if not data:
                if not self._buf:
                    return None
                raise EOFError("connection closed in the middle of a message head")
            self._buf += data

    def ReadLine(self, deadline: float, max_size: int) -> bytes:
        """Read one CRLF-terminated line (returned without the CRLF).

        Raises:
          TimeoutError, EOFError: as for ReadHead.
          ValueError: the line is longer than max_size.
        """
        while True:
            end = self._buf.find(b"\r\n")
            if end >= 0:
                line = bytes(self._buf[:end])
                del self._buf[:end + 2]
                return line
            if len(self._buf) > max_size:
                raise ValueError(f"line longer than {max_size} bytes")
            data = self._Recv(deadline)
            if not data:
                raise EOFError("connection closed in the middle of a line")
            self._buf += data

    def ReadExactly(self, size: int, deadline: float) -> bytes:
        """Read exactly size bytes.

        Raises:
          TimeoutError: they did not all arrive by the deadline.
          EOFError: the peer closed the connection before sending them all.
        """
        while len(self._buf) < size:
            data = self._Recv(deadline)
            if not data:
                raise EOFError(f"connection closed after {len(self._buf)} of"
                               f" {size} body bytes")
            self._buf += data
        if len(self._buf) == size:
            result = bytes(self._buf)
            self._buf.clear()
            return result
        result = bytes(self._buf[:size])
        del self._buf[:size]
        return result

    def ReadUntilClose(self, deadline: float, max_size: int) -> bytes:
        """Read everything until the peer closes the connection.

        Raises:
          TimeoutError: the peer did not close by the deadline.
          ValueError: more than max_size bytes arrived.
        """
        while True:
            if len(self._buf) > max_size:
                raise ValueError(f"body longer than {max_size} bytes")
            data = self._Recv(deadline)
            if not data:
                result = bytes(self._buf)
                self._buf.clear()
                return result
            self._buf += data

    def SendAll(self, data: bytes, deadline: float) -> None:
        """Send all of data before the deadline.

        Raises:
          TimeoutError: the peer did not take the data in time; part of it
            may have been sent.
          OSError: the connection broke; part of the data may have been sent.
        """
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("timed out")
        self.sock.settimeout(remaining)
        self.sock.sendall(data)
