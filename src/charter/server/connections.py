"""Per-client bounds at the connection: how many connections are open, and how long a
request may take to arrive.

uvicorn holds a connection open for as long as its client sends nothing, or sends a
request a byte at a time; a few thousand such clients exhaust file descriptors and
memory. `BoundedHttpProtocol` answers a connection beyond `max_connections` with a 503
and closes it, and gives each request `read_timeout` seconds, from its first byte (or
from the connection, for the first request), to arrive whole, headers and body; then it
answers a 408 and closes. Between requests, uvicorn's keep-alive timeout applies.
"""

from __future__ import annotations

import asyncio
import functools
from http import HTTPStatus
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .errors import error_body, json_bytes


class BoundedHttpProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, max_connections: int, read_timeout: float, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._max_connections = max_connections
        self._read_timeout = read_timeout
        self._read_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self._max_connections:
            self._refuse(HTTPStatus.SERVICE_UNAVAILABLE, "too_many_connections",
                         f"the server holds its limit of {self._max_connections} connections; retry later")
        else:
            self._start_reading()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._start_reading()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._stop_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_reading()
        super().connection_lost(exc)

    def _start_reading(self) -> None:
        if self._read_deadline is None:
            self._read_deadline = self.loop.call_later(self._read_timeout, self._read_timed_out)

    def _stop_reading(self) -> None:
        if self._read_deadline is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def _read_timed_out(self) -> None:
        self._read_deadline = None
        cycle = self.cycle
        if cycle is not None and cycle.response_started and not cycle.response_complete:
            self.transport.close()  # an answer is under way (say, a 413 before the body): just end it
            return
        self._refuse(HTTPStatus.REQUEST_TIMEOUT, "read_timeout",
                     f"the request did not arrive whole within {self._read_timeout:g} s")

    def _refuse(self, status: HTTPStatus, code: str, message: str) -> None:
        """Answer in the API's error shape, then close the connection."""
        if self.transport.is_closing():
            return
        body = json_bytes(error_body(code, message, "connection"))
        head = (f"HTTP/1.1 {status.value} {status.phrase}\r\ncontent-type: application/json\r\n"
                f"content-length: {len(body)}\r\nconnection: close\r\n\r\n")
        self.transport.write(head.encode("ascii") + body)
        self.transport.close()


def bounded_protocol(max_connections: int, read_timeout: float) -> Any:
    """The protocol factory to give uvicorn (`http=`)."""
    return functools.partial(BoundedHttpProtocol, max_connections=max_connections, read_timeout=read_timeout)
