"""The HTTP protocol the dashboard's worker processes serve with: uvicorn's httptools one, with TCP_NODELAY
and a cap on requests per keep-alive connection.

With ``--workers`` > 1, uvicorn binds the listening socket itself as ``socket.socket(family)``,
whose ``proto`` is 0; the connections each worker accepts inherit that, and asyncio switches
Nagle's algorithm off only for sockets whose ``proto`` is TCP. So a multi-worker dashboard kept
Nagle on: on a keep-alive connection, the last part of every response larger than one segment
waited for the browser's delayed ACK, about 40 ms (measured: a 44 KB issue page took 50-80 ms
instead of 7-9 ms). A single process (``create_server`` with host and port) never had this.

The workers share one listening socket, and whichever worker wakes first accepts every connection
waiting (asyncio accepts up to the backlog in one go). Twenty browsers arriving together therefore
land unevenly and stay there for as long as they keep their connection open: measured with 20
busy clients and 6 workers, one worker held 11 connections and two held none, so half the
workers queued requests while the others idled. Closing a connection after
:data:`MAX_REQUESTS_PER_CONNECTION` responses (``Connection: close``, as nginx's
``keepalive_requests`` does) lets the browser reconnect, and an idle worker, being the first to wake,
takes the new connection: the load spreads itself again within seconds. A browser that refreshes
the board every 30 s never reaches the cap; it costs a busy client one TCP handshake per 50 pages.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_REQUESTS_PER_CONNECTION = 50
"""Responses on one keep-alive connection before the server asks the client to reconnect."""


class NoDelayHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol: Nagle off for every connection, at most 50 requests per connection."""

    _requests = 0

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._requests += 1
        if self._requests >= MAX_REQUESTS_PER_CONNECTION and self.cycle is not None:
            # uvicorn answers this request with "Connection: close" and closes once it is sent.
            self.cycle.keep_alive = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):  # not a TCP socket (a Unix socket): nothing to turn off
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


HTTP_PROTOCOL = f"{__name__}:{NoDelayHttpToolsProtocol.__name__}"
"""The import string for uvicorn's ``--http`` option."""
